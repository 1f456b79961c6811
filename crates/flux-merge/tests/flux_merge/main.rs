//! Integration tests for flux-merge (one binary; modules per area).

mod laws;
mod oracle;
mod ssa;
