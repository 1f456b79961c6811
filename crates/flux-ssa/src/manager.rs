//! The resource manager: every cluster write of a Flux applier goes through it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flux_object::ObjectId;
use flux_object::kind_order::{ApplyStage, GroupKind, apply_stage, legacy_kind_rank};
use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use serde_json::Value;

use crate::change_set::{Action, ChangeSet, ChangeSetEntry};
use crate::cleanup::{
    CleanupError, CleanupOptions, FieldManager, Operation, any_in_metadata, cleanup_patch,
};
use crate::drift::has_drifted;
use crate::wait::{WaitError, WaitOptions};

/// Annotation and label keys Flux's kustomize-controller understands on applied objects.
pub mod annotations {
    /// `kustomize.toolkit.fluxcd.io/ssa`: `Merge`, `IfNotPresent`, `Ignore` (or `Override`).
    pub const SSA: &str = "kustomize.toolkit.fluxcd.io/ssa";
    /// Value of [`SSA`]: apply without taking over fields of other managers.
    pub const SSA_MERGE: &str = "Merge";
    /// Value of [`SSA`]: create the object if missing, never update it.
    pub const SSA_IF_NOT_PRESENT: &str = "IfNotPresent";
    /// Value of [`SSA`]: never apply the object.
    pub const SSA_IGNORE: &str = "Ignore";
    /// `kustomize.toolkit.fluxcd.io/force: enabled`: recreate on immutable-field changes.
    pub const FORCE: &str = "kustomize.toolkit.fluxcd.io/force";
    /// `kustomize.toolkit.fluxcd.io/prune: disabled`: never delete the object.
    pub const PRUNE: &str = "kustomize.toolkit.fluxcd.io/prune";
    /// `kustomize.toolkit.fluxcd.io/reconcile: disabled`: leave the object alone.
    pub const RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
    /// The value `enabled`.
    pub const ENABLED: &str = "enabled";
    /// The value `disabled`.
    pub const DISABLED: &str = "disabled";
    /// `kubectl.kubernetes.io/last-applied-configuration`.
    pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
}

/// Who applies: the field manager name and the API group of the owner labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Field manager (`kustomize-controller`).
    pub field: String,
    /// Group whose `<group>/name` and `<group>/namespace` labels mark owned objects
    /// (`kustomize.toolkit.fluxcd.io`).
    pub group: String,
}

/// Options of an apply (Flux's `ssa.ApplyOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Recreate every object whose apply fails on an immutable field.
    pub force: bool,
    /// Recreate objects carrying any of these annotations/labels on immutable-field errors.
    pub force_selector: BTreeMap<String, String>,
    /// Skip objects (desired or in-cluster) carrying any of these annotations/labels.
    pub exclusion_selector: BTreeMap<String, String>,
    /// Skip objects carrying any of these when they already exist.
    pub if_not_present_selector: BTreeMap<String, String>,
    /// Poll interval while waiting for cluster and class definitions.
    pub wait_interval: Duration,
    /// How long to wait for cluster and class definitions.
    pub wait_timeout: Duration,
    /// Metadata clean-up before apply.
    pub cleanup: CleanupOptions,
    /// Kinds applied in their own stage after class definitions.
    pub custom_stage_kinds: Vec<GroupKind>,
}

impl Default for ApplyOptions {
    /// Flux's `DefaultApplyOptions`: no force, 2 s interval, 60 s timeout.
    fn default() -> ApplyOptions {
        ApplyOptions {
            force: false,
            force_selector: BTreeMap::new(),
            exclusion_selector: BTreeMap::new(),
            if_not_present_selector: BTreeMap::new(),
            wait_interval: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(60),
            cleanup: CleanupOptions::default(),
            custom_stage_kinds: Vec::new(),
        }
    }
}

