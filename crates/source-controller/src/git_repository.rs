//! The GitRepository reconciler: storage step → source step (ls-refs, no-op check,
//! shallow fetch) → include step → artifact step, as upstream's reconcile chain.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flux_api::conditions::{self, reasons, types};
use flux_api::meta::{Artifact, Condition};
use flux_api::source::{GitRepository, GitRepositoryStatus};
use flux_artifact::storage::{artifact_dir, artifact_path};
use flux_artifact::{Algorithm, Digest, IgnoreMatcher, Revision, Storage};
use flux_runtime::{EventType, ReconcileError, ReconcileResult, Reconciler, Runtime, Success};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, ResourceExt};

use crate::auth::{AuthError, AuthOptions, ProxyOptions, Transport, auth_options, proxy_options};
use crate::git::{self, GitError, Remote};
use crate::reference::{RefError, RefSpec, Resolved, ref_spec, resolve};

/// The kind as used in storage paths.
pub const KIND: &str = "GitRepository";

/// Default of `spec.timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// `SourceVerified=False`: the commit's signature did not verify.
pub const INVALID_COMMIT_SIGNATURE: &str = "InvalidCommitSignature";
/// `SourceVerified=False`: the tag's signature did not verify.
pub const INVALID_TAG_SIGNATURE: &str = "InvalidTagSignature";
/// `SourceVerified=False`: the tag to verify is not signed (or not annotated).
pub const INVALID_GIT_OBJECT: &str = "InvalidGitObject";
/// `SourceVerified=False`, stalled: mode Tag/TagAndHEAD without a tag reference.
pub const INVALID_VERIFICATION_MODE: &str = "InvalidVerificationMode";

/// (verify the tag, verify HEAD, mode as recorded in `status.sourceVerificationMode`).
fn verification_mode(
    mode: Option<flux_api::source::GitVerificationMode>,
) -> (bool, bool, &'static str) {
    use flux_api::source::GitVerificationMode;
    match mode.unwrap_or_default() {
        GitVerificationMode::Head | GitVerificationMode::LowercaseHead => (false, true, "HEAD"),
        GitVerificationMode::Tag => (true, false, "Tag"),
        GitVerificationMode::TagAndHEAD => (true, true, "TagAndHEAD"),
    }
}

/// Whether the stored artifact's verification no longer covers what `spec.verify`
/// asks (upstream's `requiresVerification`): nothing verified yet, or a switch
/// between Tag and HEAD coverage.
fn requires_verification(obj: &GitRepository, status: &GitRepositoryStatus) -> bool {
    let Some(verify) = obj.spec.verify.as_ref() else {
        return false;
    };
    let (_, _, mode) = verification_mode(verify.mode);
    match status.source_verification_mode.as_deref() {
        None => true,
        Some("Tag") => mode == "HEAD" || mode == "TagAndHEAD",
        Some("HEAD") => mode == "Tag" || mode == "TagAndHEAD",
        Some(_) => false,
    }
}

/// Reconciles GitRepositories into artifacts in `storage`.
#[derive(Debug, Clone)]
pub struct GitRepositoryReconciler {
    storage: Arc<Storage>,
}

impl GitRepositoryReconciler {
    /// A reconciler writing to `storage`.
    pub fn new(storage: Arc<Storage>) -> Self {
        Self { storage }
    }
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

/// The transport of a URL, or why it is not usable (upstream: URLInvalid, stalled).
pub fn parse_url(raw: &str) -> Result<(url::Url, Transport), String> {
    let parsed = url::Url::parse(raw).map_err(|e| format!("failed to parse url '{raw}': {e}"))?;
    let transport = match parsed.scheme() {
        "http" => Transport::Http,
        "https" => Transport::Https,
        "ssh" => Transport::Ssh,
        "file" => Transport::File,
        other => {
            return Err(format!(
                "failed to parse url '{raw}': unsupported scheme '{other}' (http, https, ssh or file)"
            ));
        }
    };
    if transport != Transport::File && parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("failed to parse url '{raw}': missing host"));
    }
    if transport != Transport::Ssh && (!parsed.username().is_empty() || parsed.password().is_some())
    {
        return Err(format!(
            "failed to parse url '{}': credentials in the URL are not allowed, use secretRef",
            redact_url(&parsed)
        ));
    }
    Ok((parsed, transport))
}

