//! flux-merge: the patch and merge semantics of Kubernetes as pure, synchronous functions.
//!
//! - [`schema`]: type metadata (merge keys, patch strategies, list/map types) for the built-in
//!   kinds of Kubernetes 1.33 and for custom resources.
//! - [`strategic`]: strategic merge patch (apply, two-way and three-way patch creation).
//! - [`json_patch`]: RFC 6902 JSON patch and RFC 7386 JSON merge patch.
//! - [`fieldpath`] and [`structured`]: server-side apply (field sets, `managedFields`,
//!   conflicts, apply and update per manager).

pub mod fieldpath;
pub mod json_patch;
pub mod schema;
pub mod strategic;
pub mod structured;
