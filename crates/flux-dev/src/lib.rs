//! flux-dev: the whole GitOps loop on one machine (`flux dev [PATH]`).
//!
//! [`Session::start`] opens (or creates) the durable embedded API server under the data
//! directory, installs Flux's CRDs, runs source-controller and kustomize-controller
//! in-process, and creates namespace, GitRepository and Kustomization `flux-system` as
//! `flux bootstrap` would, pointing at PATH's Git work tree. [`Session::run`] then
//! watches the branch (or, with `--worktree`, the files on disk), asks for an immediate
//! reconcile on every change, draws the live status tree and, with `--once`, returns
//! after the first complete reconciliation.
//!
//! * [`work_tree`]: locating the work tree, the branch and the Kustomization path.
//! * [`worktree_snapshot`]: the shadow repository behind `--worktree`.
//! * [`cluster`]: the embedded API server, CRDs, controllers and bootstrap objects.
//! * [`status_tree`]: reading state, the `--once` verdict and the tree.
//! * [`controller_log`]: the controllers' JSON log in `DATA_DIR/flux-dev.log`.

pub mod cluster;
pub mod controller_log;
pub mod status_tree;
pub mod work_tree;
pub mod worktree_snapshot;

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cluster::{Bootstrap, Cluster, ClusterError, DataDir, FLUX_SYSTEM};
use status_tree::{ClusterState, Style, Verdict};
use work_tree::{WorkTree, WorkTreeError};
use worktree_snapshot::{ShadowRepo, SnapshotError};

/// What `flux dev` was asked to do.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// PATH: a directory inside a Git work tree.
    pub path: PathBuf,
    /// `--path`: the Kustomization path relative to the repository root.
    pub kustomization_path: Option<String>,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// API server port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Move workloads to ready (the embedded simulator).
    pub workload_simulator: bool,
    /// `--worktree`: the files on disk, committed or not.
    pub worktree: bool,
    /// How often the branch head (or the work tree) is checked.
    pub poll_interval: Duration,
}

impl DevOptions {
    /// Defaults for PATH: `.flux-dev` data directory, port 6443, simulator on.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            kustomization_path: None,
            data_dir: PathBuf::from(".flux-dev"),
            port: 6443,
            workload_simulator: true,
            worktree: false,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// How [`Session::run`] draws and when it returns.
#[derive(Debug, Clone, Copy)]
pub struct RunMode {
    /// Return after the first complete reconciliation.
    pub once: bool,
    /// With `once`: give up after this long.
    pub timeout: Duration,
    /// Redraw the tree in place (a terminal); otherwise print changed lines.
    pub tty: bool,
    /// ANSI colours.
    pub color: bool,
}

/// Why `flux dev` failed (not a failed reconciliation: see [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The work tree could not be used.
    #[error(transparent)]
    WorkTree(#[from] WorkTreeError),
    /// The embedded cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Snapshotting the work tree failed.
    #[error("--worktree: {0}")]
    Snapshot(#[from] SnapshotError),
    /// The branch has no commit (and `--worktree` is off).
    #[error("branch '{branch}' of '{root}' has no commit yet; commit something or use --worktree")]
    NoCommit { branch: String, root: PathBuf },
    /// Writing the status failed.
    #[error("writing the status: {0}")]
    Output(#[source] std::io::Error),
}

/// How a [`Session::run`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every Kustomization is Ready at the current revision (`--once`).
    Ready {
        revision: String,
        kustomizations: usize,
        elapsed: Duration,
    },
    /// An object failed at the current revision (`--once`).
    Failed {
        object: String,
        reason: String,
        message: String,
    },
    /// `--timeout` passed first.
    TimedOut {
        waiting_for: String,
        after: Duration,
    },
    /// The shutdown future completed (Ctrl-C).
    Stopped,
}

impl Outcome {
    /// One line for the terminal.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Ready {
                revision,
                kustomizations,
                elapsed,
            } => format!(
                "all {kustomizations} Kustomizations Ready at {} in {:.1}s",
                status_tree::short_revision(revision),
                elapsed.as_secs_f64()
            ),
            Outcome::Failed {
                object,
                reason,
                message,
            } => format!("{object} failed: {reason}: {message}"),
            Outcome::TimedOut { waiting_for, after } => format!(
                "timed out after {}s waiting for {waiting_for}",
                after.as_secs()
            ),
            Outcome::Stopped => "stopped".into(),
        }
    }
}

/// A running `flux dev`.
pub struct Session {
    cluster: Cluster,
    work_tree: WorkTree,
    shadow: Option<ShadowRepo>,
    data: DataDir,
    bootstrap: Bootstrap,
    poll_interval: Duration,
    /// The commit the source must reach.
    commit: String,
    /// The last requestedAt token put on the root GitRepository.
    token: Option<String>,
}

fn now_token() -> String {
    jiff::Timestamp::now().to_string()
}

