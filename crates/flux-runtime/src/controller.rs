//! The controller loop: watch (label selector, namespace), filter events to the ones
//! that matter (generation, requestedAt token, deletion, finalizers), then for each
//! object: finalizer → suspend → handshake → reconcile → summarize → one status patch →
//! events → metrics → requeue (interval with jitter, backoff, or none when stalled).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, ReconcileRequest, trigger_self};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{PredicateConfig, WatchStreamExt, applier, reflector, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use crate::events::{EventRecorder, EventType};
use crate::metrics::Metrics;
use crate::object::{FINALIZER, FluxResource, requested_at};
use crate::progress::ProgressScope;
use crate::reconcile::{
    Disposition, ReconcileError, ReconcileResult, RequeuePolicy, jitter_unit,
    new_generation_message, summarize,
};
use crate::status::patch_status_value;

/// Controller settings (Flux's runtime flags).
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// `--concurrent`: reconciles running at once.
    pub concurrent: u16,
    /// `--watch-label-selector` (sharding); empty = everything.
    pub watch_label_selector: String,
    /// `None` = all namespaces (`--watch-all-namespaces=true`), else only this namespace.
    pub namespace: Option<String>,
    /// Jitter and backoff.
    pub requeue: RequeuePolicy,
    /// `--requeue-dependency`.
    pub requeue_dependency: Duration,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self {
            concurrent: 2,
            watch_label_selector: String::new(),
            namespace: None,
            requeue: RequeuePolicy::default(),
            requeue_dependency: Duration::from_secs(30),
        }
    }
}

/// What a reconciler gets besides the object.
#[derive(Clone)]
pub struct Runtime {
    /// The Kubernetes client.
    pub client: Client,
    /// The event recorder.
    pub recorder: EventRecorder,
    /// The metrics registry.
    pub metrics: Metrics,
    /// The controller options.
    pub options: ControllerOptions,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("recorder", &self.recorder)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// One kind's reconciler. `reconcile` observes, decides and acts, writing only into
/// `status` (the runtime patches it once); Ready/Reconciling/Stalled and
/// observedGeneration are the runtime's. `finalize` cleans up on deletion.
pub trait Reconciler<K: FluxResource>: Send + Sync + 'static {
    /// Reconciles `obj`.
    fn reconcile(
        &self,
        obj: Arc<K>,
        status: &mut K::Status,
        rt: &Runtime,
    ) -> impl Future<Output = ReconcileResult> + Send;

    /// Cleans up before the finalizer is removed.
    fn finalize(
        &self,
        obj: Arc<K>,
        rt: &Runtime,
    ) -> impl Future<Output = Result<(), ReconcileError>> + Send;
}

struct Context<K: FluxResource, R> {
    rt: Runtime,
    reconciler: Arc<R>,
    failures: Mutex<HashMap<String, u32>>,
    _kind: std::marker::PhantomData<fn() -> K>,
}

/// Hash of what should trigger a reconcile: generation, requestedAt token, deletion,
/// finalizers. Status writes and other metadata changes are filtered out.
fn trigger_hash<K: Resource>(obj: &K) -> Option<u64> {
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    requested_at(obj).hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.finalizers.hash(&mut h);
    meta.resource_version
        .as_ref()
        .filter(|_| meta.generation.is_none())
        .hash(&mut h);
    Some(h.finish())
}

/// Runs the controller for kind `K` until `shutdown` completes.
pub async fn run<K, R, F>(rt: Runtime, reconciler: Arc<R>, shutdown: F)
where
    K: FluxResource,
    R: Reconciler<K>,
    F: Future<Output = ()> + Send + 'static,
{
    run_with_triggers(
        rt,
        reconciler,
        |_store| futures::stream::empty::<ObjectRef<K>>(),
        shutdown,
    )
    .await;
}

