//! `Object` accessors and `ObjectId` / Flux inventory ids.

use std::collections::BTreeMap;

use flux_object::yaml::parse_document;
use flux_object::{InventoryIdError, Object, ObjectError, ObjectId};
use serde_json::json;

fn deployment() -> Object {
    let value = parse_document(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n  labels:\n    app: web\n    tier: \"1\"\n  annotations:\n    note: hi\nspec:\n  replicas: 2\n",
    )
    .expect("parses");
    Object::from_value(value).expect("is a mapping")
}

#[test]
fn getters() {
    let d = deployment();
    assert_eq!(d.api_version(), "apps/v1");
    assert_eq!(d.group(), "apps");
    assert_eq!(d.version(), "v1");
    assert_eq!(d.kind(), "Deployment");
    assert_eq!(d.name(), "web");
    assert_eq!(d.namespace(), "prod");
    assert_eq!(d.label("app"), Some("web"));
    assert_eq!(
        d.labels(),
        BTreeMap::from([("app".into(), "web".into()), ("tier".into(), "1".into())])
    );
    assert_eq!(d.annotation("note"), Some("hi"));
    assert_eq!(d.get(&["spec", "replicas"]), Some(&json!(2)));
    assert_eq!(d.get(&["spec", "missing"]), None);
    assert_eq!(d.generation(), 0);
    assert_eq!(d.uid(), "");
    let mut meta = Object::new("v1", "ConfigMap", "cm");
    meta.set(&["metadata", "generation"], json!(3))
        .expect("sets");
    meta.set(&["metadata", "resourceVersion"], json!("42"))
        .expect("sets");
    meta.set(&["metadata", "finalizers"], json!(["a/b", 1, "c"]))
        .expect("sets");
    assert_eq!(meta.generation(), 3);
    assert_eq!(meta.resource_version(), "42");
    assert_eq!(meta.finalizers(), ["a/b", "c"]);
    let core = Object::new("v1", "ConfigMap", "cm");
    assert_eq!(core.group(), "");
    assert_eq!(core.version(), "v1");
    assert_eq!(core.namespace(), "");
    assert!(core.labels().is_empty());
}

#[test]
fn setters_keep_other_fields() {
    let mut d = deployment();
    d.set_namespace("staging");
    d.set_label("tier", "2");
    d.set_annotation("extra", "x");
    assert_eq!(d.remove_label("app"), Some(json!("web")));
    d.set_name("web2");
    assert_eq!(d.namespace(), "staging");
    assert_eq!(d.label("tier"), Some("2"));
    assert_eq!(d.label("app"), None);
    assert_eq!(d.annotation("extra"), Some("x"));
    assert_eq!(d.name(), "web2");
    d.set_namespace("");
    assert_eq!(d.get(&["metadata", "namespace"]), None);
    d.set_labels(&BTreeMap::new());
    assert_eq!(d.get(&["metadata", "labels"]), None);
    d.set(&["spec", "template", "spec", "hostNetwork"], json!(true))
        .expect("creates the path");
    assert_eq!(
        d.get(&["spec", "template", "spec", "hostNetwork"]),
        Some(&json!(true))
    );
    let keys: Vec<&String> = d.as_map().keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
}

#[test]
fn set_through_a_scalar_is_an_error() {
    let mut d = deployment();
    let err = d
        .set(&["spec", "replicas", "x"], json!(1))
        .expect_err("replicas is a number");
    assert_eq!(
        err,
        ObjectError::PathBlocked {
            path: "spec.replicas.x".into(),
            at: "spec.replicas".into(),
            found: "a number",
        }
    );
    // Metadata setters repair a malformed metadata instead of failing.
    let mut broken = Object::from_value(json!({"kind": "X", "metadata": "oops"})).expect("map");
    broken.set_name("fixed");
    assert_eq!(broken.name(), "fixed");
}

#[test]
fn non_mappings_are_rejected() {
    assert_eq!(
        Object::from_value(json!(["a"])),
        Err(ObjectError::NotAMapping { found: "a list" })
    );
    let err = serde_json::from_value::<Object>(json!("x"));
    assert!(err.is_err());
    let ok: Object = serde_json::from_value(json!({"kind": "A"})).expect("deserializes");
    assert_eq!(ok.kind(), "A");
    assert_eq!(
        serde_json::to_value(&ok).expect("serializes"),
        json!({"kind": "A"})
    );
}

#[test]
fn object_id_and_display() {
    let d = deployment();
    let id = d.id();
    assert_eq!(id, ObjectId::new("apps", "Deployment", "prod", "web"));
    assert_eq!(id.to_string(), "Deployment/prod/web");
    let ns = ObjectId::new("", "Namespace", "", "prod");
    assert_eq!(ns.to_string(), "Namespace/prod");
}

#[test]
fn inventory_ids_as_flux_writes_them() {
    let cases = [
        (
            ObjectId::new("apps", "Deployment", "prod", "web"),
            "prod_web_apps_Deployment",
        ),
        (
            ObjectId::new("", "Namespace", "", "prod"),
            "_prod__Namespace",
        ),
        (
            ObjectId::new("", "ConfigMap", "default", "cm"),
            "default_cm__ConfigMap",
        ),
        (
            ObjectId::new(
                "rbac.authorization.k8s.io",
                "ClusterRole",
                "",
                "system:controller:x",
            ),
            "_system__controller__x_rbac.authorization.k8s.io_ClusterRole",
        ),
        (
            ObjectId::new(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                "gitrepositories.source.toolkit.fluxcd.io",
            ),
            "_gitrepositories.source.toolkit.fluxcd.io_apiextensions.k8s.io_CustomResourceDefinition",
        ),
    ];
    for (id, text) in cases {
        assert_eq!(id.inventory_id(), text);
        assert_eq!(ObjectId::parse_inventory_id(text), Ok(id));
    }
}

#[test]
fn bad_inventory_ids() {
    assert_eq!(
        ObjectId::parse_inventory_id("nounderscores"),
        Err(InventoryIdError::MissingFields {
            id: "nounderscores".into()
        })
    );
    assert!(matches!(
        ObjectId::parse_inventory_id("ns_name_Kind"),
        Err(InventoryIdError::MissingFields { .. })
    ));
    assert!(matches!(
        ObjectId::parse_inventory_id("ns_a_b_apps_Deployment"),
        Err(InventoryIdError::TooManyFields { .. })
    ));
    // `__` in any name reads as `:`, as upstream does.
    assert_eq!(
        ObjectId::parse_inventory_id("ns_a__b_apps_Deployment").map(|id| id.name),
        Ok("a:b".to_string())
    );
}
