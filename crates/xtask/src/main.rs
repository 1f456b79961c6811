//! `cargo xtask`: code generation and checks.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the workspace root (sanity check of the xtask wiring).
    Root,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Root => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            println!("{}", root.canonicalize()?.display());
        }
    }
    Ok(())
}
