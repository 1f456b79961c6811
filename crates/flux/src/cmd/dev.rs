//! `flux dev`: the embedded API server and controllers on one machine.
//!
//! Today only `--api-only` is served: the embedded, durable Kubernetes API server
//! (flux-apiserver) on 127.0.0.1, until killed, with `DIR/kubeconfig` for kubectl.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// Flags of `flux dev`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.api_only {
        anyhow::bail!(
            "flux dev: only `--api-only` is implemented so far (controllers are not wired in yet)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
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