fn redact_url(u: &url::Url) -> String {
    let mut u = u.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

/// The artifact revision of a checked-out commit: `<short ref>@sha1:<hex>`, or
/// `sha1:<hex>` for a commit pin without branch.
pub fn revision_for(spec: &RefSpec, reference: &str, commit: &str) -> String {
    let Ok(digest) = Digest::new(Algorithm::Sha1, commit) else {
        return format!("<unknown>:{commit}");
    };
    match spec {
        RefSpec::Commit {
            branch: Some(b), ..
        } => Revision::new(Some(b), digest).to_string(),
        RefSpec::Commit { branch: None, .. } => Revision::new(None, digest).to_string(),
        // The name as written (upstream keeps a `^{}` suffix in the revision).
        RefSpec::Name(name) => Revision::absolute_git_reference(name, digest).to_string(),
        _ => Revision::for_git_commit(reference, digest).to_string(),
    }
}

fn fetch_failed(status: &mut GitRepositoryStatus, generation: i64, reason: &str, message: &str) {
    conditions::mark_true(
        status.conditions.get_or_insert_with(Vec::new),
        types::FETCH_FAILED,
        reason,
        message,
        generation,
        now(),
    );
}

fn conds(status: &mut GitRepositoryStatus) -> &mut Vec<Condition> {
    status.conditions.get_or_insert_with(Vec::new)
}

async fn run_blocking<T: Send + 'static>(
    timeout: Duration,
    what: &str,
    f: impl FnOnce(&AtomicBool) -> Result<T, GitError> + Send + 'static,
) -> Result<T, String> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let task = tokio::task::spawn_blocking(move || f(&flag));
    match tokio::time::timeout(timeout, task).await {
        Ok(Ok(Ok(v))) => Ok(v),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(join)) => Err(format!("{what} failed: {join}")),
        Err(_) => {
            interrupt.store(true, Ordering::Relaxed);
            Err(format!("{what} timed out after {}s", timeout.as_secs_f64()))
        }
    }
}

impl GitRepositoryReconciler {
    /// Storage step: GC, check the recorded artifact still exists and verifies, rewrite
    /// its URL to the advertised address.
    fn reconcile_storage(&self, obj: &GitRepository, status: &mut GitRepositoryStatus) {
        let generation = obj.metadata.generation.unwrap_or(0);
        let Some(artifact) = status.artifact.clone() else {
            conditions::delete(conds(status), types::ARTIFACT_IN_STORAGE);
            return;
        };
        let _ = self.storage.garbage_collect(&artifact.path);
        let intact = self.storage.artifact_exists(&artifact.path)
            && Digest::parse(&artifact.digest)
                .ok()
                .is_some_and(|d| self.storage.verify(&artifact.path, &d).is_ok());
        if !intact {
            status.artifact = None;
            conditions::delete(conds(status), types::ARTIFACT_IN_STORAGE);
            conditions::mark_reconciling(
                conds(status),
                reasons::PROGRESSING,
                "building artifact: disappeared from storage",
                generation,
                now(),
            );
            return;
        }
        if let Some(url) = self.storage.set_hostname(&artifact.url)
            && let Some(a) = status.artifact.as_mut()
        {
            a.url = url;
        }
    }

    async fn auth(
        &self,
        obj: &GitRepository,
        rt: &Runtime,
        transport: Transport,
    ) -> Result<AuthOptions, String> {
        let Some(secret_ref) = obj.spec.secret_ref.as_ref() else {
            return Ok(AuthOptions::default());
        };
        let ns = obj.namespace().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(rt.client.clone(), &ns);
        let secret = secrets.get(&secret_ref.name).await.map_err(|e| {
            format!(
                "failed to get secret '{ns}/{}': {}",
                secret_ref.name,
                kube_error_text(&e)
            )
        })?;
        let data: BTreeMap<String, Vec<u8>> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        auth_options(transport, &format!("{ns}/{}", secret_ref.name), &data).map_err(|e| match e {
            // Upstream reports this one on its own.
            AuthError::EncryptedIdentity { .. } => e.to_string(),
            _ => format!("failed to configure authentication options: {e}"),
        })
    }
}

