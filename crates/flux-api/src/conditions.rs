//! Condition types, reasons and helpers (the `fluxcd/pkg/runtime/conditions` conventions).
//!
//! The helpers keep conditions the way kstatus readers and
//! `kubectl wait --for=condition=Ready` expect them:
//! * `Reconciling` and `Stalled` are abnormal-true: present only while True
//!   (setting them to False or Unknown removes them);
//! * every condition carries the `observedGeneration` it was computed for;
//! * `lastTransitionTime` changes only when the status flips (reason, message and
//!   observedGeneration are updated in place);
//! * conditions are ordered Stalled, Reconciling, Ready, then the others by
//!   newest observedGeneration and type.

use std::cmp::Ordering;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::meta::{Condition, ConditionStatus};

/// Condition types.
pub mod types {
    /// The object is ready (the summary condition).
    pub const READY: &str = "Ready";
    /// The controller is working on the object (abnormal-true).
    pub const RECONCILING: &str = "Reconciling";
    /// The object cannot make progress without a spec change (abnormal-true).
    pub const STALLED: &str = "Stalled";
    /// Health checks of applied objects passed (Kustomization).
    pub const HEALTHY: &str = "Healthy";
    /// The artifact is in storage (sources).
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    /// A newer revision than the stored artifact exists (sources).
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    /// The signature of the source was verified (sources with `verify`).
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
    /// Fetching the source failed.
    pub const FETCH_FAILED: &str = "FetchFailed";
    /// An included artifact is not available (GitRepository).
    pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";
    /// A storage operation failed (sources).
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// Building the artifact failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// The Helm release was installed or upgraded (HelmRelease).
    pub const RELEASED: &str = "Released";
    /// Helm tests passed (HelmRelease).
    pub const TEST_SUCCESS: &str = "TestSuccess";
    /// A failed release was remediated (HelmRelease).
    pub const REMEDIATED: &str = "Remediated";
    /// Cluster state drifted from the release (HelmRelease).
    pub const DRIFTED: &str = "Drifted";
}

