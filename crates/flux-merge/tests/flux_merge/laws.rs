//! Property tests: merge-patch laws, strategic-merge identities, and "bad input is an error,
//! never a panic".

use flux_merge::structured::{self, FieldManager, ManagedFields};
use flux_merge::{json_patch, schema, strategic};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Arbitrary JSON without nulls (a merge patch cannot express a null value in the target).
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        (-5i64..50).prop_map(Value::from),
        "[a-c]{0,3}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-e]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-e]", arb_json(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn unique_subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(pool, 0..=pool.len()).prop_shuffle()
}

/// (image, env names, container ports, args) of one container.
type ContainerSpec = (
    Option<&'static str>,
    Vec<&'static str>,
    Vec<i64>,
    Option<Vec<&'static str>>,
);

fn arb_container() -> impl Strategy<Value = ContainerSpec> {
    (
        prop::option::of(prop::sample::select(&["x:1", "x:2", "y:1"][..])),
        unique_subset(&["A", "B", "C", "D"]),
        prop::sample::subsequence(&[80i64, 443, 8080, 9090][..], 0..=4).prop_shuffle(),
        prop::option::of(unique_subset(&["--a", "--b", "--c"])),
    )
}

/// Deployment-shaped objects exercising merge lists (containers, env, ports, finalizers),
/// replace lists (args) and maps (labels).
fn arb_deployment() -> impl Strategy<Value = Value> {
    arb_deployment_with(0, 0)
}

/// Like [`arb_deployment`] with at least `min_labels` labels and `min_containers` containers
/// (server-side apply drops a map or list emptied by pruning, so an explicitly empty one in
/// the new configuration would not survive a prune; see README).
fn arb_deployment_with(min_labels: usize, min_containers: usize) -> impl Strategy<Value = Value> {
    (
        prop::collection::btree_map("[a-d]", "[x-z]{1,2}", min_labels..4),
        unique_subset(&["f1", "f2", "f3", "f4"]),
        prop::sample::subsequence(&["app", "side", "init", "log"][..], min_containers..=4).prop_shuffle(),
        prop::collection::vec(arb_container(), 4),
        prop::option::of(0i64..5),
    )
        .prop_map(|(labels, finalizers, names, specs, replicas)| {
            let containers: Vec<Value> = names
                .iter()
                .zip(specs)
                .map(|(name, (image, env, ports, args))| {
                    let mut c = Map::new();
                    c.insert("name".into(), json!(name));
                    if let Some(image) = image {
                        c.insert("image".into(), json!(image));
                    }
                    if !env.is_empty() {
                        let env: Vec<Value> = env.iter().map(|e| json!({"name": e, "value": e.to_lowercase()})).collect();
                        c.insert("env".into(), Value::Array(env));
                    }
                    if !ports.is_empty() {
                        let ports: Vec<Value> = ports.iter().map(|p| json!({"containerPort": p, "protocol": "TCP"})).collect();
                        c.insert("ports".into(), Value::Array(ports));
                    }
                    if let Some(args) = args {
                        c.insert("args".into(), json!(args));
                    }
                    Value::Object(c)
                })
                .collect();
            let mut metadata = json!({"name": "web", "labels": labels});
            if !finalizers.is_empty() {
                metadata["finalizers"] = json!(finalizers);
            }
            let mut spec = json!({"template": {"spec": {"containers": containers}}});
            if let Some(r) = replicas {
                spec["replicas"] = json!(r);
            }
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec})
        })
}

