//! Test fixtures: a Git repository made with the git CLI, the embedded API server with
//! Flux's CRDs and the workload simulator, source-controller and kustomize-controller.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use flux_api::kustomize::Kustomization;
use flux_api::source::GitRepository;
use flux_artifact::StorageOptions;
use flux_runtime::{ControllerOptions, EventRecorder, Metrics, RequeuePolicy, Runtime};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kustomize_controller::KustomizeOptions;

/// Whether git is present; in CI its absence is a failure.
pub fn have_git() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "git is required for this test (CI=true)"
        );
        eprintln!("skipping: git is not installed");
    }
    ok
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .with_context(|| format!("running git {args:?}"))?;
    if !out.status.success() {
        bail!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A work tree pushing to a bare repository `<root>/repo.git`, served by
/// `git http-backend` (../shared/tools/start-git-http) on loopback.
pub struct Repo {
    pub work: PathBuf,
    url: String,
    pid: String,
    _root: tempfile::TempDir,
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

/// Runs `start-git-http PORT ROOT`; returns (URL, PID).
fn start_git_http(port: u16, root: &Path) -> anyhow::Result<(String, String)> {
    let tools = std::env::var_os("FLUX_SHARED_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools"));
    let script = tools.join("start-git-http");
    let out = Command::new(&script)
        .arg(port.to_string())
        .arg(root)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "start-git-http failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_string)
            .with_context(|| format!("no {key} in {text}"))
    };
    Ok((field("URL=")?, field("PID=")?))
}

impl Repo {
    /// A repository whose first commit holds `files` (path, content).
    pub fn create(port: u16, files: &[(&str, &str)]) -> anyhow::Result<Self> {
        let root = tempfile::tempdir()?;
        let bare = root.path().join("repo.git");
        let work = root.path().join("work");
        std::fs::create_dir_all(&work)?;
        git(root.path(), &["init", "--bare", "-b", "main", "repo.git"])?;
        git(&work, &["init", "-b", "main"])?;
        git(&work, &["remote", "add", "origin", &bare.to_string_lossy()])?;
        let (base, pid) = start_git_http(port, root.path())?;
        let repo = Self {
            work,
            url: format!("{base}repo.git"),
            pid,
            _root: root,
        };
        repo.commit(files, &[], "first commit")?;
        Ok(repo)
    }

    /// Writes `files`, removes `removed`, commits and pushes `main`.
    pub fn commit(
        &self,
        files: &[(&str, &str)],
        removed: &[&str],
        message: &str,
    ) -> anyhow::Result<()> {
        for (path, content) in files {
            let full = self.work.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(full, content)?;
        }
        for path in removed {
            std::fs::remove_file(self.work.join(path))?;
        }
        git(&self.work, &["add", "-A"])?;
        git(&self.work, &["commit", "-m", message])?;
        git(&self.work, &["push", "origin", "main"])?;
        Ok(())
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }
}

/// The embedded API server with the Flux CRDs and both controllers.
pub struct Env {
    pub client: kube::Client,
    _storage_dir: tempfile::TempDir,
    _server: flux_apiserver::ApiServer,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn runtime(client: &kube::Client, controller: &str, requeue_dependency: Duration) -> Runtime {
    Runtime {
        client: client.clone(),
        recorder: EventRecorder::new(client.clone(), controller, None),
        metrics: Metrics::new(),
        options: ControllerOptions {
            concurrent: 4,
            requeue: RequeuePolicy {
                min_retry_delay: Duration::from_millis(200),
                max_retry_delay: Duration::from_secs(2),
                ..RequeuePolicy::default()
            },
            requeue_dependency,
            ..ControllerOptions::default()
        },
    }
}

impl Env {
    /// The controllers with `options` and a short `--requeue-dependency` (500 ms).
    pub async fn start(options: KustomizeOptions) -> anyhow::Result<Self> {
        Self::start_with(options, Duration::from_millis(500)).await
    }

    /// The controllers with `options` and `--requeue-dependency`.
    pub async fn start_with(
        options: KustomizeOptions,
        requeue_dependency: Duration,
    ) -> anyhow::Result<Self> {
        let server = flux_apiserver::ApiServer::in_memory()?;
        let client = kube::Client::new(server.router(), "default");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in flux_api::crds::all_crds()? {
            let crd: CustomResourceDefinition = serde_json::from_value(crd)?;
            crds.create(&PostParams::default(), &crd).await?;
        }
        let mut tasks = vec![server.start_workload_simulator()];
        let storage_dir = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let storage = source_controller::open_storage(&StorageOptions {
            storage_path: storage_dir.path().to_path_buf(),
            storage_addr: addr.to_string(),
            storage_adv_addr: Some(addr.to_string()),
            ..StorageOptions::default()
        })?;
        tasks.push(tokio::spawn(source_controller::run(
            runtime(&client, "source-controller", Duration::from_millis(500)),
            storage,
            listener,
            std::future::pending(),
        )));
        tasks.push(tokio::spawn(kustomize_controller::run(
            runtime(&client, "kustomize-controller", requeue_dependency),
            KustomizeOptions {
                poll_interval: Duration::from_millis(200),
                ..options
            },
            std::future::pending(),
        )));
        Ok(Self {
            client,
            _storage_dir: storage_dir,
            _server: server,
            tasks,
        })
    }

