//! Tests of `flux dev`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::flux;

/// Kills the child on drop so a failing assertion leaves no server behind.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dev_api_only_serves_https_and_writes_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = flux().get_program().to_owned();
    let child = Command::new(program)
        .args(["dev", "--api-only", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn flux dev");
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    assert!(
        first.starts_with("► API server listening on https://127.0.0.1:"),
        "{first}"
    );
    let kubeconfig = dir.path().join("kubeconfig");
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written");
    let server = first.trim_start_matches("► API server listening on ");
    assert!(text.contains(&format!("server: {server}")), "{text}");
    assert!(text.contains("certificate-authority-data: ") && text.contains("token: "));

    // The server keeps running until killed.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        assert!(
            child.0.try_wait().expect("wait").is_none(),
            "flux dev exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // And answers kubectl, when it is installed.
    if let Ok(out) = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["get", "ns", "-o", "name"])
        .output()
    {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("namespace/default"), "{stdout}");
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("kubectl is not installed and CI=true");
    } else {
        eprintln!("kubectl not installed: skipping the kubectl part of this test");
    }
}

/// The example's cluster directory inside the copied repository.
const CLUSTER_DIR: &str = "examples/fleet/clusters/dev";

/// Whether git is present; in CI its absence is a failure.
fn have_git() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "git is required for this test (CI=true)"
        );
        eprintln!("skipping: git is not installed");
    }
    ok
}

/// $KUBECTL or `kubectl`; `None` (a skip) outside CI when missing.
fn kubectl() -> Option<PathBuf> {
    let candidate =
        std::env::var_os("KUBECTL").map_or_else(|| PathBuf::from("kubectl"), PathBuf::from);
    let ok = Command::new(&candidate)
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required for this test (CI=true); set KUBECTL"
        );
        eprintln!("skipping: kubectl is not installed");
        return None;
    }
    Some(candidate)
}

fn git(dir: &Path, args: &[&str]) {
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
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read examples") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A temporary Git repository (branch main) holding a copy of examples/; returns
/// (temp dir, repository root).
fn example_repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    copy_dir(&examples, &root.join("examples"));
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "examples"]);
    (dir, root)
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replace(from, to)).expect("write");
}

#[test]
fn dev_once_on_the_example_exits_zero() {
    if !have_git() {
        return;
    }
    let (dir, root) = example_repo();
    let out = flux()
        .arg("dev")
        .arg(root.join(CLUSTER_DIR))
        .args(["--once", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .timeout(Duration::from_secs(90))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("► kubeconfig written to "), "{stdout}");
    assert!(
        stdout.contains(
            "► Kustomization flux-system/flux-system: path ./examples/fleet/clusters/dev"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("✔ all 3 Kustomizations Ready at main@sha1:"),
        "{stdout}"
    );
}

#[test]
fn dev_once_on_a_broken_example_is_a_one_line_error() {
    if !have_git() {
        return;
    }
    let (dir, root) = example_repo();
    replace_in(
        &root.join("examples/fleet/infrastructure/dev/kustomization.yaml"),
        "  - ../base\n",
        "  - ../base\n  - redis-sentinel.yaml\n",
    );
    git(
        &root,
        &["commit", "-q", "-am", "break the infrastructure overlay"],
    );
    let out = flux()
        .arg("dev")
        .arg(&root)
        .args(["--path", CLUSTER_DIR, "--once", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .timeout(Duration::from_secs(90))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("Kustomization flux-system/infrastructure failed: BuildFailed: "),
        "{stderr}"
    );
    assert!(stderr.contains("redis-sentinel.yaml"), "{stderr}");
}

#[test]
fn dev_outside_a_git_work_tree_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = flux()
        .arg("dev")
        .arg(dir.path())
        .args(["--once", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("is not inside a Git work tree"), "{stderr}");
}

/// `kubectl get deploy -A` lines, or the error.
fn get_deployments(kubectl: &Path, kubeconfig: &str) -> String {
    match Command::new(kubectl)
        .args([
            "--kubeconfig",
            kubeconfig,
            "get",
            "deploy",
            "-A",
            "--no-headers",
        ])
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => e.to_string(),
    }
}

fn wait_for_deployments(kubectl: &Path, kubeconfig: &str, limit: Duration, want: &str) -> String {
    let started = Instant::now();
    loop {
        let text = get_deployments(kubectl, kubeconfig);
        let found = text.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() >= 3 && cols[0] == "apps" && cols[1] == "podinfo" && cols[2] == want
        });
        if found {
            return text;
        }
        assert!(
            started.elapsed() < limit,
            "podinfo not {want} within {limit:?}; kubectl get deploy -A:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn dev_live_reconciles_new_commits_and_kubectl_sees_the_workloads() {
    if !have_git() {
        return;
    }
    let Some(kubectl) = kubectl() else {
        return;
    };
    let (dir, root) = example_repo();
    let program = flux().get_program().to_owned();
    let child = Command::new(program)
        .arg("dev")
        .arg(root.join(CLUSTER_DIR))
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn flux dev");
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let kubeconfig = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("flux dev prints where the kubeconfig is");
        if let Some(path) = line.strip_prefix("► kubeconfig written to ") {
            break path.to_string();
        }
    };
    let listed = wait_for_deployments(&kubectl, &kubeconfig, Duration::from_secs(40), "2/2");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("infrastructure") && l.contains("redis")),
        "{listed}"
    );

    replace_in(
        &root.join("examples/fleet/clusters/dev/apps.yaml"),
        "podinfo_replicas: \"2\"",
        "podinfo_replicas: \"3\"",
    );
    git(&root, &["commit", "-q", "-am", "scale podinfo to 3"]);
    let committed = Instant::now();
    wait_for_deployments(&kubectl, &kubeconfig, Duration::from_secs(20), "3/3");
    eprintln!("commit → 3/3 in kubectl: {:?}", committed.elapsed());
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "flux dev exited"
    );
    // The plain (non-TTY) status names the Kustomizations.
    let printed: Vec<String> = rx.try_iter().collect();
    assert!(
        printed
            .iter()
            .any(|l| l.contains("Kustomization flux-system/apps")),
        "{printed:?}"
    );
}
