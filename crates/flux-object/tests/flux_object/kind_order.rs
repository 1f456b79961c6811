//! kustomize's legacy order (checked against `kubectl kustomize` when present) and Flux's
//! staged-apply classification.

use std::process::Command;

use flux_object::kind_order::{
    ApplyStage, GroupKind, LEGACY_ORDER_FIRST, apply_stage, legacy_kind_rank, sort_legacy,
    sort_legacy_with,
};
use flux_object::yaml::{parse_documents, to_multi_doc_string};
use serde_json::{Value, json};

fn obj(api_version: &str, kind: &str, namespace: &str, name: &str) -> Value {
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), json!(name));
    if !namespace.is_empty() {
        metadata.insert("namespace".into(), json!(namespace));
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
}

fn ids(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn mixed_objects() -> Vec<Value> {
    vec![
        obj(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            "",
            "vwc",
        ),
        obj("apps/v1", "Deployment", "b", "web"),
        obj("apps/v1", "Deployment", "a", "web"),
        obj("apps/v1", "Deployment", "a", "api"),
        obj("example.com/v1", "Widget", "a", "w"),
        obj("apps/v1", "DaemonSet", "a", "ds"),
        obj(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            "",
            "mwc",
        ),
        obj("v1", "Service", "a", "svc"),
        obj("v1", "ConfigMap", "a", "cm"),
        obj("v1", "Namespace", "", "a"),
        obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "widgets.example.com",
        ),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "cr"),
        obj("batch/v1", "Job", "a", "job"),
        obj("v1", "Secret", "a", "s"),
        obj("networking.k8s.io/v1", "Ingress", "a", "ing"),
        obj("v1", "ServiceAccount", "a", "sa"),
        obj("example.com/v2", "Widget", "a", "w2"),
        obj("apps/v1", "StatefulSet", "a", "db"),
        obj("policy/v1", "PodDisruptionBudget", "a", "pdb"),
    ]
}

#[test]
fn legacy_order() {
    let mut objects = mixed_objects();
    sort_legacy(&mut objects);
    // Unlisted kinds (rank 0) sit between the first and last kinds, by group_version_kind.
    let want = [
        "Namespace//a",
        "CustomResourceDefinition//widgets.example.com",
        "ServiceAccount/a/sa",
        "ClusterRole//cr",
        "ConfigMap/a/cm",
        "Secret/a/s",
        "Service/a/svc",
        "Deployment/a/api",
        "Deployment/a/web",
        "Deployment/b/web",
        "StatefulSet/a/db",
        "PodDisruptionBudget/a/pdb",
        "DaemonSet/a/ds",
        "Job/a/job",
        "Widget/a/w",
        "Widget/a/w2",
        "Ingress/a/ing",
        "MutatingWebhookConfiguration//mwc",
        "ValidatingWebhookConfiguration//vwc",
    ];
    assert_eq!(ids(&objects), want);
}

#[test]
fn ranks_and_custom_lists() {
    assert_eq!(legacy_kind_rank("Namespace", LEGACY_ORDER_FIRST, &[]), -22);
    assert_eq!(
        legacy_kind_rank("PodDisruptionBudget", LEGACY_ORDER_FIRST, &[]),
        -1
    );
    assert_eq!(legacy_kind_rank("Widget", LEGACY_ORDER_FIRST, &[]), 0);
    let mut objects = vec![
        obj("v1", "ConfigMap", "a", "cm"),
        obj("v1", "Service", "a", "svc"),
        obj("v1", "Secret", "a", "s"),
    ];
    sort_legacy_with(&mut objects, &["Service"], &["ConfigMap"]);
    assert_eq!(
        ids(&objects),
        ["Service/a/svc", "Secret/a/s", "ConfigMap/a/cm"]
    );
}

/// The same objects through `kubectl kustomize` (kustomize v5's legacy order).
#[test]
fn legacy_order_matches_kubectl_kustomize() {
    let has_kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_kubectl {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required under CI=true"
        );
        eprintln!("skipping: kubectl is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let objects = mixed_objects();
    let stream = to_multi_doc_string(&objects).expect("emits");
    std::fs::write(dir.path().join("all.yaml"), stream).expect("writes resources");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- all.yaml\n",
    )
    .expect("writes kustomization");
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs = parse_documents(&String::from_utf8_lossy(&output.stdout)).expect("parses");
    let mut ours = objects;
    sort_legacy(&mut ours);
    assert_eq!(ids(&ours), ids(&theirs));
}

#[test]
fn flux_apply_stages() {
    let custom = [GroupKind {
        group: "example.com".into(),
        kind: "Widget".into(),
    }];
    let cases = [
        (
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "",
                "x",
            ),
            ApplyStage::ClusterDefinitions,
        ),
        (
            obj("v1", "Namespace", "", "x"),
            ApplyStage::ClusterDefinitions,
        ),
        (
            obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "x"),
            ApplyStage::ClusterDefinitions,
        ),
        (
            obj(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "",
                "x",
            ),
            ApplyStage::Resources,
        ),
        (
            obj("storage.k8s.io/v1", "StorageClass", "", "x"),
            ApplyStage::ClassDefinitions,
        ),
        (
            obj("networking.k8s.io/v1", "IngressClass", "", "x"),
            ApplyStage::ClassDefinitions,
        ),
        (
            obj("scheduling.k8s.io/v1", "PriorityClass", "", "x"),
            ApplyStage::ClassDefinitions,
        ),
        (
            obj("example.com/v1", "Widget", "a", "x"),
            ApplyStage::Custom,
        ),
        (
            obj("other.com/v1", "Widget", "a", "x"),
            ApplyStage::Resources,
        ),
        (
            obj("apps/v1", "Deployment", "a", "x"),
            ApplyStage::Resources,
        ),
        // A Namespace must be core/v1 to count.
        (
            obj("example.com/v1", "Namespace", "", "x"),
            ApplyStage::Resources,
        ),
    ];
    for (object, want) in cases {
        assert_eq!(apply_stage(&object, &custom), want, "{object}");
    }
    assert!(ApplyStage::ClusterDefinitions < ApplyStage::ClassDefinitions);
    assert!(ApplyStage::Custom < ApplyStage::Resources);
}
