//! The CLI against real controllers: `flux dev` (embedded API server + in-process
//! source- and kustomize-controller) on a Git copy of examples/fleet, driven by `flux get`,
//! `reconcile`, `suspend`/`resume`, `tree` and `trace` through its kubeconfig.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::outputs;
use super::flux;

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn git_available() -> bool {
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

fn run_git(dir: &Path, args: &[&str]) {
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

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `flux <args> --kubeconfig <kubeconfig>` with colours off; (exit code, stdout, stderr).
fn run_flux(kubeconfig: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = flux()
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flux");
    let (stdout, stderr) = outputs(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn cli_drives_flux_dev_controllers() {
    if !git_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"),
        &root.join("examples"),
    );
    run_git(&root, &["init", "-q", "-b", "main"]);
    run_git(&root, &["add", "-A"]);
    run_git(&root, &["commit", "-q", "-m", "examples"]);
    let child = Command::new(flux().get_program())
        .arg("dev")
        .arg(root.join("examples/fleet/clusters/dev"))
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
    let kubeconfig: PathBuf = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("flux dev prints where the kubeconfig is");
        if let Some(path) = line.strip_prefix("► kubeconfig written to ") {
            break PathBuf::from(path);
        }
    };
    let kubeconfig = kubeconfig.display().to_string();

    // Everything becomes Ready (the real controllers reconcile the fleet).
    let started = Instant::now();
    let table = loop {
        let (code, stdout, _) = run_flux(&kubeconfig, &["get", "ks", "--no-header"]);
        let rows: Vec<&str> = stdout.lines().collect();
        if code == Some(0) && rows.len() >= 3 && rows.iter().all(|r| r.contains("\tTrue")) {
            break stdout;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "Kustomizations not Ready in 90s:\n{stdout}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(table.contains("Applied revision: main@sha1:"), "{table}");
    let (code, stdout, stderr) = run_flux(&kubeconfig, &["get", "sources", "git"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("flux-system") && stdout.contains("stored artifact"),
        "{stdout}"
    );

    // A reconcile request is handled by the real controllers.
    let (code, _, stderr) = run_flux(
        &kubeconfig,
        &[
            "reconcile",
            "ks",
            "flux-system",
            "--with-source",
            "--timeout",
            "60s",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("✔ fetched revision main@sha1:"), "{stderr}");
    assert!(
        stderr.ends_with("\n") && stderr.contains("✔ applied revision main@sha1:"),
        "{stderr}"
    );

    // The tree shows the nested Kustomizations and their workloads.
    let (code, tree, stderr) = run_flux(&kubeconfig, &["tree", "ks", "flux-system"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        tree.starts_with("Kustomization/flux-system/flux-system\n"),
        "{tree}"
    );
    assert!(tree.contains("── Kustomization/flux-system/apps"), "{tree}");
    assert!(tree.contains("Deployment/"), "{tree}");

    // trace goes from a workload back to the Kustomization and the GitRepository.
    let deployment = tree
        .lines()
        .find_map(|l| l.split("Deployment/").nth(1))
        .expect("a Deployment in the tree")
        .to_owned();
    let (ns, name) = deployment.split_once('/').expect("namespaced");
    let (code, trace, stderr) = run_flux(
        &kubeconfig,
        &["trace", &format!("deployment/{name}"), "-n", ns],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        trace.contains("Status:          Managed by Flux"),
        "{trace}"
    );
    assert!(trace.contains("GitRepository:   flux-system"), "{trace}");

    // suspend / resume (resume waits for the controller).
    let (code, _, stderr) = run_flux(&kubeconfig, &["suspend", "ks", "apps"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, stdout, _) = run_flux(&kubeconfig, &["get", "ks", "apps", "--no-header"]);
    let suspended = stdout.split('\t').nth(2).map(str::trim);
    assert_eq!(suspended, Some("True"), "{stdout}");
    let (code, _, stderr) = run_flux(&kubeconfig, &["resume", "ks", "apps", "--timeout", "60s"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("✔ Kustomization apps reconciliation completed"),
        "{stderr}"
    );
}