impl GitRepositoryReconciler {
    /// The proxy from `spec.proxySecretRef` (upstream's `ProxyURLFromSecretRef`).
    async fn proxy(
        &self,
        obj: &GitRepository,
        rt: &Runtime,
    ) -> Result<Option<ProxyOptions>, String> {
        let Some(secret_ref) = obj.spec.proxy_secret_ref.as_ref() else {
            return Ok(None);
        };
        let ns = obj.namespace().unwrap_or_default();
        let id = format!("{ns}/{}", secret_ref.name);
        let secrets: Api<Secret> = Api::namespaced(rt.client.clone(), &ns);
        let secret = match secrets.get_opt(&secret_ref.name).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(format!("secret '{id}' not found")),
            Err(e) => {
                return Err(format!(
                    "failed to get secret '{id}': {}",
                    kube_error_text(&e)
                ));
            }
        };
        let data: BTreeMap<String, Vec<u8>> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        proxy_options(&id, &data)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

fn kube_error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

impl Reconciler<GitRepository> for GitRepositoryReconciler {
    async fn reconcile(
        &self,
        obj: Arc<GitRepository>,
        status: &mut GitRepositoryStatus,
        rt: &Runtime,
    ) -> ReconcileResult {
        let generation = obj.metadata.generation.unwrap_or(0);
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        // Upstream's failure conditions: recovering from any of them is announced.
        let was_failing = [
            types::FETCH_FAILED,
            types::INCLUDE_UNAVAILABLE,
            types::STORAGE_OPERATION_FAILED,
        ]
        .iter()
        .any(|t| conditions::is_true(conds(status), t));
        self.reconcile_storage(&obj, status);
        // A failed verification is recomputed; a successful one stands for the stored
        // artifact until a new revision is verified.
        if conditions::is_false(conds(status), types::SOURCE_VERIFIED) {
            conditions::delete(conds(status), types::SOURCE_VERIFIED);
        }

        // Source step.
        let proxy = match self.proxy(&obj, rt).await {
            Ok(p) => p,
            Err(message) => {
                let message = format!("failed to configure proxy options: {message}");
                fetch_failed(status, generation, reasons::AUTHENTICATION_FAILED, &message);
                return Err(ReconcileError::retry(
                    reasons::AUTHENTICATION_FAILED,
                    message,
                ));
            }
        };
        let (_, transport) = match parse_url(&obj.spec.url) {
            Ok(v) => v,
            Err(message) => {
                fetch_failed(status, generation, reasons::URL_INVALID, &message);
                return Err(ReconcileError::stalled(reasons::URL_INVALID, message));
            }
        };
        if let Some(provider) = obj.spec.provider
            && provider != flux_api::source::GitProvider::Generic
        {
            let message = format!(
                "provider '{}' is not supported by this controller (needs cloud identity)",
                serde_json::to_value(provider)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            );
            fetch_failed(
                status,
                generation,
                reasons::INVALID_PROVIDER_CONFIGURATION,
                &message,
            );
            return Err(ReconcileError::stalled(
                reasons::INVALID_PROVIDER_CONFIGURATION,
                message,
            ));
        }
        let auth = match self.auth(&obj, rt, transport).await {
            Ok(a) => a,
            Err(message) => {
                fetch_failed(status, generation, reasons::AUTHENTICATION_FAILED, &message);
                return Err(ReconcileError::retry(
                    reasons::AUTHENTICATION_FAILED,
                    message,
                ));
            }
        };
        // Included artifacts first (upstream's order): their changes rebuild the
        // artifact even when the remote has not moved.
        let include_artifacts = self.fetch_includes(&obj, status, rt).await?;
        let spec = ref_spec(obj.spec.reference.as_ref());
        let timeout = obj
            .spec
            .timeout
            .as_ref()
            .map(|t| t.to_std())
            .unwrap_or(DEFAULT_TIMEOUT);
        let remote = Remote {
            url: obj.spec.url.clone(),
            transport,
            auth,
            timeout,
            proxy,
        };
        let git_failed = |status: &mut GitRepositoryStatus, message: String| {
            let message = format!("failed to checkout and determine revision: {message}");
            fetch_failed(status, generation, reasons::GIT_OPERATION_FAILED, &message);
            ReconcileError::retry(reasons::GIT_OPERATION_FAILED, message)
        };

        let resolved: Resolved = match &spec {
            RefSpec::Commit { .. } => match resolve(&spec, &[]) {
                Ok(r) => r,
                Err(e) => return Err(git_failed(status, e.to_string())),
            },
            _ => {
                let (r, s) = (remote.clone(), spec.clone());
                let refs = match run_blocking(timeout, "listing remote refs", move |i| {
                    git::list_refs(&r, &s, i)
                })
                .await
                {
                    Ok(refs) => refs,
                    Err(m) => return Err(git_failed(status, m)),
                };
                match resolve(&spec, &refs) {
                    Ok(r) => r,
                    // go-git's clone error for a branch or tag the remote lacks.
                    Err(e @ RefError::NotFound { .. }) => {
                        return Err(git_failed(
                            status,
                            format!("unable to clone '{}': {e}", obj.spec.url),
                        ));
                    }
                    Err(e) => return Err(git_failed(status, e.to_string())),
                }
            }
        };

        let config_unchanged = !requires_verification(&obj, status)
            && status.observed_ignore == obj.spec.ignore
            && status.observed_recurse_submodules == obj.spec.recurse_submodules
            && status.observed_include == obj.spec.include
            && !includes_changed(status.included_artifacts.as_ref(), &include_artifacts)
            && status.observed_sparse_checkout == obj.spec.sparse_checkout;
        if resolved.commit.len() == 40 {
            let revision = revision_for(&spec, &resolved.full_name, &resolved.commit);
            if let Some(artifact) = status.artifact.as_ref()
                && artifact.revision == revision
                && config_unchanged
            {
                // No-op: the remote still points at the stored revision.
                let message = format!("stored artifact for revision '{revision}'");
                for t in [
                    types::FETCH_FAILED,
                    types::ARTIFACT_OUTDATED,
                    types::STORAGE_OPERATION_FAILED,
                    types::INCLUDE_UNAVAILABLE,
                ] {
                    conditions::delete(conds(status), t);
                }
                conditions::mark_true(
                    conds(status),
                    types::ARTIFACT_IN_STORAGE,
                    reasons::SUCCEEDED,
                    &message,
                    generation,
                    now(),
                );
                return Ok(Success::new(message));
            }
            let message = format!("new upstream revision '{revision}'");
            if status.artifact.is_some() {
                conditions::mark_true(
                    conds(status),
                    types::ARTIFACT_OUTDATED,
                    reasons::NEW_REVISION,
                    &message,
                    generation,
                    now(),
                );
            }
            // Announce the long step (clone, package) on the cluster before it runs, as
            // upstream's source-controller does: Reconciling=True, Ready=Unknown.
            flux_runtime::mark_progressing(
                conds(status),
                reasons::PROGRESSING,
                &format!("building artifact: {message}"),
                generation,
                now(),
            );
            if let Err(e) = rt.patch_progress(obj.as_ref(), status).await {
                tracing::warn!(object = %format!("{ns}/{name}"), error = %e, "progress patch failed");
                return Err(ReconcileError::retry(
                    reasons::PATCH_OPERATION_FAILED,
                    format!("failed to patch the status: {e}"),
                ));
            }
        }

        let work = match tempfile::Builder::new().prefix("flux-gitrepo-").tempdir() {
            Ok(d) => d,
            Err(e) => {
                let message = format!("failed to create temporary working directory: {e}");
                conditions::mark_true(
                    conds(status),
                    types::STORAGE_OPERATION_FAILED,
                    reasons::DIRECTORY_CREATION_FAILED,
                    &message,
                    generation,
                    now(),
                );
                return Err(ReconcileError::retry(
                    reasons::DIRECTORY_CREATION_FAILED,
                    message,
                ));
            }
        };
        let checkout_dir = work.path().join("src");
        let commit = {
            let (r, s, res, dir) = (
                remote.clone(),
                spec.clone(),
                resolved.clone(),
                checkout_dir.clone(),
            );
            let sparse = obj.spec.sparse_checkout.clone().filter(|s| !s.is_empty());
            let recurse = obj.spec.recurse_submodules.unwrap_or(false);
            match run_blocking(timeout, "fetching", move |i| {
                git::checkout(&r, &s, &res, &dir, sparse.as_deref(), recurse, i)
            })
            .await
            {
                Ok(c) => c,
                Err(m) => return Err(git_failed(status, m)),
            }
        };
        if let Err(message) = check_sparse_dirs(obj.spec.sparse_checkout.as_deref(), &checkout_dir)
        {
            let message = format!("failed to sparse checkout directories : {message}");
            fetch_failed(status, generation, reasons::GIT_OPERATION_FAILED, &message);
            return Err(ReconcileError::retry(
                reasons::GIT_OPERATION_FAILED,
                message,
            ));
        }
        conditions::delete(conds(status), types::FETCH_FAILED);
        let revision = revision_for(&spec, &commit.reference, &commit.hash);

        self.reconcile_verify(&obj, status, rt, &commit).await?;

        // Include step.
        self.copy_includes(&obj, status, &include_artifacts, &checkout_dir)
            .await?;

        // Artifact step.
        let path = artifact_path(KIND, &ns, &name, &format!("{}.tar.gz", commit.hash));
        let stored = {
            let storage = self.storage.clone();
            let (dir, p, ignore) = (checkout_dir.clone(), path.clone(), obj.spec.ignore.clone());
            let res = tokio::task::spawn_blocking(move || -> Result<_, (String, String)> {
                storage.mkdir_all(&p).map_err(|e| {
                    (
                        reasons::DIRECTORY_CREATION_FAILED.to_string(),
                        e.to_string(),
                    )
                })?;
                let _lock = storage
                    .lock(&p)
                    .map_err(|e| (reasons::ACQUIRE_LOCK_FAILED.to_string(), e.to_string()))?;
                let matcher = IgnoreMatcher::for_source_dir(&dir, ignore.as_deref())
                    .map_err(|e| (reasons::ARCHIVE_OPERATION_FAILED.to_string(), e.to_string()))?;
                let filter = |rel: &str, is_dir: bool| matcher.is_excluded_path(rel, is_dir);
                storage.archive(&p, &dir, Some(&filter)).map_err(|e| {
                    (
                        reasons::ARCHIVE_OPERATION_FAILED.to_string(),
                        error_chain(&e),
                    )
                })
            })
            .await;
            match res {
                Ok(Ok(s)) => s,
                Ok(Err((reason, message))) => {
                    let message = format!("unable to archive artifact to storage: {message}");
                    conditions::mark_true(
                        conds(status),
                        types::STORAGE_OPERATION_FAILED,
                        &reason,
                        &message,
                        generation,
                        now(),
                    );
                    return Err(ReconcileError::retry(&reason, message));
                }
                Err(join) => {
                    return Err(ReconcileError::retry(
                        reasons::ARCHIVE_OPERATION_FAILED,
                        format!("archiving panicked: {join}"),
                    ));
                }
            }
        };
        let changed = status
            .artifact
            .as_ref()
            .is_none_or(|a| a.digest != stored.digest.to_string() || a.revision != revision);
        status.artifact = Some(Artifact {
            digest: stored.digest.to_string(),
            last_update_time: Time(
                jiff::Timestamp::try_from(stored.last_update_time)
                    .unwrap_or_else(|_| jiff::Timestamp::now()),
            ),
            metadata: None,
            path: stored.path.clone(),
            revision: revision.clone(),
            size: i64::try_from(stored.size).ok(),
            url: stored.url.clone(),
        });
        status.included_artifacts =
            (!include_artifacts.is_empty()).then(|| include_artifacts.clone());
        status.observed_ignore = obj.spec.ignore.clone();
        status.observed_recurse_submodules = obj.spec.recurse_submodules;
        status.observed_include = obj.spec.include.clone();
        status.observed_sparse_checkout = obj.spec.sparse_checkout.clone();
        let message = format!("stored artifact for revision '{revision}'");
        for t in [types::ARTIFACT_OUTDATED, types::STORAGE_OPERATION_FAILED] {
            conditions::delete(conds(status), t);
        }
        conditions::mark_true(
            conds(status),
            types::ARTIFACT_IN_STORAGE,
            reasons::SUCCEEDED,
            &message,
            generation,
            now(),
        );
        let _ = self.storage.garbage_collect(&path);
        // A new artifact is announced as NewArtifact; the same one again after a failure
        // as Succeeded (upstream's notify).
        let event_reason = if changed {
            Some("NewArtifact")
        } else if was_failing {
            Some(reasons::SUCCEEDED)
        } else {
            None
        };
        if let Some(reason) = event_reason {
            let metadata = BTreeMap::from([
                ("revision".to_string(), revision.clone()),
                ("digest".to_string(), stored.digest.to_string()),
            ]);
            rt.recorder
                .record(
                    obj.as_ref(),
                    EventType::Normal,
                    reason,
                    &format!(
                        "stored artifact for commit '{}'",
                        short_message(&commit.subject)
                    ),
                    &metadata,
                )
                .await;
        }
        Ok(Success::new(message))
    }

