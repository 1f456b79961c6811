//! What the runtime needs to know about a reconciled kind.

use std::fmt::Debug;
use std::time::Duration;

use flux_api::kustomize::{Kustomization, KustomizationStatus};
use flux_api::meta::Condition;
use flux_api::source::{GitRepository, GitRepositoryStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The finalizer every Flux kind carries.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// The on-demand reconcile annotation.
pub const RECONCILE_REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

/// A kind reconciled through the runtime.
pub trait FluxResource:
    kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The status type.
    type Status: Serialize + DeserializeOwned + Default + Clone + PartialEq + Debug + Send + Sync;

    /// The controller that reconciles it, e.g. `source-controller`.
    const CONTROLLER: &'static str;

    /// The status, if any.
    fn status(&self) -> Option<&Self::Status>;
    /// `spec.suspend`.
    fn suspended(&self) -> bool;
    /// `spec.interval`.
    fn interval(&self) -> Duration;

    /// The status conditions (created empty when missing).
    fn conditions_mut(status: &mut Self::Status) -> &mut Vec<Condition>;
    /// `status.observedGeneration`.
    fn observed_generation_mut(status: &mut Self::Status) -> &mut Option<i64>;
    /// `status.lastHandledReconcileAt`.
    fn last_handled_reconcile_at_mut(status: &mut Self::Status) -> &mut Option<String>;
}

impl FluxResource for GitRepository {
    type Status = GitRepositoryStatus;
    const CONTROLLER: &'static str = "source-controller";

    fn status(&self) -> Option<&GitRepositoryStatus> {
        self.status.as_ref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }
    fn interval(&self) -> Duration {
        self.spec.interval.to_std()
    }
    fn conditions_mut(status: &mut GitRepositoryStatus) -> &mut Vec<Condition> {
        status.conditions.get_or_insert_with(Vec::new)
    }
    fn observed_generation_mut(status: &mut GitRepositoryStatus) -> &mut Option<i64> {
        &mut status.observed_generation
    }
    fn last_handled_reconcile_at_mut(status: &mut GitRepositoryStatus) -> &mut Option<String> {
        &mut status.last_handled_reconcile_at
    }
}

impl FluxResource for Kustomization {
    type Status = KustomizationStatus;
    const CONTROLLER: &'static str = "kustomize-controller";

    fn status(&self) -> Option<&KustomizationStatus> {
        self.status.as_ref()
    }
    fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }
    fn interval(&self) -> Duration {
        self.spec.interval.to_std()
    }
    fn conditions_mut(status: &mut KustomizationStatus) -> &mut Vec<Condition> {
        status.conditions.get_or_insert_with(Vec::new)
    }
    fn observed_generation_mut(status: &mut KustomizationStatus) -> &mut Option<i64> {
        &mut status.observed_generation
    }
    fn last_handled_reconcile_at_mut(status: &mut KustomizationStatus) -> &mut Option<String> {
        &mut status.last_handled_reconcile_at
    }
}

/// The `reconcile.fluxcd.io/requestedAt` token of an object, if any.
pub fn requested_at<K: kube::Resource>(obj: &K) -> Option<&str> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(RECONCILE_REQUESTED_AT))
        .map(String::as_str)
}