impl ApplyOptions {
    /// The options kustomize-controller applies with: `ssa: Ignore` and `reconcile:
    /// disabled` skip, `ssa: IfNotPresent` only creates, `force: enabled` recreates, and
    /// `kubectl` edits, `before-first-apply` and the controller's own Update entries are
    /// taken over (except on `ssa: Merge` objects) together with the last-applied annotation.
    pub fn kustomize_controller(controller_name: &str, force: bool) -> ApplyOptions {
        use annotations::*;
        let selector = |k: &str, v: &str| (k.to_string(), v.to_string());
        ApplyOptions {
            force,
            force_selector: BTreeMap::from([selector(FORCE, ENABLED)]),
            exclusion_selector: BTreeMap::from([
                selector(RECONCILE, DISABLED),
                selector(SSA, SSA_IGNORE),
            ]),
            if_not_present_selector: BTreeMap::from([selector(SSA, SSA_IF_NOT_PRESENT)]),
            cleanup: CleanupOptions {
                annotations: vec![
                    LAST_APPLIED.to_string(),
                    "fluxcd.io/sync-checksum".to_string(),
                    "kustomize.toolkit.fluxcd.io/checksum".to_string(),
                ],
                labels: vec!["fluxcd.io/sync-gc-mark".to_string()],
                field_managers: vec![
                    FieldManager::prefix("kubectl", Operation::Apply),
                    FieldManager::prefix("kubectl", Operation::Update),
                    FieldManager::prefix("before-first-apply", Operation::Update),
                    FieldManager::prefix(controller_name, Operation::Update),
                ],
                exclusions: BTreeMap::from([selector(SSA, SSA_MERGE)]),
            },
            ..ApplyOptions::default()
        }
    }
}

/// Options of a prune (Flux's `ssa.DeleteOptions`).
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    /// Deletion propagation.
    pub propagation_policy: PropagationPolicy,
    /// Only objects whose labels include all of these are deleted (the owner labels).
    pub inclusions: BTreeMap<String, String>,
    /// Objects carrying any of these annotations/labels are kept (`prune: disabled`).
    pub exclusions: BTreeMap<String, String>,
}

impl DeleteOptions {
    /// The options kustomize-controller prunes with: background propagation, only objects
    /// labelled as owned by `name`/`namespace`, never `prune: disabled` ones.
    pub fn kustomize_controller(owner: &Owner, name: &str, namespace: &str) -> DeleteOptions {
        DeleteOptions {
            propagation_policy: PropagationPolicy::Background,
            inclusions: owner_labels(owner, name, namespace),
            exclusions: BTreeMap::from([(
                annotations::PRUNE.to_string(),
                annotations::DISABLED.to_string(),
            )]),
        }
    }
}

/// The labels marking an object as applied by the owner object `name`/`namespace`:
/// `<group>/name` and `<group>/namespace`.
pub fn owner_labels(owner: &Owner, name: &str, namespace: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (format!("{}/name", owner.group), name.to_string()),
        (format!("{}/namespace", owner.group), namespace.to_string()),
    ])
}

/// One object the server-side dry-run rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunFailure {
    /// `Kind/namespace/name`.
    pub subject: String,
    /// The API reason (`Invalid`, `NotFound`, `Conflict`, …) or the local check that failed.
    pub reason: String,
    /// The API server's (or our) message.
    pub message: String,
}

impl std::fmt::Display for DryRunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} dry-run failed ({}): {}",
            self.subject, self.reason, self.message
        )
    }
}

