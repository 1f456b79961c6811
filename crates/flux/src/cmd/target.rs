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
}

#[derive(Debug, clap::Subcommand)]
pub enum SourceKindCommand {
    /// GitRepository sources.
    Git(Names),
}

#[derive(Debug, clap::Args)]
pub struct Names {
    /// Object names.
    pub names: Vec<String>,
}

impl KindCommand {
    pub fn into_parts(self) -> (FluxKind, Vec<String>) {
        match self {
            KindCommand::Source {
                what: SourceKindCommand::Git(n),
            } => (kinds::GIT_REPOSITORY, n.names),
            KindCommand::Kustomization(n) => (kinds::KUSTOMIZATION, n.names),
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