    pub fn kustomizations(&self) -> Api<Kustomization> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub fn repos(&self) -> Api<GitRepository> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub async fn create_repo(&self, name: &str, repo: &Repo) -> anyhow::Result<()> {
        let obj: GitRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"url": repo.url(), "interval": "10m", "ref": {"branch": "main"}},
        }))?;
        self.repos().create(&PostParams::default(), &obj).await?;
        Ok(())
    }

    /// Creates a Kustomization (`spec` merged over sourceRef `repo`, interval 10m).
    pub async fn create_ks(&self, name: &str, spec: serde_json::Value) -> anyhow::Result<()> {
        self.create_ks_in("default", name, spec).await
    }

    /// Creates a Kustomization in `namespace` (`spec` merged over sourceRef
    /// `default/repo`, interval 10m).
    pub async fn create_ks_in(
        &self,
        namespace: &str,
        name: &str,
        spec: serde_json::Value,
    ) -> anyhow::Result<()> {
        let mut full = serde_json::json!({
            "interval": "10m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "default"},
        });
        if let (Some(base), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        let obj: Kustomization = serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": full,
        }))?;
        Api::<Kustomization>::namespaced(self.client.clone(), namespace)
            .create(&PostParams::default(), &obj)
            .await?;
        Ok(())
    }

    /// Sets `reconcile.fluxcd.io/requestedAt` on the GitRepository `repo`.
    pub async fn request_source(&self, token: &str) -> anyhow::Result<()> {
        let patch = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
        self.repos()
            .patch("repo", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Sets `reconcile.fluxcd.io/requestedAt` on a Kustomization.
    pub async fn request_ks(&self, name: &str, token: &str) -> anyhow::Result<()> {
        let patch = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
        self.kustomizations()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Polls until `pred` holds for the Kustomization (60 s), returning it.
    pub async fn wait_ks(
        &self,
        name: &str,
        what: &str,
        pred: impl Fn(&Kustomization) -> bool,
    ) -> anyhow::Result<Kustomization> {
        self.wait_ks_in("default", name, what, pred).await
    }

    /// Polls until `pred` holds for the Kustomization `namespace/name` (60 s).
    pub async fn wait_ks_in(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        pred: impl Fn(&Kustomization) -> bool,
    ) -> anyhow::Result<Kustomization> {
        let api: Api<Kustomization> = Api::namespaced(self.client.clone(), namespace);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let obj = api.get(name).await?;
            if pred(&obj) {
                return Ok(obj);
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "timed out waiting for {name}: {what}; status: {}",
                    serde_json::to_string_pretty(&obj.status)?
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The GitRepository's current artifact revision (empty when none).
    pub async fn source_revision(&self) -> anyhow::Result<String> {
        Ok(self
            .repos()
            .get("repo")
            .await?
            .status
            .and_then(|s| s.artifact)
            .map(|a| a.revision)
            .unwrap_or_default())
    }

    /// Polls until the GitRepository's artifact revision differs from `old` (60 s).
    pub async fn wait_source_revision_change(&self, old: &str) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let repo = self.repos().get("repo").await?;
            if let Some(rev) = repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.revision.clone())
                .filter(|r| r != old)
            {
                return Ok(rev);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("timed out waiting for a new source revision");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The condition `type_`'s (status, reason, message).
pub fn condition(obj: &Kustomization, type_: &str) -> Option<(String, String, String)> {
    let conds = obj.status.as_ref()?.conditions.as_ref()?;
    flux_api::conditions::find(conds, type_).map(|c| {
        (
            c.status.as_str().to_string(),
            c.reason.clone(),
            c.message.clone(),
        )
    })
}

/// Whether Ready is True for the current generation.
pub fn is_ready(obj: &Kustomization) -> bool {
    obj.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            flux_api::conditions::is_ready_for(c, obj.metadata.generation.unwrap_or(0))
        })
}

/// `status.lastAppliedRevision`.
pub fn applied_revision(obj: &Kustomization) -> Option<&str> {
    obj.status.as_ref()?.last_applied_revision.as_deref()
}

/// Whether Ready is False with `reason`.
pub fn failed_with(obj: &Kustomization, reason: &str) -> bool {
    condition(obj, "Ready").is_some_and(|(s, r, _)| s == "False" && r == reason)
}
