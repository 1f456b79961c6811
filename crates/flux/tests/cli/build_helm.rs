//! Tests of `flux build helm`.
