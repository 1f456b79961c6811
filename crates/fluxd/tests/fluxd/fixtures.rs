//! Fixtures: a Git repository served by `git http-backend` on loopback, the embedded API
//! server (HTTPS, with a kubeconfig) run in the test process, and `fluxd` as a child
//! process pointed at it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;

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

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
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
    Ok(())
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A bare repository `<root>/repo.git` whose first commit holds the given files,
/// served over HTTP by ../shared/tools/start-git-http.
pub struct Repo {
    pub url: String,
    pid: String,
    _root: tempfile::TempDir,
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

impl Repo {
    pub fn create(files: &[(&str, &str)]) -> anyhow::Result<Self> {
        let root = tempfile::tempdir()?;
        let bare = root.path().join("repo.git");
        let work = root.path().join("work");
        std::fs::create_dir_all(&work)?;
        git(root.path(), &["init", "--bare", "-b", "main", "repo.git"])?;
        git(&work, &["init", "-b", "main"])?;
        git(&work, &["remote", "add", "origin", &bare.to_string_lossy()])?;
        for (path, content) in files {
            let full = work.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(full, content)?;
        }
        git(&work, &["add", "-A"])?;
        git(&work, &["commit", "-m", "first commit"])?;
        git(&work, &["push", "origin", "main"])?;

        let tools = std::env::var_os("FLUX_SHARED_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools"));
        let script = tools.join("start-git-http");
        let out = Command::new(&script)
            .arg(free_port()?.to_string())
            .arg(root.path())
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
        Ok(Self {
            url: format!("{}repo.git", field("URL=")?),
            pid: field("PID=")?,
            _root: root,
        })
    }
}

/// The embedded API server on 127.0.0.1 over HTTPS with the Flux CRDs installed, the
/// workload simulator running, and `dir/kubeconfig` written for fluxd.
pub struct Cluster {
    /// An in-process client (no TLS) for the test's own reads and writes.
    pub client: kube::Client,
    pub dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Cluster {
    pub async fn start() -> anyhow::Result<Self> {
        let server = flux_apiserver::ApiServer::in_memory()?;
        let client = kube::Client::new(server.router(), "default");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in flux_api::crds::all_crds()? {
            let crd: CustomResourceDefinition = serde_json::from_value(crd)?;
            crds.create(&PostParams::default(), &crd).await?;
        }
        let dir = tempfile::tempdir()?;
        let tls = flux_apiserver::TlsMaterial::generate()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        flux_apiserver::write_kubeconfig(&dir.path().join("kubeconfig"), addr, &tls)?;
        let mut tasks = vec![server.start_workload_simulator()];
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server.serve_tls(listener, &tls).await {
                eprintln!("API server stopped: {e}");
            }
        }));
        Ok(Self { client, dir, tasks })
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

/// A running fluxd, killed on drop.
pub struct Fluxd {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Fluxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Fluxd {
    /// Starts fluxd against `cluster` with loopback admin/storage addresses and `extra` flags.
    pub fn start(cluster: &Cluster, extra: &[&str]) -> anyhow::Result<Self> {
        let storage = cluster.dir.path().join("storage");
        let log = cluster
            .dir
            .path()
            .join(format!("fluxd-{}.log", free_port()?));
        let stderr = std::fs::File::create(&log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_fluxd"))
            .env("KUBECONFIG", cluster.kubeconfig())
            .env_remove("RUNTIME_NAMESPACE")
            .args([
                "--metrics-addr=127.0.0.1:0",
                "--health-addr=127.0.0.1:0",
                "--storage-addr=127.0.0.1:0",
                "--log-encoding=console",
                "--min-retry-delay=200ms",
                "--max-retry-delay=2s",
            ])
            .arg(format!("--storage-path={}", storage.display()))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("spawning fluxd")?;
        Ok(Self { child, log })
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        Ok(())
    }

    /// Waits up to `limit` for fluxd to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "fluxd did not exit within {limit:?}; log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Polls `probe` every 100 ms until it yields `Some` or `limit` passes.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
