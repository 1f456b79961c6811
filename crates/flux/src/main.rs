//! `flux`: the flux-rs command-line interface. Thin `main`; every command lives in `cmd/`.

mod base64;
mod cluster;
mod cmd;
mod export_yaml;
mod kinds;
mod local_build;
mod output;
mod ssh_key;
mod wait;

/// An error already printed as `✗ …` lines: the command only has to exit non-zero.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed (reported above)")
    }
}

impl std::error::Error for Reported {}

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Command line utility for assembling Kubernetes CD pipelines the GitOps way (flux-rs).
#[derive(Debug, Parser)]
#[command(name = "flux", version = cmd::version::VERSION, disable_version_flag = false)]
pub struct Cli {
    #[command(flatten)]
    global: cluster::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Print the client version information.
    Version(cmd::version::Args),
    /// Install or upgrade Flux (CRDs, RBAC, the fluxd Deployment).
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
    /// Get the resources and their status.
    Get(cmd::get::Args),
    /// Export resources in YAML format.
    Export(cmd::export::Args),
    /// Create or update sources and resources.
    Create(cmd::create::Args),
    /// Suspend resources.
    Suspend(cmd::suspend::Args),
    /// Resume suspended resources.
    Resume(cmd::resume::Args),
    /// Reconcile sources and resources.
    Reconcile(cmd::reconcile::Args),
    /// Delete sources and resources.
    Delete(cmd::delete::Args),
    /// Check requirements and installation.
    Check(cmd::check::Args),
    /// Uninstall Flux and its custom resource definitions.
    Uninstall(cmd::uninstall::Args),
    /// Substitute `${var}` in stdin from the environment, as Flux's postBuild does.
    Envsubst(cmd::envsubst::Args),
    /// Print the resources reconciled by Flux objects.
    Tree(cmd::tree::Args),
    /// Trace an object to the Kustomization that manages it and its source.
    Trace(cmd::trace::Args),
    /// Display Kubernetes events for Flux resources.
    Events(cmd::events::Args),
    /// Display formatted logs for Flux components.
    Logs(cmd::logs::Args),
    /// Diff a local build with the cluster (exit code 1 when something would change).
    Diff {
        #[command(subcommand)]
        what: DiffCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DiffCommand {
    /// Diff a Kustomization built from a local path with the cluster.
    #[command(alias = "ks")]
    Kustomization(cmd::diff_kustomization::Args),
}

#[derive(Debug, Subcommand)]
enum BuildCommand {
    /// Build a kustomization directory, printing what `kustomize build DIR` prints.
    Kustomize(cmd::build_kustomize::Args),
    /// Render a Helm chart, printing what `helm template` prints.
    Helm(cmd::build_helm::Args),
    /// Build a Kustomization from a local path, as kustomize-controller would apply it.
    #[command(alias = "ks")]
    Kustomization(cmd::build_kustomization::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(&err),
    };
    let result = match cli.command {
        Command::Version(args) => cmd::version::run(args, &cli.global),
        Command::Install(args) => cmd::install::run(args, &cli.global),
        Command::Completion(args) => {
            cmd::completion::run(args, &mut Cli::command());
            Ok(())
        }
        Command::Build { what } => match what {
            BuildCommand::Kustomize(args) => cmd::build_kustomize::run(args),
            BuildCommand::Helm(args) => cmd::build_helm::run(args),
            BuildCommand::Kustomization(args) => cmd::build_kustomization::run(args, &cli.global),
        },
        Command::Dev(args) => cmd::dev::run(args),
        Command::Get(args) => cmd::get::run(args, &cli.global),
        Command::Export(args) => cmd::export::run(args, &cli.global),
        Command::Create(args) => cmd::create::run(args, &cli.global),
        Command::Suspend(args) => cmd::suspend::run(args, &cli.global),
        Command::Resume(args) => cmd::resume::run(args, &cli.global),
        Command::Reconcile(args) => cmd::reconcile::run(args, &cli.global),
        Command::Delete(args) => cmd::delete::run(args, &cli.global),
        Command::Check(args) => cmd::check::run(args, &cli.global),
        Command::Uninstall(args) => cmd::uninstall::run(args, &cli.global),
        Command::Envsubst(args) => cmd::envsubst::run(args),
        Command::Tree(args) => cmd::tree::run(args, &cli.global),
        Command::Trace(args) => cmd::trace::run(args, &cli.global),
        Command::Events(args) => cmd::events::run(args, &cli.global),
        Command::Logs(args) => cmd::logs::run(args, &cli.global),
        Command::Diff {
            what: DiffCommand::Kustomization(args),
        } => cmd::diff_kustomization::run(args, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<Reported>() => ExitCode::FAILURE,
        Err(err) if err.is::<cmd::diff_kustomization::DiffOutcome>() => {
            let code = err
                .downcast_ref::<cmd::diff_kustomization::DiffOutcome>()
                .map_or(2, |o| o.code);
            if code == 1 {
                output::warning(&err.to_string());
            } else {
                output::failure(&err.to_string().replace('\n', " "));
            }
            ExitCode::from(code)
        }
        Err(err) => {
            // One line per cause, no backtrace: `✗ <error>: <cause>: ...`
            output::failure(&format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout as clap prints them; a usage error is one `✗` line, as
/// upstream's cobra prints `✗ unknown flag: --foo`; exit code 2 (usage error).
fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let text = err.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            output::failure(first);
            ExitCode::from(2)
        }
    }
}
