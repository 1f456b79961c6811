use serde_json::{Value, json};

use super::*;
use crate::schema::for_kind;

fn deploy() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a", "b"]},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "ports": [{"containerPort": 80, "protocol": "TCP"}], "args": ["x", "y"]},
                {"name": "side", "image": "side:1"}
            ]}}
        }
    })
}

fn smp(patch: Value) -> Result<Value, Error> {
    apply(&deploy(), &patch, for_kind("apps/v1", "Deployment"))
}

fn containers(v: &Value) -> &Vec<Value> {
    v.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .expect("containers")
}

#[test]
fn merges_containers_by_name_and_keeps_order() {
    let out = smp(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "side", "image": "side:2"}, {"name": "new", "image": "n:1"}
    ]}}}}))
    .expect("apply");
    let names: Vec<&str> = containers(&out)
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["app", "side", "new"]);
    assert_eq!(containers(&out)[1]["image"], "side:2");
    assert_eq!(containers(&out)[0]["args"], json!(["x", "y"]));
}

#[test]
fn null_deletes_and_unknown_schema_replaces_lists() {
    let out = smp(json!({"metadata": {"labels": {"tier": null}}})).expect("apply");
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    let out = apply(
        &deploy(),
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "only"}]}}}}),
        None,
    )
    .expect("apply");
    assert_eq!(containers(&out), &vec![json!({"name": "only"})]);
}

#[test]
fn patch_delete_and_replace_directives() {
    let out = smp(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "$patch": "delete"}]}}}}))
        .expect("apply");
    assert_eq!(containers(&out).len(), 1);
    let out = smp(json!({"spec": {"template": {"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}]}}}}))
        .expect("apply");
    assert_eq!(containers(&out), &vec![json!({"name": "z"})]);
    let out = smp(json!({"metadata": {"labels": {"$patch": "replace", "x": "1"}}})).expect("apply");
    assert_eq!(out["metadata"]["labels"], json!({"x": "1"}));
}

#[test]
fn primitive_merge_list_and_delete_from_primitive_list() {
    let out = smp(json!({"metadata": {"finalizers": ["c", "a"]}})).expect("apply");
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let out =
        smp(json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})).expect("apply");
    assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
}

#[test]
fn retain_keys_clears_other_fields() {
    let out = smp(json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}))
        .expect("apply");
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn set_element_order_reorders() {
    let out = smp(json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "side"}, {"name": "app"}],
        "containers": [{"name": "app", "image": "app:2"}]
    }}}}))
    .expect("apply");
    let names: Vec<&str> = containers(&out)
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["side", "app"]);
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        smp(json!({"metadata": {"labels": {"$patch": "bogus"}}})),
        Err(Error::UnknownDirective { .. })
    ));
    let err = smp(json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}))
        .expect_err("no key");
    assert!(matches!(err, Error::MissingMergeKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(".spec.template.spec.containers[0]"),
        "{err}"
    );
    assert!(matches!(
        apply(&json!({}), &json!([1]), None),
        Err(Error::PatchNotObject)
    ));
    assert!(matches!(
        smp(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}}})
        ),
        Err(Error::MergeDirectiveInList { .. })
    ));
}

#[test]
fn empty_patch_is_identity() {
    assert_eq!(smp(json!({})).expect("apply"), deploy());
}
