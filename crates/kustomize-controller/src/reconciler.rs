//! The Kustomization reconciler: source → dependencies → artifact → build → apply →
//! prune → health, as kustomize-controller does it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flux_api::conditions::{self, reasons, types};
use flux_api::kustomize::{DeletionPolicy, Kustomization, KustomizationSourceKind};
use flux_api::meta::ConfigKind;
use flux_api::source::GitRepository;
use flux_artifact::{Digest, ExtractOptions};
use flux_kustomize::{BuildOptions, Filesystem, LoadRestrictor};
use flux_object::ObjectId;
use flux_runtime::{
    EventType, FluxResource, ReconcileError, ReconcileResult, Reconciler, Runtime, Success,
};
use flux_ssa::{
    ApplyOptions, ChangeSet, DeleteOptions, HealthCheckExprs, Inventory, Owner, ResourceManager,
    VersionedId, WaitOptions, set_owner_labels,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, ResourceExt};
use serde_json::Value;

use crate::artifact_tree::{ArtifactTree, LayeredFs};
use crate::cluster_client::{RemoteClients, impersonating, service_account_user};
use crate::health_cancel::InFlightHealthChecks;
use crate::overlay::write_overlay_in;
use crate::ready_expr::ReadyExpr;
use crate::substitute::{self, SubstituteError};

/// The field manager and owner label group of kustomize-controller.
pub const CONTROLLER_NAME: &str = "kustomize-controller";

/// Controller flags.
#[derive(Debug, Clone)]
pub struct KustomizeOptions {
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// `--feature-gates=StrictPostBuildSubstitutions=true`: undefined variables without a
    /// default are errors.
    pub strict_substitutions: bool,
    /// Health-check poll interval.
    pub poll_interval: Duration,
    /// `--no-remote-bases`: kustomization files may not reference remote bases or
    /// resources (they are refused with a BuildFailed message naming the file and URL).
    pub no_remote_bases: bool,
    /// `--default-service-account`: the service account impersonated for Kustomizations
    /// without `spec.serviceAccountName` (`None` = the controller's own identity).
    pub default_service_account: Option<String>,
    /// `--feature-gates=AdditiveCELDependencyCheck=true`: a `readyExpr` is checked in
    /// addition to (instead of in place of) the built-in readiness check.
    pub additive_cel_dependency_check: bool,
    /// `--watch-configs-label-selector`: ConfigMaps/Secrets whose changes wake the
    /// Kustomizations using them (default `reconcile.fluxcd.io/watch=Enabled`).
    pub watch_configs_label_selector: String,
}

impl Default for KustomizeOptions {
    fn default() -> Self {
        Self {
            no_cross_namespace_refs: false,
            strict_substitutions: false,
            poll_interval: Duration::from_secs(2),
            no_remote_bases: false,
            default_service_account: None,
            additive_cel_dependency_check: false,
            watch_configs_label_selector: crate::config_watch::DEFAULT_WATCH_CONFIGS_LABEL_SELECTOR
                .to_string(),
        }
    }
}

/// The Kustomization reconciler.
pub struct KustomizationReconciler {
    options: KustomizeOptions,
    manager: ResourceManager,
    /// The artifact HTTP client, or why it could not be built.
    http: Result<reqwest::Client, String>,
    /// Verified artifact tarballs by digest.
    cache: crate::artifact_cache::ArtifactCache,
    /// Verified artifacts decoded into memory by digest, shared by every build of them.
    trees: crate::artifact_cache::ArtifactCache<Arc<ArtifactTree>>,
    /// Health checks in flight (cancelled by a new source revision).
    in_flight: Arc<InFlightHealthChecks>,
    /// Clients of remote clusters (`kubeConfig.secretRef`).
    remote: RemoteClients,
    /// Impersonating clients of this cluster, by user.
    impersonated: Mutex<HashMap<String, kube::Client>>,
}

/// Upstream's prefix of terminal configuration errors.
pub const TERMINAL_ERROR_MESSAGE: &str =
    "Reconciliation failed terminally due to configuration error";

/// A failed step: the condition reason and the message.
struct StepError {
    reason: &'static str,
    message: String,
}

fn step(reason: &'static str, message: impl Into<String>) -> StepError {
    StepError {
        reason,
        message: message.into(),
    }
}

