//! One module per `flux` command.

pub mod build_helm;
pub mod build_kustomization;
pub mod build_kustomize;
pub mod check;
pub mod completion;
pub mod create;
pub mod delete;
pub mod dev;
pub mod diff_kustomization;
pub mod envsubst;
pub mod events;
pub mod export;
pub mod get;
pub mod install;
pub mod logs;
pub mod reconcile;
pub mod resume;
pub mod suspend;
pub mod target;
pub mod trace;
pub mod tree;
pub mod uninstall;
pub mod version;
