//! Server-side apply: two managers, conflicts with paths, force, shared ownership, removal of
//! dropped fields, list-map keys, atomic lists, managedFields round trip.

use anyhow::{Context, Result, bail};
use flux_merge::fieldpath::{FieldSet, Path, PathElement};
use flux_merge::schema::{TypeRef, for_kind};
use flux_merge::structured::{self, Applied, FieldManager, ManagedFields, Operation, SsaError};
use serde_json::{Value, json};

fn schema() -> Option<TypeRef<'static>> {
    for_kind("apps/v1", "Deployment")
}

fn who(manager: &str) -> FieldManager<'_> {
    FieldManager {
        manager,
        api_version: "apps/v1",
        subresource: None,
        time: Some("2026-01-01T00:00:00Z"),
    }
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn apply(live: &Applied, config: &Value, manager: &str, force: bool) -> Result<Applied, SsaError> {
    structured::apply(
        &live.object,
        config,
        &live.managed,
        &who(manager),
        force,
        schema(),
    )
}

fn empty() -> Applied {
    Applied {
        object: Value::Null,
        managed: ManagedFields::default(),
    }
}

fn owns(state: &Applied, manager: &str, path: &[PathElement]) -> bool {
    state
        .managed
        .get(manager, Operation::Apply)
        .is_some_and(|e| e.fields.has(path))
}

fn container_path(name: &str, rest: &[&str]) -> Vec<PathElement> {
    let mut p = Path::fields(&["spec", "template", "spec", "containers"]).0;
    p.push(PathElement::Key(vec![("name".into(), json!(name))]));
    p.extend(Path::fields(rest).0);
    p
}

fn containers(v: &Value) -> Result<Vec<String>> {
    Ok(v.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .context("containers")?
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect())
}

#[test]
fn two_managers_own_their_fields_and_merge_lists_by_key() -> Result<()> {
    let a = deployment(json!({"replicas": 2, "template": {"spec": {"containers": [
        {"name": "app", "image": "app:1", "ports": [{"containerPort": 80}]}]}}}));
    let state = apply(&empty(), &a, "alice", false)?;
    let b = deployment(json!({"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "proxy:1"},
        {"name": "app", "ports": [{"containerPort": 80, "protocol": "UDP"}]}]}}}));
    let state = apply(&state, &b, "bob", false)?;
    // As upstream: the configuration's order wins for items both lists hold.
    assert_eq!(containers(&state.object)?, ["sidecar", "app"]);
    // Ports are keyed by containerPort + protocol; the omitted protocol defaults to TCP.
    let ports = state
        .object
        .pointer("/spec/template/spec/containers/1/ports")
        .context("ports")?;
    assert_eq!(
        ports,
        &json!([{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}])
    );
    let mut tcp = container_path("app", &["ports"]);
    tcp.push(PathElement::Key(vec![
        ("containerPort".into(), json!(80)),
        ("protocol".into(), json!("TCP")),
    ]));
    assert!(owns(&state, "alice", &tcp));
    assert!(owns(&state, "alice", &container_path("app", &["image"])));
    assert!(owns(&state, "bob", &container_path("sidecar", &["image"])));
    assert!(!owns(&state, "bob", &container_path("app", &["image"])));
    assert_eq!(state.managed.entries.len(), 2);
    Ok(())
}

#[test]
fn conflicts_are_reported_with_manager_and_path_and_force_takes_ownership() -> Result<()> {
    let state = apply(
        &empty(),
        &deployment(json!({"replicas": 2})),
        "alice",
        false,
    )?;
    let err = match apply(&state, &deployment(json!({"replicas": 5})), "bob", false) {
        Err(e) => e,
        Ok(_) => bail!("expected a conflict"),
    };
    let SsaError::Conflicts(conflicts) = &err else {
        bail!("wrong error {err}")
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].manager, "alice");
    assert_eq!(conflicts[0].path.to_string(), ".spec.replicas");
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"alice\" using apps/v1: .spec.replicas"
    );
    let forced = apply(&state, &deployment(json!({"replicas": 5})), "bob", true)?;
    assert_eq!(forced.object["spec"]["replicas"], 5);
    let replicas = Path::fields(&["spec", "replicas"]).0;
    assert!(owns(&forced, "bob", &replicas));
    assert!(!owns(&forced, "alice", &replicas));
    // alice owned only replicas: her entry is gone.
    assert!(forced.managed.get("alice", Operation::Apply).is_none());
    Ok(())
}