impl KustomizationReconciler {
    /// A reconciler applying with `rt.client`.
    pub fn new(rt: &Runtime, options: KustomizeOptions) -> Self {
        let manager = ResourceManager::new(
            rt.client.clone(),
            Owner {
                field: CONTROLLER_NAME.into(),
                group: flux_api::kustomize::GROUP.into(),
            },
        );
        flux_runtime::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("building the artifact HTTP client: {e}"));
        Self {
            options,
            manager,
            http,
            cache: crate::artifact_cache::ArtifactCache::new(8),
            trees: crate::artifact_cache::ArtifactCache::new(4),
            in_flight: Arc::default(),
            remote: RemoteClients::default(),
            impersonated: Mutex::new(HashMap::new()),
        }
    }

    /// The registry of health checks in flight (the trigger streams cancel through it).
    pub fn in_flight(&self) -> Arc<InFlightHealthChecks> {
        self.in_flight.clone()
    }

    /// The artifact's files in memory: decoded once per digest, then shared.
    async fn fetch_tree(&self, url: &str, digest: &str) -> Result<Arc<ArtifactTree>, String> {
        if let Some(tree) = self.trees.get(digest) {
            return Ok(tree);
        }
        let expected =
            Digest::parse(digest).map_err(|e| format!("invalid digest '{digest}': {e}"))?;
        let bytes = match self.cache.get(digest) {
            Some(bytes) => bytes,
            None => {
                let bytes = self.download(url).await?;
                expected
                    .verify_bytes(&bytes)
                    .map_err(|e| format!("failed to verify artifact from {url}: {e}"))?;
                self.cache.insert(digest, bytes.clone());
                bytes
            }
        };
        let tree = tokio::task::spawn_blocking(move || {
            // The bytes were verified against the digest before they were cached.
            ArtifactTree::extract(
                &bytes[..],
                &ExtractOptions {
                    max_total_size: None,
                    ..ExtractOptions::default()
                },
            )
        })
        .await
        .map_err(|e| format!("extracting the artifact: {e}"))?
        .map_err(|e| match e {
            crate::artifact_tree::TreeError::TempDir(_) => e.to_string(),
            e => format!("failed to extract artifact from {url}: {}", error_chain(&e)),
        })?;
        let tree = Arc::new(tree);
        self.trees.insert(digest, tree.clone());
        Ok(tree)
    }

    async fn download(&self, url: &str) -> Result<Arc<[u8]>, String> {
        let http = self.http.as_ref().map_err(Clone::clone)?;
        let response = http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("failed to download artifact from {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "failed to download artifact from {url}, status: {}",
                response.status()
            ));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("failed to download artifact from {url}: {e}"))?;
        Ok(Arc::from(&bytes[..]))
    }

    async fn substitution_vars(
        &self,
        obj: &Kustomization,
        rt: &Runtime,
    ) -> Result<BTreeMap<String, String>, String> {
        let ns = obj.namespace().unwrap_or_default();
        let mut vars = BTreeMap::new();
        let Some(post_build) = &obj.spec.post_build else {
            return Ok(vars);
        };
        for reference in post_build.substitute_from.iter().flatten() {
            let optional = reference.optional.unwrap_or(false);
            let (kind, data) = match reference.kind {
                ConfigKind::ConfigMap => {
                    let api: Api<ConfigMap> = Api::namespaced(rt.client.clone(), &ns);
                    let found = api.get_opt(&reference.name).await.map_err(|e| {
                        format!("substitute from 'ConfigMap/{}' error: {e}", reference.name)
                    })?;
                    ("ConfigMap", found.map(|cm| cm.data.unwrap_or_default()))
                }
                ConfigKind::Secret => {
                    let api: Api<Secret> = Api::namespaced(rt.client.clone(), &ns);
                    let found = api.get_opt(&reference.name).await.map_err(|e| {
                        format!("substitute from 'Secret/{}' error: {e}", reference.name)
                    })?;
                    (
                        "Secret",
                        found.map(|s| {
                            s.data
                                .unwrap_or_default()
                                .into_iter()
                                .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                                .chain(s.string_data.unwrap_or_default())
                                .collect()
                        }),
                    )
                }
            };
            match data {
                Some(data) => vars.extend(data),
                None if optional => {}
                None => {
                    return Err(format!(
                        "substitute from '{kind}/{}' error: {kind} '{ns}/{}' not found",
                        reference.name, reference.name
                    ));
                }
            }
        }
        vars.extend(post_build.substitute.clone().unwrap_or_default());
        substitute::check_var_names(&vars).map_err(|e| e.to_string())?;
        Ok(vars)
    }

    /// Upstream's dependency check: each dependency must exist; its `readyExpr` (if any)
    /// must be true; and unless a readyExpr replaces it (`additive_cel_dependency_check`
    /// off), it must be Ready for its current generation and, when built from the same
    /// source, have applied the source's current `revision`.
    async fn check_dependencies(
        &self,
        obj: &Kustomization,
        source_ns: &str,
        revision: &str,
        rt: &Runtime,
    ) -> Result<(), ReconcileError> {
        let spec = &obj.spec;
        let ns = obj.namespace().unwrap_or_default();
        let wait = |message: String| {
            ReconcileError::wait(
                reasons::DEPENDENCY_NOT_READY,
                message,
                rt.options.requeue_dependency,
            )
        };
        let mut self_value: Option<Value> = None;
        for dep in spec.depends_on.iter().flatten() {
            let dep_ns = dep
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| ns.clone());
            let dep_id = format!("{dep_ns}/{}", dep.name);
            if self.options.no_cross_namespace_refs && dep_ns != ns {
                return Err(ReconcileError::stalled(
                    reasons::ACCESS_DENIED,
                    format!(
                        "can't access 'Kustomization/{dep_id}', cross-namespace references have been blocked"
                    ),
                ));
            }
            let ready_expr = dep
                .ready_expr
                .as_deref()
                .filter(|e| !e.trim().is_empty())
                .map(|e| {
                    ReadyExpr::compile(e).map_err(|err| {
                        ReconcileError::stalled(
                            reasons::INVALID_CEL_EXPRESSION,
                            format!(
                                "{TERMINAL_ERROR_MESSAGE}: failed to evaluate dependency {}: {err}",
                                dep.name
                            ),
                        )
                    })
                })
                .transpose()?;
            let api: Api<Kustomization> = Api::namespaced(rt.client.clone(), &dep_ns);
            let found = match api.get_opt(&dep.name).await {
                Ok(Some(found)) => found,
                Ok(None) => {
                    return Err(wait(format!(
                        "dependency '{dep_id}' not found: kustomizations.kustomize.toolkit.fluxcd.io \"{}\" not found",
                        dep.name
                    )));
                }
                Err(e) => {
                    return Err(ReconcileError::retry(
                        reasons::DEPENDENCY_NOT_READY,
                        format!("dependency '{dep_id}' not found: {e}"),
                    ));
                }
            };
            if let Some(expr) = &ready_expr {
                if self_value.is_none() {
                    self_value = Some(serde_json::to_value(obj).map_err(|e| {
                        ReconcileError::retry(
                            reasons::DEPENDENCY_NOT_READY,
                            format!("failed to convert Kustomization to unstructured: {e}"),
                        )
                    })?);
                }
                let dep_value = serde_json::to_value(&found).map_err(|e| {
                    ReconcileError::retry(
                        reasons::DEPENDENCY_NOT_READY,
                        format!("failed to convert dep object to map: {e}"),
                    )
                })?;
                let dependent = self_value.as_ref().unwrap_or(&Value::Null);
                match expr.evaluate(dependent, &dep_value) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(wait(format!(
                            "dependency '{dep_id}' is not ready according to readyExpr eval"
                        )));
                    }
                    Err(err) => return Err(wait(format!("dependency '{dep_id}': {err}"))),
                }
                if !self.options.additive_cel_dependency_check {
                    continue;
                }
            }
            let Some(status) = found.status.as_ref() else {
                return Err(wait(format!("dependency '{dep_id}' is not ready")));
            };
            let conds = status.conditions.as_deref().unwrap_or(&[]);
            if conds.is_empty()
                || status.observed_generation != found.metadata.generation
                || !conditions::is_true(conds, types::READY)
            {
                return Err(wait(format!("dependency '{dep_id}' is not ready")));
            }
            let same_source = found.spec.source_ref.kind == spec.source_ref.kind
                && found.spec.source_ref.name == spec.source_ref.name
                && crate::source_watch::source_namespace(&found) == source_ns;
            if same_source && status.last_applied_revision.as_deref() != Some(revision) {
                return Err(wait(format!(
                    "dependency '{dep_id}' revision is not up to date"
                )));
            }
        }
        Ok(())
    }

    /// What makes the Kustomization's target identity unusable, if anything: its service
    /// account or its kubeconfig Secret no longer exists (upstream's `CanImpersonate`).
    async fn missing_identity(
        &self,
        obj: &Kustomization,
        rt: &Runtime,
    ) -> Result<Option<String>, ReconcileError> {
        let ns = obj.namespace().unwrap_or_default();
        let transient =
            |e: kube::Error| ReconcileError::retry(reasons::PRUNE_FAILED, e.to_string());
        let service_account = obj
            .spec
            .service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.options.default_service_account.clone())
            .filter(|s| !s.is_empty());
        if let Some(sa) = service_account {
            let api: Api<ServiceAccount> = Api::namespaced(rt.client.clone(), &ns);
            if api.get_opt(&sa).await.map_err(transient)?.is_none() {
                return Ok(Some(format!("service account '{ns}/{sa}' not found")));
            }
        }
        if let Some(secret) = obj
            .spec
            .kube_config
            .as_ref()
            .and_then(|k| k.secret_ref.as_ref())
        {
            let api: Api<Secret> = Api::namespaced(rt.client.clone(), &ns);
            if api
                .get_opt(&secret.name)
                .await
                .map_err(transient)?
                .is_none()
            {
                return Ok(Some(format!(
                    "KubeConfig secret '{ns}/{}' not found",
                    secret.name
                )));
            }
        }
        Ok(None)
    }

    /// The resource manager writing to the Kustomization's target: the remote cluster of
    /// `kubeConfig.secretRef` or this one, as the service account `serviceAccountName` (or
    /// `--default-service-account`) when one is set.
    async fn target_manager(
        &self,
        obj: &Kustomization,
        rt: &Runtime,
    ) -> Result<ResourceManager, String> {
        let ns = obj.namespace().unwrap_or_default();
        let service_account = obj
            .spec
            .service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.options.default_service_account.clone())
            .filter(|s| !s.is_empty());
        let remote = match obj.spec.kube_config.as_ref() {
            None => None,
            Some(kc) => match &kc.secret_ref {
                Some(secret) => Some(
                    self.remote
                        .client_for(&rt.client, &ns, &secret.name, secret.key.as_deref())
                        .await
                        .map_err(|e| format!("failed to build kube client: {e}"))?,
                ),
                None => {
                    return Err(
                        "failed to build kube client: spec.kubeConfig.configMapRef (cloud provider workload identity) is not supported yet; use spec.kubeConfig.secretRef".to_string(),
                    );
                }
            },
        };
        match (remote, service_account) {
            (None, None) => Ok(self.manager.with_client(rt.client.clone())),
            (None, Some(sa)) => {
                let user = service_account_user(&ns, &sa);
                let cached = self
                    .impersonated
                    .lock()
                    .ok()
                    .and_then(|c| c.get(&user).cloned());
                let client = match cached {
                    Some(client) => client,
                    None => {
                        let client = impersonating(&rt.client, &user)
                            .map_err(|e| format!("failed to build kube client: {e}"))?;
                        if let Ok(mut cache) = self.impersonated.lock() {
                            cache.insert(user, client.clone());
                        }
                        client
                    }
                };
                Ok(self.manager.with_client(client))
            }
            (Some(remote), sa) => {
                let client = match sa {
                    Some(sa) => impersonating(&remote, &service_account_user(&ns, &sa))
                        .map_err(|e| format!("failed to build kube client: {e}"))?,
                    None => remote,
                };
                // Another cluster: its own discovery cache.
                Ok(ResourceManager::new(client, self.manager.owner().clone()))
            }
        }
    }

    /// Everything between "source is ready" and "applied": returns the revision.
    async fn reconcile_steps(
        &self,
        ks: &Kustomization,
        status: &mut flux_api::kustomize::KustomizationStatus,
        rt: &Runtime,
        built_digest: &mut Option<String>,
    ) -> Result<Success, ReconcileError> {
        let obj = ks;
        let spec = &obj.spec;
        let name = obj.name_any();
        let ns = obj.namespace().unwrap_or_default();
        let retry = spec
            .retry_interval
            .as_ref()
            .map(|d| d.to_std())
            .unwrap_or_else(|| spec.interval.to_std());
        let fail = |e: StepError| ReconcileError::wait(e.reason, e.message, retry);

        if spec.decryption.is_some() {
            return Err(ReconcileError::stalled(
                reasons::BUILD_FAILED,
                "decryption is not supported yet by this kustomize-controller (spec.decryption is set)",
            ));
        }

        // Source.
        let source_ns = spec
            .source_ref
            .namespace
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| ns.clone());
        let source_id = format!(
            "{:?}/{}/{}",
            spec.source_ref.kind, source_ns, spec.source_ref.name
        );
        if self.options.no_cross_namespace_refs && source_ns != ns {
            return Err(ReconcileError::stalled(
                reasons::ACCESS_DENIED,
                format!("can't access '{source_id}', cross-namespace references have been blocked"),
            ));
        }
        if spec.source_ref.kind != KustomizationSourceKind::GitRepository {
            return Err(ReconcileError::stalled(
                reasons::ARTIFACT_FAILED,
                format!(
                    "source kind '{:?}' is not supported yet (only GitRepository)",
                    spec.source_ref.kind
                ),
            ));
        }
        let repos: Api<GitRepository> = Api::namespaced(rt.client.clone(), &source_ns);
        let source = match repos.get_opt(&spec.source_ref.name).await {
            Ok(Some(source)) => source,
            Ok(None) => {
                return Err(fail(step(
                    reasons::ARTIFACT_FAILED,
                    format!("Source '{source_id}' not found"),
                )));
            }
            Err(e) => {
                return Err(ReconcileError::retry(
                    reasons::ARTIFACT_FAILED,
                    e.to_string(),
                ));
            }
        };
        let Some(artifact) = source.status.as_ref().and_then(|s| s.artifact.clone()) else {
            return Err(ReconcileError::wait(
                reasons::ARTIFACT_FAILED,
                "Source artifact not found, retrying",
                rt.options.requeue_dependency,
            ));
        };

        // Dependencies.
        self.check_dependencies(obj, &source_ns, &artifact.revision, rt)
            .await?;

        let revision = artifact.revision.clone();
        status.last_attempted_revision = Some(revision.clone());

        // Artifact.
        let tree = self
            .fetch_tree(&artifact.url, &artifact.digest)
            .await
            .map_err(|m| fail(step(reasons::ARTIFACT_FAILED, m)))?;
        let root = tree.root();

        // Build.
        let path = spec.path.clone().unwrap_or_default();
        if Path::new(&path)
            .components()
            .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(ReconcileError::stalled(
                reasons::ARTIFACT_FAILED,
                format!("spec.path '{path}' must not leave the artifact root"),
            ));
        }
        let dir = flux_kustomize::fs::clean_path(&root.join(path.trim_start_matches('/')));
        let mut layer = LayeredFs::new(tree);
        if !layer.is_dir(&dir) {
            return Err(fail(step(
                reasons::ARTIFACT_FAILED,
                format!(
                    "kustomization path not found: '{path}' does not exist in revision '{revision}'"
                ),
            )));
        }
        let manager = self
            .target_manager(obj, rt)
            .await
            .map_err(|m| fail(step(reasons::RECONCILIATION_FAILED, m)))?;
        let vars = self
            .substitution_vars(obj, rt)
            .await
            .map_err(|m| fail(step(reasons::BUILD_FAILED, m)))?;
        let objects = {
            let dir = dir.clone();
            let spec = spec.clone();
            let no_remote_bases = self.options.no_remote_bases;
            let built = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, String> {
                write_overlay_in(&mut layer, &dir, &spec)
                    .map_err(|e| relative_to_root(e.to_string(), &root))?;
                flux_kustomize::build(
                    &layer,
                    &dir,
                    &BuildOptions {
                        load_restrictor: LoadRestrictor::None,
                        generate_kustomization: true,
                    },
                )
                .map_err(|e| build_error_message(&e, &root, no_remote_bases))
            })
            .await
            .map_err(|e| fail(step(reasons::BUILD_FAILED, e.to_string())))?;
            built.map_err(|m| {
                fail(step(
                    reasons::BUILD_FAILED,
                    format!("kustomize build failed: {m}"),
                ))
            })?
        };
        let objects = self
            .post_build(obj, objects, &vars)
            .map_err(|m| fail(step(reasons::BUILD_FAILED, m)))?;
        let manifest = serde_json::to_vec(&objects).unwrap_or_default();
        *built_digest = Some(
            flux_artifact::Algorithm::Sha256
                .digest_bytes(&manifest)
                .to_string(),
        );

        // Apply.
        let old_inventory = status
            .inventory
            .as_ref()
            .map(Inventory::from_resource_inventory)
            .transpose()
            .map_err(|e| fail(step(reasons::RECONCILIATION_FAILED, e.to_string())))?
            .unwrap_or_default();
        let options =
            ApplyOptions::kustomize_controller(CONTROLLER_NAME, spec.force.unwrap_or(false));
        let change_set = match manager.apply_all_staged(objects, &options).await {
            Ok(change_set) => change_set,
            Err(err) => {
                if !err.applied.is_empty() {
                    let mut partial = old_inventory.clone();
                    partial.add_change_set(&err.applied);
                    status.inventory = Some(partial.to_resource_inventory());
                }
                return Err(fail(step(reasons::RECONCILIATION_FAILED, err.to_string())));
            }
        };
        let new_inventory = Inventory::from_change_set(&change_set);
        let mut events = change_set.changes();

        // Prune.
        if spec.prune {
            let stale = old_inventory.diff(&new_inventory);
            if !stale.is_empty() {
                let delete = DeleteOptions::kustomize_controller(manager.owner(), &name, &ns);
                match manager.delete_all(&stale, &delete).await {
                    Ok(pruned) => events.append(pruned.changes()),
                    Err(err) => {
                        let mut keep = new_inventory.clone();
                        for failure in &err.failures {
                            if let Some(v) =
                                stale.iter().find(|s| s.id.to_string() == failure.subject)
                            {
                                keep.add(v.clone());
                            }
                        }
                        status.inventory = Some(keep.to_resource_inventory());
                        return Err(fail(step(reasons::PRUNE_FAILED, err.to_string())));
                    }
                }
            }
        }
        status.inventory = Some(new_inventory.to_resource_inventory());
        if !events.is_empty() {
            let metadata = BTreeMap::from([("revision".to_string(), revision.clone())]);
            rt.recorder
                .record(
                    ks,
                    EventType::Normal,
                    reasons::PROGRESSING,
                    &events.to_string(),
                    &metadata,
                )
                .await;
        }

        // Health.
        let source = crate::source_watch::source_key(
            &format!("{:?}", spec.source_ref.kind),
            &source_ns,
            &spec.source_ref.name,
        );
        self.check_health(
            &manager,
            obj,
            &new_inventory,
            status,
            retry,
            (&source, &revision),
        )
        .await?;

        status.last_applied_revision = Some(revision.clone());
        Ok(Success {
            reason: reasons::RECONCILIATION_SUCCEEDED.to_string(),
            message: format!("Applied revision: {revision}"),
            requeue_after: None,
        })
    }

    /// commonMetadata, substitution and owner labels on every built object.
    fn post_build(
        &self,
        obj: &Kustomization,
        objects: Vec<Value>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Vec<Value>, String> {
        let spec = &obj.spec;
        let name = obj.name_any();
        let ns = obj.namespace().unwrap_or_default();
        let substitute = spec.post_build.as_ref().is_some_and(|pb| {
            !vars.is_empty()
                || pb.substitute_strategy == Some(flux_api::kustomize::SubstituteStrategy::Always)
        });
        let mut out = Vec::with_capacity(objects.len());
        for mut object in objects {
            if let Some(common) = &spec.common_metadata {
                for (field, entries) in [
                    ("labels", &common.labels),
                    ("annotations", &common.annotations),
                ] {
                    if let Some(entries) = entries
                        && let Some(meta) =
                            object.get_mut("metadata").and_then(Value::as_object_mut)
                    {
                        let map = meta
                            .entry(field)
                            .or_insert_with(|| Value::Object(Default::default()));
                        if let Some(map) = map.as_object_mut() {
                            for (k, v) in entries {
                                map.insert(k.clone(), Value::String(v.clone()));
                            }
                        }
                    }
                }
            }
            if substitute && !substitute::substitution_disabled(&object) {
                let subject = subject_of(&object);
                let text = flux_object::yaml::to_yaml_string(&object)
                    .map_err(|e| format!("post build failed for '{subject}': {e}"))?;
                let replaced = substitute::eval(&text, vars, self.options.strict_substitutions)
                    .map_err(|e: SubstituteError| {
                        format!("post build failed for '{subject}': envsubst error: {e}")
                    })?;
                object = flux_object::yaml::parse_document(&replaced).map_err(|e| {
                    format!(
                        "post build failed for '{subject}': the substituted YAML is invalid: {e}"
                    )
                })?;
            }
            set_owner_labels(&mut object, self.manager.owner(), &name, &ns);
            out.push(object);
        }
        Ok(out)
    }

    async fn check_health(
        &self,
        manager: &ResourceManager,
        obj: &Kustomization,
        inventory: &Inventory,
        status: &mut flux_api::kustomize::KustomizationStatus,
        retry: Duration,
        (source, revision): (&str, &str),
    ) -> Result<(), ReconcileError> {
        let spec = &obj.spec;
        let generation = obj.metadata.generation.unwrap_or(0);
        let conds = Kustomization::conditions_mut(status);
        let targets: Vec<VersionedId> = if spec.wait.unwrap_or(false) {
            inventory.entries().to_vec()
        } else {
            let ns = obj.namespace().unwrap_or_default();
            spec.health_checks
                .iter()
                .flatten()
                .map(|r| {
                    let api_version = r.api_version.clone().unwrap_or_else(|| "v1".into());
                    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
                    let version = api_version.rsplit('/').next().unwrap_or("v1");
                    let namespace = r.namespace.clone().unwrap_or_else(|| ns.clone());
                    VersionedId::new(ObjectId::new(group, &r.kind, &namespace, &r.name), version)
                })
                .collect()
        };
        if !spec.wait.unwrap_or(false) && spec.health_checks.as_ref().is_none_or(Vec::is_empty) {
            conditions::delete(conds, types::HEALTHY);
            return Ok(());
        }
        let exprs = HealthCheckExprs::new(spec.health_check_exprs.as_deref().unwrap_or(&[]))
            .map_err(|e| ReconcileError::stalled(reasons::INVALID_CEL_EXPRESSION, e.to_string()))?;
        let timeout = spec
            .timeout
            .as_ref()
            .map(|d| d.to_std())
            .unwrap_or_else(|| spec.interval.to_std());
        let started = Instant::now();
        let options = WaitOptions {
            interval: self.options.poll_interval,
            timeout,
            fail_fast: false,
            health_check_exprs: Some(Arc::new(exprs)),
        };
        let key = (obj.namespace().unwrap_or_default(), obj.name_any());
        let mut guard = self.in_flight.register(
            key,
            (generation, flux_runtime::object::requested_at(obj)),
            source,
            revision,
        );
        let waited = tokio::select! {
            waited = manager.wait_for_set(&targets, &options) => waited,
            trigger = guard.cancelled() => {
                let message = format!("New reconciliation triggered by {trigger}");
                conditions::mark_unknown(
                    conds,
                    types::HEALTHY,
                    reasons::HEALTH_CHECK_CANCELED,
                    &format!("Health checks canceled due to new reconciliation triggered by {trigger}"),
                    generation,
                    now(),
                );
                return Err(ReconcileError::wait(
                    reasons::HEALTH_CHECK_CANCELED,
                    message,
                    Duration::ZERO,
                ));
            }
        };
        drop(guard);
        match waited {
            Ok(()) => {
                conditions::mark_true(
                    conds,
                    types::HEALTHY,
                    reasons::SUCCEEDED,
                    &format!(
                        "Health check passed in {:.1}s",
                        started.elapsed().as_secs_f64()
                    ),
                    generation,
                    now(),
                );
                Ok(())
            }
            Err(err) => {
                let message = format!(
                    "health check failed after {:.1}s: {err}",
                    started.elapsed().as_secs_f64()
                );
                conditions::mark_false(
                    conds,
                    types::HEALTHY,
                    reasons::HEALTH_CHECK_FAILED,
                    &message,
                    generation,
                    now(),
                );
                Err(ReconcileError::wait(
                    reasons::HEALTH_CHECK_FAILED,
                    message,
                    retry,
                ))
            }
        }
    }
}