/// Runs the controller for kind `K` until `shutdown` completes, reconciling also every
/// object named by the extra trigger stream (upstream's `Watches(…,
/// EnqueueRequestsFromMapFunc(…))`: a new source revision, a dependency turning Ready, a
/// watched ConfigMap changing). `triggers` is called once with the controller's reflector
/// store (the watched objects of kind `K`, kept up to date by the controller's own watch)
/// so the stream can map related objects to the `K`s that use them without listing.
///
/// A trigger for an object that is being reconciled runs again right after; one for an
/// object that waits for a requeue moves it forward; one for an object not (yet) in the
/// store is dropped.
pub async fn run_with_triggers<K, R, T, M, F>(
    rt: Runtime,
    reconciler: Arc<R>,
    triggers: M,
    shutdown: F,
) where
    K: FluxResource,
    R: Reconciler<K>,
    M: FnOnce(reflector::Store<K>) -> T,
    T: Stream<Item = ObjectRef<K>> + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let api: Api<K> = match rt.options.namespace.as_deref() {
        Some(ns) => Api::namespaced(rt.client.clone(), ns),
        None => Api::all(rt.client.clone()),
    };
    let mut wc = watcher::Config::default();
    if !rt.options.watch_label_selector.is_empty() {
        wc = wc.labels(&rt.options.watch_label_selector);
    }
    let controller_name = K::kind(&()).to_lowercase();
    rt.metrics
        .controller_started(&controller_name, rt.options.concurrent);
    let (reader, writer) = reflector::store::<K>();
    let metrics = rt.metrics.clone();
    let watched_name = controller_name.clone();
    let stream = watcher(api, wc)
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(trigger_hash::<K>, PredicateConfig::default())
        .inspect(move |event| {
            if event.is_ok() {
                metrics.record_queue_add(&watched_name);
            }
        });
    let metrics = rt.metrics.clone();
    let extra = triggers(reader.clone()).map(move |obj_ref| {
        metrics.record_queue_add(&controller_name);
        Ok::<_, watcher::Error>(ReconcileRequest::from(obj_ref))
    });
    let queue = futures::stream::select(trigger_self(stream, ()), extra);
    let config = kube::runtime::Config::default().concurrency(rt.options.concurrent);
    let ctx = Arc::new(Context::<K, R> {
        rt,
        reconciler,
        failures: Mutex::new(HashMap::new()),
        _kind: std::marker::PhantomData,
    });
    let controller = applier(
        |obj, ctx: Arc<Context<K, R>>| Box::pin(reconcile_one(obj, ctx)),
        |_obj, _err: &Infallible, _ctx| Action::await_change(),
        ctx,
        reader,
        queue,
        config,
    )
    .for_each(|res| async move {
        match res {
            Ok(_) => {}
            // A trigger named an object the watch has not seen (or has seen deleted).
            Err(kube::runtime::controller::Error::ObjectNotFound(obj_ref)) => {
                tracing::debug!(object = %obj_ref, "trigger for an object not in the cache");
            }
            Err(e) => tracing::warn!(error = %e, "controller queue error"),
        }
    });
    tokio::select! {
        _ = controller => {}
        _ = shutdown => {}
    }
}

fn object_key<K: Resource>(obj: &K) -> String {
    format!(
        "{}/{}",
        obj.meta().namespace.as_deref().unwrap_or(""),
        obj.meta().name.as_deref().unwrap_or("")
    )
}

async fn reconcile_one<K, R>(obj: Arc<K>, ctx: Arc<Context<K, R>>) -> Result<Action, Infallible>
where
    K: FluxResource,
    R: Reconciler<K>,
{
    let start = Instant::now();
    let kind = K::kind(&()).into_owned();
    let controller = kind.to_lowercase();
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    let worker = ctx.rt.metrics.worker_started(&controller);
    let (action, result) = reconcile_inner(obj, &ctx).await;
    drop(worker);
    if action != Action::await_change() {
        // The requeue goes back into the queue (controller-runtime's AddAfter/AddRateLimited).
        ctx.rt.metrics.record_queue_add(&controller);
    }
    ctx.rt.metrics.record_reconcile(
        &controller,
        &kind,
        &namespace,
        &name,
        start.elapsed(),
        result,
    );
    Ok(action)
}