#[test]
fn same_value_is_shared_ownership_and_survives_one_owner_dropping_it() -> Result<()> {
    let state = apply(
        &empty(),
        &deployment(json!({"replicas": 2, "paused": true})),
        "alice",
        false,
    )?;
    let state = apply(&state, &deployment(json!({"replicas": 2})), "bob", false)?;
    let replicas = Path::fields(&["spec", "replicas"]).0;
    assert!(owns(&state, "alice", &replicas) && owns(&state, "bob", &replicas));
    // alice drops both fields: `paused` (hers alone) goes, `replicas` (shared) stays.
    let state = apply(
        &state,
        &deployment(json!({"minReadySeconds": 1})),
        "alice",
        false,
    )?;
    assert_eq!(
        state.object["spec"],
        json!({"replicas": 2, "minReadySeconds": 1})
    );
    assert!(!owns(&state, "alice", &replicas) && owns(&state, "bob", &replicas));
    Ok(())
}

#[test]
fn dropped_list_items_and_structs_are_removed() -> Result<()> {
    let a = deployment(json!({
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "template": {"spec": {"containers": [{"name": "app", "image": "a"}, {"name": "old", "image": "o"}]}}}));
    let state = apply(&empty(), &a, "alice", false)?;
    let b =
        deployment(json!({"template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}));
    let state = apply(&state, &b, "alice", false)?;
    assert_eq!(containers(&state.object)?, ["app"]);
    assert!(
        state.object["spec"].get("strategy").is_none(),
        "{}",
        state.object
    );
    Ok(())
}

#[test]
fn atomic_lists_conflict_as_a_whole() -> Result<()> {
    let a = deployment(
        json!({"template": {"spec": {"containers": [{"name": "app", "args": ["--a"]}]}}}),
    );
    let state = apply(&empty(), &a, "alice", false)?;
    let b = deployment(
        json!({"template": {"spec": {"containers": [{"name": "app", "args": ["--b"]}]}}}),
    );
    let Err(SsaError::Conflicts(conflicts)) = apply(&state, &b, "bob", false) else {
        bail!("expected a conflict on args");
    };
    assert_eq!(
        conflicts[0].path.to_string(),
        r#".spec.template.spec.containers[name="app"].args"#
    );
    let forced = apply(&state, &b, "bob", true)?;
    assert_eq!(
        forced
            .object
            .pointer("/spec/template/spec/containers/0/args"),
        Some(&json!(["--b"]))
    );
    Ok(())
}

#[test]
fn update_operations_take_changed_fields_from_appliers() -> Result<()> {
    let state = apply(
        &empty(),
        &deployment(json!({"replicas": 2})),
        "alice",
        false,
    )?;
    let mut scaled = state.object.clone();
    scaled["spec"]["replicas"] = json!(4);
    let hpa = FieldManager {
        manager: "hpa-controller",
        ..who("hpa-controller")
    };
    let after = structured::update(&state.object, &scaled, &state.managed, &hpa, schema())?;
    let replicas = Path::fields(&["spec", "replicas"]).0;
    let entry = after
        .managed
        .get("hpa-controller", Operation::Update)
        .context("hpa entry")?;
    assert!(entry.fields.has(&replicas));
    assert!(after.managed.get("alice", Operation::Apply).is_none());
    // alice re-applies her old value: now she conflicts with the controller.
    let Err(SsaError::Conflicts(conflicts)) =
        apply(&after, &deployment(json!({"replicas": 2})), "alice", false)
    else {
        bail!("expected conflict with hpa-controller");
    };
    assert_eq!(conflicts[0].manager, "hpa-controller");
    Ok(())
}

#[test]
fn managed_fields_round_trip_byte_for_byte() -> Result<()> {
    let text = r#"[{"manager":"kubectl","operation":"Apply","apiVersion":"apps/v1","time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}},{"manager":"kube-controller-manager","operation":"Update","apiVersion":"apps/v1","time":"2024-05-01T10:00:01Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:deployment.kubernetes.io/revision":{}}},"f:status":{"f:conditions":{".":{},"k:{\"type\":\"Available\"}":{".":{},"f:lastTransitionTime":{},"f:status":{},"f:type":{}}},"f:observedGeneration":{},"f:replicas":{}}},"subresource":"status"}]"#;
    let parsed = ManagedFields::from_json(&serde_json::from_str(text)?)?;
    assert_eq!(parsed.entries.len(), 2);
    assert_eq!(parsed.entries[1].subresource.as_deref(), Some("status"));
    assert_eq!(serde_json::to_string(&parsed.to_json())?, text);
    // The set written by our apply of the same configuration is the one kubectl got.
    let config = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2", "ports": [{"containerPort": 80}]}]}}}});
    let applied = apply(&empty(), &config, "kubectl", false)?;
    let ours: &FieldSet = &applied.managed.entries[0].fields;
    assert_eq!(ours, &parsed.entries[0].fields);
    let mut object = applied.object.clone();
    applied.managed.write_to(&mut object);
    assert_eq!(ManagedFields::from_object(&object)?, applied.managed);
    Ok(())
}

#[test]
fn malformed_managed_fields_are_errors() {
    assert!(ManagedFields::from_json(&json!([{"operation": "Bogus"}])).is_err());
    assert!(
        ManagedFields::from_json(&json!([{"operation": "Apply", "fieldsV1": {"x:y": {}}}]))
            .is_err()
    );
    assert!(ManagedFields::from_json(&json!({})).is_err());
}

#[test]
fn managed_fields_are_ordered_like_the_api_server() -> Result<()> {
    let at = |manager: &'static str, time: &'static str| FieldManager {
        manager,
        api_version: "apps/v1",
        subresource: None,
        time: Some(time),
    };
    let s1 = structured::apply(
        &Value::Null,
        &deployment(json!({"replicas": 1})),
        &ManagedFields::default(),
        &at("zed", "2026-01-01T00:00:02Z"),
        false,
        schema(),
    )?;
    let mut live = s1.object.clone();
    live["spec"]["paused"] = json!(true);
    let s2 = structured::update(
        &s1.object,
        &live,
        &s1.managed,
        &at("ctl", "2026-01-01T00:00:01Z"),
        schema(),
    )?;
    let s3 = structured::apply(
        &s2.object,
        &deployment(json!({"minReadySeconds": 3})),
        &s2.managed,
        &at("amy", "2026-01-01T00:00:02Z"),
        false,
        schema(),
    )?;
    let order: Vec<(&str, Operation)> = s3
        .managed
        .entries
        .iter()
        .map(|e| (e.manager.as_str(), e.operation))
        .collect();
    assert_eq!(
        order,
        [
            ("amy", Operation::Apply),
            ("zed", Operation::Apply),
            ("ctl", Operation::Update)
        ]
    );
    Ok(())
}

#[test]
fn noop_apply_keeps_time_and_config_with_managed_fields_is_refused() -> Result<()> {
    let config = deployment(json!({"replicas": 1}));
    let first = structured::apply(
        &Value::Null,
        &config,
        &ManagedFields::default(),
        &who("alice"),
        false,
        schema(),
    )?;
    let later = FieldManager {
        time: Some("2027-01-01T00:00:00Z"),
        ..who("alice")
    };
    let again = structured::apply(
        &first.object,
        &config,
        &first.managed,
        &later,
        false,
        schema(),
    )?;
    assert_eq!(again.managed, first.managed, "no change: time kept");
    let mut bad = config.clone();
    bad["metadata"]["managedFields"] = json!([]);
    assert!(matches!(
        structured::apply(
            &first.object,
            &bad,
            &first.managed,
            &who("alice"),
            false,
            schema()
        ),
        Err(SsaError::ManagedFieldsInConfig)
    ));
    Ok(())
}

#[test]
fn configured_null_keeps_what_others_own_inside_a_struct() -> Result<()> {
    let state = apply(
        &empty(),
        &deployment(json!({"strategy": {"type": "RollingUpdate"}})),
        "alice",
        false,
    )?;
    let mut live = state.object.clone();
    live["spec"]["strategy"]["rollingUpdate"] = json!({"maxSurge": 1});
    let updated = structured::update(
        &state.object,
        &live,
        &state.managed,
        &who("controller"),
        schema(),
    )?;
    let after = apply(
        &updated,
        &deployment(json!({"strategy": null})),
        "alice",
        false,
    )?;
    assert_eq!(
        after.object["spec"]["strategy"],
        json!({"rollingUpdate": {"maxSurge": 1}})
    );
    Ok(())
}

/// Where `.` (the container itself) appears, as structured-merge-diff records it: an Apply set
/// (ToFieldSet) has it for list items and map-typed map entries, not for struct fields such as
/// a ConfigMap's `data` or `metadata.labels`; an Update set has it for every map or list the
/// live object lacked (compare's `added` holds the container).
#[test]
fn dot_entries_follow_structured_merge_diff() -> Result<()> {
    let cm_schema = for_kind("v1", "ConfigMap");
    let cm = |data: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "labels": {"app": "x"}}, "data": data})
    };
    let cm_who = FieldManager {
        manager: "m",
        api_version: "v1",
        subresource: None,
        time: None,
    };
    let applied = structured::apply(
        &Value::Null,
        &cm(json!({"a": "1"})),
        &ManagedFields::default(),
        &cm_who,
        false,
        cm_schema,
    )?;
    let entry = applied
        .managed
        .get("m", Operation::Apply)
        .context("apply entry")?;
    assert_eq!(
        entry.fields.to_fields_v1(),
        json!({"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );

    // An Update that adds `data` to a ConfigMap without it owns `data` itself too; one that
    // only adds a key to an existing `data` does not.
    let without_data = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let mut with_data = without_data.clone();
    with_data["data"] = json!({"k": "v"});
    let added = structured::update(
        &without_data,
        &with_data,
        &ManagedFields::default(),
        &cm_who,
        cm_schema,
    )?;
    let entry = added
        .managed
        .get("m", Operation::Update)
        .context("update entry")?;
    assert_eq!(
        entry.fields.to_fields_v1(),
        json!({"f:data": {".": {}, "f:k": {}}})
    );
    let mut more = with_data.clone();
    more["data"]["k2"] = json!("v2");
    let grown = structured::update(
        &with_data,
        &more,
        &ManagedFields::default(),
        &cm_who,
        cm_schema,
    )?;
    let entry = grown
        .managed
        .get("m", Operation::Update)
        .context("update entry")?;
    assert_eq!(entry.fields.to_fields_v1(), json!({"f:data": {"f:k2": {}}}));

    // List items (keyed containers) carry `.` in an Apply set.
    let state = apply(
        &empty(),
        &deployment(json!({"template": {"spec": {"containers": [{"name": "app", "image": "i"}]}}})),
        "flux",
        false,
    )?;
    let entry = state
        .managed
        .get("flux", Operation::Apply)
        .context("apply entry")?;
    assert_eq!(
        entry.fields.to_fields_v1(),
        json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
    Ok(())
}