impl Reconciler<Kustomization> for KustomizationReconciler {
    async fn reconcile(
        &self,
        obj: Arc<Kustomization>,
        status: &mut flux_api::kustomize::KustomizationStatus,
        rt: &Runtime,
    ) -> ReconcileResult {
        let started = Instant::now();
        let mut built_digest = None;
        let result = self
            .reconcile_steps(&obj, status, rt, &mut built_digest)
            .await;
        if let (Some(digest), Some(revision)) =
            (built_digest, status.last_attempted_revision.clone())
        {
            let outcome = match &result {
                Ok(success) => success.reason.clone(),
                Err(err) => err.reason.clone(),
            };
            upsert_history(
                status.history.get_or_insert_with(Vec::new),
                &digest,
                &outcome,
                started.elapsed(),
                &revision,
            );
        }
        if let Ok(success) = &result {
            let message = format!(
                "Reconciliation finished in {:.1}s, next run in {}",
                started.elapsed().as_secs_f64(),
                obj.spec.interval
            );
            let metadata = BTreeMap::from([(
                "revision".to_string(),
                status.last_applied_revision.clone().unwrap_or_default(),
            )]);
            rt.recorder
                .record(
                    obj.as_ref(),
                    EventType::Normal,
                    &success.reason,
                    &message,
                    &metadata,
                )
                .await;
        }
        result
    }

