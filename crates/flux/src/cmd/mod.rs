//! One module per `flux` command.

pub mod build_helm;
pub mod build_kustomize;
pub mod completion;
pub mod dev;
pub mod install;
pub mod version;
