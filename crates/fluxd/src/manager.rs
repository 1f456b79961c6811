//! The controller manager: one Kubernetes client, one metrics registry and admin server
//! shared by every controller; per controller its own Runtime (event recorder named after
//! the upstream controller) and its own leader-election Lease. A controller starts only
//! once it holds its Lease (so source-controller's artifact server runs only on the
//! leader, as upstream); SIGTERM or ctrl-c stops everything gracefully, and a lost Lease
//! stops every controller and makes fluxd exit non-zero (upstream exits too).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::Flags;
use crate::feature_gates::{FeatureGates, STRICT_POST_BUILD_SUBSTITUTIONS};
use crate::selection::{Controller, Selection};

fn duration_flag(name: &str, value: &str) -> anyhow::Result<Duration> {
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

/// `--storage-addr` with port 0 replaced by the port actually bound, so the advertised
/// artifact URLs point at the server.
fn storage_addr_with_port(addr: &str, bound_port: u16) -> String {
    match addr.rsplit_once(':') {
        Some((host, "0")) => format!("{host}:{bound_port}"),
        _ => addr.to_string(),
    }
}

/// Lease name as upstream: `<controller>-leader-election`, plus `-<8 hex of
/// sha256(selector)>` for sharded instances (`--watch-label-selector`).
pub fn lease_name(controller: &str, watch_label_selector: &str) -> String {
    let base = format!("{controller}-leader-election");
    if watch_label_selector.is_empty() {
        return base;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(watch_label_selector.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{base}-{hex}")
}

/// Resolves when the stop flag is raised.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// Waits for SIGTERM or SIGINT (ctrl-c).
async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received, stopping"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received, stopping"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only ctrl-c stops fluxd");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Everything a controller task needs.
struct Shared {
    client: kube::Client,
    metrics: flux_runtime::Metrics,
    options: flux_runtime::ControllerOptions,
    election: Option<ElectionSettings>,
    stop_tx: watch::Sender<bool>,
    /// Why fluxd must exit non-zero (a lost lease, a controller that could not start).
    failure: Mutex<Option<String>>,
}

#[derive(Clone)]
struct ElectionSettings {
    namespace: String,
    identity: String,
    lease_duration: Duration,
    renew_deadline: Duration,
    retry_period: Duration,
    release_on_cancel: bool,
    watch_label_selector: String,
}

impl Shared {
    fn fail(&self, why: String) {
        tracing::error!(error = %why, "stopping every controller");
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(why);
        }
        let _ = self.stop_tx.send(true);
    }

    fn runtime(&self, controller: Controller, events_addr: &str) -> flux_runtime::Runtime {
        flux_runtime::Runtime {
            client: self.client.clone(),
            recorder: flux_runtime::EventRecorder::new(
                self.client.clone(),
                controller.upstream_name(),
                Some(events_addr),
            ),
            metrics: self.metrics.clone(),
            options: self.options.clone(),
        }
    }
}

/// How one controller is started once it is leader.
enum Start {
    Source {
        storage_path: std::path::PathBuf,
        storage_addr: String,
        storage_adv_addr: Option<String>,
    },
    Kustomize(kustomize_controller::KustomizeOptions),
}

fn kustomize_options(
    flags: &Flags,
    gates: &FeatureGates,
) -> kustomize_controller::KustomizeOptions {
    kustomize_controller::KustomizeOptions {
        no_cross_namespace_refs: flags.no_cross_namespace_refs,
        strict_substitutions: gates.enabled(STRICT_POST_BUILD_SUBSTITUTIONS),
        no_remote_bases: flags.no_remote_bases,
        default_service_account: Some(flags.default_service_account.clone())
            .filter(|s| !s.is_empty()),
        ..kustomize_controller::KustomizeOptions::default()
    }
}

/// Runs the selected controllers until a termination signal or a lost Lease.
pub async fn run(flags: &Flags, selection: &Selection, gates: &FeatureGates) -> anyhow::Result<()> {
    flux_runtime::install_crypto_provider();
    if !selection.not_implemented.is_empty() {
        tracing::warn!(
            not_implemented = %selection.not_implemented.join(","),
            "these controllers are not implemented yet in fluxd and do not run"
        );
    }
    let ignored = gates.without_effect();
    if !ignored.is_empty() {
        tracing::warn!(gates = %ignored.join(","), "feature gates accepted without effect in fluxd");
    }
    let options = flux_runtime::ControllerOptions {
        concurrent: u16::try_from(flags.concurrent.max(1)).unwrap_or(u16::MAX),
        watch_label_selector: flags.watch_label_selector.clone(),
        namespace: if flags.watch_all_namespaces {
            None
        } else {
            Some(std::env::var("RUNTIME_NAMESPACE").unwrap_or_else(|_| "flux-system".to_string()))
        },
        requeue: flux_runtime::RequeuePolicy {
            interval_jitter_percentage: flags.interval_jitter_percentage.min(100),
            min_retry_delay: duration_flag("min-retry-delay", &flags.min_retry_delay)?,
            max_retry_delay: duration_flag("max-retry-delay", &flags.max_retry_delay)?,
        },
        requeue_dependency: duration_flag("requeue-dependency", &flags.requeue_dependency)?,
    };
    let election_timing = (
        duration_flag(
            "leader-election-lease-duration",
            &flags.leader_election_lease_duration,
        )?,
        duration_flag(
            "leader-election-renew-deadline",
            &flags.leader_election_renew_deadline,
        )?,
        duration_flag(
            "leader-election-retry-period",
            &flags.leader_election_retry_period,
        )?,
    );
    let client = kube::Client::try_default()
        .await
        .context("building a Kubernetes client from the kubeconfig or in-cluster config")?;
    let election = flags.enable_leader_election.then(|| {
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
        ElectionSettings {
            namespace,
            identity,
            lease_duration: election_timing.0,
            renew_deadline: election_timing.1,
            retry_period: election_timing.2,
            release_on_cancel: flags.leader_election_release_on_cancel,
            watch_label_selector: flags.watch_label_selector.clone(),
        }
    });

    let metrics = flux_runtime::Metrics::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (admin_stop_tx, admin_stop_rx) = watch::channel(false);

    // Probes and metrics are served whether or not this instance leads (as upstream).
    let mut admin_addrs = vec![flags.metrics_addr.clone()];
    if flags.health_addr != flags.metrics_addr {
        admin_addrs.push(flags.health_addr.clone());
    }
    let mut admin_tasks = Vec::new();
    for addr in admin_addrs {
        let listener = tokio::net::TcpListener::bind(listen_addr(&addr))
            .await
            .with_context(|| format!("binding admin address {addr}"))?;
        let local = listener.local_addr().ok();
        tracing::info!(addr = %addr, local = ?local, "admin server listening");
        let (m, stop) = (metrics.clone(), stopped(admin_stop_rx.clone()));
        admin_tasks.push(tokio::spawn(async move {
            if let Err(e) = flux_runtime::admin::serve(listener, m, stop).await {
                tracing::error!(error = %e, "admin server failed");
            }
        }));
    }

    let shared = Arc::new(Shared {
        client,
        metrics,
        options,
        election,
        stop_tx,
        failure: Mutex::new(None),
    });
    {
        let shared = shared.clone();
        let rx = stop_rx.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = termination_signal() => { let _ = shared.stop_tx.send(true); }
                _ = stopped(rx) => {}
            }
        });
    }

    let mut tasks = Vec::new();
    for &controller in &selection.run {
        let start = match controller {
            Controller::Source => Start::Source {
                storage_path: if flags.storage_path.is_empty() {
                    std::env::var("STORAGE_PATH")
                        .ok()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "/data".to_string())
                        .into()
                } else {
                    flags.storage_path.clone().into()
                },
                storage_addr: flags.storage_addr.clone(),
                storage_adv_addr: Some(flags.storage_adv_addr.clone()).filter(|a| !a.is_empty()),
            },
            Controller::Kustomize => Start::Kustomize(kustomize_options(flags, gates)),
        };
        let rt = shared.runtime(controller, &flags.events_addr);
        let shared = shared.clone();
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(run_controller(
            controller, start, rt, shared, rx,
        )));
    }
    tracing::info!(
        controllers = %selection.run.iter().map(|c| c.flag_name()).collect::<Vec<_>>().join(","),
        leader_election = flags.enable_leader_election,
        "starting"
    );
    for task in tasks {
        if let Err(e) = task.await {
            shared.fail(format!("a controller task panicked: {e}"));
        }
    }
    let _ = admin_stop_tx.send(true);
    for task in admin_tasks {
        let _ = task.await;
    }
    let failure = shared.failure.lock().ok().and_then(|mut f| f.take());
    match failure {
        Some(why) => Err(anyhow::anyhow!(why)),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

/// Wins the Lease (when enabled), runs the controller until the stop flag, keeps
/// renewing meanwhile, and releases the Lease at the end.
async fn run_controller(
    controller: Controller,
    start: Start,
    rt: flux_runtime::Runtime,
    shared: Arc<Shared>,
    stop_rx: watch::Receiver<bool>,
) {
    let name = controller.upstream_name();
    let elector = shared.election.as_ref().map(|e| {
        let mut options = flux_runtime::LeaderElectionOptions::new(name, &e.namespace, &e.identity);
        options.lease_name = lease_name(name, &e.watch_label_selector);
        options.lease_duration = e.lease_duration;
        options.renew_deadline = e.renew_deadline;
        options.retry_period = e.retry_period;
        (
            flux_runtime::LeaderElector::new(shared.client.clone(), options.clone()),
            options,
        )
    });
    if let Some((elector, options)) = &elector {
        tracing::info!(
            controller = name,
            lease = %format!("{}/{}", options.namespace, options.lease_name),
            identity = %options.identity,
            "waiting for leader election"
        );
        tokio::select! {
            _ = elector.acquire() => {}
            _ = stopped(stop_rx.clone()) => return,
        }
        tracing::info!(controller = name, lease = %options.lease_name, "elected leader");
    }

    let controller_run = start_controller(start, rt, stopped(stop_rx.clone()));
    tokio::pin!(controller_run);
    let hold = async {
        match &elector {
            Some((e, _)) => e.hold().await,
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = &mut controller_run => result,
        lost = hold => {
            shared.fail(format!("{name}: {lost}"));
            controller_run.await
        }
    };
    if let Err(e) = result {
        shared.fail(format!("{name}: {e:#}"));
    }
    if let Some((elector, options)) = elector
        && shared
            .election
            .as_ref()
            .is_some_and(|e| e.release_on_cancel)
    {
        match elector.release().await {
            Ok(()) => {
                tracing::info!(controller = name, lease = %options.lease_name, "lease released")
            }
            Err(e) => tracing::warn!(controller = name, error = %e, "releasing the lease failed"),
        }
    }
    tracing::info!(controller = name, "controller stopped");
}

/// Starts one controller (already leader) and returns when `shutdown` has stopped it.
async fn start_controller(
    start: Start,
    rt: flux_runtime::Runtime,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    match start {
        Start::Source {
            storage_path,
            storage_addr,
            storage_adv_addr,
        } => {
            let listener = source_controller::bind_storage_server(&storage_addr).await?;
            let port = listener
                .local_addr()
                .with_context(|| format!("reading the address bound for {storage_addr}"))?
                .port();
            let storage_addr = storage_addr_with_port(&storage_addr, port);
            let storage = source_controller::open_storage(&flux_artifact::StorageOptions {
                storage_path,
                storage_addr: storage_addr.clone(),
                storage_adv_addr,
                ..flux_artifact::StorageOptions::default()
            })?;
            tracing::info!(
                controller = "source-controller",
                storage_addr = %storage_addr,
                "artifact server listening"
            );
            source_controller::run(rt, storage, listener, shutdown).await;
        }
        Start::Kustomize(options) => {
            kustomize_controller::run(rt, options, shutdown).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_follow_upstream() {
        assert_eq!(
            lease_name("kustomize-controller", ""),
            "kustomize-controller-leader-election"
        );
        let sharded = lease_name("source-controller", "sharding.fluxcd.io/key=shard1");
        let suffix = sharded
            .strip_prefix("source-controller-leader-election-")
            .expect("prefix");
        assert_eq!(suffix.len(), 8);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(
            sharded,
            lease_name("source-controller", "sharding.fluxcd.io/key=shard2")
        );
    }

    #[test]
    fn storage_port_zero_is_replaced() {
        assert_eq!(storage_addr_with_port(":0", 4321), ":4321");
        assert_eq!(
            storage_addr_with_port("127.0.0.1:0", 4321),
            "127.0.0.1:4321"
        );
        assert_eq!(storage_addr_with_port(":9090", 4321), ":9090");
    }
}