impl Session {
    /// Starts the cluster and points `flux-system` at the work tree.
    pub async fn start(options: &DevOptions) -> Result<Self, DevError> {
        let work_tree = WorkTree::locate(&options.path, options.kustomization_path.as_deref())?;
        let data = DataDir {
            root: cluster::absolute(&options.data_dir),
        };
        let mut shadow = None;
        let (branch, commit) = work_tree.head()?;
        let (url, commit) = if options.worktree {
            std::fs::create_dir_all(&data.root).map_err(|source| ClusterError::DataDir {
                path: data.root.clone(),
                source,
            })?;
            let excluded = vec![std::fs::canonicalize(&data.root).unwrap_or(data.root.clone())];
            let mut repo = ShadowRepo::open(&data.shadow_repo(), &work_tree.root, excluded)?;
            let commit = repo.sync(&branch)?;
            let url = work_tree::file_url(repo.dir());
            shadow = Some(repo);
            (url, commit)
        } else {
            (work_tree.url(), commit)
        };
        let commit = commit.ok_or_else(|| DevError::NoCommit {
            branch: branch.clone(),
            root: work_tree.root.clone(),
        })?;
        let cluster = Cluster::start(&data, options.port, options.workload_simulator).await?;
        let bootstrap = Bootstrap {
            url,
            branch,
            path: work_tree.kustomization_path.clone(),
            fleet_patches: work_tree.has_bootstrap_manifests(),
        };
        let mut session = Self {
            cluster,
            work_tree,
            shadow,
            data,
            bootstrap,
            poll_interval: options.poll_interval,
            commit,
            token: None,
        };
        if let Err(e) = session.apply_bootstrap().await {
            session.cluster.stop().await;
            return Err(e);
        }
        Ok(session)
    }

    async fn apply_bootstrap(&mut self) -> Result<(), DevError> {
        cluster::apply_bootstrap(&self.cluster.client, &self.bootstrap).await?;
        self.request_source().await
    }

    async fn request_source(&mut self) -> Result<(), DevError> {
        let token = now_token();
        cluster::request_reconcile(
            &self.cluster.client,
            &cluster::git_repositories(),
            FLUX_SYSTEM,
            FLUX_SYSTEM,
            &token,
        )
        .await?;
        self.token = Some(token);
        Ok(())
    }

    /// The kubeconfig for kubectl and flux.
    pub fn kubeconfig(&self) -> &std::path::Path {
        &self.cluster.kubeconfig
    }

    /// The API server's HTTPS URL.
    pub fn api_url(&self) -> String {
        format!("https://{}", self.cluster.api_addr)
    }

    /// An in-process admin client.
    pub fn client(&self) -> kube::Client {
        self.cluster.client.clone()
    }