    async fn finalize(&self, obj: Arc<Kustomization>, rt: &Runtime) -> Result<(), ReconcileError> {
        let spec = &obj.spec;
        let policy = spec.deletion_policy.unwrap_or_default();
        let delete = match policy {
            DeletionPolicy::MirrorPrune => spec.prune,
            DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
            DeletionPolicy::Orphan => false,
        };
        if !delete || obj.suspended() {
            return Ok(());
        }
        let Some(inventory) = obj.status.as_ref().and_then(|s| s.inventory.as_ref()) else {
            return Ok(());
        };
        let inventory = Inventory::from_resource_inventory(inventory)
            .map_err(|e| ReconcileError::retry(reasons::PRUNE_FAILED, e.to_string()))?;
        let name = obj.name_any();
        let ns = obj.namespace().unwrap_or_default();
        if let Some(gone) = self.missing_identity(&obj, rt).await? {
            // As upstream: the account to impersonate (or the kubeconfig) is gone, so the
            // objects cannot be pruned; report them and let the Kustomization go.
            let ids: Vec<String> = inventory
                .entries()
                .iter()
                .map(|e| e.id.to_string())
                .collect();
            let message = format!("unable to prune objects ({gone}): \n{}", ids.join("\n"));
            tracing::warn!(kustomization = %name, namespace = %ns, %message, "finalizing without pruning");
            rt.recorder
                .record(
                    obj.as_ref(),
                    EventType::Warning,
                    reasons::PRUNE_FAILED,
                    &message,
                    &BTreeMap::new(),
                )
                .await;
            return Ok(());
        }
        let manager = self
            .target_manager(&obj, rt)
            .await
            .map_err(|m| ReconcileError::retry(reasons::PRUNE_FAILED, m))?;
        let options = DeleteOptions::kustomize_controller(manager.owner(), &name, &ns);
        let deleted: ChangeSet = manager
            .delete_all(inventory.entries(), &options)
            .await
            .map_err(|e| ReconcileError::retry(reasons::PRUNE_FAILED, e.to_string()))?;
        if policy == DeletionPolicy::WaitForTermination {
            let timeout = spec
                .timeout
                .as_ref()
                .map(|d| d.to_std())
                .unwrap_or_else(|| spec.interval.to_std());
            let waited = manager
                .wait_for_set_termination(
                    &deleted,
                    &WaitOptions {
                        interval: self.options.poll_interval,
                        timeout,
                        fail_fast: false,
                        health_check_exprs: None,
                    },
                )
                .await;
            if let Err(e) = waited {
                // As upstream: a timeout is reported, the finalizer is removed anyway.
                rt.recorder
                    .record(
                        obj.as_ref(),
                        EventType::Warning,
                        reasons::PRUNE_FAILED,
                        &format!("failed to wait for resources termination: {e}"),
                        &BTreeMap::new(),
                    )
                    .await;
            }
        }
        Ok(())
    }
}