    async fn finalize(&self, obj: Arc<GitRepository>, _rt: &Runtime) -> Result<(), ReconcileError> {
        let ns = obj.namespace().unwrap_or_default();
        let dir = artifact_dir(KIND, &ns, &obj.name_any());
        self.storage
            .remove_all(&format!("{dir}/index"))
            .map(|_| ())
            .map_err(|e| {
                ReconcileError::retry(
                    "GarbageCollectionFailed",
                    format!("garbage collection for deleted resource failed: {e}"),
                )
            })
    }
}

impl GitRepositoryReconciler {
    /// Verifies the signatures `spec.verify` asks for (modes HEAD, Tag, TagAndHEAD),
    /// with upstream's conditions: `SourceVerified=False` with reason
    /// `InvalidCommitSignature`, `InvalidTagSignature`, `InvalidGitObject` (unsigned
    /// tag), `InvalidVerificationMode` (stalled: Tag mode without a tag reference) or
    /// `VerificationError` (secret unreadable); `SourceVerified=True` naming the keys.
    async fn reconcile_verify(
        &self,
        obj: &GitRepository,
        status: &mut GitRepositoryStatus,
        rt: &Runtime,
        commit: &git::Commit,
    ) -> Result<(), ReconcileError> {
        use crate::verify::{ObjectKind, TrustedKeys, verify_signature};
        let generation = obj.metadata.generation.unwrap_or(0);
        let Some(verify) = obj.spec.verify.as_ref() else {
            conditions::delete(conds(status), types::SOURCE_VERIFIED);
            status.source_verification_mode = None;
            return Ok(());
        };
        let fail = |status: &mut GitRepositoryStatus, reason: &str, message: String| {
            conditions::mark_false(
                conds(status),
                types::SOURCE_VERIFIED,
                reason,
                &message,
                generation,
                now(),
            );
            message
        };
        let (check_tag, check_head, mode_name) = verification_mode(verify.mode);
        let ns = obj.namespace().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(rt.client.clone(), &ns);
        let data: BTreeMap<String, Vec<u8>> = match secrets.get(&verify.secret_ref.name).await {
            Ok(s) => s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect(),
            Err(e) => {
                let message = fail(
                    status,
                    reasons::VERIFICATION_ERROR,
                    format!(
                        "public keys secret error: failed to get secret '{ns}/{}': {}",
                        verify.secret_ref.name,
                        kube_error_text(&e)
                    ),
                );
                return Err(ReconcileError::retry(reasons::VERIFICATION_ERROR, message));
            }
        };
        let keys = TrustedKeys::from_secret_data(&data);
        let mut message = String::new();
        if check_tag {
            let Some(tag) = commit.referencing_tag.as_ref() else {
                let message = fail(
                    status,
                    INVALID_VERIFICATION_MODE,
                    "cannot verify tag object's signature if a tag reference is not specified"
                        .to_string(),
                );
                return Err(ReconcileError::stalled(INVALID_VERIFICATION_MODE, message));
            };
            let Some((signature, payload)) = tag.signature.as_ref() else {
                let message = fail(
                    status,
                    INVALID_GIT_OBJECT,
                    format!(
                        "cannot verify signature of tag '{}' since it is not signed",
                        tag.display()
                    ),
                );
                return Err(ReconcileError::retry(INVALID_GIT_OBJECT, message));
            };
            match verify_signature(ObjectKind::Tag, signature, payload, &keys) {
                Ok(signer) => message.push_str(&format!(
                    "verified signature of\n\t- tag '{}' with key '{signer}'",
                    tag.display()
                )),
                Err(e) => {
                    let message = fail(
                        status,
                        INVALID_TAG_SIGNATURE,
                        format!(
                            "signature verification of tag '{}' failed: {e}",
                            tag.display()
                        ),
                    );
                    return Err(ReconcileError::retry(INVALID_TAG_SIGNATURE, message));
                }
            }
        }
        if check_head {
            let (signature, payload) = commit
                .signature
                .as_ref()
                .map(|(s, p)| (s.as_str(), p.as_slice()))
                .unwrap_or(("", &[]));
            match verify_signature(ObjectKind::Commit, signature, payload, &keys) {
                Ok(signer) => {
                    if message.is_empty() {
                        message.push_str("verified signature of");
                    }
                    message.push_str(&format!(
                        "\n\t- commit '{}' with key '{signer}'",
                        commit.hash
                    ));
                }
                Err(e) => {
                    let message = fail(
                        status,
                        INVALID_COMMIT_SIGNATURE,
                        format!(
                            "signature verification of commit '{}' failed: {e}",
                            commit.hash
                        ),
                    );
                    return Err(ReconcileError::retry(INVALID_COMMIT_SIGNATURE, message));
                }
            }
        }
        conditions::mark_true(
            conds(status),
            types::SOURCE_VERIFIED,
            reasons::SUCCEEDED,
            &message,
            generation,
            now(),
        );
        status.source_verification_mode = Some(mode_name.to_string());
        Ok(())
    }

