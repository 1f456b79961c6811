use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::bail;
use axum::routing::post;
use flux_api::source::{GitRepository, GitRepositoryStatus};
use flux_runtime::{
    ControllerOptions, EventRecorder, EventType, Metrics, ReconcileError, ReconcileResult,
    Reconciler, RequeuePolicy, Runtime, Success,
};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

/// Reconciles according to the annotation `test/outcome`: `ok`, `stall`, `retry`.
#[derive(Default)]
struct Scripted {
    calls: AtomicUsize,
    finalized: AtomicUsize,
}

impl Reconciler<GitRepository> for Scripted {
    async fn reconcile(
        &self,
        obj: Arc<GitRepository>,
        status: &mut GitRepositoryStatus,
        rt: &Runtime,
    ) -> ReconcileResult {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let outcome = obj
            .annotations()
            .get("test/outcome")
            .cloned()
            .unwrap_or_default();
        match outcome.as_str() {
            "stall" => Err(ReconcileError::stalled("URLInvalid", "bad url")),
            "retry" => Err(ReconcileError::retry("GitOperationFailed", "remote down")),
            _ => {
                status.observed_ignore = Some("seen".into());
                let meta = BTreeMap::from([("revision".to_string(), "main@sha1:abc".to_string())]);
                rt.recorder
                    .record(
                        obj.as_ref(),
                        EventType::Normal,
                        "NewArtifact",
                        "stored artifact",
                        &meta,
                    )
                    .await;
                Ok(Success::new("stored artifact for revision 'main@sha1:abc'"))
            }
        }
    }

