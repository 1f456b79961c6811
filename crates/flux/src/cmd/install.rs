//! `flux install`.

/// Flags of `flux install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the manifests to stdout instead of applying them.
    #[arg(long)]
    pub export: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.export {
        anyhow::bail!(
            "flux install without --export needs a cluster connection, which is not implemented yet; use --export"
        );
    }
    anyhow::bail!("flux install --export: CRD generation is not implemented yet")
}
