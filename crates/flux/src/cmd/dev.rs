//! `flux dev`: the embedded API server and controllers on one machine.

/// Flags of `flux dev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only serve the embedded API server.
    #[arg(long)]
    pub api_only: bool,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("flux dev: not implemented yet")
}