/// Patch-shaped JSON full of directives, for "never panics".
fn arb_patchy() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(
        &[
            "$patch",
            "$retainKeys",
            "$setElementOrder/containers",
            "$setElementOrder/finalizers",
            "$deleteFromPrimitiveList/finalizers",
            "$deleteFromPrimitiveList",
            "containers",
            "finalizers",
            "name",
            "image",
            "metadata",
            "spec",
            "template",
            "labels",
            "env",
        ][..],
    );
    let leaf = prop_oneof![
        Just(Value::Null),
        prop::sample::select(&["delete", "replace", "merge", "bogus", "app", "f1", "name"][..])
            .prop_map(Value::from),
        (0i64..3).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..4).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn deployment_schema() -> Option<schema::TypeRef<'static>> {
    schema::for_kind("apps/v1", "Deployment")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn merge_patch_created_patch_reaches_target(a in arb_object(), b in arb_object()) {
        let patch = json_patch::create_merge_patch(&a, &b);
        prop_assert_eq!(json_patch::apply_merge_patch(&a, &patch), b);
    }

    #[test]
    fn merge_patch_is_idempotent(a in arb_object(), p in arb_object()) {
        let once = json_patch::apply_merge_patch(&a, &p);
        prop_assert_eq!(json_patch::apply_merge_patch(&once, &p), once);
    }

    #[test]
    fn merge_patch_of_self_is_empty(a in arb_object()) {
        prop_assert_eq!(json_patch::create_merge_patch(&a, &a), json!({}));
    }

    #[test]
    fn strategic_empty_patch_is_identity(d in arb_deployment(), o in arb_object()) {
        prop_assert_eq!(strategic::apply(&d, &json!({}), deployment_schema()).expect("apply"), d);
        prop_assert_eq!(strategic::apply(&o, &json!({}), None).expect("apply"), o);
    }

    #[test]
    fn strategic_two_way_patch_reaches_target(a in arb_deployment(), b in arb_deployment()) {
        let patch = strategic::create_two_way_patch(&a, &b, deployment_schema()).expect("diff");
        let got = strategic::apply(&a, &patch, deployment_schema()).expect("apply");
        prop_assert_eq!(got, b, "patch {}", patch);
    }

    #[test]
    fn strategic_two_way_patch_untyped_reaches_target(a in arb_object(), b in arb_object()) {
        let patch = strategic::create_two_way_patch(&a, &b, None).expect("diff");
        prop_assert_eq!(strategic::apply(&a, &patch, None).expect("apply"), b);
    }

    #[test]
    fn strategic_three_way_patch_reaches_config_on_unchanged_live(a in arb_deployment(), b in arb_deployment()) {
        // Live object == last applied: re-applying `b` must produce exactly `b`.
        let patch = strategic::create_three_way_patch(&a, &b, &a, deployment_schema(), true).expect("3-way");
        prop_assert_eq!(strategic::apply(&a, &patch, deployment_schema()).expect("apply"), b);
    }

    #[test]
    fn ssa_reapplying_a_new_config_as_sole_manager_yields_it(a in arb_deployment(), b in arb_deployment_with(1, 1)) {
        let who = FieldManager { manager: "m", api_version: "apps/v1", subresource: None, time: None };
        let first = structured::apply(&Value::Null, &a, &ManagedFields::default(), &who, false, deployment_schema()).expect("apply a");
        prop_assert_eq!(&first.object, &a);
        let second = structured::apply(&first.object, &b, &first.managed, &who, false, deployment_schema()).expect("apply b");
        prop_assert_eq!(&second.object, &b);
        let again = structured::apply(&second.object, &b, &second.managed, &who, false, deployment_schema()).expect("apply b again");
        prop_assert_eq!(&again.object, &second.object);
        prop_assert_eq!(&again.managed, &second.managed);
    }

    #[test]
    fn ssa_forced_apply_owns_every_configured_field(a in arb_deployment(), b in arb_deployment()) {
        let m1 = FieldManager { manager: "one", api_version: "apps/v1", subresource: None, time: None };
        let m2 = FieldManager { manager: "two", ..m1.clone() };
        let first = structured::apply(&Value::Null, &a, &ManagedFields::default(), &m1, false, deployment_schema()).expect("apply a");
        let second = structured::apply(&first.object, &b, &first.managed, &m2, true, deployment_schema()).expect("forced apply b");
        let configured = structured::to_field_set(&b, deployment_schema()).expect("set of b");
        let present = structured::to_field_set(&second.object, deployment_schema()).expect("set of result");
        let present_paths = present.paths();
        // A configured empty map is present when the object has the map (with any content).
        let covers = |p: &flux_merge::fieldpath::Path| present.has(&p.0) || present_paths.iter().any(|q| q.0.starts_with(&p.0));
        let two = second.managed.get("two", structured::Operation::Apply).map(|e| e.fields.clone()).unwrap_or_default();
        // Every configured field is in the object and owned by `two` (metadata identity aside).
        for path in configured.paths() {
            let shown = path.to_string();
            if matches!(shown.as_str(), ".apiVersion" | ".kind" | ".metadata.name") {
                continue;
            }
            prop_assert!(covers(&path), "{} missing from the object", shown);
            prop_assert!(two.has(&path.0), "{} not owned by two", shown);
        }
        // Nobody else owns what `two` owns.
        // Shared ownership only where `one` configured the field too.
        if let Some(one) = second.managed.get("one", structured::Operation::Apply) {
            let of_a = structured::to_field_set(&a, deployment_schema()).expect("set of a");
            let shared = one.fields.intersection(&two);
            prop_assert!(shared.paths().iter().all(|p| of_a.has(&p.0)));
        }
    }

    #[test]
    fn strategic_apply_never_panics(d in arb_deployment(), p in arb_patchy()) {
        let _ = strategic::apply(&d, &p, deployment_schema());
        let _ = strategic::apply(&d, &p, None);
        let _ = strategic::create_two_way_patch(&d, &p, deployment_schema());
        let _ = strategic::create_three_way_patch(&p, &d, &d, deployment_schema(), false);
    }
}
