//! Tests of `flux export`.

use serde_json::json;

use super::cluster::{TestCluster, outputs};

fn seed(c: &TestCluster) {
    c.create(&json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system",
                     "labels": {"kustomize.toolkit.fluxcd.io/name": "flux-system"},
                     "annotations": {"team": "platform"}},
        "spec": {"url": "ssh://git@github.com/example/repo", "interval": "5m",
                 "ref": {"branch": "main"}, "secretRef": {"name": "flux-system"}},
    }));
    c.create(&json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"interval": "5m", "path": "./infrastructure/", "prune": true, "force": false,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }));
    c.create(&json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "1h", "retryInterval": "90s", "path": "./apps", "prune": false,
                 "dependsOn": [{"name": "flux-system"}],
                 "postBuild": {"substitute": {"empty": "", "off": "false"},
                               "substituteFrom": [{"kind": "ConfigMap", "name": "vars", "optional": false}]},
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }));
    c.patch_status(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "apps",
        json!({"observedGeneration": 1, "lastAppliedRevision": "main@sha1:1234"}),
    );
}

#[test]
fn export_source_git_matches_upstream_shape() {
    let c = TestCluster::start();
    seed(&c);
    let out = c
        .flux()
        .args(["export", "source", "git", "flux-system"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn export_kustomization_all_drops_status_and_server_fields() {
    let c = TestCluster::start();
    seed(&c);
    let out = c
        .flux()
        .args(["export", "kustomization", "--all"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stdout.contains("status")
            && !stdout.contains("uid")
            && !stdout.contains("resourceVersion")
    );
    insta::assert_snapshot!(stdout);
    // The export applies back unchanged.
    let docs = flux_object::yaml::parse_documents(&stdout).expect("yaml");
    assert_eq!(docs.len(), 2);
}

#[test]
fn export_errors() {
    let c = TestCluster::start();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["export", "source", "git"], "✗ name is required\n"),
        (
            vec!["export", "source", "git", "nope"],
            "✗ gitrepositories.source.toolkit.fluxcd.io \"nope\" not found\n",
        ),
        (
            vec!["export", "ks", "--all"],
            "✗ no objects found in flux-system namespace\n",
        ),
    ];
    for (args, expected) in cases {
        let out = c.flux().args(&args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr, expected, "{args:?}");
    }
}
