//! Test fixtures: Git repositories made with the git CLI, the git HTTP server, the
//! embedded API server with Flux's CRDs, and the controller running against it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use flux_api::source::GitRepository;
use flux_artifact::StorageOptions;
use flux_runtime::{ControllerOptions, EventRecorder, Metrics, RequeuePolicy, Runtime};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;

/// Whether a required tool is present; in CI its absence is a failure.
pub fn have_tool(tool: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required for this test (CI=true)"
        );
        eprintln!("skipping: {tool} is not installed");
    }
    ok
}

/// Runs git with a fixed identity and dates in `dir`.
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

/// A work tree pushing to a bare repository `<root>/app.git`.
pub struct Repo {
    pub work: PathBuf,
    pub bare: PathBuf,
}

impl Repo {
    /// Creates the bare repository and a work tree with one commit on `main`:
    /// `apps/app.yaml`, `infra/infra.yaml`, `README.md`, `logo.png`, `.sourceignore`
    /// (ignoring `*.md`).
    pub fn create(root: &Path) -> anyhow::Result<Self> {
        let bare = root.join("app.git");
        let work = root.join("work");
        std::fs::create_dir_all(&work)?;
        git(root, &["init", "--bare", "-b", "main", "app.git"])?;
        git(&work, &["init", "-b", "main"])?;
        std::fs::create_dir_all(work.join("apps"))?;
        std::fs::create_dir_all(work.join("infra"))?;
        std::fs::write(work.join("apps/app.yaml"), "kind: ConfigMap\n")?;
        std::fs::write(work.join("infra/infra.yaml"), "kind: Namespace\n")?;
        std::fs::write(work.join("README.md"), "# readme\n")?;
        std::fs::write(work.join(".sourceignore"), "*.md\n")?;
        git(&work, &["add", "-A"])?;
        git(&work, &["commit", "-m", "first commit"])?;
        git(&work, &["remote", "add", "origin", &bare.to_string_lossy()])?;
        git(&work, &["push", "origin", "main"])?;
        Ok(Self { work, bare })
    }

    /// Commits `content` to `file` and pushes `main`; returns the commit hash.
    pub fn commit(&self, file: &str, content: &str, message: &str) -> anyhow::Result<String> {
        std::fs::write(self.work.join(file), content)?;
        git(&self.work, &["add", "-A"])?;
        git(&self.work, &["commit", "-m", message])?;
        git(&self.work, &["push", "origin", "main"])?;
        self.head()
    }

    /// The work tree's HEAD.
    pub fn head(&self) -> anyhow::Result<String> {
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Creates annotated tag `tag` at HEAD and pushes it.
    pub fn tag(&self, tag: &str) -> anyhow::Result<()> {
        git(&self.work, &["tag", "-a", tag, "-m", tag])?;
        git(&self.work, &["push", "origin", tag])?;
        Ok(())
    }
}

/// A Git server started by a ../shared/tools script (`start-git-http`, `start-git-ssh`);
/// killed on drop. `info` holds the script's `KEY=value` lines.
pub struct GitServer {
    pub url: String,
    pub info: std::collections::BTreeMap<String, String>,
    pid: String,
}

/// `git http-backend` on loopback (optionally with basic auth).
pub type GitHttp = GitServer;

impl GitServer {
    /// `start-git-http PORT ROOT [USER:PASS]`.
    pub fn start(port: u16, root: &Path, cred: Option<&str>) -> anyhow::Result<Self> {
        let mut args = vec![port.to_string(), root.to_string_lossy().into_owned()];
        args.extend(cred.map(str::to_string));
        Self::run_script("start-git-http", &args)
    }

    /// `start-git-ssh PORT ROOT` (sshd, key-only).
    pub fn start_ssh(port: u16, root: &Path) -> anyhow::Result<Self> {
        Self::run_script(
            "start-git-ssh",
            &[port.to_string(), root.to_string_lossy().into_owned()],
        )
    }

    /// `start-git-ssh PORT ROOT AUTHORIZED_KEYS` (the script's keys plus these).
    pub fn start_ssh_with_keys(port: u16, root: &Path, keys: &Path) -> anyhow::Result<Self> {
        Self::run_script(
            "start-git-ssh",
            &[
                port.to_string(),
                root.to_string_lossy().into_owned(),
                keys.to_string_lossy().into_owned(),
            ],
        )
    }

