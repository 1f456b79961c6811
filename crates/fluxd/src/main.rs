//! `fluxd`: the flux-rs controller manager. Flags follow Flux's controllers
//! (fluxcd/pkg/runtime) so Deployments written for Flux translate one to one.

use std::process::ExitCode;

use clap::Parser;

/// The controllers fluxd can run.
const CONTROLLERS: &[&str] = &[
    "source",
    "kustomize",
    "helm",
    "notification",
    "image",
    "watcher",
];

/// The flux-rs controller manager.
#[derive(Debug, Parser)]
#[command(name = "fluxd", version)]
struct Flags {
    /// Comma-separated controllers to run: all, or any of source,kustomize,helm,notification,image,watcher.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    controllers: Vec<String>,
    /// The number of concurrent reconciles per controller.
    #[arg(long, default_value_t = 4)]
    concurrent: u32,
    /// Watch for custom resources in all namespaces; if false, only in the runtime namespace.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    watch_all_namespaces: bool,
    /// Watch for custom resources with matching labels (sharding), e.g. 'sharding.fluxcd.io/key=shard1'.
    #[arg(long, default_value = "")]
    watch_label_selector: String,
    /// The address the metric endpoint binds to.
    #[arg(long, default_value = ":8080")]
    metrics_addr: String,
    /// The address the health endpoint binds to.
    #[arg(long, default_value = ":9440")]
    health_addr: String,
    /// The address of the events receiver (notification-controller).
    #[arg(long, default_value = "")]
    events_addr: String,
    /// Enable leader election for the controller manager.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    enable_leader_election: bool,
    /// Log verbosity level: debug, info, error.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Log encoding format: json or console.
    #[arg(long, default_value = "json")]
    log_encoding: String,
    /// The interval at which failing dependencies are re-checked.
    #[arg(long, default_value = "30s")]
    requeue_dependency: String,
    /// Percentage of jitter to apply to interval durations.
    #[arg(long, default_value_t = 5)]
    interval_jitter_percentage: u8,
    /// The minimum delay before retrying a failed reconcile.
    #[arg(long, default_value = "750ms")]
    min_retry_delay: String,
    /// The maximum delay before retrying a failed reconcile.
    #[arg(long, default_value = "15m")]
    max_retry_delay: String,
    /// When set to true, references between custom resources are allowed only in the same namespace.
    #[arg(long)]
    no_cross_namespace_refs: bool,
    /// Disallow remote bases usage in Kustomize overlays.
    #[arg(long)]
    no_remote_bases: bool,
    /// Default service account used for impersonation.
    #[arg(long, default_value = "")]
    default_service_account: String,
    /// The local storage path for artifacts (source controller).
    #[arg(long, default_value = "")]
    storage_path: String,
    /// The address the static file server binds to (source controller).
    #[arg(long, default_value = ":9090")]
    storage_addr: String,
    /// The advertised address of the static file server.
    #[arg(long, default_value = "")]
    storage_adv_addr: String,
    /// A comma separated list of key=value pairs describing the state of feature gates.
    #[arg(long, default_value = "")]
    feature_gates: String,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    for c in &flags.controllers {
        if c != "all" && !CONTROLLERS.contains(&c.as_str()) {
            eprintln!(
                "✗ invalid --controllers entry {c:?}: must be all or one of {}",
                CONTROLLERS.join(",")
            );
            return ExitCode::from(2);
        }
    }
    let wants = |name: &str| flags.controllers.iter().any(|c| c == "all" || c == name);
    if !wants("source") {
        eprintln!(
            "✗ fluxd: only the source controller is implemented (requested: {})",
            flags.controllers.join(",")
        );
        return ExitCode::FAILURE;
    }
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
    match runtime.block_on(run(flags)) {
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

fn duration_flag(name: &str, value: &str) -> anyhow::Result<std::time::Duration> {
    flux_api::GoDuration::parse(value)
        .map(|d| d.to_std())
        .map_err(|e| anyhow::anyhow!("--{name}: {e}"))
}

/// Go's `:8080` form binds every interface.
fn listen_addr(addr: &str) -> String {
    if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    }
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    use anyhow::Context;
    flux_runtime::install_crypto_provider();
    let wanted: Vec<&str> = flags
        .controllers
        .iter()
        .filter(|c| c.as_str() != "source")
        .map(String::as_str)
        .collect();
    if !wanted.is_empty() {
        tracing::warn!(
            ignored = %wanted.join(","),
            "only the source controller (GitRepository) is implemented; running it alone"
        );
    }
    let client = kube::Client::try_default()
        .await
        .context("building a Kubernetes client from the kubeconfig or in-cluster config")?;
    let elector = if flags.enable_leader_election {
        let namespace = std::env::var("RUNTIME_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| client.default_namespace().to_string());
        let identity = format!(
            "{}_{:x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "fluxd".to_string()),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let mut options =
            flux_runtime::LeaderElectionOptions::new("source-controller", &namespace, &identity);
        if !flags.watch_label_selector.is_empty() {
            // Sharded instances elect separately: `-<8 hex of sha256(selector)>`.
            use sha2::Digest;
            let hash = sha2::Sha256::digest(flags.watch_label_selector.as_bytes());
            let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
            options.lease_name = format!("{}-{hex}", options.lease_name);
        }
        let elector = flux_runtime::LeaderElector::new(client.clone(), options);
        tracing::info!(namespace = %namespace, identity = %identity, "waiting for leader election");
        elector.acquire().await;
        tracing::info!("elected leader");
        Some(elector)
    } else {
        None
    };
    let namespace = if flags.watch_all_namespaces {
        None
    } else {
        Some(std::env::var("RUNTIME_NAMESPACE").unwrap_or_else(|_| "flux-system".to_string()))
    };
    let options = flux_runtime::ControllerOptions {
        concurrent: u16::try_from(flags.concurrent.max(1)).unwrap_or(u16::MAX),
        watch_label_selector: flags.watch_label_selector.clone(),
        namespace,
        requeue: flux_runtime::RequeuePolicy {
            interval_jitter_percentage: flags.interval_jitter_percentage.min(100),
            min_retry_delay: duration_flag("min-retry-delay", &flags.min_retry_delay)?,
            max_retry_delay: duration_flag("max-retry-delay", &flags.max_retry_delay)?,
        },
        requeue_dependency: duration_flag("requeue-dependency", &flags.requeue_dependency)?,
    };
    let metrics = flux_runtime::Metrics::new();
    let rt = flux_runtime::Runtime {
        client: client.clone(),
        recorder: flux_runtime::EventRecorder::new(
            client,
            "source-controller",
            Some(flags.events_addr.as_str()),
        ),
        metrics: metrics.clone(),
        options,
    };
    let storage_path = if flags.storage_path.is_empty() {
        std::env::var("STORAGE_PATH").unwrap_or_else(|_| "/data".to_string())
    } else {
        flags.storage_path.clone()
    };
    let storage = source_controller::open_storage(&flux_artifact::StorageOptions {
        storage_path: storage_path.into(),
        storage_addr: flags.storage_addr.clone(),
        storage_adv_addr: Some(flags.storage_adv_addr.clone()).filter(|a| !a.is_empty()),
        ..flux_artifact::StorageOptions::default()
    })?;
    let storage_listener = source_controller::bind_storage_server(&flags.storage_addr).await?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopper = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let mut admin_addrs = vec![flags.metrics_addr.clone()];
    if flags.health_addr != flags.metrics_addr {
        admin_addrs.push(flags.health_addr.clone());
    }
    for addr in admin_addrs {
        let listener = tokio::net::TcpListener::bind(listen_addr(&addr))
            .await
            .with_context(|| format!("binding admin address {addr}"))?;
        let (m, stop) = (metrics.clone(), stopper(stop_rx.clone()));
        tokio::spawn(async move {
            if let Err(e) = flux_runtime::admin::serve(listener, m, stop).await {
                tracing::error!(error = %e, "admin server failed");
            }
        });
    }
    tracing::info!(controllers = "source", "starting");
    let holder = elector.clone();
    let shutdown = async move {
        match holder {
            Some(e) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                lost = e.hold() => tracing::error!(error = %lost, "stopping"),
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    source_controller::run(rt, storage, storage_listener, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(e) = elector
        && let Err(err) = e.release().await
    {
        tracing::warn!(error = %err, "releasing the lease failed");
    }
    Ok(())
}