async fn reconcile_inner<K, R>(obj: Arc<K>, ctx: &Context<K, R>) -> (Action, &'static str)
where
    K: FluxResource,
    R: Reconciler<K>,
{
    let rt = &ctx.rt;
    let key = object_key(obj.as_ref());
    let name = obj.name_any();
    let api: Api<K> = Api::namespaced(rt.client.clone(), &obj.namespace().unwrap_or_default());
    // Read the object afresh: the watch cache can lag behind our own last status patch,
    // and a stale status would make the reconciler redo work (e.g. rebuild an artifact).
    let obj = match api.get_opt(&name).await {
        Ok(Some(fresh)) => Arc::new(fresh),
        Ok(None) => return (Action::await_change(), "success"),
        Err(e) => {
            tracing::warn!(object = %key, error = %e, "reading the object failed");
            return (ctx.retry_action(&key), "error");
        }
    };
    let has_finalizer = obj.finalizers().iter().any(|f| f == FINALIZER);

    // Deletion: clean up, then drop our finalizer.
    if obj.meta().deletion_timestamp.is_some() {
        if !has_finalizer {
            return (Action::await_change(), "success");
        }
        if let Err(e) = ctx.reconciler.finalize(obj.clone(), rt).await {
            tracing::warn!(object = %key, error = %e, "finalizing failed");
            return (ctx.retry_action(&key), "error");
        }
        let remaining: Vec<&String> = obj
            .finalizers()
            .iter()
            .filter(|f| *f != FINALIZER)
            .collect();
        let patch = serde_json::json!({"metadata": {"finalizers": remaining, "resourceVersion": obj.resource_version()}});
        if let Err(e) = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!(object = %key, error = %e, "removing the finalizer failed");
            return (ctx.retry_action(&key), "error");
        }
        ctx.forget(&key);
        rt.metrics.forget(
            &K::kind(&()),
            obj.namespace().as_deref().unwrap_or(""),
            &name,
        );
        return (Action::await_change(), "success");
    }

    // Suspended objects are left alone (no status change, no requeue).
    if obj.suspended() {
        tracing::info!(object = %key, "reconciliation is suspended for this object");
        return (Action::await_change(), "success");
    }

    let mut obj = obj;
    if !has_finalizer {
        let mut finalizers: Vec<String> = obj.finalizers().to_vec();
        finalizers.push(FINALIZER.to_string());
        let patch = serde_json::json!({"metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}});
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(updated) => obj = Arc::new(updated),
            Err(e) => {
                tracing::warn!(object = %key, error = %e, "adding the finalizer failed");
                return (ctx.retry_action(&key), "error");
            }
        }
    }

    let old_status = obj.status().cloned().unwrap_or_default();
    let mut status = old_status.clone();
    let generation = obj.meta().generation.unwrap_or(0);
    if let Some(token) = requested_at(obj.as_ref()) {
        *K::last_handled_reconcile_at_mut(&mut status) = Some(token.to_string());
    }
    let observed = *K::observed_generation_mut(&mut status);
    if observed != Some(generation) {
        flux_api::conditions::mark_reconciling(
            K::conditions_mut(&mut status),
            flux_api::conditions::reasons::PROGRESSING,
            &new_generation_message(observed, generation),
            generation,
            now(),
        );
    }

    // The baseline of the final patch: the status on the server, moved forward by any
    // progress patch the reconciler sends (`Runtime::patch_progress`).
    let baseline = match serde_json::to_value(&old_status) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(object = %key, error = %e, "serialising the status failed");
            return (ctx.retry_action(&key), "error");
        }
    };
    let scope = ProgressScope::new(obj.as_ref(), baseline);
    let result = scope
        .clone()
        .run(ctx.reconciler.reconcile(obj.clone(), &mut status, rt))
        .await;
    {
        let mut observed = *K::observed_generation_mut(&mut status);
        summarize(
            K::conditions_mut(&mut status),
            &mut observed,
            generation,
            &result,
            now(),
        );
        *K::observed_generation_mut(&mut status) = observed;
    }

    let written = scope.baseline();
    let patched = match serde_json::to_value(&status) {
        Ok(new) => patch_status_value(&api, &name, &written, &new, K::CONTROLLER)
            .await
            .map_err(|e| format!("{e}: {}", error_chain(&e))),
        Err(e) => Err(format!("serialising the status: {e}")),
    };
    if let Err(e) = patched {
        tracing::warn!(object = %key, error = %e, "status patch failed");
        return (ctx.retry_action(&key), "error");
    }

    match result {
        Ok(success) => {
            ctx.forget(&key);
            let interval = success.requeue_after.unwrap_or_else(|| obj.interval());
            let delay = rt.options.requeue.jittered(interval, jitter_unit());
            (Action::requeue(delay), "success")
        }
        Err(err) => {
            tracing::info!(object = %key, reason = %err.reason, message = %err.message, "reconcile failed");
            rt.recorder
                .record(
                    obj.as_ref(),
                    failure_event_type(&err),
                    &err.reason,
                    &err.message,
                    &BTreeMap::new(),
                )
                .await;
            match err.disposition {
                Disposition::Stalled => {
                    ctx.forget(&key);
                    (Action::await_change(), "error")
                }
                Disposition::Wait(after) => (Action::requeue(after), "requeue_after"),
                Disposition::Retry => (ctx.retry_action(&key), "error"),
            }
        }
    }
}

impl<K: FluxResource, R> Context<K, R> {
    fn retry_action(&self, key: &str) -> Action {
        let failures = match self.failures.lock() {
            Ok(mut map) => {
                let n = map.entry(key.to_string()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        Action::requeue(self.rt.options.requeue.backoff(failures))
    }

    fn forget(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

/// The reasons of failures that are waits, not errors: their event is `Normal` (severity
/// info), as Flux's controllers report them.
pub const INFO_FAILURE_REASONS: &[&str] = &[
    flux_api::conditions::reasons::DEPENDENCY_NOT_READY,
    flux_api::conditions::reasons::HEALTH_CHECK_CANCELED,
];

/// The type of the event recorded for a failed reconcile: `Normal` for a wait whose reason
/// is in [`INFO_FAILURE_REASONS`], else `Warning`.
pub fn failure_event_type(err: &ReconcileError) -> EventType {
    let informational = matches!(err.disposition, Disposition::Wait(_))
        && INFO_FAILURE_REASONS.contains(&err.reason.as_str());
    if informational {
        EventType::Normal
    } else {
        EventType::Warning
    }
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_on_dependencies_are_info_events() {
        let wait = ReconcileError::wait("DependencyNotReady", "x", Duration::from_secs(1));
        assert_eq!(failure_event_type(&wait), EventType::Normal);
        let canceled = ReconcileError::wait("HealthCheckCanceled", "x", Duration::ZERO);
        assert_eq!(failure_event_type(&canceled), EventType::Normal);
        let health = ReconcileError::wait("HealthCheckFailed", "x", Duration::from_secs(1));
        assert_eq!(failure_event_type(&health), EventType::Warning);
        let retry = ReconcileError::retry("DependencyNotReady", "x");
        assert_eq!(failure_event_type(&retry), EventType::Warning);
    }
}
