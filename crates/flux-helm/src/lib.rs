//! flux-helm: Helm charts rendered natively, producing what `helm template`
//! prints. Pure: chart files and options in, manifests out (no network, no
//! cluster). See the crate README for the public API and known differences.
//!
//! ```no_run
//! use flux_helm::{chart, template::{template, TemplateOptions, UserValues}};
//! # fn main() -> Result<(), flux_helm::HelmError> {
//! let chart = chart::load(std::path::Path::new("charts/podinfo"))?;
//! let values = UserValues { set: vec!["replicaCount=2".into()], ..UserValues::default() }
//!     .merge(&|p| std::fs::read_to_string(p).map_err(|e| e.to_string()))?;
//! let out = template(chart, &values, &TemplateOptions::new("demo", "default"))?;
//! print!("{out}");
//! # Ok(()) }
//! ```

pub mod chart;
pub mod dependencies;
pub mod error;
pub mod go_yaml;
pub mod helmignore;
pub mod manifest;
pub mod path_match;
pub mod render;
pub mod schema;
pub mod semver_range;
pub mod strvals;
pub mod template;
pub mod values;
pub mod yaml_values;

pub use error::HelmError;
pub use manifest::HelmCompat;
pub use template::{TemplateOptions, UserValues};