    /// The GitRepository URL, branch and Kustomization path in use.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// The data directory (absolute).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data.root
    }

    /// The commit the source is expected to reach.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// Writes where things are and how to use them.
    pub fn announce(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let kubeconfig = self.kubeconfig().display();
        writeln!(out, "► API server listening on {}", self.api_url())?;
        writeln!(out, "► kubeconfig written to {kubeconfig}")?;
        writeln!(out, "    kubectl --kubeconfig {kubeconfig} get deploy -A")?;
        writeln!(
            out,
            "    flux --kubeconfig {kubeconfig} get kustomizations -A"
        )?;
        writeln!(
            out,
            "► GitRepository flux-system/flux-system: {} (branch {}{})",
            self.bootstrap.url,
            self.bootstrap.branch,
            if self.shadow.is_some() {
                ", snapshots of the work tree"
            } else {
                ""
            }
        )?;
        writeln!(
            out,
            "► Kustomization flux-system/flux-system: path {}",
            self.bootstrap.path
        )?;
        if self.bootstrap.fleet_patches {
            writeln!(
                out,
                "► flux bootstrap manifests found: their GitRepository flux-system is patched to the local repository and Flux's CRDs are left out (flux dev serves its own)"
            )?;
        }
        writeln!(out, "► state kept in {}", self.data.root.display())?;
        out.flush()
    }

    /// Checks the branch (or the work tree) once; on a new commit asks the source to
    /// reconcile now. Returns whether the commit changed.
    async fn poll_repo(&mut self) -> Result<bool, DevError> {
        let (branch, head) = self.work_tree.head()?;
        let commit = match &mut self.shadow {
            Some(shadow) => shadow.sync(&branch)?,
            None => head,
        };
        let branch_changed = branch != self.bootstrap.branch;
        if branch_changed {
            self.bootstrap.branch = branch;
            cluster::apply_bootstrap(&self.cluster.client, &self.bootstrap).await?;
        }
        match commit {
            Some(commit) if commit != self.commit || branch_changed => {
                self.commit = commit;
                self.request_source().await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Watches and draws until `shutdown` completes, or, with `mode.once`, until the
    /// first complete reconciliation (or the timeout).
    pub async fn run<W: Write + ?Sized>(
        &mut self,
        mode: RunMode,
        out: &mut W,
        shutdown: impl Future<Output = ()>,
    ) -> Result<Outcome, DevError> {
        tokio::pin!(shutdown);
        let started = Instant::now();
        let mut commit_seen_at = Instant::now();
        let mut last_poll = Instant::now();
        let mut last_objects = Instant::now() - Duration::from_secs(10);
        let mut kinds = HashMap::new();
        let mut object_statuses: HashMap<String, String> = HashMap::new();
        let mut drawn = Drawn::default();
        let mut settled: Option<String> = None;
        let style = Style {
            color: mode.color,
            ages: mode.tty,
            tree: mode.tty,
        };
        loop {
            if last_poll.elapsed() >= self.poll_interval {
                last_poll = Instant::now();
                if self.poll_repo().await? {
                    commit_seen_at = Instant::now();
                    settled = None;
                }
            }
            let objects = last_objects.elapsed() >= Duration::from_secs(1);
            if objects {
                last_objects = Instant::now();
            }
            let mut state =
                match status_tree::read_state(&self.cluster.client, objects, &mut kinds).await {
                    Ok(state) => state,
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the cluster state");
                        ClusterState::default()
                    }
                };
            // Object statuses are read once a second; in between, show the last ones.
            for object in state
                .kustomizations
                .iter_mut()
                .flat_map(|ks| ks.inventory.iter_mut())
            {
                let key = object.key();
                match &object.status {
                    Some(status) => {
                        object_statuses.insert(key, status.clone());
                    }
                    None => object.status = object_statuses.get(&key).cloned(),
                }
            }
            let verdict = status_tree::evaluate(
                &state,
                (FLUX_SYSTEM, FLUX_SYSTEM),
                &self.commit,
                self.token.as_deref(),
            );
            if objects || !mode.tty {
                let tree = status_tree::render(&state, style, jiff::Timestamp::now());
                drawn.draw(out, &tree, mode.tty).map_err(DevError::Output)?;
            }
            match &verdict {
                Verdict::AllReady {
                    kustomizations,
                    revision,
                } => {
                    if mode.once {
                        return Ok(Outcome::Ready {
                            revision: revision.clone(),
                            kustomizations: *kustomizations,
                            elapsed: started.elapsed(),
                        });
                    }
                    if settled.as_ref() != Some(revision) {
                        settled = Some(revision.clone());
                        let line = format!(
                            "✔ {} reconciled in {:.1}s",
                            status_tree::short_revision(revision),
                            commit_seen_at.elapsed().as_secs_f64()
                        );
                        drawn.note(out, &line, mode.tty).map_err(DevError::Output)?;
                    }
                }
                Verdict::Failed {
                    object,
                    reason,
                    message,
                } => {
                    if mode.once {
                        return Ok(Outcome::Failed {
                            object: object.clone(),
                            reason: reason.clone(),
                            message: message.clone(),
                        });
                    }
                    let key = format!("{object}:{reason}:{}", self.commit);
                    if settled.as_ref() != Some(&key) {
                        settled = Some(key);
                        let line = format!("✗ {object}: {reason}: {message}");
                        drawn.note(out, &line, mode.tty).map_err(DevError::Output)?;
                    }
                }
                Verdict::Pending(what) => {
                    if mode.once && started.elapsed() >= mode.timeout {
                        return Ok(Outcome::TimedOut {
                            waiting_for: what.clone(),
                            after: started.elapsed(),
                        });
                    }
                }
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(Outcome::Stopped),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Stops the controllers and the API server (the state stays on disk).
    pub async fn stop(self) {
        self.cluster.stop().await;
    }
}

/// What is on screen: the tree (redrawn in place on a TTY) and the notes printed.
#[derive(Default)]
struct Drawn {
    /// Lines of the tree currently on screen (TTY) or of the last state (plain).
    lines: Vec<String>,
}

impl Drawn {
    fn draw<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        tree: &str,
        tty: bool,
    ) -> std::io::Result<()> {
        let lines: Vec<String> = tree.lines().map(str::to_string).collect();
        if lines == self.lines {
            return Ok(());
        }
        if tty {
            if !self.lines.is_empty() {
                write!(out, "\x1b[{}A\x1b[J", self.lines.len())?;
            }
            for line in &lines {
                writeln!(out, "{line}")?;
            }
        } else {
            for line in &lines {
                if !self.lines.contains(line) {
                    writeln!(out, "{line}")?;
                }
            }
        }
        self.lines = lines;
        out.flush()
    }

    /// A line that stays: printed above the tree.
    fn note<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        line: &str,
        tty: bool,
    ) -> std::io::Result<()> {
        if tty && !self.lines.is_empty() {
            write!(out, "\x1b[{}A\x1b[J", self.lines.len())?;
            writeln!(out, "{line}")?;
            for l in &self.lines {
                writeln!(out, "{l}")?;
            }
        } else {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }
}