/// Condition reasons.
pub mod reasons {
    // Generic (fluxcd/pkg/apis/meta).
    /// The reconciliation succeeded.
    pub const SUCCEEDED: &str = "Succeeded";
    /// The reconciliation failed.
    pub const FAILED: &str = "Failed";
    /// Work is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// Work is in progress after a failure.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// The object is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// A dependency is not ready.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// A path is invalid.
    pub const INVALID_PATH: &str = "InvalidPath";
    /// A URL is invalid.
    pub const INVALID_URL: &str = "InvalidURL";
    /// Insecure connections are not allowed.
    pub const INSECURE_CONNECTIONS_DISALLOWED: &str = "InsecureConnectionsDisallowed";
    /// The connection type is not supported.
    pub const UNSUPPORTED_CONNECTION_TYPE: &str = "UnsupportedConnectionType";
    /// Garbage collection failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// Fetching the source artifact failed.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Building failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Health checks failed.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Health checks were canceled.
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    /// The reconciliation succeeded (appliers).
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The reconciliation failed (appliers).
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// A CEL expression does not compile.
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// A required feature gate is off.
    pub const FEATURE_GATE_DISABLED: &str = "FeatureGateDisabled";
    /// A cross-namespace reference is not allowed.
    pub const ACCESS_DENIED: &str = "AccessDenied";
    // Sources.
    /// A Git operation succeeded.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// A Git operation failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// Authentication failed.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// The URL is invalid.
    pub const URL_INVALID: &str = "URLInvalid";
    /// Signature verification failed.
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    /// Creating a directory failed.
    pub const DIRECTORY_CREATION_FAILED: &str = "DirectoryCreationFailed";
    /// A stat failed.
    pub const STAT_OPERATION_FAILED: &str = "StatOperationFailed";
    /// A read failed.
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    /// Acquiring a lock failed.
    pub const ACQUIRE_LOCK_FAILED: &str = "AcquireLockFailed";
    /// Archiving failed.
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    /// Updating the `latest` symlink failed.
    pub const SYMLINK_UPDATE_FAILED: &str = "SymlinkUpdateFailed";
    /// The artifact is up to date.
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    /// Patching the object failed.
    pub const PATCH_OPERATION_FAILED: &str = "PatchOperationFailed";
    /// The provider configuration is invalid.
    pub const INVALID_PROVIDER_CONFIGURATION: &str = "InvalidProviderConfiguration";
    /// A new revision was found.
    pub const NEW_REVISION: &str = "NewRevision";
    /// Pulling an OCI artifact failed.
    pub const OCI_ARTIFACT_PULL_FAILED: &str = "OCIArtifactPullFailed";
    /// Handling an OCI layer failed.
    pub const OCI_ARTIFACT_LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";
    /// A bucket operation succeeded.
    pub const BUCKET_OPERATION_SUCCEEDED: &str = "BucketOperationSucceeded";
    /// A bucket operation failed.
    pub const BUCKET_OPERATION_FAILED: &str = "BucketOperationFailed";
    /// The STS configuration is invalid.
    pub const INVALID_STS_CONFIGURATION: &str = "InvalidSTSConfiguration";
    /// Fetching or indexing a Helm repository failed.
    pub const INDEXATION_FAILED: &str = "IndexationFailed";
    /// Indexing a Helm repository succeeded.
    pub const INDEXATION_SUCCEEDED: &str = "IndexationSucceeded";
    /// A chart was pulled.
    pub const CHART_PULL_SUCCEEDED: &str = "ChartPullSucceeded";
    /// Pulling a chart failed.
    pub const CHART_PULL_FAILED: &str = "ChartPullFailed";
    /// A chart was packaged.
    pub const CHART_PACKAGE_SUCCEEDED: &str = "ChartPackageSucceeded";
    /// Packaging a chart failed.
    pub const CHART_PACKAGE_FAILED: &str = "ChartPackageFailed";
    /// Fetching a source failed (ArtifactGenerator).
    pub const SOURCE_FETCH_FAILED: &str = "SourceFetchFailed";
    /// Validation failed.
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    // HelmRelease.
    /// Helm install succeeded.
    pub const INSTALL_SUCCEEDED: &str = "InstallSucceeded";
    /// Helm install failed.
    pub const INSTALL_FAILED: &str = "InstallFailed";
    /// Helm upgrade succeeded.
    pub const UPGRADE_SUCCEEDED: &str = "UpgradeSucceeded";
    /// Helm upgrade failed.
    pub const UPGRADE_FAILED: &str = "UpgradeFailed";
    /// Helm tests succeeded.
    pub const TEST_SUCCEEDED: &str = "TestSucceeded";
    /// Helm tests failed.
    pub const TEST_FAILED: &str = "TestFailed";
    /// Helm rollback succeeded.
    pub const ROLLBACK_SUCCEEDED: &str = "RollbackSucceeded";
    /// Helm rollback failed.
    pub const ROLLBACK_FAILED: &str = "RollbackFailed";
    /// Helm uninstall succeeded.
    pub const UNINSTALL_SUCCEEDED: &str = "UninstallSucceeded";
    /// Helm uninstall failed.
    pub const UNINSTALL_FAILED: &str = "UninstallFailed";
    /// Drift was detected.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// No drift was detected.
    pub const NO_DRIFT_DETECTED: &str = "NoDriftDetected";
    /// Building the inventory failed.
    pub const INVENTORY_BUILD_FAILED: &str = "InventoryBuildFailed";
    /// The namespace check was skipped.
    pub const NAMESPACE_CHECK_SKIPPED: &str = "NamespaceCheckSkipped";
    // Notification.
    /// The Receiver token secret was not found.
    pub const TOKEN_NOT_FOUND: &str = "TokenNotFound";
    // Image automation.
    /// The image URL is invalid.
    pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
    /// No interval is configured.
    pub const INTERVAL_NOT_CONFIGURED: &str = "IntervalNotConfigured";
    /// The update strategy is invalid.
    pub const INVALID_UPDATE_STRATEGY: &str = "InvalidUpdateStrategy";
    /// The source configuration is invalid.
    pub const INVALID_SOURCE_CONFIGURATION: &str = "InvalidSourceConfiguration";
    /// The Git source manager failed.
    pub const SOURCE_MANAGER_FAILED: &str = "SourceManagerFailed";
    /// Updating files failed.
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    /// The policy selector is invalid.
    pub const INVALID_POLICY_SELECTOR: &str = "InvalidPolicySelector";
    /// The commit template uses a removed field.
    pub const REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";
}

/// Types that are present only while True (kstatus "abnormal-true" conditions).
pub const ABNORMAL_TRUE_TYPES: &[&str] = &[types::RECONCILING, types::STALLED];

/// Returns the condition of the given type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of the given type is present with status True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::True)
}

/// Whether the condition of the given type is present with status False.
pub fn is_false(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::False)
}

/// Whether `Ready` is True and was computed for `generation`: what
/// `kubectl wait --for=condition=Ready` plus an observedGeneration check means.
pub fn is_ready_for(conditions: &[Condition], generation: i64) -> bool {
    find(conditions, types::READY).is_some_and(|c| {
        c.status == ConditionStatus::True && c.observed_generation == Some(generation)
    })
}

/// Builds a condition.
pub fn new_condition(
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: &str,
    observed_generation: i64,
    now: Time,
) -> Condition {
    Condition {
        last_transition_time: now,
        message: message.to_string(),
        observed_generation: Some(observed_generation),
        reason: reason.to_string(),
        status,
        type_: type_.to_string(),
    }
}

