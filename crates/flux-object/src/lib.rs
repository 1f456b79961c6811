//! flux-object: the vocabulary every other crate speaks.
//!
//! * [`yaml`]: multi-document YAML to and from `serde_json::Value`, with the scalar
//!   resolution Kubernetes tooling (sigs.k8s.io/yaml, go-yaml) uses.

pub mod yaml;
