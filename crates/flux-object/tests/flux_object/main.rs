//! Integration tests for flux-object (one test binary, one module per area).

mod fixtures;
mod go_oracle;
mod kind_order;
mod object_model;
mod yaml_emit;
mod yaml_parse;