    /// The artifacts of the included GitRepositories, in `spec.include` order
    /// (upstream's `fetchIncludes`): one without an artifact (or missing) makes the
    /// object wait with `IncludeUnavailable=True` (reasons `NotFound`, `NoArtifact`).
    async fn fetch_includes(
        &self,
        obj: &GitRepository,
        status: &mut GitRepositoryStatus,
        rt: &Runtime,
    ) -> Result<Vec<Artifact>, ReconcileError> {
        let includes = obj.spec.include.clone().unwrap_or_default();
        let generation = obj.metadata.generation.unwrap_or(0);
        let ns = obj.namespace().unwrap_or_default();
        let api: Api<GitRepository> = Api::namespaced(rt.client.clone(), &ns);
        let mut artifacts = Vec::new();
        for include in &includes {
            let name = &include.repository.name;
            let unavailable = |status: &mut GitRepositoryStatus, reason: &str, message: String| {
                conditions::mark_true(
                    conds(status),
                    types::INCLUDE_UNAVAILABLE,
                    reason,
                    &message,
                    generation,
                    now(),
                );
                ReconcileError::wait(reason, message, rt.options.requeue_dependency)
            };
            let included = match api.get(name).await {
                Ok(o) => o,
                Err(e) => {
                    return Err(unavailable(
                        status,
                        "NotFound",
                        format!(
                            "could not get resource for include '{name}': {}",
                            kube_error_text(&e)
                        ),
                    ));
                }
            };
            let Some(artifact) = included.status.and_then(|s| s.artifact) else {
                return Err(unavailable(
                    status,
                    "NoArtifact",
                    format!("no artifact available for include '{name}'"),
                ));
            };
            artifacts.push(artifact);
        }
        conditions::delete(conds(status), types::INCLUDE_UNAVAILABLE);
        Ok(artifacts)
    }