/// Sets (adds or replaces) a condition.
///
/// `lastTransitionTime` is kept when the status does not change. Abnormal-true types set to
/// anything but True are removed instead.
pub fn set(conditions: &mut Vec<Condition>, condition: Condition) {
    if ABNORMAL_TRUE_TYPES.contains(&condition.type_.as_str())
        && condition.status != ConditionStatus::True
    {
        delete(conditions, &condition.type_);
        return;
    }
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            let keep_time = existing.status == condition.status;
            let previous_time = existing.last_transition_time.clone();
            *existing = condition;
            if keep_time {
                existing.last_transition_time = previous_time;
            }
        }
        None => conditions.push(condition),
    }
    conditions.sort_by(order);
}

/// Removes the condition of the given type.
pub fn delete(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// Sets a True condition.
pub fn mark_true(
    conditions: &mut Vec<Condition>,
    type_: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: Time,
) {
    set(
        conditions,
        new_condition(
            type_,
            ConditionStatus::True,
            reason,
            message,
            generation,
            now,
        ),
    );
}

/// Sets a False condition (removes it for abnormal-true types).
pub fn mark_false(
    conditions: &mut Vec<Condition>,
    type_: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: Time,
) {
    set(
        conditions,
        new_condition(
            type_,
            ConditionStatus::False,
            reason,
            message,
            generation,
            now,
        ),
    );
}

/// Sets an Unknown condition (removes it for abnormal-true types).
pub fn mark_unknown(
    conditions: &mut Vec<Condition>,
    type_: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: Time,
) {
    set(
        conditions,
        new_condition(
            type_,
            ConditionStatus::Unknown,
            reason,
            message,
            generation,
            now,
        ),
    );
}

/// Marks the object as being reconciled: `Reconciling=True` and removes `Stalled`.
pub fn mark_reconciling(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: i64,
    now: Time,
) {
    delete(conditions, types::STALLED);
    mark_true(
        conditions,
        types::RECONCILING,
        reason,
        message,
        generation,
        now,
    );
}

/// Marks the object as stalled: `Stalled=True`, removes `Reconciling`, and `Ready=False`
/// with the same reason and message.
pub fn mark_stalled(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: i64,
    now: Time,
) {
    delete(conditions, types::RECONCILING);
    mark_true(
        conditions,
        types::STALLED,
        reason,
        message,
        generation,
        now.clone(),
    );
    mark_false(conditions, types::READY, reason, message, generation, now);
}

/// Summarises `Ready` from the other conditions, the way Flux controllers do at the end of a
/// reconciliation:
/// * `Stalled=True` ⇒ `Ready=False` with Stalled's reason and message;
/// * else the first True condition among `negative_polarity` (in the given order) ⇒
///   `Ready=False` with its reason and message;
/// * else `Reconciling=True` ⇒ `Ready=Unknown` with Reconciling's reason and message;
/// * else `Ready=True` with `success_reason` and `success_message`.
pub fn summarize_ready(
    conditions: &mut Vec<Condition>,
    negative_polarity: &[&str],
    success_reason: &str,
    success_message: &str,
    generation: i64,
    now: Time,
) {
    let failing = find(conditions, types::STALLED)
        .filter(|c| c.status == ConditionStatus::True)
        .or_else(|| {
            negative_polarity
                .iter()
                .filter_map(|t| find(conditions, t))
                .find(|c| c.status == ConditionStatus::True)
        })
        .map(|c| (c.reason.clone(), c.message.clone()));
    if let Some((reason, message)) = failing {
        mark_false(conditions, types::READY, &reason, &message, generation, now);
        return;
    }
    let progressing = find(conditions, types::RECONCILING)
        .filter(|c| c.status == ConditionStatus::True)
        .map(|c| (c.reason.clone(), c.message.clone()));
    match progressing {
        Some((reason, message)) => {
            mark_unknown(conditions, types::READY, &reason, &message, generation, now)
        }
        None => mark_true(
            conditions,
            types::READY,
            success_reason,
            success_message,
            generation,
            now,
        ),
    }
}

fn weight(type_: &str) -> Option<u8> {
    match type_ {
        types::STALLED => Some(0),
        types::RECONCILING => Some(1),
        types::READY => Some(2),
        _ => None,
    }
}

/// The display order: Stalled, Reconciling, Ready, then newest observedGeneration, then type.
fn order(a: &Condition, b: &Condition) -> Ordering {
    match (weight(&a.type_), weight(&b.type_)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => b
            .observed_generation
            .cmp(&a.observed_generation)
            .then_with(|| a.type_.cmp(&b.type_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    #[test]
    fn transition_time_changes_only_on_status_flip() {
        let mut c = Vec::new();
        mark_false(&mut c, types::READY, reasons::PROGRESSING, "a", 1, at(10));
        mark_false(&mut c, types::READY, reasons::BUILD_FAILED, "b", 2, at(20));
        let ready = find(&c, types::READY).cloned();
        assert_eq!(
            ready.as_ref().map(|r| r.last_transition_time.clone()),
            Some(at(10))
        );
        assert_eq!(
            ready.as_ref().map(|r| r.reason.as_str()),
            Some("BuildFailed")
        );
        assert_eq!(ready.as_ref().and_then(|r| r.observed_generation), Some(2));
        mark_true(&mut c, types::READY, reasons::SUCCEEDED, "ok", 2, at(30));
        assert_eq!(
            find(&c, types::READY).map(|r| r.last_transition_time.clone()),
            Some(at(30))
        );
        assert!(is_ready_for(&c, 2));
        assert!(!is_ready_for(&c, 3));
    }

    #[test]
    fn abnormal_true_conditions_exist_only_while_true() {
        let mut c = Vec::new();
        mark_reconciling(&mut c, reasons::PROGRESSING, "working", 1, at(1));
        assert!(is_true(&c, types::RECONCILING));
        mark_false(&mut c, types::RECONCILING, reasons::SUCCEEDED, "", 1, at(2));
        assert!(find(&c, types::RECONCILING).is_none());
        mark_stalled(&mut c, reasons::INVALID_URL, "bad url", 1, at(3));
        assert!(is_true(&c, types::STALLED));
        assert!(is_false(&c, types::READY));
        mark_reconciling(&mut c, reasons::PROGRESSING, "retry", 2, at(4));
        assert!(find(&c, types::STALLED).is_none());
        mark_unknown(
            &mut c,
            types::RECONCILING,
            reasons::PROGRESSING,
            "",
            2,
            at(5),
        );
        assert!(find(&c, types::RECONCILING).is_none());
    }

    #[test]
    fn typed_objects_expose_their_conditions() {
        use crate::HasConditions;
        let mut repo = crate::source::GitRepository::new(
            "podinfo",
            crate::source::GitRepositorySpec {
                ignore: None,
                include: None,
                interval: crate::GoDuration::parse("1m").unwrap_or_else(|_| unreachable!()),
                provider: None,
                proxy_secret_ref: None,
                recurse_submodules: None,
                reference: None,
                secret_ref: None,
                service_account_name: None,
                sparse_checkout: None,
                suspend: None,
                timeout: None,
                url: "https://example.com/repo".into(),
                verify: None,
            },
        );
        repo.metadata.generation = Some(3);
        let generation = repo.generation();
        mark_true(
            repo.status_conditions_mut(),
            types::READY,
            reasons::SUCCEEDED,
            "ok",
            generation,
            at(1),
        );
        assert!(is_ready_for(repo.status_conditions(), 3));
    }

    #[test]
    fn summary_and_order() {
        let mut c = Vec::new();
        mark_true(
            &mut c,
            types::ARTIFACT_IN_STORAGE,
            reasons::SUCCEEDED,
            "stored",
            1,
            at(1),
        );
        mark_reconciling(&mut c, reasons::PROGRESSING, "fetching", 1, at(1));
        summarize_ready(
            &mut c,
            &[types::FETCH_FAILED],
            reasons::SUCCEEDED,
            "done",
            1,
            at(1),
        );
        assert_eq!(
            find(&c, types::READY).map(|r| r.status),
            Some(ConditionStatus::Unknown)
        );
        mark_true(
            &mut c,
            types::FETCH_FAILED,
            reasons::AUTHENTICATION_FAILED,
            "401",
            1,
            at(2),
        );
        summarize_ready(
            &mut c,
            &[types::FETCH_FAILED],
            reasons::SUCCEEDED,
            "done",
            1,
            at(2),
        );
        let ready = find(&c, types::READY).cloned();
        assert_eq!(
            ready.as_ref().map(|r| r.status),
            Some(ConditionStatus::False)
        );
        assert_eq!(ready.as_ref().map(|r| r.message.as_str()), Some("401"));
        let order: Vec<&str> = c.iter().map(|x| x.type_.as_str()).collect();
        assert_eq!(
            order,
            ["Reconciling", "Ready", "ArtifactInStorage", "FetchFailed"]
        );
        delete(&mut c, types::FETCH_FAILED);
        delete(&mut c, types::RECONCILING);
        summarize_ready(
            &mut c,
            &[types::FETCH_FAILED],
            reasons::SUCCEEDED,
            "done",
            1,
            at(3),
        );
        assert!(is_ready_for(&c, 1));
    }
}