    async fn finalize(
        &self,
        _obj: Arc<GitRepository>,
        _rt: &Runtime,
    ) -> Result<(), ReconcileError> {
        self.finalized.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn wait_for(
    api: &Api<GitRepository>,
    name: &str,
    what: &str,
    pred: impl Fn(&GitRepository) -> bool,
) -> anyhow::Result<GitRepository> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(obj) = api.get_opt(name).await? {
            if pred(&obj) {
                return Ok(obj);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("timed out waiting for {name}: {what}: {:?}", obj.status);
            }
        } else if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for {name}: {what}: object gone");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn cond(obj: &GitRepository, t: &str) -> Option<(String, String, String)> {
    let c = obj.status.as_ref()?.conditions.as_ref()?;
    flux_api::conditions::find(c, t).map(|c| {
        (
            c.status.as_str().to_string(),
            c.reason.clone(),
            c.message.clone(),
        )
    })
}

async fn repo(
    api: &Api<GitRepository>,
    name: &str,
    outcome: &str,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    let mut spec = json!({"url": "https://example.com/r.git", "interval": "1h"});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    let obj: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name, "namespace": "default", "annotations": {"test/outcome": outcome}},
        "spec": spec,
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_contract_on_the_embedded_api_server() -> anyhow::Result<()> {
    let server = flux_apiserver::ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = flux_api::crds::crd_of::<GitRepository>("GitRepository")?;
    crds.create(&PostParams::default(), &serde_json::from_value(crd)?)
        .await?;

    // An HTTP sink standing in for notification-controller.
    let received: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                if let Ok(mut v) = sink.lock() {
                    v.push(body);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sink_addr = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let metrics = Metrics::new();
    let rt = Runtime {
        client: client.clone(),
        recorder: EventRecorder::new(client.clone(), "source-controller", Some(&sink_addr)),
        metrics: metrics.clone(),
        options: ControllerOptions {
            concurrent: 2,
            watch_label_selector: "!sharding.fluxcd.io/key".into(),
            requeue: RequeuePolicy {
                min_retry_delay: Duration::from_millis(100),
                max_retry_delay: Duration::from_millis(400),
                ..RequeuePolicy::default()
            },
            ..ControllerOptions::default()
        },
    };
    let reconciler = Arc::new(Scripted::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let ctl = tokio::spawn(flux_runtime::controller::run::<GitRepository, _, _>(
        rt,
        reconciler.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    let api: Api<GitRepository> = Api::namespaced(client.clone(), "default");

    // Success: finalizer, Ready=True, observedGeneration, reconciler's status fields.
    repo(&api, "ok", "ok", json!({})).await?;
    let ok = wait_for(&api, "ok", "Ready", |o| {
        cond(o, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await?;
    assert_eq!(ok.finalizers(), ["finalizers.fluxcd.io".to_string()]);
    let st = ok.status.clone().unwrap_or_default();
    assert_eq!(st.observed_generation, Some(1));
    assert_eq!(st.observed_ignore.as_deref(), Some("seen"));
    assert_eq!(
        cond(&ok, "Ready").map(|c| (c.1, c.2)),
        Some((
            "Succeeded".into(),
            "stored artifact for revision 'main@sha1:abc'".into()
        ))
    );
    assert!(cond(&ok, "Reconciling").is_none());

    // Status writes do not retrigger: the call count settles.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = reconciler.calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        reconciler.calls.load(Ordering::SeqCst),
        settled,
        "no reconcile loop on own writes"
    );

    // requestedAt handshake.
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "now-1"}}});
    api.patch("ok", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_for(&api, "ok", "lastHandledReconcileAt", |o| {
        o.status
            .as_ref()
            .and_then(|s| s.last_handled_reconcile_at.as_deref())
            == Some("now-1")
    })
    .await?;

    // Stalled: Stalled=True, Ready=False, observedGeneration set, no requeue.
    repo(&api, "stall", "stall", json!({})).await?;
    let st = wait_for(&api, "stall", "Stalled", |o| cond(o, "Stalled").is_some()).await?;
    assert_eq!(
        cond(&st, "Stalled").map(|c| (c.0, c.1)),
        Some(("True".into(), "URLInvalid".into()))
    );
    assert_eq!(
        cond(&st, "Ready").map(|c| (c.0, c.1)),
        Some(("False".into(), "URLInvalid".into()))
    );
    assert_eq!(
        st.status.as_ref().and_then(|s| s.observed_generation),
        Some(1)
    );

    // Retry: Ready=False, Reconciling=ProgressingWithRetry, observedGeneration unset,
    // retried with backoff (several calls within a second).
    let before = reconciler.calls.load(Ordering::SeqCst);
    repo(&api, "retry", "retry", json!({})).await?;
    let rt_obj = wait_for(&api, "retry", "Ready=False", |o| {
        cond(o, "Ready").is_some_and(|c| c.0 == "False")
    })
    .await?;
    assert_eq!(
        cond(&rt_obj, "Reconciling").map(|c| (c.1, c.2)),
        Some((
            "ProgressingWithRetry".into(),
            "processing object: new generation -1 -> 1".into()
        ))
    );
    // Unchanged: the CRD's status default (-1).
    assert_eq!(
        rt_obj.status.as_ref().and_then(|s| s.observed_generation),
        Some(-1)
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        reconciler.calls.load(Ordering::SeqCst) >= before + 3,
        "retried with backoff"
    );

    // Suspended: untouched (no finalizer, no status).
    repo(&api, "suspended", "ok", json!({"suspend": true})).await?;
    // Sharded out by the label selector: never reconciled.
    let obj: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "other-shard", "namespace": "default", "labels": {"sharding.fluxcd.io/key": "shard1"}},
        "spec": {"url": "https://example.com/r.git", "interval": "1h"},
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for name in ["suspended", "other-shard"] {
        let o = api.get(name).await?;
        // Only the CRD's status default (observedGeneration -1), no conditions.
        let st = o.status.clone().unwrap_or_default();
        assert!(
            st.conditions.is_none() && st.observed_generation.unwrap_or(-1) == -1,
            "{name} was reconciled: {st:?}"
        );
        assert!(o.finalizers().is_empty(), "{name} got a finalizer");
    }

    // Deletion: finalize runs, the finalizer goes, the object goes.
    api.delete("ok", &Default::default()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while api.get_opt("ok").await?.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ok was not finalized"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reconciler.finalized.load(Ordering::SeqCst), 1);

    // Events: core/v1 with Flux's annotations, Warning for failures.
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let list = events.list(&Default::default()).await?.items;
    let new_artifact = list
        .iter()
        .find(|e| e.reason.as_deref() == Some("NewArtifact"));
    assert_eq!(
        new_artifact
            .and_then(|e| e.metadata.annotations.as_ref())
            .and_then(|a| a.get("source.toolkit.fluxcd.io/revision"))
            .map(String::as_str),
        Some("main@sha1:abc")
    );
    assert_eq!(
        new_artifact.and_then(|e| e.type_.as_deref()),
        Some("Normal")
    );
    assert_eq!(
        new_artifact.map(|e| e.involved_object.kind.clone()),
        Some(Some("GitRepository".into()))
    );
    let warning = list
        .iter()
        .find(|e| e.reason.as_deref() == Some("URLInvalid"));
    assert_eq!(warning.and_then(|e| e.type_.as_deref()), Some("Warning"));

    // Forwarded events in Flux's payload format.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let forwarded = loop {
        let v = received.lock().map(|v| v.clone()).unwrap_or_default();
        if v.iter().any(|e| e["reason"] == "NewArtifact")
            && v.iter().any(|e| e["reason"] == "URLInvalid")
        {
            break v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not forwarded: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let info = forwarded
        .iter()
        .find(|e| e["reason"] == "NewArtifact")
        .cloned()
        .unwrap_or_default();
    assert_eq!(info["severity"], "info");
    assert_eq!(info["reportingController"], "source-controller");
    assert_eq!(info["involvedObject"]["kind"], "GitRepository");
    assert_eq!(
        info["involvedObject"]["apiVersion"],
        "source.toolkit.fluxcd.io/v1"
    );
    assert_eq!(
        info["metadata"]["source.toolkit.fluxcd.io/revision"],
        "main@sha1:abc"
    );
    assert!(info["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let error = forwarded
        .iter()
        .find(|e| e["reason"] == "URLInvalid")
        .cloned()
        .unwrap_or_default();
    assert_eq!(error["severity"], "error");

    // Metrics and the admin server.
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let admin_addr = admin.local_addr()?;
    tokio::spawn(flux_runtime::admin::serve(
        admin,
        metrics.clone(),
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let text = http
        .get(format!("http://{admin_addr}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(text.contains("gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"stall\",namespace=\"default\"}"), "{text}");
    assert!(
        text.contains(
            "controller_runtime_reconcile_total{controller=\"gitrepository\",result=\"error\"}"
        ),
        "{text}"
    );
    for path in ["healthz", "readyz"] {
        let r = http
            .get(format!("http://{admin_addr}/{path}"))
            .send()
            .await?;
        assert!(r.status().is_success(), "{path}");
    }

    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), ctl).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_on_a_lease() -> anyhow::Result<()> {
    use flux_runtime::{LeaderElectionOptions, LeaderElector};
    let server = flux_apiserver::ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    let opts = |id: &str| LeaderElectionOptions {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(100),
        ..LeaderElectionOptions::new("source-controller", "default", id)
    };
    let a = LeaderElector::new(client.clone(), opts("a"));
    let b = LeaderElector::new(client.clone(), opts("b"));
    assert!(a.try_acquire_or_renew().await?, "a takes the free lease");
    assert!(!b.try_acquire_or_renew().await?, "b waits while a holds it");
    assert!(a.try_acquire_or_renew().await?, "a renews");
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "default");
    let lease = leases.get("source-controller-leader-election").await?;
    assert_eq!(
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref()),
        Some("a")
    );

    // Release on cancel hands over at once.
    a.release().await?;
    tokio::time::timeout(Duration::from_secs(5), b.acquire()).await?;
    let lease = leases.get("source-controller-leader-election").await?;
    assert_eq!(
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref()),
        Some("b")
    );
    assert_eq!(
        lease.spec.as_ref().and_then(|s| s.lease_transitions),
        Some(1)
    );

    // A leader that loses the lease notices within the renew deadline.
    let hold = tokio::spawn({
        let b = b.clone();
        async move { b.hold().await }
    });
    // Steal it: expire b's lease by rewriting the holder.
    let mut stolen = leases.get("source-controller-leader-election").await?;
    if let Some(s) = stolen.spec.as_mut() {
        s.holder_identity = Some("c".into());
        s.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
            jiff::Timestamp::now(),
        ));
    }
    leases
        .replace(
            "source-controller-leader-election",
            &PostParams::default(),
            &stolen,
        )
        .await?;
    let lost = tokio::time::timeout(Duration::from_secs(5), hold).await??;
    assert!(lost.to_string().contains("leader election lost"), "{lost}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_triggers_wake_objects_before_their_interval() -> anyhow::Result<()> {
    use futures::StreamExt;
    use kube::runtime::reflector::ObjectRef;

    let server = flux_apiserver::ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = flux_api::crds::crd_of::<GitRepository>("GitRepository")?;
    crds.create(&PostParams::default(), &serde_json::from_value(crd)?)
        .await?;
    let rt = Runtime {
        client: client.clone(),
        recorder: EventRecorder::new(client.clone(), "source-controller", None),
        metrics: Metrics::new(),
        options: ControllerOptions::default(),
    };
    let reconciler = Arc::new(Scripted::default());
    let (trigger_tx, trigger_rx) = futures::channel::mpsc::unbounded::<String>();
    let store_seen: Arc<std::sync::Mutex<Option<kube::runtime::reflector::Store<GitRepository>>>> =
        Arc::default();
    let store_slot = store_seen.clone();
    let ctl = tokio::spawn(flux_runtime::controller::run_with_triggers::<
        GitRepository,
        _,
        _,
        _,
        _,
    >(
        rt,
        reconciler.clone(),
        move |store| {
            if let Ok(mut slot) = store_slot.lock() {
                *slot = Some(store);
            }
            trigger_rx.map(|name| ObjectRef::new(&name).within("default"))
        },
        std::future::pending(),
    ));
    let api: Api<GitRepository> = Api::namespaced(client.clone(), "default");
    // interval 1h: without a trigger it would not run again during the test.
    repo(&api, "a", "ok", json!({})).await?;
    wait_for(&api, "a", "Ready", |o| {
        cond(o, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = reconciler.calls.load(Ordering::SeqCst);
    trigger_tx.unbounded_send("a".into())?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reconciler.calls.load(Ordering::SeqCst) == before {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the trigger did not reconcile the object"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A trigger for an unknown object is dropped without stopping the controller.
    trigger_tx.unbounded_send("absent".into())?;
    let after = reconciler.calls.load(Ordering::SeqCst);
    trigger_tx.unbounded_send("a".into())?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reconciler.calls.load(Ordering::SeqCst) == after {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the controller stopped after an unknown trigger"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The store handed to the trigger factory is the controller's cache.
    let store = store_seen
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .ok_or_else(|| anyhow::anyhow!("no store"))?;
    assert!(store.get(&ObjectRef::new("a").within("default")).is_some());
    ctl.abort();
    Ok(())
}

/// Sends a progress patch (Reconciling=True "building artifact: …", Ready=Unknown), holds
/// it for a moment, then either keeps the new status (`progress`) or puts the starting
/// status back (`progress-revert`: the final status equals the one on the server before
/// the reconcile).
#[derive(Default)]
struct Progressing {
    calls: AtomicUsize,
    outside_scope_error: std::sync::Mutex<Option<String>>,
}

const PROGRESS_MESSAGE: &str = "building artifact: new upstream revision 'main@sha1:abc'";

impl Reconciler<GitRepository> for Progressing {
    async fn reconcile(
        &self,
        obj: Arc<GitRepository>,
        status: &mut GitRepositoryStatus,
        rt: &Runtime,
    ) -> ReconcileResult {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let outcome = obj
            .annotations()
            .get("test/outcome")
            .cloned()
            .unwrap_or_default();
        let start = status.clone();
        let generation = obj.metadata.generation.unwrap_or(0);
        flux_runtime::mark_progressing(
            status.conditions.get_or_insert_with(Vec::new),
            "Progressing",
            PROGRESS_MESSAGE,
            generation,
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()),
        );
        rt.patch_progress(obj.as_ref(), status)
            .await
            .map_err(|e| ReconcileError::retry("PatchOperationFailed", e.to_string()))?;
        // A spawned task is outside the reconcile's scope: refused with a clear error.
        let (rt2, obj2, st2) = (rt.clone(), obj.clone(), status.clone());
        let outside = tokio::spawn(async move { rt2.patch_progress(obj2.as_ref(), &st2).await })
            .await
            .map_err(|e| ReconcileError::retry("Join", e.to_string()))?;
        if let (Err(e), Ok(mut slot)) = (outside, self.outside_scope_error.lock()) {
            *slot = Some(e.to_string());
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        if outcome == "progress-revert" {
            *status = start;
        } else {
            status.observed_ignore = Some("seen".into());
        }
        Ok(Success::new("stored artifact for revision 'main@sha1:abc'"))
    }

    async fn finalize(
        &self,
        _obj: Arc<GitRepository>,
        _rt: &Runtime,
    ) -> Result<(), ReconcileError> {
        Ok(())
    }
}

/// Polls `name` until `stop`, recording each distinct (Reconciling, Ready) pair seen.
type CondPair = (
    Option<(String, String, String)>,
    Option<(String, String, String)>,
);
type Seen = Arc<std::sync::Mutex<Vec<CondPair>>>;

fn observe_conditions(
    api: Api<GitRepository>,
    name: &'static str,
) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            if let Ok(Some(o)) = api.get_opt(name).await {
                let pair = (cond(&o, "Reconciling"), cond(&o, "Ready"));
                if let Ok(mut v) = sink.lock()
                    && v.last() != Some(&pair)
                {
                    v.push(pair);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (seen, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_patches_are_seen_and_cleared_by_the_final_patch() -> anyhow::Result<()> {
    flux_runtime::install_crypto_provider();
    use kube::runtime::reflector::ObjectRef;

    let server = flux_apiserver::ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = flux_api::crds::crd_of::<GitRepository>("GitRepository")?;
    crds.create(&PostParams::default(), &serde_json::from_value(crd)?)
        .await?;
    let metrics = Metrics::new();
    let rt = Runtime {
        client: client.clone(),
        recorder: EventRecorder::new(client.clone(), "source-controller", None),
        metrics: metrics.clone(),
        options: ControllerOptions {
            concurrent: 3,
            ..ControllerOptions::default()
        },
    };
    let reconciler = Arc::new(Progressing::default());
    let (trigger_tx, trigger_rx) = futures::channel::mpsc::unbounded::<String>();
    let ctl = tokio::spawn(flux_runtime::controller::run_with_triggers::<
        GitRepository,
        _,
        _,
        _,
        _,
    >(
        rt.clone(),
        reconciler.clone(),
        move |_store| {
            futures::StreamExt::map(trigger_rx, |name| ObjectRef::new(&name).within("default"))
        },
        std::future::pending(),
    ));
    let api: Api<GitRepository> = Api::namespaced(client.clone(), "default");

    // 1. A watcher sees the progress before Ready=True; the final object has none of it.
    let (seen, watcher) = observe_conditions(api.clone(), "a");
    repo(&api, "a", "progress", json!({})).await?;
    let done = wait_for(&api, "a", "Ready=True", |o| {
        cond(o, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await?;
    // Let the watcher poll the final state too (it polls every 20 ms; allow for a loaded
    // machine).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let saw_ready = seen.lock().is_ok_and(|v| {
            v.iter()
                .any(|(_, ready)| ready.as_ref().is_some_and(|r| r.0 == "True"))
        });
        if saw_ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.abort();
    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    let progress_at = seen.iter().position(|(rec, ready)| {
        rec.as_ref()
            .is_some_and(|r| r.0 == "True" && r.1 == "Progressing" && r.2 == PROGRESS_MESSAGE)
            && ready
                .as_ref()
                .is_some_and(|r| r.0 == "Unknown" && r.2 == PROGRESS_MESSAGE)
    });
    let ready_at = seen
        .iter()
        .position(|(_, ready)| ready.as_ref().is_some_and(|r| r.0 == "True"));
    assert!(
        matches!((progress_at, ready_at), (Some(p), Some(r)) if p < r),
        "progress not seen before Ready=True: {seen:?}"
    );
    assert!(cond(&done, "Reconciling").is_none(), "{:?}", done.status);
    assert_eq!(
        done.status
            .as_ref()
            .and_then(|s| s.observed_ignore.as_deref()),
        Some("seen")
    );
    assert_eq!(
        done.status.as_ref().and_then(|s| s.observed_generation),
        Some(1)
    );
    let outside = reconciler
        .outside_scope_error
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    assert!(
        outside
            .as_deref()
            .is_some_and(|e| e.contains("GitRepository/default/a") && e.contains("no reconcile")),
        "{outside:?}"
    );

    // 2. The final status equals the one the reconcile started from: the progress
    // conditions must still be removed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = api.get("a").await?;
    let patch = json!({"metadata": {"annotations": {"test/outcome": "progress-revert"}}});
    api.patch("a", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let (seen, watcher) = observe_conditions(api.clone(), "a");
    let calls = reconciler.calls.load(Ordering::SeqCst);
    trigger_tx.unbounded_send("a".into())?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reconciler.calls.load(Ordering::SeqCst) == calls {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "not triggered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = wait_for(&api, "a", "Reconciling cleared", |o| {
        cond(o, "Reconciling").is_none() && cond(o, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(900)).await;
    watcher.abort();
    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        seen.iter().any(|(rec, _)| rec.is_some()),
        "the second progress patch was not seen: {seen:?}"
    );
    let after = api.get("a").await.unwrap_or(after);
    assert!(cond(&after, "Reconciling").is_none(), "{:?}", after.status);
    assert_eq!(after.status, before.status, "status restored to the start");

    // controller-runtime metrics on the admin server's /metrics.
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let admin_addr = admin.local_addr()?;
    tokio::spawn(flux_runtime::admin::serve(
        admin,
        metrics.clone(),
        std::future::pending(),
    ));
    let text = reqwest::Client::new()
        .get(format!("http://{admin_addr}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    // Every reconcile succeeded (the finalizer write also wakes the object once more).
    let reconciles = reconciler.calls.load(Ordering::SeqCst) as f64;
    assert!(reconciles >= 2.0);
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    };
    assert_eq!(
        value(
            "controller_runtime_reconcile_total{controller=\"gitrepository\",result=\"success\"}"
        ),
        Some(reconciles),
        "{text}"
    );
    assert_eq!(
        value("controller_runtime_reconcile_errors_total{controller=\"gitrepository\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value("controller_runtime_reconcile_time_seconds_count{controller=\"gitrepository\"}"),
        Some(reconciles),
        "{text}"
    );
    // Each reconcile slept 600 ms: nothing in the 0.5 s bucket.
    assert_eq!(
        value(
            "controller_runtime_reconcile_time_seconds_bucket{le=\"0.5\",controller=\"gitrepository\"}"
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value("controller_runtime_active_workers{controller=\"gitrepository\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value("controller_runtime_max_concurrent_reconciles{controller=\"gitrepository\"}"),
        Some(3.0),
        "{text}"
    );
    // The create event, the trigger and the two requeues (interval).
    let adds = value("workqueue_adds_total{controller=\"gitrepository\",name=\"gitrepository\"}");
    assert!(adds.is_some_and(|n| n >= 3.0), "{text}");
    ctl.abort();
    Ok(())
}
