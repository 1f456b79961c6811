//! `flux`: the flux-rs command-line interface. Thin `main`; every command lives in `cmd/`.

mod cmd;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Command line utility for assembling Kubernetes CD pipelines the GitOps way (flux-rs).
#[derive(Debug, Parser)]
#[command(name = "flux", version = cmd::version::VERSION, disable_version_flag = false)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the client version information.
    Version(cmd::version::Args),
    /// Install or export the Flux components (CRDs for now).
    Install(cmd::install::Args),
    /// Generate shell completion scripts.
    Completion(cmd::completion::Args),
    /// Build local manifests (kustomize overlays, Helm charts).
    Build {
        #[command(subcommand)]
        what: BuildCommand,
    },
    /// Run flux-rs on one machine: embedded API server and controllers.
    Dev(cmd::dev::Args),
}

#[derive(Debug, Subcommand)]
enum BuildCommand {
    /// Build a kustomization directory, printing what `kustomize build DIR` prints.
    Kustomize(cmd::build_kustomize::Args),
    /// Render a Helm chart, printing what `helm template` prints.
    Helm(cmd::build_helm::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version(args) => cmd::version::run(args),
        Command::Install(args) => cmd::install::run(args),
        Command::Completion(args) => {
            cmd::completion::run(args, &mut Cli::command());
            Ok(())
        }
        Command::Build { what } => match what {
            BuildCommand::Kustomize(args) => cmd::build_kustomize::run(args),
            BuildCommand::Helm(args) => cmd::build_helm::run(args),
        },
        Command::Dev(args) => cmd::dev::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line per cause, no backtrace: `✗ <error>: <cause>: ...`
            eprintln!("✗ {err:#}");
            ExitCode::FAILURE
        }
    }
}
