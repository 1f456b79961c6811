//! Tests of `flux tree kustomization`, `flux trace` and `flux events`.

use serde_json::json;

use super::cluster::{TestCluster, outputs};

const REV: &str = "main@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9";

fn inventory(ids: &[&str]) -> serde_json::Value {
    json!({"entries": ids.iter().map(|id| json!({"id": id, "v": "v1"})).collect::<Vec<_>>()})
}

/// flux-system (source + Kustomization managing a Deployment, a nested Kustomization and the
/// source) as a bootstrapped cluster looks, with a workload in `default`.
fn fleet() -> TestCluster {
    let c = TestCluster::start();
    c.create(&json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"url": "ssh://git@github.com/example/fleet", "interval": "1m", "ref": {"branch": "main"}},
    }));
    c.patch_status(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "flux-system",
        "flux-system",
        json!({
            "observedGeneration": 1,
            "artifact": {"revision": REV, "path": "p", "url": "http://x/p", "digest": "sha256:00",
                         "lastUpdateTime": "2026-11-22T10:00:00Z"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                            "message": format!("stored artifact for revision '{REV}'"),
                            "lastTransitionTime": "2026-11-22T10:00:00Z"}],
        }),
    );
    for (name, path) in [
        ("flux-system", "./clusters/prod"),
        ("infrastructure", "./infrastructure"),
    ] {
        let mut ks = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"interval": "10m", "path": path, "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        });
        if name == "infrastructure" {
            ks["spec"]["targetNamespace"] = json!("default");
        }
        c.create(&ks);
    }
    c.patch_status(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "flux-system",
        json!({
            "observedGeneration": 1, "lastAppliedRevision": REV,
            "inventory": inventory(&[
                "_flux-system__Namespace",
                "flux-system_fluxd_apps_Deployment",
                "flux-system_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization",
                "flux-system_flux-system_source.toolkit.fluxcd.io_GitRepository",
            ]),
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                            "message": format!("Applied revision: {REV}"),
                            "lastTransitionTime": "2026-11-22T10:00:01Z"}],
        }),
    );
    c.patch_status(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        "infrastructure",
        json!({
            "observedGeneration": 1, "lastAppliedRevision": REV,
            "inventory": inventory(&[
                "_cert-manager__Namespace",
                "default_podinfo_apps_Deployment",
                "cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository",
            ]),
            "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                            "message": format!("Applied revision: {REV}"),
                            "lastTransitionTime": "2026-11-22T10:00:02Z"}],
        }),
    );
    c.create(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "podinfo", "namespace": "default",
                     "labels": {"kustomize.toolkit.fluxcd.io/name": "infrastructure",
                                "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
        "spec": {"selector": {"matchLabels": {"app": "podinfo"}},
                 "template": {"metadata": {"labels": {"app": "podinfo"}},
                              "spec": {"containers": [{"name": "podinfo", "image": "podinfo:6"}]}}},
    }));
    c.create(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "unmanaged", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": {"labels": {"app": "x"}},
                              "spec": {"containers": [{"name": "x", "image": "x"}]}}},
    }));
    c
}

