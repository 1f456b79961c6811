//! `flux dev [PATH]`: the whole GitOps loop on one machine (the engine is the flux-dev
//! crate). `--api-only` serves only the embedded, durable API server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// Flags of `flux dev`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A directory inside a Git work tree (the GitRepository follows its current branch).
    #[arg(default_value = ".", value_name = "PATH")]
    pub dir: PathBuf,
    /// The Kustomization's path relative to the repository root (default: PATH's).
    #[arg(long = "path", value_name = "REPO_PATH")]
    pub kustomization_path: Option<String>,
    /// Reconcile the files as they are on disk, committed or not (.gitignore honoured).
    #[arg(long)]
    pub worktree: bool,
    /// Exit after the first complete reconciliation: 0 when everything is Ready.
    #[arg(long)]
    pub once: bool,
    /// Only serve the embedded API server.
    #[arg(long)]
    pub api_only: bool,
    /// Where the API server keeps its state, TLS material and kubeconfig.
    #[arg(long, default_value = ".flux-dev")]
    pub data_dir: PathBuf,
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Do not move workloads (Deployments, Pods, Jobs, …) to a ready status.
    #[arg(long)]
    pub no_workload_simulator: bool,
}

/// `--timeout` is a global flag of the CLI (default 5m0s), read from the command line
/// here because `run` only gets the command's own flags.
fn global_timeout() -> std::time::Duration {
    let default = std::time::Duration::from_secs(300);
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().enumerate().find_map(|(i, arg)| {
        if arg == "--timeout" {
            args.get(i + 1).cloned()
        } else {
            arg.strip_prefix("--timeout=").map(str::to_string)
        }
    });
    value
        .and_then(|v| flux_api::GoDuration::parse(&v).ok())
        .map(|d| d.to_std())
        .unwrap_or(default)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if args.api_only {
        return run_api_only(&runtime, &args);
    }
    let options = flux_dev::DevOptions {
        path: args.dir.clone(),
        kustomization_path: args.kustomization_path.clone(),
        data_dir: args.data_dir.clone(),
        port: args.port,
        workload_simulator: !args.no_workload_simulator,
        worktree: args.worktree,
        poll_interval: std::time::Duration::from_secs(1),
    };
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let mode = flux_dev::RunMode {
        once: args.once,
        timeout: global_timeout(),
        tty,
        color: tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let log = flux_dev::controller_log::init(&options.data_dir)?;
    runtime.block_on(async move {
        let mut session = flux_dev::Session::start(&options).await?;
        let mut out = stdout.lock();
        session.announce(&mut out).context("writing to stdout")?;
        {
            use std::io::Write;
            writeln!(out, "► controller logs in {}", log.display()).context("writing to stdout")?;
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let outcome = session.run(mode, &mut out, shutdown).await;
        drop(out);
        session.stop().await;
        match outcome? {
            outcome @ flux_dev::Outcome::Ready { .. } => {
                println!("✔ {}", outcome.summary());
                Ok(())
            }
            flux_dev::Outcome::Stopped => Ok(()),
            outcome => anyhow::bail!("{}", outcome.summary()),
        }
    })
}

fn run_api_only(runtime: &tokio::runtime::Runtime, args: &Args) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let kubeconfig = args.data_dir.join("kubeconfig");
    runtime
        .block_on(flux_apiserver::run_dev(
            &args.data_dir,
            addr,
            !args.no_workload_simulator,
            |local| {
                println!("► API server listening on https://{local}");
                println!("► kubeconfig written to {}", kubeconfig.display());
            },
        ))
        .with_context(|| format!("serving the API server from {}", args.data_dir.display()))
}