    /// Include step: copies each included artifact's `fromPath` into `toPath` of the
    /// checkout.
    async fn copy_includes(
        &self,
        obj: &GitRepository,
        status: &mut GitRepositoryStatus,
        artifacts: &[Artifact],
        checkout_dir: &Path,
    ) -> Result<(), ReconcileError> {
        let generation = obj.metadata.generation.unwrap_or(0);
        let includes = obj.spec.include.clone().unwrap_or_default();
        for (include, artifact) in includes.iter().zip(artifacts) {
            let name = &include.repository.name;
            let to = include.to_path.clone().unwrap_or_else(|| name.clone());
            let to_rel = to.trim_start_matches('/');
            if to_rel.split('/').any(|c| c == "..") || to_rel.is_empty() {
                return Err(ReconcileError::stalled(
                    reasons::INVALID_PATH,
                    format!("invalid include toPath '{to}'"),
                ));
            }
            let from = include.from_path.clone().unwrap_or_default();
            let dest = checkout_dir.join(to_rel);
            let _ = std::fs::remove_dir_all(&dest);
            let storage = self.storage.clone();
            let path = artifact.path.clone();
            let res =
                tokio::task::spawn_blocking(move || storage.copy_to_path(&path, &from, &dest))
                    .await;
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    let message = format!("failed to copy '{name}' include: {}", error_chain(&e));
                    conditions::mark_true(
                        conds(status),
                        types::STORAGE_OPERATION_FAILED,
                        reasons::ARCHIVE_OPERATION_FAILED,
                        &message,
                        generation,
                        now(),
                    );
                    return Err(ReconcileError::retry(
                        reasons::ARCHIVE_OPERATION_FAILED,
                        message,
                    ));
                }
                Err(join) => {
                    return Err(ReconcileError::retry(
                        reasons::ARCHIVE_OPERATION_FAILED,
                        format!("copying include panicked: {join}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A commit subject cut to 50 characters plus `...` (upstream's `ShortMessage`).
pub fn short_message(subject: &str) -> String {
    if subject.chars().count() > 50 {
        format!("{}...", subject.chars().take(50).collect::<String>())
    } else {
        subject.to_string()
    }
}

/// Every `spec.sparseCheckout` directory must exist in the checkout (upstream's
/// `validateSparseCheckoutPaths`).
fn check_sparse_dirs(dirs: Option<&[String]>, checkout: &Path) -> Result<(), String> {
    for dir in dirs.unwrap_or_default() {
        let rel = dir.trim_start_matches("./").trim_matches('/');
        if rel.split('/').any(|c| c == "..") {
            return Err(format!(
                "sparse checkout dir '{dir}' cannot be resolved: it leaves the repository"
            ));
        }
        if std::fs::symlink_metadata(checkout.join(rel)).is_err() {
            return Err(format!(
                "sparse checkout dir '{dir}' does not exist in repository"
            ));
        }
    }
    Ok(())
}

/// Whether the included artifacts differ from the ones the stored artifact was built
/// with (upstream's `artifactSet.Diff`: by revision and digest, in order).
fn includes_changed(observed: Option<&Vec<Artifact>>, current: &[Artifact]) -> bool {
    let observed = observed.map(Vec::as_slice).unwrap_or_default();
    observed.len() != current.len()
        || observed
            .iter()
            .zip(current)
            .any(|(a, b)| a.revision != b.revision || a.digest != b.digest)
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
    fn urls_are_checked() {
        assert!(parse_url("https://example.com/repo.git").is_ok());
        assert!(parse_url("file:///tmp/repo.git").is_ok());
        assert!(parse_url("git@github.com:org/repo").is_err());
        assert!(parse_url("ftp://example.com/x").is_err());
        assert!(parse_url("not a url").is_err());
        let err = parse_url("https://user:hunter2@example.com/r")
            .err()
            .unwrap_or_default();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn revisions_follow_upstream() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            revision_for(&RefSpec::Branch("main".into()), "refs/heads/main", sha),
            format!("main@sha1:{sha}")
        );
        assert_eq!(
            revision_for(&RefSpec::Tag("v1.0.0".into()), "refs/tags/v1.0.0", sha),
            format!("v1.0.0@sha1:{sha}")
        );
        assert_eq!(
            revision_for(
                &RefSpec::Commit {
                    sha: sha.into(),
                    branch: None
                },
                "",
                sha
            ),
            format!("sha1:{sha}")
        );
        assert_eq!(
            revision_for(
                &RefSpec::Name("refs/pull/1/head".into()),
                "refs/pull/1/head",
                sha
            ),
            format!("refs/pull/1/head@sha1:{sha}")
        );
    }
}
