//! `source.toolkit.fluxcd.io/v1`: GitRepository, OCIRepository, Bucket, HelmRepository,
//! HelmChart and ExternalArtifact.

mod bucket;
mod external_artifact;
mod git_repository;
mod helm_chart;
mod helm_repository;
mod oci_repository;

pub use bucket::*;
pub use external_artifact::*;
pub use git_repository::*;
pub use helm_chart::*;
pub use helm_repository::*;
pub use oci_repository::*;

/// The API group of the source kinds.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// The served (and stored) version.
pub const VERSION: &str = "v1";
/// The finalizer every reconciled source carries.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
