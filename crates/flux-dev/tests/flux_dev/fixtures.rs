//! A temporary Git repository holding a copy of the repository's `examples/`, and
//! helpers to drive a [`flux_dev::Session`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// The example's cluster directory, relative to the repository root.
pub const CLUSTER_DIR: &str = "examples/fleet/clusters/dev";

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

/// The kubectl to use: $KUBECTL, else `kubectl` on PATH; `None` (a skip) outside CI.
pub fn kubectl() -> Option<PathBuf> {
    let candidate = std::env::var_os("KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kubectl"));
    let ok = Command::new(&candidate)
        .args(["version", "--client"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required for this test (CI=true); set KUBECTL"
        );
        eprintln!("skipping the kubectl part: kubectl is not installed");
        return None;
    }
    Some(candidate)
}

pub fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
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

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// A Git work tree (branch `main`) with the repository's `examples/` committed, and a
/// separate temporary data directory.
pub struct ExampleRepo {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl ExampleRepo {
    pub fn create() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("repo");
        let data_dir = dir.path().join("data");
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        copy_dir(&examples, &root.join("examples"))?;
        git(&root, &["init", "-q", "-b", "main"])?;
        git(&root, &["add", "-A"])?;
        git(&root, &["commit", "-q", "-m", "examples"])?;
        Ok(Self {
            root,
            data_dir,
            _dir: dir,
        })
    }

    /// Writes a file (relative to the root) without committing.
    pub fn write(&self, path: &str, content: &str) -> anyhow::Result<()> {
        let full = self.root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, content).with_context(|| format!("writing {}", full.display()))
    }

    /// Replaces `from` by `to` in a file (which must contain it).
    pub fn edit(&self, path: &str, from: &str, to: &str) -> anyhow::Result<()> {
        let full = self.root.join(path);
        let text = std::fs::read_to_string(&full)?;
        if !text.contains(from) {
            bail!("{path} does not contain {from:?}");
        }
        self.write(path, &text.replace(from, to))
    }

    pub fn commit(&self, message: &str) -> anyhow::Result<()> {
        git(&self.root, &["add", "-A"])?;
        git(&self.root, &["commit", "-q", "-m", message])?;
        Ok(())
    }

    pub fn options(&self) -> flux_dev::DevOptions {
        flux_dev::DevOptions {
            port: 0,
            data_dir: self.data_dir.clone(),
            poll_interval: Duration::from_millis(300),
            ..flux_dev::DevOptions::new(self.root.join(CLUSTER_DIR))
        }
    }
}

/// `--once` mode without a terminal.
pub fn once(timeout: Duration) -> flux_dev::RunMode {
    flux_dev::RunMode {
        once: true,
        timeout,
        tty: false,
        color: false,
    }
}

/// A live session running in a task; `stop` ends it and gives the session back.
pub struct Live {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<(
        flux_dev::Session,
        Result<flux_dev::Outcome, flux_dev::DevError>,
    )>,
}

impl Live {
    pub fn spawn(mut session: flux_dev::Session) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mode = flux_dev::RunMode {
                once: false,
                timeout: Duration::from_secs(300),
                tty: false,
                color: false,
            };
            let mut sink = std::io::sink();
            let outcome = session
                .run(mode, &mut sink, async move {
                    let _ = rx.await;
                })
                .await;
            (session, outcome)
        });
        Self {
            stop: Some(tx),
            task,
        }
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let (session, outcome) = (&mut self.task).await?;
        session.stop().await;
        assert_eq!(outcome?, flux_dev::Outcome::Stopped);
        Ok(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `probe` every 200 ms until it returns `Some`, or fails after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A Deployment's `spec.replicas` and ready replicas, if it exists.
pub async fn deployment(client: &kube::Client, namespace: &str, name: &str) -> Option<(i32, i32)> {
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client.clone(), namespace);
    let d = api.get_opt(name).await.ok()??;
    let replicas = d.spec.as_ref()?.replicas.unwrap_or(1);
    let ready = d
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    Some((replicas, ready))
}

/// A ConfigMap's data key.
pub async fn config_value(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    key: &str,
) -> Option<String> {
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), namespace);
    api.get_opt(name).await.ok()??.data?.get(key).cloned()
}
