//! `flux build kustomize DIR`: the same stream as `kustomize build DIR`.

/// Flags of `flux build kustomize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The kustomization directory.
    pub dir: std::path::PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "flux build kustomize {}: not implemented yet",
        args.dir.display()
    )
}
