//! `flux version`.

/// The flux-rs version, from Cargo.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Flags of `flux version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the client version.
    #[arg(long)]
    pub client: bool,
    /// Output format: yaml or json.
    #[arg(short = 'o', long = "output", default_value = "yaml")]
    pub output: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.output.as_str() {
        "json" => println!("{}", serde_json::json!({ "flux": format!("v{VERSION}") })),
        "yaml" => println!("flux: v{VERSION}"),
        other => anyhow::bail!("invalid --output {other:?}: must be one of yaml, json"),
    }
    Ok(())
}
