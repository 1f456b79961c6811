//! Tests of `flux dev`.
