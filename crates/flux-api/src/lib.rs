//! flux-api: the Flux 2.9 API types, hand-written in Rust.
//!
//! * [`source`], … : one module per API group with the spec/status types of every kind.
//! * [`meta`]: shared types (`Condition`, `Artifact`, references, kustomize patches, …).
//! * [`duration`]: Go duration strings as the CRDs validate them.
//! * [`crds`]: CRD generation from the types.

// `#[kube(printcolumn(type_ = "string", …), …)]` repeats argument values on purpose.
#![allow(clippy::duplicated_attributes)]

pub mod conditions;
pub mod crds;
pub mod defaults;
pub mod duration;
pub mod helm;
pub mod image;
pub mod kustomize;
pub mod meta;
pub mod notification;
pub mod object;
pub mod rules;
pub mod source;
pub mod source_extensions;
pub mod validation;

pub use duration::{DurationError, GoDuration, TimeoutDuration};
pub use object::{
    FluxObject, HasConditions, ParseError, SERVED_KINDS, is_flux_api_version, migrate_api_version,
    migrated_api_version, parse_object,
};
