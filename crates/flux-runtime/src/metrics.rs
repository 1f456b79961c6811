//! Prometheus metrics with Flux's names: `gotk_reconcile_duration_seconds{kind,name,namespace}`
//! and the controller-runtime families `controller_runtime_reconcile_total{controller,result}`,
//! `controller_runtime_reconcile_errors_total{controller}`,
//! `controller_runtime_reconcile_time_seconds{controller}`,
//! `controller_runtime_active_workers{controller}`,
//! `controller_runtime_max_concurrent_reconciles{controller}` and
//! `workqueue_adds_total{controller,name}`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets_range};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

/// Labels of per-object metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    /// Kind, e.g. `GitRepository`.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Object namespace.
    pub namespace: String,
}

/// Labels of controller-runtime counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// Controller name, e.g. `gitrepository`.
    pub controller: String,
    /// `success`, `error`, `requeue_after`.
    pub result: String,
}

/// Labels carrying only the controller name.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// Controller name.
    pub controller: String,
}

/// Labels of the workqueue metrics (controller-runtime names the queue after the
/// controller).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// Controller name.
    pub controller: String,
    /// Queue name (the controller name).
    pub name: String,
}

type HistogramFamily = Family<ObjectLabels, Histogram, fn() -> Histogram>;
type ControllerHistogramFamily = Family<ControllerLabels, Histogram, fn() -> Histogram>;

/// controller-runtime's reconcile time buckets (seconds).
const RECONCILE_TIME_BUCKETS: [f64; 40] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
    1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0,
    25.0, 30.0, 40.0, 50.0, 60.0,
];

fn reconcile_time_histogram() -> Histogram {
    Histogram::new(RECONCILE_TIME_BUCKETS)
}

fn controller_labels(controller: &str) -> ControllerLabels {
    ControllerLabels {
        controller: controller.to_string(),
    }
}

/// Counts one running reconcile in `controller_runtime_active_workers` until dropped.
#[derive(Debug)]
pub struct ActiveWorker {
    gauge: Gauge,
}

