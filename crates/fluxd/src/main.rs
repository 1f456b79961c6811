//! `fluxd`: the flux-rs controller manager. Flags follow Flux's controllers
//! (fluxcd/pkg/runtime) so Deployments written for Flux translate one to one.

mod feature_gates;
mod manager;
mod selection;

use std::process::ExitCode;

use clap::Parser;

/// The flux-rs controller manager.
#[derive(Debug, Parser)]
#[command(name = "fluxd", version)]
pub struct Flags {
    /// Comma-separated controllers to run: all, or any of source,kustomize,helm,notification,image,watcher
    /// (helm, notification, image and watcher are not implemented yet).
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// The number of concurrent reconciles per controller.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u32,
    /// Watch for custom resources in all namespaces; if false, only in the runtime namespace.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_all_namespaces: bool,
    /// Watch for custom resources with matching labels (sharding), e.g. 'sharding.fluxcd.io/key=shard1'.
    #[arg(long, default_value = "")]
    pub watch_label_selector: String,
    /// The address the metric endpoint binds to.
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// The address the health endpoint binds to.
    #[arg(long, default_value = ":9440")]
    pub health_addr: String,
    /// The address of the events receiver (notification-controller).
    #[arg(long, default_value = "")]
    pub events_addr: String,
    /// Enable leader election: each controller starts only once it holds its Lease.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_leader_election: bool,
    /// Defines if the leader should step down voluntarily on shutdown.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election_release_on_cancel: bool,
    /// Interval at which non-leader candidates will wait to force acquire leadership.
    #[arg(long, default_value = "35s")]
    pub leader_election_lease_duration: String,
    /// Duration that the leader will retry refreshing leadership before giving up.
    #[arg(long, default_value = "30s")]
    pub leader_election_renew_deadline: String,
    /// Duration the leader election clients wait between tries of actions.
    #[arg(long, default_value = "5s")]
    pub leader_election_retry_period: String,
    /// Log verbosity level: debug, info, error.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log encoding format: json or console.
    #[arg(long, default_value = "json")]
    pub log_encoding: String,
    /// The interval at which failing dependencies are re-checked.
    #[arg(long, default_value = "30s")]
    pub requeue_dependency: String,
    /// Percentage of jitter to apply to interval durations.
    #[arg(long, default_value_t = 5)]
    pub interval_jitter_percentage: u8,
    /// The minimum delay before retrying a failed reconcile.
    #[arg(long, default_value = "750ms")]
    pub min_retry_delay: String,
    /// The maximum delay before retrying a failed reconcile.
    #[arg(long, default_value = "15m")]
    pub max_retry_delay: String,
    /// When set to true, references between custom resources are allowed only in the same namespace.
    #[arg(long)]
    pub no_cross_namespace_refs: bool,
    /// Disallow remote bases usage in Kustomize overlays (kustomize controller).
    #[arg(long)]
    pub no_remote_bases: bool,
    /// Default service account used for impersonation (kustomize controller).
    #[arg(long, default_value = "")]
    pub default_service_account: String,
    /// The local storage path for artifacts (source controller; default $STORAGE_PATH or /data).
    #[arg(long, default_value = "")]
    pub storage_path: String,
    /// The address the static file server binds to (source controller; port 0 picks a free one).
    #[arg(long, default_value = ":9090")]
    pub storage_addr: String,
    /// The advertised address of the static file server.
    #[arg(long, default_value = "")]
    pub storage_adv_addr: String,
    /// A comma separated list of key=value pairs describing the state of feature gates.
    #[arg(long, default_value = "")]
    pub feature_gates: String,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let selection = match selection::select(&flags.controllers) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("✗ fluxd: {e}");
            return ExitCode::from(2);
        }
    };
    let gates = match feature_gates::FeatureGates::parse(&flags.feature_gates) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("✗ fluxd: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&flags);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("✗ fluxd: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(manager::run(&flags, &selection, &gates)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("✗ fluxd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(flags: &Flags) {
    let filter = tracing_subscriber::EnvFilter::try_new(&flags.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if flags.log_encoding == "console" {
        builder.init();
    } else {
        builder.json().init();
    }
}
