//! Tests of `flux build kustomize`.
