//! Integration tests of flux-helm (one test binary): rendering whole charts
//! written to temporary directories, and a differential test against the
//! real `helm` binary.

mod chart_dir;
mod differential;
mod render;
