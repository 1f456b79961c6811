//! Integration tests for flux-merge (one binary; modules per area).

mod oracle;
