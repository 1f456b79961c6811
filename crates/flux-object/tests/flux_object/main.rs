//! Integration tests for flux-object (one test binary, one module per area).

mod yaml_emit;
mod yaml_parse;
