//! flux-kustomize: `kustomize build` as a pure engine. A [`Filesystem`] goes in, the objects
//! `kustomize build` would print come out ([`build`]); [`build_to_yaml`] gives the printed
//! stream. No network, no plugins: remote resources and exec/KRM plugins are refused with a
//! clear error.

pub mod build;
pub mod error;
pub mod field_spec;
pub mod fs;
pub mod generator;
pub mod kustomization;
pub mod legacy_order;
pub mod resource;
pub mod selector;
pub mod transform;
pub mod yaml_words;

use std::path::Path;

pub use build::{BuildOptions, LoadRestrictor, build};
pub use error::Error;
pub use fs::{DiskFs, Filesystem, MemFs};
pub use kustomization::Kustomization;

/// Builds `dir` and renders the result as the multi-document YAML `kustomize build` prints.
pub fn build_to_yaml(
    fs: &dyn Filesystem,
    dir: &Path,
    opts: &BuildOptions,
) -> Result<String, BuildToYamlError> {
    let objects = build(fs, dir, opts)?;
    Ok(flux_object::yaml::to_multi_doc_string(&objects)?)
}

/// Failure of [`build_to_yaml`].
#[derive(Debug, thiserror::Error)]
pub enum BuildToYamlError {
    /// The build failed.
    #[error(transparent)]
    Build(#[from] Error),
    /// The objects could not be written as YAML.
    #[error("writing the build output: {0}")]
    Emit(#[from] flux_object::yaml::YamlError),
}
