//! Progress patches: status written to the cluster while a long reconcile step runs
//! (upstream's `ProgressiveStatus` + `patcher.Patch` in the middle of a reconcile, e.g.
//! Reconciling=True "building artifact: new upstream revision '…'").
//!
//! The runtime diffs the final status against a *baseline*: the status as it is on the
//! server. A progress patch moves that baseline to what it wrote, so the final patch
//! removes the progress conditions even when the final status equals the one the
//! reconcile started from. The baseline lives in a task-local scope that the runtime opens
//! around [`crate::Reconciler::reconcile`]; [`Runtime::patch_progress`] works only inside
//! it (not from a task the reconciler spawns).

use std::sync::{Arc, Mutex, PoisonError};

use flux_api::conditions::{self, types};
use flux_api::meta::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, ResourceExt};
use serde_json::Value;

use crate::controller::Runtime;
use crate::object::FluxResource;
use crate::status::{StatusPatchError, patch_status_value};

tokio::task_local! {
    static CURRENT: ProgressScope;
}

/// The baseline of one reconcile: which object, and its status as last written.
#[derive(Clone)]
pub(crate) struct ProgressScope {
    key: String,
    baseline: Arc<Mutex<Value>>,
}

impl ProgressScope {
    /// A scope for `obj` whose status on the server is `baseline`.
    pub(crate) fn new<K: FluxResource>(obj: &K, baseline: Value) -> Self {
        Self {
            key: scope_key(obj),
            baseline: Arc::new(Mutex::new(baseline)),
        }
    }

    /// The status as it is on the server now (after any progress patch).
    pub(crate) fn baseline(&self) -> Value {
        self.baseline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_baseline(&self, value: Value) {
        *self.baseline.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }

    /// Runs `fut` with this scope as the current one.
    pub(crate) async fn run<F: Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }
}

fn scope_key<K: FluxResource>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// Why a progress patch failed.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// Called outside the runtime's reconcile of this object (another object, a spawned
    /// task, or no reconcile at all).
    #[error(
        "no reconcile of {object} is running in this task: progress patches are only possible from within Reconciler::reconcile"
    )]
    NotReconciling {
        /// `Kind/namespace/name`.
        object: String,
    },
    /// The status could not be serialised.
    #[error("serialising the progress status of {object}")]
    Serialize {
        /// `Kind/namespace/name`.
        object: String,
        #[source]
        source: serde_json::Error,
    },
    /// The API server refused the patch.
    #[error("patching the progress status of {object}")]
    Patch {
        /// `Kind/namespace/name`.
        object: String,
        #[source]
        source: StatusPatchError,
    },
}

impl Runtime {
    /// Writes `status` of `obj` to the status subresource now (only what changed since the
    /// last write) and makes it the baseline of the final patch. Returns whether a patch
    /// was sent. Only valid within the runtime's call of `reconcile` for `obj`.
    pub async fn patch_progress<K: FluxResource>(
        &self,
        obj: &K,
        status: &K::Status,
    ) -> Result<bool, ProgressError> {
        let object = scope_key(obj);
        let scope = CURRENT
            .try_with(|s| s.clone())
            .ok()
            .filter(|s| s.key == object)
            .ok_or_else(|| ProgressError::NotReconciling {
                object: object.clone(),
            })?;
        let new = serde_json::to_value(status).map_err(|source| ProgressError::Serialize {
            object: object.clone(),
            source,
        })?;
        let old = scope.baseline();
        let api: Api<K> =
            Api::namespaced(self.client.clone(), &obj.namespace().unwrap_or_default());
        let sent = patch_status_value(&api, &obj.name_any(), &old, &new, K::CONTROLLER)
            .await
            .map_err(|source| ProgressError::Patch { object, source })?;
        scope.set_baseline(new);
        Ok(sent)
    }
}

/// Marks a step in progress as upstream's `ProgressiveStatus` does: Reconciling=True and
/// Ready=Unknown, both with `reason` and `message`.
pub fn mark_progressing(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: i64,
    now: Time,
) {
    conditions::mark_reconciling(conditions, reason, message, generation, now.clone());
    conditions::mark_unknown(conditions, types::READY, reason, message, generation, now);
}
