//! flux-object: the vocabulary every other crate speaks.
//!
//! * [`yaml`]: multi-document YAML to and from `serde_json::Value`, reading scalars as
//!   sigs.k8s.io/yaml (go-yaml v2) does and writing them as go-yaml v3 / kustomize do.
//! * [`object`]: [`Object`], a dynamic Kubernetes object over a JSON map; [`ObjectId`] and
//!   Flux's inventory id format.
//! * [`kind_order`]: kustomize's legacy output order and Flux's staged-apply stages.

pub mod kind_order;
pub mod object;
pub mod yaml;

pub use object::{InventoryIdError, Object, ObjectError, ObjectId};