/// How many snapshots `status.history` keeps.
pub const MAX_HISTORY: usize = 5;

/// Records a reconciliation of `digest` in `history` (newest first): the newest snapshot is
/// updated when its digest is the same, else a new snapshot is prepended and the oldest
/// beyond [`MAX_HISTORY`] dropped.
pub fn upsert_history(
    history: &mut flux_api::meta::History,
    digest: &str,
    outcome: &str,
    duration: Duration,
    revision: &str,
) {
    let at = now();
    let metadata = Some(BTreeMap::from([(
        "revision".to_string(),
        revision.to_string(),
    )]));
    if let Some(latest) = history.first_mut()
        && latest.digest == digest
    {
        latest.last_reconciled = at;
        latest.last_reconciled_duration = go_duration(duration);
        latest.last_reconciled_status = outcome.to_string();
        latest.total_reconciliations += 1;
        latest.metadata = metadata;
        return;
    }
    history.insert(
        0,
        flux_api::meta::Snapshot {
            digest: digest.to_string(),
            first_reconciled: at.clone(),
            last_reconciled: at,
            last_reconciled_duration: go_duration(duration),
            last_reconciled_status: outcome.to_string(),
            metadata,
            total_reconciliations: 1,
        },
    );
    history.truncate(MAX_HISTORY);
}

