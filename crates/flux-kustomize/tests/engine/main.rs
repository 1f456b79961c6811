//! Integration tests of the kustomize engine (one test binary for the crate).

mod differential;
mod fixtures;
mod robustness;
