//! The `source git NAME…` / `kustomization NAME…` arguments that suspend, resume and delete
//! share.

use crate::kinds::{self, FluxKind};

#[derive(Debug, clap::Subcommand)]
pub enum KindCommand {
    /// Sources (`source git`).
    Source {
        #[command(subcommand)]
        what: SourceKindCommand,
    },
    /// Kustomizations.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization(Names),
    /// HelmReleases.
    #[command(aliases = ["hr", "helmreleases"])]
    Helmrelease(Names),
}

#[derive(Debug, clap::Subcommand)]
pub enum SourceKindCommand {
    /// GitRepository sources.
    Git(Names),
    /// OCIRepository sources.
    Oci(Names),
    /// Bucket sources.
    Bucket(Names),
    /// HelmRepository sources.
    Helm(Names),
    /// HelmChart sources.
    Chart(Names),
}

#[derive(Debug, clap::Args)]
pub struct Names {
    /// Object names.
    pub names: Vec<String>,
}

impl KindCommand {
    pub fn into_parts(self) -> (FluxKind, Vec<String>) {
        match self {
            KindCommand::Source { what } => {
                let (kind, n) = what.into_parts();
                (kind, n.names)
            }
            KindCommand::Kustomization(n) => (kinds::KUSTOMIZATION, n.names),
            KindCommand::Helmrelease(n) => (kinds::HELM_RELEASE, n.names),
        }
    }
}

impl SourceKindCommand {
    pub fn into_parts(self) -> (FluxKind, Names) {
        match self {
            SourceKindCommand::Git(n) => (kinds::GIT_REPOSITORY, n),
            SourceKindCommand::Oci(n) => (kinds::OCI_REPOSITORY, n),
            SourceKindCommand::Bucket(n) => (kinds::BUCKET, n),
            SourceKindCommand::Helm(n) => (kinds::HELM_REPOSITORY, n),
            SourceKindCommand::Chart(n) => (kinds::HELM_CHART, n),
        }
    }
}

/// Names in the order given, each once.
pub fn unique(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// The success line after a reconciliation: what the object fetched or applied.
pub fn success_message(kind: &FluxKind, obj: &serde_json::Value) -> String {
    let revision = crate::cmd::get::revision_of(kind, obj);
    match kind.kind {
        "Kustomization" | "HelmRelease" => format!("applied revision {revision}"),
        _ => format!("fetched revision {revision}"),
    }
}
