use serde_json::json;

use super::*;
use crate::schema::for_kind;

/// What the Kubernetes API server records for `kubectl apply --server-side` of the nginx
/// Deployment from the Kubernetes documentation.
const NGINX_FIELDS_V1: &str = r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#;

fn nginx() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

#[test]
fn field_set_of_nginx_matches_kubernetes() {
    let set = to_field_set(&nginx(), for_kind("apps/v1", "Deployment")).expect("field set");
    assert_eq!(strip_meta(&set).to_fields_v1_string(), NGINX_FIELDS_V1);
}

#[test]
fn compare_reports_added_modified_removed() {
    let schema = for_kind("apps/v1", "Deployment");
    let mut new = nginx();
    new["spec"]["replicas"] = json!(3);
    new["metadata"]["labels"] = json!({"tier": "web"});
    let cmp = compare(Some(&nginx()), Some(&new), schema).expect("compare");
    assert!(cmp.modified.has(&Path::fields(&["spec", "replicas"]).0));
    assert!(
        cmp.added
            .has(&Path::fields(&["metadata", "labels", "tier"]).0)
    );
    assert!(
        cmp.removed
            .has(&Path::fields(&["metadata", "labels", "app"]).0)
    );
}

#[test]
fn keyed_list_without_keys_is_an_error() {
    let schema = for_kind("apps/v1", "Deployment");
    let bad = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
    let err = to_field_set(&bad, schema).expect_err("no key");
    assert!(
        err.to_string()
            .contains(".spec.template.spec.containers[0]"),
        "{err}"
    );
}