fn join_lines<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why an apply failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Validation (server-side dry-run, or our checks before it) rejected objects; nothing
    /// of the stage (or, before the first write, of the whole set) was applied.
    #[error("{}", join_lines(failures))]
    DryRun {
        /// Every rejected object.
        failures: Vec<DryRunFailure>,
    },
    /// Reading the object from the cluster failed.
    #[error("{subject} query failed: {source}")]
    Get {
        /// `Kind/namespace/name`.
        subject: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The in-cluster managedFields could not be read.
    #[error("{subject} metadata.managedFields cleanup failed: {source}")]
    CleanupRead {
        /// `Kind/namespace/name`.
        subject: String,
        /// What was unreadable.
        #[source]
        source: CleanupError,
    },
    /// The clean-up patch was refused.
    #[error("{subject} metadata.managedFields cleanup failed: {source}")]
    CleanupPatch {
        /// `Kind/namespace/name`.
        subject: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// Deleting an object to recreate it failed.
    #[error("{subject} immutable field detected, failed to delete object: {source}")]
    RecreateDelete {
        /// `Kind/namespace/name`.
        subject: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The deleted object did not go away in time.
    #[error(
        "{subject} immutable field detected, failed to wait for object to be deleted: still present after {timeout:?}"
    )]
    RecreateWait {
        /// `Kind/namespace/name`.
        subject: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The apply request failed.
    #[error("{subject} apply failed: {source}")]
    Apply {
        /// `Kind/namespace/name`.
        subject: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// An object could not be turned into JSON.
    #[error("{subject}: cannot encode object: {source}")]
    Encode {
        /// `Kind/namespace/name`.
        subject: String,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// Cluster or class definitions did not become ready.
    #[error("{stage}: {source}")]
    StageNotReady {
        /// Which stage.
        stage: &'static str,
        /// The wait failure.
        #[source]
        source: WaitError,
    },
}

/// A failed staged apply: the error and what had been applied before it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct StagedApplyError {
    /// Entries of the stages applied before the failure.
    pub applied: ChangeSet,
    /// What failed.
    #[source]
    pub error: ApplyError,
}

/// A resolved API resource.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) resource: ApiResource,
    pub(crate) namespaced: bool,
}

/// The server's answer to a dry-run or a read, for a planned object.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) desired: Value,
    pub(crate) resolved: Resolved,
    pub(crate) entry: ChangeSetEntry,
    pub(crate) existing: Option<Value>,
    pub(crate) dry_run: Option<Value>,
    pub(crate) cleanup: Option<Value>,
    pub(crate) recreate: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Plan {
    Skip(ChangeSetEntry),
    Deferred,
    Apply(Box<Planned>),
}

/// What the rest of the set provides, so that objects depending on it can wait for their
/// stage instead of failing the set-wide dry-run.
#[derive(Debug, Default)]
struct SetProvides {
    kinds: BTreeSet<(String, String)>,
    namespaces: BTreeSet<String>,
}

impl SetProvides {
    fn of(objects: &[Value]) -> SetProvides {
        let mut provides = SetProvides::default();
        for object in objects {
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind == "CustomResourceDefinition"
                && api_version.starts_with("apiextensions.k8s.io/")
            {
                let group = object
                    .pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let crd_kind = object
                    .pointer("/spec/names/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                provides
                    .kinds
                    .insert((group.to_string(), crd_kind.to_string()));
            }
            if kind == "Namespace" && api_version == "v1" {
                let name = object
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                provides.namespaces.insert(name.to_string());
            }
        }
        provides
    }
}

/// Sets the owner labels (see [`owner_labels`]) on `object`, as kustomize-controller does
/// before applying; a non-object `object` is left alone.
pub fn set_owner_labels(object: &mut Value, owner: &Owner, name: &str, namespace: &str) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(serde_json::Map::new());
    }
    if let Some(metadata) = metadata.as_object_mut() {
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !labels.is_object() {
            *labels = Value::Object(serde_json::Map::new());
        }
        if let Some(labels) = labels.as_object_mut() {
            for (k, v) in owner_labels(owner, name, namespace) {
                labels.insert(k, Value::from(v));
            }
        }
    }
}