/// A duration as Go prints it, to millisecond precision (`850ms`, `1.234s`, `2m3.5s`).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let minutes = ms / 60_000;
    let secs = trim(format!("{:.3}", (ms % 60_000) as f64 / 1000.0));
    if minutes == 0 {
        format!("{secs}s")
    } else {
        format!("{minutes}m{secs}s")
    }
}

/// A build error as users read it: paths relative to the artifact root, and remote
/// bases explained by the flag that refuses them.
fn build_error_message(err: &flux_kustomize::Error, root: &Path, no_remote_bases: bool) -> String {
    let relative = |file: &Path| -> String {
        file.strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| file.display().to_string())
    };
    let message = match err {
        flux_kustomize::Error::RemoteResource { file, field, url } if no_remote_bases => format!(
            "{}: field '{field}': remote resource '{url}' is not allowed: remote bases are disabled (--no-remote-bases)",
            relative(file)
        ),
        flux_kustomize::Error::RemoteResource { file, field, url } => format!(
            "{}: field '{field}': remote resource '{url}' cannot be fetched: this kustomize-controller does not fetch remote bases",
            relative(file)
        ),
        other => other.to_string(),
    };
    relative_to_root(message, root)
}

/// `message` with the artifact root's prefix removed from the paths it names.
fn relative_to_root(message: String, root: &Path) -> String {
    let prefix = format!("{}/", root.display());
    message.replace(&prefix, "")
}

