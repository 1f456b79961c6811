//! `cargo xtask bench scale`: the scale benchmark of issue 7, modelled on Flux's MTTP
//! benchmark (fluxcd/flux-benchmark): one GitRepository and N Kustomizations, each
//! applying a Namespace, ServiceAccount, Service, Ingress and a Deployment scaled to
//! zero from its own directory. It runs the real processes — the embedded API server
//! (`flux dev --api-only`) and `fluxd --controllers=source,kustomize` — against a Git
//! repository served by `git http-backend` on loopback, and prints the time until all N
//! Kustomizations are Ready plus the peak RSS (VmHWM) and CPU time of both processes.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use flux_api::kustomize::Kustomization;
use flux_api::source::GitRepository;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use kube::runtime::WatchStreamExt;

/// Flags of `cargo xtask bench scale`.
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Numbers of Kustomizations to run, one run each.
    #[arg(long, value_delimiter = ',', default_value = "100,500,1000")]
    pub n: Vec<usize>,
    /// `fluxd --concurrent` (reconciles at once per controller). Flux's benchmark runs
    /// kustomize-controller with 20 on 16 cores; on 2 cores 8 is as fast and needs less
    /// memory (docs/benchmarks/scale.md).
    #[arg(long, default_value_t = 8)]
    pub concurrent: u32,
    /// Use the release binaries already built instead of running `cargo build --release`.
    #[arg(long)]
    pub no_build: bool,
    /// Directory holding the `flux` and `fluxd` binaries (default: <target dir>/release).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Which API server process to start: `flux` (`flux dev --api-only`) or
    /// `flux-apiserver` (the same server as a standalone binary).
    #[arg(long, default_value = "flux")]
    pub api_server: String,
    /// Give up a run after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// TMPDIR for fluxd (where Kustomizations are built). Default: a directory on the
    /// /dev/shm tmpfs when it exists, as Flux recommends for kustomize-controller at scale
    /// ("in-memory kustomize builds"); `--fluxd-tmpdir disk` keeps the system default.
    #[arg(long)]
    pub fluxd_tmpdir: Option<String>,
    /// Keep the temporary directory (logs, repository, API server data) of each run.
    #[arg(long)]
    pub keep: bool,
}

/// The figures of one run.
#[derive(Debug, Clone)]
struct RunFigures {
    /// /proc/loadavg (1 min) when the run started and when it ended: other work on the
    /// machine skews the figures.
    load: (f64, f64),
    n: usize,
    ready: usize,
    git_ready: Duration,
    all_ready: Option<Duration>,
    create: Duration,
    fluxd: ProcessFigures,
    api: ProcessFigures,
}