impl Drop for ActiveWorker {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

fn reconcile_histogram() -> Histogram {
    // 10 exponential buckets from 10ms to 1800s, as Flux's recorder.
    Histogram::new(exponential_buckets_range(0.01, 1800.0, 10))
}

/// The metrics of one process.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    reconcile_duration: HistogramFamily,
    reconcile_total: Family<ResultLabels, Counter>,
    reconcile_errors: Family<ControllerLabels, Counter>,
    reconcile_time: ControllerHistogramFamily,
    active_workers: Family<ControllerLabels, Gauge>,
    max_concurrent: Family<ControllerLabels, Gauge>,
    queue_adds: Family<QueueLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with the families registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconcile_duration: HistogramFamily = Family::new_with_constructor(reconcile_histogram);
        registry.register(
            "gotk_reconcile_duration_seconds",
            "The duration in seconds of a GitOps Toolkit resource reconciliation",
            reconcile_duration.clone(),
        );
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            reconcile_total.clone(),
        );
        let reconcile_errors = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            reconcile_errors.clone(),
        );
        let reconcile_time: ControllerHistogramFamily =
            Family::new_with_constructor(reconcile_time_histogram);
        registry.register(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            reconcile_time.clone(),
        );
        let active_workers = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            active_workers.clone(),
        );
        let max_concurrent = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            max_concurrent.clone(),
        );
        let queue_adds = Family::<QueueLabels, Counter>::default();
        registry.register(
            "workqueue_adds",
            "Total number of adds handled by workqueue",
            queue_adds.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            reconcile_duration,
            reconcile_total,
            reconcile_errors,
            reconcile_time,
            active_workers,
            max_concurrent,
            queue_adds,
        }
    }

    /// Records one reconcile of `kind` `namespace/name` taking `elapsed`, with `result`
    /// (`success`, `error`, `requeue_after`).
    pub fn record_reconcile(
        &self,
        controller: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        elapsed: Duration,
        result: &str,
    ) {
        self.reconcile_duration
            .get_or_create(&ObjectLabels {
                kind: kind.to_string(),
                name: name.to_string(),
                namespace: namespace.to_string(),
            })
            .observe(elapsed.as_secs_f64());
        self.reconcile_time
            .get_or_create(&controller_labels(controller))
            .observe(elapsed.as_secs_f64());
        self.reconcile_total
            .get_or_create(&ResultLabels {
                controller: controller.to_string(),
                result: result.to_string(),
            })
            .inc();
        if result == "error" {
            self.reconcile_errors
                .get_or_create(&ControllerLabels {
                    controller: controller.to_string(),
                })
                .inc();
        }
    }

    /// Sets `controller_runtime_max_concurrent_reconciles` (`--concurrent`) and creates the
    /// controller's zero-valued series, as controller-runtime does at start.
    pub fn controller_started(&self, controller: &str, max_concurrent_reconciles: u16) {
        let labels = controller_labels(controller);
        self.max_concurrent
            .get_or_create(&labels)
            .set(i64::from(max_concurrent_reconciles));
        let _ = self.active_workers.get_or_create(&labels);
        let _ = self.reconcile_errors.get_or_create(&labels);
        for result in ["success", "error", "requeue", "requeue_after"] {
            let _ = self.reconcile_total.get_or_create(&ResultLabels {
                controller: controller.to_string(),
                result: result.to_string(),
            });
        }
    }

    /// One reconcile of `controller` starts; it counts as an active worker until the
    /// returned guard is dropped.
    pub fn worker_started(&self, controller: &str) -> ActiveWorker {
        let gauge = self
            .active_workers
            .get_or_create(&controller_labels(controller))
            .clone();
        gauge.inc();
        ActiveWorker { gauge }
    }

    /// One request added to `controller`'s queue (`workqueue_adds_total`).
    pub fn record_queue_add(&self, controller: &str) {
        self.queue_adds
            .get_or_create(&QueueLabels {
                controller: controller.to_string(),
                name: controller.to_string(),
            })
            .inc();
    }

    /// Removes the per-object series of a deleted object.
    pub fn forget(&self, kind: &str, namespace: &str, name: &str) {
        self.reconcile_duration.remove(&ObjectLabels {
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.to_string(),
        });
    }

    /// Registers more metrics (other families of a controller).
    pub fn with_registry<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> Option<T> {
        self.registry.lock().ok().map(|mut r| f(&mut r))
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock()
            && let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry)
        {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_flux_metric_names() {
        let m = Metrics::new();
        m.record_reconcile(
            "gitrepository",
            "GitRepository",
            "ns",
            "repo",
            Duration::from_millis(20),
            "success",
        );
        let text = m.encode();
        assert!(text.contains(
            "gotk_reconcile_duration_seconds_bucket{le=\"0.01\",kind=\"GitRepository\",name=\"repo\",namespace=\"ns\"} 0"
        ), "{text}");
        assert!(text.contains("gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"repo\",namespace=\"ns\"} 1"), "{text}");
        assert!(
            text.contains(
                "controller_runtime_reconcile_total{controller=\"gitrepository\",result=\"success\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "controller_runtime_reconcile_time_seconds_bucket{le=\"0.025\",controller=\"gitrepository\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn active_workers_follow_guards_and_max_concurrency_is_set() {
        let m = Metrics::new();
        m.controller_started("kustomization", 4);
        let a = m.worker_started("kustomization");
        let b = m.worker_started("kustomization");
        assert!(
            m.encode()
                .contains("controller_runtime_active_workers{controller=\"kustomization\"} 2")
        );
        drop(a);
        drop(b);
        let text = m.encode();
        assert!(
            text.contains("controller_runtime_active_workers{controller=\"kustomization\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "controller_runtime_max_concurrent_reconciles{controller=\"kustomization\"} 4"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "controller_runtime_reconcile_errors_total{controller=\"kustomization\"} 0"
            ),
            "{text}"
        );
        m.record_queue_add("kustomization");
        assert!(m.encode().contains(
            "workqueue_adds_total{controller=\"kustomization\",name=\"kustomization\"} 1"
        ));
    }
}
