//! `flux install`.

/// Flags of `flux install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the manifests to stdout instead of applying them.
    #[arg(long)]
    pub export: bool,
}

/// Runs `flux install`. Only `--export` works for now: it prints the Flux CRDs (generated from
/// the flux-api types) as one multi-document YAML stream, ordered by name as upstream's install
/// manifest orders them.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.export {
        anyhow::bail!(
            "flux install without --export needs a cluster connection, which is not implemented yet; use --export"
        );
    }
    let yaml = flux_api::crds::all_crds_yaml()?;
    print!("{yaml}");
    Ok(())
}
