//! Integration tests of flux-api: CRDs against upstream, fixtures round-trip, parse errors.

mod crds;
mod fixtures;
mod parse_errors;
mod rules;
mod status;
