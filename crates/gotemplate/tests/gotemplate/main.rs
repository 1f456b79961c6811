//! Integration tests for gotemplate: Go text/template conformance and Sprig.
#![allow(clippy::unwrap_used)]

mod conformance;
mod differential;
mod limits;
mod robustness;
mod sprig_shapes;
mod support;