    fn run_script(name: &str, args: &[String]) -> anyhow::Result<Self> {
        let script = tools_dir().join(name);
        let out = Command::new(&script)
            .args(args)
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !out.status.success() {
            bail!("{name} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let info: std::collections::BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let field = |k: &str| {
            info.get(k)
                .cloned()
                .with_context(|| format!("no {k}= in {text}"))
        };
        Ok(Self {
            url: field("URL")?,
            pid: field("PID")?,
            info: info.clone(),
        })
    }
}

/// ../shared/tools next to the repository (override: FLUX_SHARED_TOOLS).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("FLUX_SHARED_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools"))
}

/// `mk-certs DIR`: a throw-away CA and a certificate for 127.0.0.1 (usable as server
/// and as client certificate) in `dir`: `ca.crt`, `tls.crt`, `tls.key`.
pub fn mk_certs(dir: &Path) -> anyhow::Result<()> {
    let out = Command::new(tools_dir().join("mk-certs"))
        .arg(dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "mk-certs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// What a [`GitLighttpd`] checks besides serving Git.
#[derive(Debug, Default, Clone)]
pub struct LighttpdChecks {
    /// Refuse (403) requests whose `Authorization` header is not `Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Serve https with this directory's `tls.crt`/`tls.key` (from [`mk_certs`]).
    pub tls_dir: Option<PathBuf>,
    /// Require a client certificate issued by this CA (https only).
    pub client_ca: Option<PathBuf>,
}

/// `git http-backend` under lighttpd configured by the test itself (the same setup as
/// `start-git-http`, plus checks that script has no option for: a bearer token, a
/// required client certificate). The server process is killed on drop.
pub struct GitLighttpd {
    pub url: String,
    child: std::process::Child,
    _state: tempfile::TempDir,
}

impl GitLighttpd {
    pub fn start(port: u16, root: &Path, checks: &LighttpdChecks) -> anyhow::Result<Self> {
        // The packages start-git-http installs (idempotent, serialised by _lib.sh).
        let lib = tools_dir().join("_lib.sh");
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". '{}' && need_pkgs lighttpd lighttpd-mod-openssl git openssl",
                lib.display()
            ))
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "installing lighttpd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let state = tempfile::tempdir()?;
        let backend = format!("{}/git-http-backend", git(root, &["--exec-path"])?);
        let root_s = root.display();
        let st = state.path().display();
        let mut modules = vec!["mod_access", "mod_alias", "mod_setenv"];
        let mut conf = format!(
            "server.document-root = \"{root_s}\"\n\
             server.bind = \"127.0.0.1\"\n\
             server.port = {port}\n\
             server.errorlog = \"{st}/error.log\"\n\
             alias.url = ( \"/\" => \"{backend}/\" )\n\
             cgi.assign = ( \"\" => \"\" )\n\
             setenv.set-environment = ( \"GIT_PROJECT_ROOT\" => \"{root_s}\", \"GIT_HTTP_EXPORT_ALL\" => \"1\", \
             \"GIT_CONFIG_COUNT\" => \"1\", \"GIT_CONFIG_KEY_0\" => \"safe.directory\", \"GIT_CONFIG_VALUE_0\" => \"*\", \"HOME\" => \"{st}\" )\n"
        );
        if let Some(token) = &checks.bearer_token {
            conf.push_str(&format!(
                "$REQUEST_HEADER[\"Authorization\"] != \"Bearer {token}\" {{\n  url.access-deny = ( \"\" )\n}}\n"
            ));
        }
        let scheme = if let Some(dir) = &checks.tls_dir {
            modules.push("mod_openssl");
            conf.push_str(&format!(
                "ssl.engine = \"enable\"\nssl.pemfile = \"{}\"\nssl.privkey = \"{}\"\n",
                dir.join("tls.crt").display(),
                dir.join("tls.key").display()
            ));
            if let Some(ca) = &checks.client_ca {
                // lighttpd builds the server's chain from the same CA file, so it holds
                // the server's CA too.
                let mut bundle = std::fs::read(dir.join("ca.crt"))?;
                bundle.extend_from_slice(&std::fs::read(ca)?);
                let bundle_path = state.path().join("client-ca.crt");
                std::fs::write(&bundle_path, bundle)?;
                conf.push_str(&format!(
                    "ssl.ca-file = \"{}\"\nssl.verifyclient.activate = \"enable\"\nssl.verifyclient.enforce = \"enable\"\n",
                    bundle_path.display()
                ));
            }
            "https"
        } else {
            "http"
        };
        modules.push("mod_cgi");
        conf.push_str(&format!(
            "server.modules = ( {} )\n",
            modules
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let conf_path = state.path().join("lighttpd.conf");
        std::fs::write(&conf_path, conf)?;
        let check = Command::new("lighttpd")
            .arg("-tt")
            .arg("-f")
            .arg(&conf_path)
            .output()?;
        anyhow::ensure!(
            check.status.success(),
            "lighttpd config check failed: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new("lighttpd")
            .arg("-D")
            .arg("-f")
            .arg(&conf_path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let server = Self {
            url: format!("{scheme}://127.0.0.1:{port}/"),
            child,
            _state: state,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "lighttpd did not open port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }
}

impl Drop for GitLighttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the process logs through `tracing` (debug level, all targets), captured
/// from the first call on; shared by the tests of this process.
pub fn captured_logs() -> String {
    use std::sync::{Arc, Mutex, OnceLock};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static SINK: OnceLock<Sink> = OnceLock::new();
    let sink = SINK.get_or_init(|| {
        let sink = Sink::default();
        let writer = sink.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        sink
    });
    sink.0
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

/// The embedded API server with the Flux CRDs, the controller and its artifact server.
pub struct Env {
    pub client: kube::Client,
    pub storage_dir: tempfile::TempDir,
    _server: flux_apiserver::ApiServer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Env {
    pub async fn start() -> anyhow::Result<Self> {
        let server = flux_apiserver::ApiServer::in_memory()?;
        let client = kube::Client::new(server.router(), "default");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in flux_api::crds::all_crds()? {
            let crd: CustomResourceDefinition = serde_json::from_value(crd)?;
            crds.create(&PostParams::default(), &crd).await?;
        }
        let storage_dir = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let storage = source_controller::open_storage(&StorageOptions {
            storage_path: storage_dir.path().to_path_buf(),
            storage_addr: addr.to_string(),
            storage_adv_addr: Some(addr.to_string()),
            ..StorageOptions::default()
        })?;
        let rt = Runtime {
            client: client.clone(),
            recorder: EventRecorder::new(client.clone(), "source-controller", None),
            metrics: Metrics::new(),
            options: ControllerOptions {
                concurrent: 2,
                requeue: RequeuePolicy {
                    min_retry_delay: Duration::from_millis(200),
                    max_retry_delay: Duration::from_secs(2),
                    ..RequeuePolicy::default()
                },
                requeue_dependency: Duration::from_millis(500),
                ..ControllerOptions::default()
            },
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(source_controller::run(rt, storage, listener, async move {
            let _ = rx.await;
        }));
        Ok(Self {
            client,
            storage_dir,
            _server: server,
            stop: Some(tx),
            task: Some(task),
        })
    }

    pub fn repos(&self) -> Api<GitRepository> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Creates a GitRepository from JSON (`spec` only; name given).
    pub async fn create(&self, name: &str, spec: serde_json::Value) -> anyhow::Result<()> {
        let obj: GitRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }))?;
        self.repos().create(&PostParams::default(), &obj).await?;
        Ok(())
    }

    /// Polls until `pred` holds for the object (30 s), returning it.
    pub async fn wait_for(
        &self,
        name: &str,
        what: &str,
        pred: impl Fn(&GitRepository) -> bool,
    ) -> anyhow::Result<GitRepository> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let obj = self.repos().get(name).await?;
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

    /// Creates or replaces Secret `name` with `data`.
    pub async fn secret(&self, name: &str, data: &[(&str, &[u8])]) -> anyhow::Result<()> {
        use k8s_openapi::ByteString;
        use k8s_openapi::api::core::v1::Secret;
        let api: Api<Secret> = Api::namespaced(self.client.clone(), "default");
        let mut secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("default".to_string()),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                    .collect(),
            ),
            ..Default::default()
        };
        match api.get_opt(name).await? {
            Some(existing) => {
                secret.metadata.resource_version = existing.metadata.resource_version;
                api.replace(name, &PostParams::default(), &secret).await?;
            }
            None => {
                api.create(&PostParams::default(), &secret).await?;
            }
        }
        Ok(())
    }

    /// Sets `reconcile.fluxcd.io/requestedAt` to `token`.
    pub async fn request_reconcile(&self, name: &str, token: &str) -> anyhow::Result<()> {
        let patch = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
        self.repos()
            .patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await?;
        Ok(())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The Ready condition's (status, reason, message).
pub fn ready(obj: &GitRepository) -> Option<(String, String, String)> {
    let conds = obj.status.as_ref()?.conditions.as_ref()?;
    flux_api::conditions::find(conds, "Ready").map(|c| {
        (
            c.status.as_str().to_string(),
            c.reason.clone(),
            c.message.clone(),
        )
    })
}

/// Whether Ready is True for the current generation.
pub fn is_ready(obj: &GitRepository) -> bool {
    obj.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            flux_api::conditions::is_ready_for(c, obj.metadata.generation.unwrap_or(0))
        })
}

/// The condition `type_`'s (status, reason).
pub fn condition(obj: &GitRepository, type_: &str) -> Option<(String, String)> {
    let conds = obj.status.as_ref()?.conditions.as_ref()?;
    flux_api::conditions::find(conds, type_)
        .map(|c| (c.status.as_str().to_string(), c.reason.clone()))
}

/// RFC 4648 base64 with padding.
pub fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