#[derive(Debug, Clone, Copy, Default)]
struct ProcessFigures {
    /// VmHWM in KiB.
    peak_rss_kib: u64,
    /// utime + stime in seconds.
    cpu_seconds: f64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Reads VmHWM and CPU time of a live process from /proc.
fn process_figures(pid: u32) -> anyhow::Result<ProcessFigures> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let peak_rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no VmHWM in /proc/{pid}/status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    // Field 14 is index 11 after the state field (field 3 = index 0).
    let cpu_ticks = ticks(11) + ticks(12);
    Ok(ProcessFigures {
        peak_rss_kib,
        cpu_seconds: cpu_ticks as f64 / clock_ticks_per_second(),
    })
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

/// A child process killed (SIGTERM, then SIGKILL) on drop.
struct Running {
    name: &'static str,
    child: Child,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn ensure_alive(&mut self, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            bail!(
                "{} exited early ({status}); last log lines:\n{}",
                self.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The git server started by start-git-http, stopped on drop.
struct GitServer {
    url: String,
    pid: String,
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .with_context(|| format!("running git {args:?} (is git installed?)"))?;
    if !out.status.success() {
        bail!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The manifests of app `i`, as in the MTTP benchmark: a Deployment scaled to zero, a
/// ServiceAccount, a Service and an Ingress, here in their own Namespace. `${INDEX}` is
/// filled in by the Kustomization's postBuild substitution (as upstream's module does).
fn app_manifests(i: usize) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata:
  name: app-{i}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: podinfo
  namespace: app-{i}
---
apiVersion: v1
kind: Service
metadata:
  name: podinfo
  namespace: app-{i}
  labels:
    app.kubernetes.io/name: podinfo
    bench.flux-rs.io/app: app-${{INDEX}}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: podinfo
  ports:
  - name: http
    port: 9898
    targetPort: http
    protocol: TCP
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
  namespace: app-{i}
spec:
  rules:
  - host: app-${{INDEX}}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: podinfo
            port:
              number: 9898
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: app-{i}
  labels:
    app.kubernetes.io/name: podinfo
spec:
  replicas: 0
  selector:
    matchLabels:
      app.kubernetes.io/name: podinfo
  template:
    metadata:
      labels:
        app.kubernetes.io/name: podinfo
    spec:
      serviceAccountName: podinfo
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:6.7.1
        ports:
        - name: http
          containerPort: 9898
          protocol: TCP
        resources:
          requests:
            cpu: 1m
            memory: 16Mi
"
    )
}

/// Writes the repository with `n` app directories and serves it over loopback HTTP.
fn serve_repo(root: &Path, n: usize) -> anyhow::Result<GitServer> {
    let work = root.join("work");
    for i in 0..n {
        let dir = work.join(format!("apps/app-{i}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("app.yaml"), app_manifests(i))?;
    }
    git(root, &["init", "--bare", "-q", "-b", "main", "repo.git"])?;
    git(&work, &["init", "-q", "-b", "main"])?;
    git(&work, &["add", "-A"])?;
    git(&work, &["commit", "-q", "-m", &format!("{n} apps")])?;
    let bare = root.join("repo.git");
    git(&work, &["push", "-q", &bare.to_string_lossy(), "main:main"])?;
    let script = crate::workspace_root()?.join("../shared/tools/start-git-http");
    let out = Command::new(&script)
        .arg(free_port()?.to_string())
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
            .with_context(|| format!("start-git-http printed no {key}: {text}"))
    };
    Ok(GitServer {
        url: format!("{}repo.git", field("URL=")?),
        pid: field("PID=")?,
    })
}

/// Starts the API server process; returns once it has written its kubeconfig.
fn start_api_server(bin_dir: &Path, which: &str, data_dir: &Path) -> anyhow::Result<Running> {
    let log = data_dir.join("../apiserver.log");
    let mut command = match which {
        "flux" => {
            let mut c = Command::new(bin_dir.join("flux"));
            c.args(["dev", "--api-only", "--port", "0", "--data-dir"]);
            c.arg(data_dir);
            c
        }
        "flux-apiserver" => {
            let mut c = Command::new(bin_dir.join("flux-apiserver"));
            c.args(["--port", "0", "--data-dir"]);
            c.arg(data_dir);
            c
        }
        other => bail!("--api-server {other:?}: must be flux or flux-apiserver"),
    };
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| {
            format!(
                "starting the API server ({which}) from {}",
                bin_dir.display()
            )
        })?;
    let stdout = child.stdout.take().context("API server stdout")?;
    let mut running = Running {
        name: "the API server",
        child,
    };
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first)?;
    if !first.contains("https://") {
        running.ensure_alive(&log)?;
        bail!("unexpected first line from the API server: {first:?}");
    }
    let kubeconfig = data_dir.join("kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kubeconfig.exists() {
        running.ensure_alive(&log)?;
        if Instant::now() > deadline {
            bail!("the API server wrote no {}", kubeconfig.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(running)
}

/// Waits until `port` on 127.0.0.1 answers `GET /readyz` with 200.
fn wait_ready(port: u16, process: &mut Running, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        process.ensure_alive(log)?;
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("fluxd did not answer /readyz on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn client_for(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig)?,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

async fn install_crds(client: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in flux_api::crds::all_crds()? {
        let crd: CustomResourceDefinition = serde_json::from_value(crd)?;
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Served once listing works.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ks: Api<Kustomization> = Api::namespaced(client.clone(), "default");
    while ks.list(&Default::default()).await.is_err() {
        if Instant::now() > deadline {
            bail!("the Kustomization CRD is not served");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

fn kustomization(i: usize) -> anyhow::Result<Kustomization> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": format!("app-{i}"), "namespace": "default"},
        "spec": {
            "interval": "60m",
            "retryInterval": "2m",
            "timeout": "5m",
            "path": format!("./apps/app-{i}"),
            "prune": true,
            "wait": true,
            "sourceRef": {"kind": "GitRepository", "name": "bench"},
            "postBuild": {"substitute": {"INDEX": format!("{i}")}},
        },
    }))?)
}

fn is_ready(ks: &Kustomization) -> bool {
    ks.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| flux_api::conditions::is_ready_for(c, ks.metadata.generation.unwrap_or(0)))
}

/// One run with `n` Kustomizations.
fn run_once(args: &ScaleArgs, bin_dir: &Path, n: usize) -> anyhow::Result<RunFigures> {
    let tmp = std::env::temp_dir().join(format!("flux-rs-bench-scale-{n}-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let result = run_in(args, bin_dir, n, &tmp);
    if let Ok(dir) = fluxd_build_dir(args, &tmp)
        && dir.starts_with("/dev/shm")
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    if args.keep {
        eprintln!("  kept {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// The TMPDIR given to fluxd (see [`ScaleArgs::fluxd_tmpdir`]).
fn fluxd_build_dir(args: &ScaleArgs, tmp: &Path) -> anyhow::Result<PathBuf> {
    let dir = match args.fluxd_tmpdir.as_deref() {
        Some("disk") => tmp.join("fluxd-tmp"),
        Some(dir) => PathBuf::from(dir),
        None if Path::new("/dev/shm").is_dir() => PathBuf::from(format!(
            "/dev/shm/flux-rs-bench-{}",
            tmp.file_name().and_then(|n| n.to_str()).unwrap_or("run")
        )),
        None => tmp.join("fluxd-tmp"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn run_in(args: &ScaleArgs, bin_dir: &Path, n: usize, tmp: &Path) -> anyhow::Result<RunFigures> {
    let load_before = load_average();
    eprintln!("► N={n}: writing the Git repository");
    let repo_root = tmp.join("git");
    std::fs::create_dir_all(&repo_root)?;
    let git_server = serve_repo(&repo_root, n)?;
    eprintln!("► N={n}: starting the API server ({})", args.api_server);
    let api_dir = tmp.join("api");
    std::fs::create_dir_all(&api_dir)?;
    let mut api = start_api_server(bin_dir, &args.api_server, &api_dir)?;
    let kubeconfig = api_dir.join("kubeconfig");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = runtime.block_on(client_for(&kubeconfig))?;
    runtime.block_on(install_crds(&client))?;

    eprintln!(
        "► N={n}: starting fluxd --controllers=source,kustomize --concurrent={}",
        args.concurrent
    );
    let health_port = free_port()?;
    let fluxd_log = tmp.join("fluxd.log");
    let build_dir = fluxd_build_dir(args, tmp)?;
    eprintln!("  fluxd TMPDIR: {}", build_dir.display());
    let fluxd_child = Command::new(bin_dir.join("fluxd"))
        .env("KUBECONFIG", &kubeconfig)
        .env("TMPDIR", &build_dir)
        .args([
            "--controllers=source,kustomize",
            "--enable-leader-election=false",
            "--metrics-addr=127.0.0.1:0",
            "--storage-addr=127.0.0.1:0",
        ])
        .arg(format!("--health-addr=127.0.0.1:{health_port}"))
        .arg(format!("--concurrent={}", args.concurrent))
        .arg(format!("--storage-path={}", tmp.join("storage").display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&fluxd_log)?)
        .spawn()
        .with_context(|| format!("starting {}", bin_dir.join("fluxd").display()))?;
    let mut fluxd = Running {
        name: "fluxd",
        child: fluxd_child,
    };
    wait_ready(health_port, &mut fluxd, &fluxd_log)?;

    let timeout = Duration::from_secs(args.timeout);
    let figures = runtime.block_on(async {
        let started = Instant::now();
        let repos: Api<GitRepository> = Api::namespaced(client.clone(), "default");
        let repo: GitRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "bench", "namespace": "default"},
            "spec": {"url": git_server.url, "interval": "60m", "ref": {"branch": "main"}},
        }))?;
        repos.create(&PostParams::default(), &repo).await?;
        let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), "default");
        futures::stream::iter(0..n)
            .map(|i| {
                let api = kustomizations.clone();
                async move {
                    api.create(&PostParams::default(), &kustomization(i)?)
                        .await
                        .with_context(|| format!("creating Kustomization app-{i}"))
                }
            })
            .buffer_unordered(16)
            .try_collect::<Vec<_>>()
            .await?;
        let create = started.elapsed();
        eprintln!(
            "► N={n}: {n} Kustomizations created in {:.1}s; waiting for Ready",
            create.as_secs_f64()
        );

        let mut git_ready = None;
        let mut ready = 0;
        let mut states: std::collections::HashMap<String, bool> = Default::default();
        let mut events = kube::runtime::watcher(kustomizations.clone(), Default::default())
            .applied_objects()
            .boxed();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut last_report = Instant::now();
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(ks)) => {
                        states.insert(ks.metadata.name.clone().unwrap_or_default(), is_ready(&ks));
                    }
                    Some(Err(e)) => eprintln!("  watch error (retrying): {e}"),
                    None => bail!("the Kustomization watch ended"),
                },
                _ = tick.tick() => {
                    if git_ready.is_none()
                        && repos.get("bench").await.ok().is_some_and(|r| {
                            r.status
                                .as_ref()
                                .and_then(|s| s.conditions.as_ref())
                                .is_some_and(|c| {
                                    flux_api::conditions::is_ready_for(
                                        c,
                                        r.metadata.generation.unwrap_or(0),
                                    )
                                })
                        })
                    {
                        git_ready = Some(started.elapsed());
                    }
                    if last_report.elapsed() > Duration::from_secs(10) {
                        eprintln!(
                            "  {ready}/{n} Ready after {:.0}s ({} seen)",
                            started.elapsed().as_secs_f64(),
                            states.len()
                        );
                        last_report = Instant::now();
                    }
                }
            }
            ready = states.values().filter(|r| **r).count();
            if ready == n {
                break;
            }
            if started.elapsed() > timeout {
                let list = kustomizations.list(&Default::default()).await?;
                let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
                for k in list.items.iter().filter(|k| !is_ready(k)) {
                    let reason = k
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .and_then(|c| flux_api::conditions::find(c, "Ready"))
                        .map(|c| format!("{}: {}", c.reason, c.message))
                        .unwrap_or_else(|| "no Ready condition".into());
                    *reasons.entry(reason).or_default() += 1;
                }
                eprintln!("✗ N={n}: {ready}/{n} Ready after {timeout:?}; not ready:");
                for (reason, count) in reasons.iter().take(5) {
                    eprintln!("    {count} × {reason}");
                }
                break;
            }
        }
        let all_ready = (ready == n).then(|| started.elapsed());
        anyhow::Ok((ready, git_ready.unwrap_or_default(), all_ready, create))
    });
    let (ready, git_ready, all_ready, create) = figures?;
    fluxd.ensure_alive(&fluxd_log)?;
    api.ensure_alive(&api_dir.join("../apiserver.log"))?;
    let fluxd_figures = process_figures(fluxd.pid())?;
    let api_figures = process_figures(api.pid())?;
    drop(fluxd);
    drop(api);
    drop(git_server);
    Ok(RunFigures {
        load: (load_before, load_average()),
        n,
        ready,
        git_ready,
        all_ready,
        create,
        fluxd: fluxd_figures,
        api: api_figures,
    })
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        format!("{}m{:04.1}s", (secs / 60.0).floor(), secs % 60.0)
    } else {
        format!("{secs:.1}s")
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpus} CPUs ({model}), {mem} RAM")
}

fn build(bin_dir_override: bool, api_server: &str) -> anyhow::Result<()> {
    if bin_dir_override {
        return Ok(());
    }
    let package = if api_server == "flux-apiserver" {
        "flux-apiserver"
    } else {
        "flux"
    };
    eprintln!("► cargo build --release -p fluxd -p {package}");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(crate::workspace_root()?)
        .args(["build", "--release", "-p", "fluxd", "-p", package, "--bins"])
        .status()
        .context("running cargo build --release")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    Ok(())
}

fn default_bin_dir() -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(Ok)
        .unwrap_or_else(|| crate::workspace_root().map(|r| r.join("target")))?;
    Ok(target.join("release"))
}

/// Runs the benchmark and prints the table.
pub fn run(args: ScaleArgs) -> anyhow::Result<()> {
    if args.n.is_empty() || args.n.contains(&0) {
        bail!("--n: give one or more positive counts, e.g. --n 100,500,1000");
    }
    if !args.no_build {
        build(args.bin_dir.is_some(), &args.api_server)?;
    }
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => default_bin_dir()?,
    };
    let mut rows = Vec::new();
    for &n in &args.n {
        match run_once(&args, &bin_dir, n) {
            Ok(figures) => {
                eprintln!(
                    "✔ N={n}: {} in {}",
                    figures.ready,
                    figures
                        .all_ready
                        .map(format_duration)
                        .unwrap_or_else(|| "(timed out)".into())
                );
                rows.push(figures);
            }
            Err(e) => eprintln!("✗ N={n}: {e:#}"),
        }
    }
    println!();
    println!("Scale benchmark (issue 7): one GitRepository, N Kustomizations, each applying a");
    println!(
        "Namespace, ServiceAccount, Service, Ingress and a Deployment scaled to zero (wait: true)."
    );
    println!("Machine: {}", machine());
    println!(
        "fluxd --controllers=source,kustomize --concurrent={} --enable-leader-election=false; API server: {}",
        args.concurrent,
        if args.api_server == "flux" {
            "flux dev --api-only"
        } else {
            "flux-apiserver"
        }
    );
    println!(
        "fluxd TMPDIR (kustomize builds): {}",
        match args.fluxd_tmpdir.as_deref() {
            Some("disk") => "the run directory on disk".to_string(),
            Some(dir) => dir.to_string(),
            None => "/dev/shm (tmpfs) when present".to_string(),
        }
    );
    println!();
    println!(
        "| N    | Ready     | all Ready | GitRepository Ready | created in | fluxd peak RSS | fluxd CPU | API server peak RSS | API server CPU | load before/after |"
    );
    println!(
        "|------|-----------|-----------|---------------------|------------|----------------|-----------|---------------------|----------------|-------------------|"
    );
    for r in &rows {
        println!(
            "| {:<4} | {:>4}/{:<4} | {:>9} | {:>19} | {:>10} | {:>10.1} MiB | {:>8.1}s | {:>15.1} MiB | {:>13.1}s | {:>7.1} / {:<7.1} |",
            r.n,
            r.ready,
            r.n,
            r.all_ready
                .map(format_duration)
                .unwrap_or_else(|| "timeout".into()),
            format_duration(r.git_ready),
            format_duration(r.create),
            mib(r.fluxd.peak_rss_kib),
            r.fluxd.cpu_seconds,
            mib(r.api.peak_rss_kib),
            r.api.cpu_seconds,
            r.load.0,
            r.load.1,
        );
    }
    println!();
    println!(
        "Reference (Flux, fluxcd/flux-benchmark on a 16-core runner): 1000 Kustomizations in 4m13s, 195–223 MiB."
    );
    println!(
        "Target (flux-rs on 2 cores, API server included): N=1000 ≤ 45 s, controller (fluxd) peak RSS ≤ 60 MiB."
    );
    if let Some(r) = rows.iter().find(|r| r.n == 1000) {
        let time_ok = r.all_ready.is_some_and(|d| d <= Duration::from_secs(45));
        let rss_ok = mib(r.fluxd.peak_rss_kib) <= 60.0;
        println!(
            "N=1000 against the target: time {}, RSS {}",
            if time_ok { "met" } else { "MISSED" },
            if rss_ok { "met" } else { "MISSED" }
        );
    }
    if rows.len() != args.n.len() || rows.iter().any(|r| r.ready != r.n) {
        bail!("some runs failed or timed out (see above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_manifests_hold_the_five_mttp_objects() {
        let text = app_manifests(7);
        for kind in [
            "kind: Namespace",
            "kind: ServiceAccount",
            "kind: Service\n",
            "kind: Ingress",
            "kind: Deployment",
        ] {
            assert!(text.contains(kind), "missing {kind}");
        }
        assert!(text.contains("replicas: 0"));
        assert!(text.contains("namespace: app-7"));
        assert!(text.contains("${INDEX}"));
    }

    #[test]
    fn durations_print_as_flux_reports_them() {
        assert_eq!(format_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(format_duration(Duration::from_secs(253)), "4m13.0s");
    }

    #[test]
    fn own_process_figures_are_read_from_proc() {
        let f = process_figures(std::process::id()).expect("/proc is readable");
        assert!(f.peak_rss_kib > 0);
    }
}
