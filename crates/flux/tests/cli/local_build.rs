//! Tests of `flux build kustomization`, `flux diff kustomization` and `flux envsubst`.

use std::path::Path;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::cluster::{TestCluster, outputs, resource};
use super::flux;

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// A repo with `apps/` (kustomization + configmap with variables + deployment).
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "apps/kustomization.yaml",
        "resources:\n- config.yaml\n- deploy.yaml\n",
    );
    write(
        dir.path(),
        "apps/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  env: ${cluster_env}\n  region: ${cluster_region:=eu-west-1}\n",
    );
    write(
        dir.path(),
        "apps/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
    );
    write(
        dir.path(),
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 5m\n  path: ./apps\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: default\n  postBuild:\n    substitute:\n      cluster_env: prod\n",
    );
    dir
}

#[test]
fn build_kustomization_dry_run_applies_overlay_and_substitution() {
    let dir = repo();
    let out = flux()
        .args(["build", "kustomization", "apps", "--dry-run", "--path"])
        .arg(dir.path().join("apps"))
        .arg("--kustomization-file")
        .arg(dir.path().join("ks.yaml"))
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);

    let out = flux()
        .args([
            "build",
            "ks",
            "apps",
            "--dry-run",
            "--strict-substitute",
            "--path",
        ])
        .arg(dir.path().join("apps"))
        .arg("--kustomization-file")
        .arg(dir.path().join("ks.yaml"))
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert!(
        out.status.success(),
        "a default satisfies strict mode: {stdout}"
    );
}

#[test]
fn build_kustomization_reads_the_cluster_object_and_its_variables() {
    let dir = repo();
    let c = TestCluster::start();
    c.create(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cluster-vars", "namespace": "flux-system"},
        "data": {"cluster_region": "us-east-2", "cluster_env": "overridden"},
    }));
    c.create(&json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"interval": "5m", "path": "./apps", "prune": true, "targetNamespace": "staging",
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                 "postBuild": {"substitute": {"cluster_env": "staging"},
                               "substituteFrom": [{"kind": "ConfigMap", "name": "cluster-vars"}]}},
    }));
    let out = c
        .flux()
        .args(["build", "kustomization", "apps", "--path"])
        .arg(dir.path().join("apps"))
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("  env: staging\n"),
        "substitute wins over substituteFrom: {stdout}"
    );
    assert!(stdout.contains("  region: us-east-2\n"), "{stdout}");
    assert!(stdout.contains("  namespace: staging\n"), "{stdout}");
}

#[test]
fn build_kustomization_errors() {
    let dir = repo();
    let c = TestCluster::start();
    let apps = dir.path().join("apps").display().to_string();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["build".into(), "ks".into()],
            "✗ kustomization name is required\n".into(),
        ),
        (
            vec![
                "build".into(),
                "ks".into(),
                "apps".into(),
                "--path".into(),
                "/nonexistent".into(),
            ],
            "✗ invalid resource path \"/nonexistent\"\n".into(),
        ),
        (
            vec![
                "build".into(),
                "ks".into(),
                "apps".into(),
                "--dry-run".into(),
                "--path".into(),
                apps.clone(),
            ],
            "✗ dry-run mode requires a kustomization file\n".into(),
        ),
        (
            vec![
                "build".into(),
                "ks".into(),
                "apps".into(),
                "--path".into(),
                apps.clone(),
            ],
            "✗ kustomizations.kustomize.toolkit.fluxcd.io \"apps\" not found\n".into(),
        ),
    ];
    for (args, expected) in cases {
        let out = c.flux().args(&args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr, expected, "{args:?}");
    }
}

#[test]
fn diff_kustomization_reports_drift_and_exits_1() {
    let dir = repo();
    let c = TestCluster::start();
    let ks: serde_json::Value = flux_object::yaml::parse_document(
        &std::fs::read_to_string(dir.path().join("ks.yaml")).expect("read"),
    )
    .expect("yaml");
    c.create(&ks);
    // The live ConfigMap differs; the Deployment does not exist yet.
    c.create(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default",
                     "labels": {"kustomize.toolkit.fluxcd.io/name": "apps",
                                "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
        "data": {"env": "dev", "region": "eu-west-1"},
    }));
    let out = c
        .flux()
        .args(["diff", "kustomization", "apps", "--path"])
        .arg(dir.path().join("apps"))
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "⚠️ identified at least one change, exiting with non-zero exit code\n"
    );
    insta::assert_snapshot!(stdout);

    // Apply exactly what was built, as kustomize-controller would: no diff, exit 0.
    let built = flux()
        .args(["build", "ks", "apps", "--dry-run", "--path"])
        .arg(dir.path().join("apps"))
        .arg("--kustomization-file")
        .arg(dir.path().join("ks.yaml"))
        .output()
        .expect("build");
    for doc in
        flux_object::yaml::parse_documents(&String::from_utf8_lossy(&built.stdout)).expect("yaml")
    {
        let ar = resource(
            doc["apiVersion"].as_str().expect("v"),
            doc["kind"].as_str().expect("k"),
        );
        let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), "default", &ar);
        let name = doc["metadata"]["name"].as_str().expect("name").to_owned();
        c.runtime
            .block_on(api.patch(
                &name,
                &PatchParams::apply("kustomize-controller").force(),
                &Patch::Apply(&doc),
            ))
            .expect("apply");
    }
    let out = c
        .flux()
        .args(["diff", "ks", "apps", "--path"])
        .arg(dir.path().join("apps"))
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stdout, "");

    // Errors exit 2.
    let out = c
        .flux()
        .args(["diff", "ks", "nope", "--path"])
        .arg(dir.path().join("apps"))
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr,
        "✗ kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found\n"
    );
    let out = c
        .flux()
        .args(["diff", "ks", "nope", "--ignore-not-found", "--path"])
        .arg(dir.path().join("apps"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn envsubst_substitutes_from_the_environment() {
    let out = flux()
        .arg("envsubst")
        .env("FLUX_TEST_NAME", "podinfo")
        .env_remove("FLUX_TEST_UNSET")
        .write_stdin("name: ${FLUX_TEST_NAME}\nreplicas: ${FLUX_TEST_UNSET:=2}\nkeep: $${FLUX_TEST_NAME}\nempty: '${FLUX_TEST_UNSET}'\n")
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "name: podinfo\nreplicas: 2\nkeep: ${FLUX_TEST_NAME}\nempty: ''\n"
    );

    let out = flux()
        .args(["envsubst", "--strict"])
        .env_remove("FLUX_TEST_UNSET")
        .env("NO_COLOR", "1")
        .write_stdin("a: ${FLUX_TEST_UNSET}\n")
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        "✗ variable not set (strict mode): \"FLUX_TEST_UNSET\"\n"
    );
}
