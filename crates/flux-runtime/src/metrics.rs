//! Prometheus metrics with Flux's names: `gotk_reconcile_duration_seconds{kind,name,namespace}`
//! and the controller-runtime families `controller_runtime_reconcile_total{controller,result}`,
//! `controller_runtime_reconcile_errors_total{controller}`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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

type HistogramFamily = Family<ObjectLabels, Histogram, fn() -> Histogram>;

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
        Self {
            registry: Arc::new(Mutex::new(registry)),
            reconcile_duration,
            reconcile_total,
            reconcile_errors,
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
    }
}