fn subject_of(object: &Value) -> String {
    let field = |k: &str| {
        object
            .pointer(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let ns = field("/metadata/namespace");
    let kind = field("/kind");
    let name = field("/metadata/name");
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{ns}/{name}")
    }
}

fn now() -> Time {
    Time(jiff_now())
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(go_duration(Duration::from_millis(1234)), "1.234s");
        assert_eq!(go_duration(Duration::from_millis(2000)), "2s");
        assert_eq!(go_duration(Duration::from_millis(123_500)), "2m3.5s");
    }

    #[test]
    fn history_upserts_and_caps() {
        let mut history = Vec::new();
        upsert_history(
            &mut history,
            "sha256:a",
            "ReconciliationSucceeded",
            Duration::ZERO,
            "r1",
        );
        upsert_history(
            &mut history,
            "sha256:a",
            "HealthCheckFailed",
            Duration::ZERO,
            "r1",
        );
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].total_reconciliations, 2);
        assert_eq!(history[0].last_reconciled_status, "HealthCheckFailed");
        for i in 0..7 {
            upsert_history(
                &mut history,
                &format!("sha256:{i}"),
                "x",
                Duration::ZERO,
                "r",
            );
        }
        assert_eq!(history.len(), MAX_HISTORY);
        assert_eq!(history[0].digest, "sha256:6");
    }
}
