//! `flux build helm RELEASE CHART`: the same stream as `helm template`.

/// Flags of `flux build helm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release name.
    pub release: String,
    /// Chart directory or .tgz.
    pub chart: std::path::PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "flux build helm {} {}: not implemented yet",
        args.release,
        args.chart.display()
    )
}
