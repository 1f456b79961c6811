//! Tests of `flux get`.

use serde_json::json;

use super::cluster::{TestCluster, outputs, redact};

const SHA: &str = "main@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9";

fn git_repository(name: &str, ns: &str) -> serde_json::Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": name}},
        "spec": {"url": "https://example.com/repo.git", "interval": "1m", "ref": {"branch": "main"}},
    })
}

fn kustomization(name: &str, ns: &str) -> serde_json::Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"interval": "10m", "path": "./apps", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "podinfo"}},
    })
}

/// A cluster with two GitRepositories (one Ready) and a Kustomization in flux-system, and a
/// suspended Kustomization in `apps`.
fn populated() -> TestCluster {
    let c = TestCluster::start();
    c.create(&git_repository("podinfo", "flux-system"));
    c.create(&git_repository("broken", "flux-system"));
    c.create(&kustomization("apps", "flux-system"));
    c.create(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}));
    let mut suspended = kustomization("tenant", "apps");
    suspended["spec"]["suspend"] = json!(true);
    c.create(&suspended);
    c.patch_status(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "flux-system",
        "podinfo",
        json!({
            "observedGeneration": 1,
            "artifact": {"revision": SHA, "path": "p", "url": "http://x/p", "digest": "sha256:00",
                         "lastUpdateTime": "2026-11-22T00:00:00Z"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                            "message": format!("stored artifact for revision '{SHA}'"),
                            "lastTransitionTime": "2026-11-22T00:00:00Z"}],
        }),
    );
    c.patch_status(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "flux-system",
        "broken",
        json!({
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "False", "reason": "GitOperationFailed",
                            "message": "failed to checkout and determine revision: unable to clone",
                            "lastTransitionTime": "2026-11-22T00:00:00Z"}],
        }),
    );
    c.patch_status(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "apps",
        json!({
            "observedGeneration": 1,
            "lastAppliedRevision": SHA,
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                            "message": format!("Applied revision: {SHA}"),
                            "lastTransitionTime": "2026-11-22T00:00:00Z"}],
        }),
    );
    c
}

#[test]
fn get_sources_git_prints_upstream_table() {
    let c = populated();
    let out = c
        .flux()
        .args(["get", "sources", "git"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn get_sources_git_by_name_and_status_selector() {
    let c = populated();
    let out = c
        .flux()
        .args(["get", "sources", "git", "podinfo"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("podinfo") && !stdout.contains("broken"));

    let out = c
        .flux()
        .args([
            "get",
            "sources",
            "git",
            "--status-selector",
            "ready=false",
            "--no-header",
        ])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    insta::assert_snapshot!("status_selector_ready_false", stdout);

    let out = c
        .flux()
        .args(["get", "sources", "git", "--status-selector", "ready!=true"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert!(
        stdout.contains("broken") && !stdout.contains("podinfo"),
        "{stdout}"
    );

    let out = c
        .flux()
        .args(["get", "sources", "git", "-l", "team=podinfo"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert!(
        stdout.contains("podinfo") && !stdout.contains("broken"),
        "{stdout}"
    );
}

#[test]
fn get_kustomizations_all_namespaces_with_source() {
    let c = populated();
    let out = c
        .flux()
        .args(["get", "ks", "-A", "--show-source"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn get_all_prints_one_table_per_kind() {
    let c = populated();
    let out = c.flux().args(["get", "all"]).output().expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);
    let out = c
        .flux()
        .args(["get", "all", "--watch"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(!out.status.success());
    assert_eq!(stderr, "✗ expected a single resource type, but found all\n");
}

#[test]
fn get_watch_prints_changes() {
    use std::io::{BufRead as _, BufReader};
    let c = populated();
    let mut child = std::process::Command::new(c.flux().get_program())
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args([
            "get",
            "sources",
            "git",
            "podinfo",
            "--watch",
            "--timeout",
            "20s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let header = lines.next().expect("header").expect("utf-8");
    assert!(header.starts_with("NAME"), "{header}");
    let first = lines.next().expect("row").expect("utf-8");
    assert!(first.contains("True"), "{first}");
    c.patch_status(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "flux-system",
        "podinfo",
        json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Progressing",
                               "message": "reconciliation in progress",
                               "lastTransitionTime": "2026-11-22T00:00:01Z"}]}),
    );
    let changed = lines.next().expect("changed row").expect("utf-8");
    let _ = child.kill();
    let _ = child.wait();
    assert!(changed.contains("reconciliation in progress"), "{changed}");
}

#[test]
fn get_errors_are_one_line() {
    let c = populated();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["get", "sources", "git", "nope"],
            "✗ GitRepository object 'nope' not found in \"flux-system\" namespace\n",
        ),
        (
            vec!["get", "ks", "-n", "default"],
            "✗ no Kustomization objects found in \"default\" namespace\n",
        ),
        (
            vec!["get", "ks", "--status-selector", "ready"],
            "✗ expected status selector in type=status or type!=status format, but found: ready\n",
        ),
        (
            vec!["get", "ks", "-n", "Not_A_Namespace"],
            "✗ namespace must be a valid DNS label: \"Not_A_Namespace\"\n",
        ),
    ];
    for (args, expected) in cases {
        let out = c.flux().args(&args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(redact(&stderr, &c), expected, "{args:?}");
    }
}