/// Kinds Flux applies (and, reversed, deletes) first and last (`ssa.ReconcileOrder`).
const RECONCILE_ORDER_FIRST: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const RECONCILE_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Flux's apply order of two ids: by kind rank, group, kind, then namespace and name.
pub fn reconcile_order(a: &ObjectId, b: &ObjectId) -> std::cmp::Ordering {
    let rank =
        |id: &ObjectId| legacy_kind_rank(&id.kind, RECONCILE_ORDER_FIRST, RECONCILE_ORDER_LAST);
    rank(a)
        .cmp(&rank(b))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

fn str_field<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A Kubernetes API error's reason and message, or the transport error's text.
pub(crate) fn api_reason(err: &kube::Error) -> (String, String, u16) {
    match err {
        kube::Error::Api(status) => (status.reason.clone(), status.message.clone(), status.code),
        other => ("Unknown".to_string(), other.to_string(), 0),
    }
}

fn is_immutable_error(err: &kube::Error) -> bool {
    let (reason, message, code) = api_reason(err);
    code == 409
        || code == 422
        || reason == "Conflict"
        || reason == "Invalid"
        || message.contains("is immutable")
        || message.contains("immutable field")
}

/// Flux's resource manager: staged server-side apply with a set-wide dry-run, change sets,
/// prune and health waits.
pub struct ResourceManager {
    pub(crate) client: Client,
    pub(crate) owner: Owner,
    concurrency: usize,
    resources: Arc<Mutex<HashMap<(String, String), Resolved>>>,
}

impl std::fmt::Debug for ResourceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceManager")
            .field("owner", &self.owner)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl ResourceManager {
    /// A manager applying as `owner.field`.
    pub fn new(client: Client, owner: Owner) -> ResourceManager {
        ResourceManager {
            client,
            owner,
            concurrency: 8,
            resources: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A manager with the same owner and concurrency writing through `client` (e.g. the same
    /// cluster impersonating a service account), sharing this manager's discovery cache.
    /// Use [`ResourceManager::new`] for another cluster.
    pub fn with_client(&self, client: Client) -> ResourceManager {
        ResourceManager {
            client,
            owner: self.owner.clone(),
            concurrency: self.concurrency,
            resources: Arc::clone(&self.resources),
        }
    }

    /// How many requests run at once while planning and waiting (default 8).
    pub fn with_concurrency(mut self, concurrency: usize) -> ResourceManager {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The owner.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The API resource serving `api_version`/`kind` (cached once found).
    pub(crate) async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Resolved, kube::Error> {
        let key = (api_version.to_string(), kind.to_string());
        if let Ok(cache) = self.resources.lock()
            && let Some(found) = cache.get(&key)
        {
            return Ok(found.clone());
        }
        let (group, version) = split_api_version(api_version);
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk).await?;
        let resolved = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        if let Ok(mut cache) = self.resources.lock() {
            cache.insert(key, resolved.clone());
        }
        Ok(resolved)
    }

    /// Forgets resolved kinds (after CRDs change).
    pub(crate) fn forget_resources(&self) {
        if let Ok(mut cache) = self.resources.lock() {
            cache.clear();
        }
    }

    pub(crate) fn api(&self, resolved: &Resolved, namespace: &str) -> Api<DynamicObject> {
        if resolved.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        }
    }

    /// Applies `objects` in Flux's stages: cluster definitions (CRDs, Namespaces,
    /// ClusterRoles), then class definitions (kinds ending in `Class`), each waited for
    /// until ready; then custom-stage kinds; then everything else.
    ///
    /// Before anything is written, every object of the set is validated with a server-side
    /// dry-run; one rejected object fails the whole set and leaves the cluster untouched.
    /// Objects that cannot be dry-run before an earlier stage exists (custom resources of a
    /// CRD in the set, objects in a Namespace of the set) are dry-run at their stage.
    pub async fn apply_all_staged(
        &self,
        objects: Vec<Value>,
        options: &ApplyOptions,
    ) -> Result<ChangeSet, StagedApplyError> {
        let fail = |applied: &ChangeSet, error| StagedApplyError {
            applied: applied.clone(),
            error,
        };
        let provides = SetProvides::of(&objects);
        let mut plans = self
            .plan_all(&objects, options, Some(&provides))
            .await
            .map_err(|error| fail(&ChangeSet::new(), error))?;

        let mut stages: BTreeMap<ApplyStage, Vec<usize>> = BTreeMap::new();
        for (i, object) in objects.iter().enumerate() {
            stages
                .entry(apply_stage(object, &options.custom_stage_kinds))
                .or_default()
                .push(i);
        }

        let mut applied = ChangeSet::new();
        let mut wrote = false;
        for (stage, indexes) in stages {
            // Re-plan what could not be dry-run before, and everything once an earlier stage
            // changed the cluster (a new CRD version or namespace can change the result).
            let stale: Vec<usize> = indexes
                .iter()
                .copied()
                .filter(|&i| wrote || matches!(plans[i], Plan::Deferred))
                .collect();
            if !stale.is_empty() {
                let subset: Vec<Value> = stale.iter().map(|&i| objects[i].clone()).collect();
                let fresh = self
                    .plan_all(&subset, options, None)
                    .await
                    .map_err(|error| fail(&applied, error))?;
                for (i, plan) in stale.into_iter().zip(fresh) {
                    plans[i] = plan;
                }
            }
            let stage_plans: Vec<Plan> = indexes.iter().map(|&i| plans[i].clone()).collect();
            let changes = self
                .execute(stage_plans, options)
                .await
                .map_err(|error| fail(&applied, error))?;
            wrote |= changes
                .entries
                .iter()
                .any(|e| matches!(e.action, Action::Created | Action::Configured));
            applied.append(changes.clone());
            let stage_name = match stage {
                ApplyStage::ClusterDefinitions => Some("cluster definitions"),
                ApplyStage::ClassDefinitions => Some("class definitions"),
                _ => None,
            };
            if let Some(stage_name) = stage_name
                && !changes.is_empty()
            {
                let crd_changed = changes.entries.iter().any(|e| {
                    e.id.kind == "CustomResourceDefinition"
                        && matches!(e.action, Action::Created | Action::Configured)
                });
                if crd_changed {
                    self.forget_resources();
                }
                let ids: Vec<_> = changes.entries.iter().map(Into::into).collect();
                let wait = WaitOptions {
                    interval: options.wait_interval,
                    timeout: options.wait_timeout,
                    ..WaitOptions::default()
                };
                self.wait_for_set(&ids, &wait).await.map_err(|source| {
                    fail(
                        &applied,
                        ApplyError::StageNotReady {
                            stage: stage_name,
                            source,
                        },
                    )
                })?;
            }
        }
        Ok(applied)
    }

    /// Applies `objects` in one go (no stages): all are dry-run first, then the new and
    /// drifted ones are applied. Flux's `ApplyAll`.
    pub async fn apply_all(
        &self,
        objects: Vec<Value>,
        options: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let plans = self.plan_all(&objects, options, None).await?;
        self.execute(plans, options).await
    }

    /// What applying `object` would do, without writing: the entry, and for a configured
    /// object the in-cluster and dry-run objects (without managedFields; Secret values
    /// masked). Flux's `Diff`.
    pub async fn diff(
        &self,
        object: &Value,
        options: &ApplyOptions,
    ) -> Result<(ChangeSetEntry, Option<(Value, Value)>), ApplyError> {
        let plan = self
            .plan_all(std::slice::from_ref(object), options, None)
            .await?;
        match plan.into_iter().next() {
            Some(Plan::Skip(entry)) => Ok((entry, None)),
            Some(Plan::Apply(planned)) => {
                let planned = *planned;
                let Planned {
                    entry,
                    existing,
                    dry_run,
                    ..
                } = planned;
                match (entry.action, existing, dry_run) {
                    (Action::Configured, Some(mut live), Some(mut dry)) => {
                        for object in [&mut live, &mut dry] {
                            if let Some(meta) =
                                object.get_mut("metadata").and_then(Value::as_object_mut)
                            {
                                meta.remove("managedFields");
                            }
                        }
                        if entry.id.group.is_empty() && entry.id.kind == "Secret" {
                            mask_secret_values(&mut live, &mut dry);
                        }
                        Ok((entry, Some((live, dry))))
                    }
                    _ => Ok((entry, None)),
                }
            }
            Some(Plan::Deferred) | None => Err(ApplyError::DryRun {
                failures: vec![DryRunFailure {
                    subject: ObjectId::default().to_string(),
                    reason: "Internal".into(),
                    message: "object was not planned".into(),
                }],
            }),
        }
    }

    /// Dry-runs every object; all failures are reported together.
    async fn plan_all(
        &self,
        objects: &[Value],
        options: &ApplyOptions,
        provides: Option<&SetProvides>,
    ) -> Result<Vec<Plan>, ApplyError> {
        // The futures are built eagerly: a closure inside the stream would make the
        // returned future not `Send` (higher-ranked lifetime inference).
        let pending: Vec<_> = objects
            .iter()
            .map(|object| self.plan(object, options, provides))
            .collect();
        let results: Vec<Result<Plan, PlanError>> = futures::stream::iter(pending)
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut plans = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for result in results {
            match result {
                Ok(plan) => plans.push(plan),
                Err(PlanError::Rejected(failure)) => failures.push(failure),
                Err(PlanError::Other(error)) => return Err(error),
            }
        }
        if failures.is_empty() {
            Ok(plans)
        } else {
            Err(ApplyError::DryRun { failures })
        }
    }

    /// Reads and dry-runs one object.
    async fn plan(
        &self,
        object: &Value,
        options: &ApplyOptions,
        provides: Option<&SetProvides>,
    ) -> Result<Plan, PlanError> {
        let api_version = str_field(object, "/apiVersion");
        let kind = str_field(object, "/kind");
        let name = str_field(object, "/metadata/name");
        let namespace = str_field(object, "/metadata/namespace");
        let (group, version) = split_api_version(api_version);
        let subject = ObjectId::new(group, kind, namespace, name).to_string();
        let reject = |reason: &str, message: String| {
            PlanError::Rejected(DryRunFailure {
                subject: subject.clone(),
                reason: reason.to_string(),
                message,
            })
        };
        if !object.is_object() {
            return Err(reject(
                "BadRequest",
                "object is not a JSON/YAML mapping".into(),
            ));
        }
        for (field, value) in [
            ("apiVersion", api_version),
            ("kind", kind),
            ("metadata.name", name),
        ] {
            if value.is_empty() {
                return Err(reject("BadRequest", format!("{field} is required")));
            }
        }
        let resolved = match self.resolve(api_version, kind).await {
            Ok(resolved) => resolved,
            Err(err) => {
                if provides
                    .is_some_and(|p| p.kinds.contains(&(group.to_string(), kind.to_string())))
                {
                    return Ok(Plan::Deferred);
                }
                return Err(reject(
                    "NotFound",
                    format!("no matches for kind \"{kind}\" in version \"{api_version}\": {err}"),
                ));
            }
        };
        let mut desired = object.clone();
        let namespace = if resolved.namespaced {
            if namespace.is_empty() {
                return Err(reject(
                    "BadRequest",
                    "metadata.namespace is required for a namespaced kind".into(),
                ));
            }
            namespace.to_string()
        } else {
            if let Some(meta) = desired.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("namespace");
            }
            String::new()
        };
        let id = ObjectId::new(group, kind, &namespace, name);
        let subject = id.to_string();
        let api = self.api(&resolved, &namespace);
        let existing = match api.get_opt(name).await {
            Ok(found) => match found {
                Some(found) => Some(serde_json::to_value(found).map_err(|source| {
                    PlanError::Other(ApplyError::Encode {
                        subject: subject.clone(),
                        source,
                    })
                })?),
                None => None,
            },
            Err(source) => {
                return Err(PlanError::Other(ApplyError::Get { subject, source }));
            }
        };

        let entry = |action| ChangeSetEntry::new(id.clone(), version, action);
        // Skipped objects: excluded, or present and create-only.
        if any_in_metadata(&desired, &options.exclusion_selector)
            || existing
                .as_ref()
                .is_some_and(|e| any_in_metadata(e, &options.exclusion_selector))
            || (existing.is_some() && any_in_metadata(&desired, &options.if_not_present_selector))
        {
            return Ok(Plan::Skip(entry(Action::Skipped)));
        }

        let mut params = PatchParams::apply(&self.owner.field).force();
        params.dry_run = true;
        let dry_run = match api.patch(name, &params, &Patch::Apply(&desired)).await {
            Ok(result) => serde_json::to_value(result).map_err(|source| {
                PlanError::Other(ApplyError::Encode {
                    subject: subject.clone(),
                    source,
                })
            })?,
            Err(err) => {
                let forced = options.force
                    || any_in_metadata(&desired, &options.force_selector)
                    || existing
                        .as_ref()
                        .is_some_and(|e| any_in_metadata(e, &options.force_selector));
                if existing.is_some() && forced && is_immutable_error(&err) {
                    return Ok(Plan::Apply(Box::new(Planned {
                        desired,
                        resolved,
                        entry: entry(Action::Created),
                        existing,
                        dry_run: None,
                        cleanup: None,
                        recreate: true,
                    })));
                }
                let (reason, message, _) = api_reason(&err);
                // A custom resource of a CRD in the set is validated against the CRD as the
                // set leaves it, at its stage; an object in a Namespace of the set once the
                // Namespace exists.
                let kind_in_set = provides
                    .is_some_and(|p| p.kinds.contains(&(group.to_string(), kind.to_string())));
                let namespace_in_set = existing.is_none()
                    && reason == "NotFound"
                    && provides.is_some_and(|p| p.namespaces.contains(&namespace))
                    && message.contains("namespace");
                if kind_in_set || namespace_in_set {
                    return Ok(Plan::Deferred);
                }
                return Err(reject(&reason, message));
            }
        };

        let cleanup = match &existing {
            Some(live) => cleanup_patch(&desired, live, &options.cleanup, &self.owner.field)
                .map_err(|source| {
                    PlanError::Other(ApplyError::CleanupRead {
                        subject: subject.clone(),
                        source,
                    })
                })?,
            None => None,
        };
        let action =
            if existing.is_none() || str_field(&dry_run, "/metadata/resourceVersion").is_empty() {
                Action::Created
            } else if cleanup.is_some() || has_drifted(existing.as_ref(), &dry_run) {
                Action::Configured
            } else {
                Action::Unchanged
            };
        Ok(Plan::Apply(Box::new(Planned {
            desired,
            resolved,
            entry: entry(action),
            existing,
            dry_run: Some(dry_run),
            cleanup,
            recreate: false,
        })))
    }

    /// Writes planned objects in Flux's order.
    async fn execute(
        &self,
        plans: Vec<Plan>,
        options: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let mut planned: Vec<Plan> = plans;
        planned.sort_by(|a, b| {
            let id = |p: &Plan| match p {
                Plan::Skip(e) => e.id.clone(),
                Plan::Apply(p) => p.entry.id.clone(),
                Plan::Deferred => ObjectId::default(),
            };
            reconcile_order(&id(a), &id(b))
        });
        let mut changes = ChangeSet::new();
        for plan in planned {
            match plan {
                Plan::Skip(entry) => changes.add(entry),
                Plan::Deferred => {
                    return Err(ApplyError::DryRun {
                        failures: vec![DryRunFailure {
                            subject: String::new(),
                            reason: "Internal".into(),
                            message: "object was not dry-run before apply".into(),
                        }],
                    });
                }
                Plan::Apply(planned) => {
                    let entry = self.write(*planned, options).await?;
                    changes.add(entry);
                }
            }
        }
        Ok(changes)
    }

    async fn write(
        &self,
        planned: Planned,
        options: &ApplyOptions,
    ) -> Result<ChangeSetEntry, ApplyError> {
        let Planned {
            desired,
            resolved,
            entry,
            existing,
            cleanup,
            recreate,
            ..
        } = planned;
        if entry.action == Action::Unchanged {
            return Ok(entry);
        }
        let subject = entry.subject.clone();
        let api = self.api(&resolved, &entry.id.namespace);
        let name = entry.id.name.clone();
        if recreate {
            let params = DeleteParams {
                propagation_policy: Some(PropagationPolicy::Background),
                ..DeleteParams::default()
            };
            match api.delete(&name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => return Err(ApplyError::RecreateDelete { subject, source }),
            }
            let deadline = tokio::time::Instant::now() + options.wait_timeout;
            loop {
                match api.get_opt(&name).await {
                    Ok(None) => break,
                    Ok(Some(_)) => {}
                    Err(source) => return Err(ApplyError::Get { subject, source }),
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(ApplyError::RecreateWait {
                        subject,
                        timeout: options.wait_timeout,
                    });
                }
                tokio::time::sleep(options.wait_interval.min(Duration::from_millis(500))).await;
            }
        } else if let (Some(patch), Some(_)) = (cleanup, existing) {
            let patch: json_patch::Patch =
                serde_json::from_value(patch).map_err(|source| ApplyError::Encode {
                    subject: subject.clone(),
                    source,
                })?;
            let params = PatchParams {
                field_manager: Some(self.owner.field.clone()),
                ..PatchParams::default()
            };
            api.patch(&name, &params, &Patch::Json::<()>(patch))
                .await
                .map_err(|source| ApplyError::CleanupPatch {
                    subject: subject.clone(),
                    source,
                })?;
        }
        let params = PatchParams::apply(&self.owner.field).force();
        api.patch(&name, &params, &Patch::Apply(&desired))
            .await
            .map_err(|source| ApplyError::Apply { subject, source })?;
        Ok(entry)
    }
}

enum PlanError {
    Rejected(DryRunFailure),
    Other(ApplyError),
}

/// Replaces Secret values so diffs never show them: equal values become `***`, differing
/// ones `*** (before)` / `*** (after)`.
fn mask_secret_values(live: &mut Value, dry: &mut Value) {
    for field in ["data", "stringData"] {
        let before = live
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let after = dry
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(map) = live.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                let same = after.get(k) == Some(&*v);
                *v = Value::from(if same { "***" } else { "*** (before)" });
            }
        }
        if let Some(map) = dry.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                let same = before.get(k) == Some(&*v);
                *v = Value::from(if same { "***" } else { "*** (after)" });
            }
        }
    }
}
