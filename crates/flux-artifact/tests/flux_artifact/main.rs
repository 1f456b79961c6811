//! Integration tests for flux-artifact (one binary, one module per area).

mod fixtures;

mod extract_security;
mod ignore_matrix;
mod pack;
mod revision_table;
#[cfg(feature = "server")]
mod server;
mod storage_gc;