#[test]
fn tree_kustomization_matches_upstream_golden_shape() {
    let c = fleet();
    let out = c
        .flux()
        .args(["tree", "kustomization", "flux-system"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "Kustomization/flux-system/flux-system
├── Namespace/flux-system
├── Deployment/flux-system/fluxd
├── Kustomization/flux-system/infrastructure
│   ├── Namespace/cert-manager
│   ├── Deployment/default/podinfo
│   └── HelmRepository/cert-manager/cert-manager
└── GitRepository/flux-system/flux-system

"
    );
    let out = c
        .flux()
        .args(["tree", "ks", "flux-system", "--compact"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert_eq!(
        stdout,
        "Kustomization/flux-system/flux-system
├── Kustomization/flux-system/infrastructure
│   └── HelmRepository/cert-manager/cert-manager
└── GitRepository/flux-system/flux-system

"
    );
    let out = c
        .flux()
        .args(["tree", "ks", "infrastructure", "-o", "json"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["resource"]["Kind"], "Kustomization");
    assert_eq!(v["resources"][1]["resource"]["Name"], "podinfo");
    let out = c.flux().args(["tree", "ks", "nope"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        "✗ kustomizations.kustomize.toolkit.fluxcd.io \"nope\" not found\n"
    );
}

#[test]
fn trace_finds_the_kustomization_and_source() {
    let c = fleet();
    let out = c
        .flux()
        .args(["trace", "deployment/podinfo", "-n", "default"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);
    let out = c
        .flux()
        .args([
            "trace",
            "podinfo",
            "--kind",
            "Deployment",
            "--api-version",
            "apps/v1",
            "-n",
            "default",
        ])
        .output()
        .expect("run");
    let (again, _) = outputs(&out);
    assert_eq!(again, stdout);

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["trace", "deployment/unmanaged", "-n", "default"],
            "✗ failed to trace Deployment/unmanaged in namespace default: object not managed by Flux\n",
        ),
        (
            vec!["trace", "deployment/nope", "-n", "default"],
            "✗ failed to find object: deployments.apps \"nope\" not found\n",
        ),
        (
            vec!["trace", "frobs/x"],
            "✗ the server doesn't have a resource type \"frobs\"\n",
        ),
        (
            vec!["trace", "x", "--kind", "Deployment"],
            "✗ both --kind and --api-version must be specified, or neither\n",
        ),
    ];
    for (args, expected) in cases {
        let out = c.flux().args(&args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr, expected, "{args:?}");
    }
}

#[test]
fn events_lists_flux_events_and_filters_with_for() {
    let c = fleet();
    let ten_days_ago = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(240))
        .expect("time")
        .to_string();
    let event = |name: &str, kind: &str, obj: &str, reason: &str, type_: &str, msg: &str| {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "flux-system"},
            "involvedObject": {"kind": kind, "name": obj, "namespace": "flux-system"},
            "reason": reason, "type": type_, "message": msg, "count": 1,
            "firstTimestamp": ten_days_ago, "lastTimestamp": ten_days_ago,
            "source": {"component": "kustomize-controller"},
        })
    };
    c.create(&event(
        "e1",
        "GitRepository",
        "flux-system",
        "NewArtifact",
        "Normal",
        "stored artifact for commit 'init'",
    ));
    c.create(&event(
        "e2",
        "Kustomization",
        "flux-system",
        "ReconciliationSucceeded",
        "Normal",
        "Reconciliation finished in 1.2s",
    ));
    c.create(&event(
        "e3",
        "Kustomization",
        "infrastructure",
        "HealthCheckFailed",
        "Warning",
        "health check failed",
    ));
    c.create(&event(
        "e4",
        "Pod",
        "fluxd-1",
        "Pulled",
        "Normal",
        "image pulled",
    ));

    let out = c.flux().arg("events").output().expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!("events_all", stdout);

    let out = c
        .flux()
        .args(["events", "--for", "Kustomization/flux-system"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    insta::assert_snapshot!("events_for_kustomization", stdout);

    let out = c
        .flux()
        .args(["events", "--types", "Warning"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");

    let out = c
        .flux()
        .args(["events", "-n", "default"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(stderr, "✗ No events found in default namespace.\n");
    let out = c
        .flux()
        .args(["events", "--for", "Pod/x"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr, "✗ 'Pod' is not a recognized Flux kind\n");
    let out = c
        .flux()
        .args(["events", "--types", "Fatal"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(
        stderr,
        "✗ type 'Fatal' not supported. Supported types are Normal, Warning\n"
    );
}

#[test]
fn logs_without_controllers_is_a_clear_error() {
    let c = TestCluster::start();
    let out = c.flux().arg("logs").output().expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        "✗ no Flux pods found in namespace \"flux-system\"\n"
    );
    let out = c
        .flux()
        .args(["logs", "--level", "trace"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn events_watch_streams_new_events() {
    use std::io::{BufRead as _, BufReader};
    let c = fleet();
    let event = |name: &str, reason: &str| {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "flux-system"},
            "involvedObject": {"kind": "Kustomization", "name": "apps", "namespace": "flux-system"},
            "reason": reason, "type": "Normal", "message": reason, "count": 1,
            "firstTimestamp": jiff::Timestamp::now().to_string(),
            "lastTimestamp": jiff::Timestamp::now().to_string(),
        })
    };
    c.create(&event("first", "Progressing"));
    let mut child = std::process::Command::new(c.flux().get_program())
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args(["events", "--watch", "--timeout", "20s"])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let header = lines.next().expect("header").expect("utf-8");
    assert!(header.starts_with("LAST SEEN"), "{header}");
    let first = lines.next().expect("row").expect("utf-8");
    assert!(first.contains("Progressing"), "{first}");
    c.create(&event("second", "ReconciliationSucceeded"));
    let second = lines.next().expect("row").expect("utf-8");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        second.contains("ReconciliationSucceeded") && !second.starts_with("LAST"),
        "{second}"
    );
}

#[test]
fn logs_read_the_flux_dev_log_next_to_its_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `flux dev` writes DATA_DIR/kubeconfig and DATA_DIR/flux-dev.log; no cluster is dialled.
    std::fs::write(
        dir.path().join("kubeconfig"),
        "apiVersion: v1\nkind: Config\n",
    )
    .expect("w");
    let lines = [
        r#"{"timestamp":"2026-11-22T23:52:08Z","level":"INFO","fields":{"message":"reconcile failed","object":"flux-system/apps","reason":"ArtifactFailed","message":"Source artifact not found, retrying"},"target":"flux_runtime::controller","span":{"object.ref":"Kustomization.v1.kustomize.toolkit.fluxcd.io/flux-system.apps","name":"reconciling object"}}"#,
        r#"{"timestamp":"2026-11-22T23:52:09Z","level":"INFO","fields":{"message":"stored artifact","object":"flux-system/flux-system"},"target":"source_controller","span":{"object.ref":"GitRepository.v1.source.toolkit.fluxcd.io/flux-system.flux-system","name":"reconciling object"}}"#,
        r#"{"timestamp":"2026-11-22T23:52:10Z","level":"ERROR","fields":{"message":"health check failed","object":"tenant/web"},"target":"flux_runtime::controller","span":{"object.ref":"Kustomization.v1.kustomize.toolkit.fluxcd.io/tenant.web","name":"reconciling object"}}"#,
        "not json",
    ];
    std::fs::write(dir.path().join("flux-dev.log"), lines.join("\n") + "\n").expect("w");
    let kubeconfig = dir.path().join("kubeconfig");
    let run = |extra: &[&str]| {
        let out = super::flux()
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("logs")
            .args(extra)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        run(&["--kind", "Kustomization"]),
        "2026-11-22T23:52:08Z info Kustomization/apps.flux-system - Source artifact not found, retrying \n"
    );
    let all = run(&["-A"]);
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(
        all.contains("error Kustomization/web.tenant - health check failed"),
        "{all}"
    );
    assert_eq!(
        run(&["-A", "--tail", "1"]),
        "2026-11-22T23:52:10Z error Kustomization/web.tenant - health check failed \n"
    );
    assert_eq!(run(&["--name", "nope"]), "");
    assert_eq!(
        run(&["--level", "info", "--kind", "GitRepository"]),
        "2026-11-22T23:52:09Z info GitRepository/flux-system.flux-system - stored artifact \n"
    );
}
