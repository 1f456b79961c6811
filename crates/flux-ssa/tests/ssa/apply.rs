//! Staged apply, change-set classification, validation, annotations and drift.

use std::collections::BTreeMap;

use flux_ssa::{Action, ApplyError, ApplyOptions, annotations};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::{config_map, deployment, dynamic, get, setup};

fn options() -> ApplyOptions {
    ApplyOptions::kustomize_controller("kustomize-controller", false)
}

#[tokio::test]
async fn classifies_created_configured_unchanged() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let set = vec![
        config_map("default", "settings", json!({"a": "1"})),
        deployment("default", "app", 1, "nginx:1.27"),
    ];
    let first = manager.apply_all_staged(set.clone(), &options()).await?;
    assert_eq!(
        first.to_string(),
        "ConfigMap/default/settings created\nDeployment/default/app created"
    );

    let again = manager.apply_all_staged(set, &options()).await?;
    assert_eq!(
        again.to_string(),
        "ConfigMap/default/settings unchanged\nDeployment/default/app unchanged"
    );
    let rv_before = get(
        &dynamic(&client, "apps/v1", "Deployment", "deployments", "default"),
        "app",
    )
    .await?
    .and_then(|d| d["metadata"]["resourceVersion"].as_str().map(String::from));

    let changed = vec![
        config_map("default", "settings", json!({"a": "1"})),
        deployment("default", "app", 1, "nginx:1.28"),
    ];
    let third = manager.apply_all_staged(changed, &options()).await?;
    assert_eq!(
        third.to_string(),
        "ConfigMap/default/settings unchanged\nDeployment/default/app configured"
    );
    assert_eq!(
        third.changes().to_string(),
        "Deployment/default/app configured"
    );
    let live = get(
        &dynamic(&client, "apps/v1", "Deployment", "deployments", "default"),
        "app",
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("deployment missing"))?;
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    assert_ne!(
        live["metadata"]["resourceVersion"]
            .as_str()
            .map(String::from),
        rv_before
    );
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kustomize-controller"]);
    Ok(())
}

fn widget_crd(scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": scope,
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                                   "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    })
}

#[tokio::test]
async fn staged_apply_of_crd_namespace_and_their_objects() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let set = vec![
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
               "metadata": {"name": "w1", "namespace": "team"}, "spec": {"size": 3}}),
        config_map("team", "settings", json!({"a": "1"})),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
        widget_crd("Namespaced"),
    ];
    let applied = manager.apply_all_staged(set.clone(), &options()).await?;
    assert_eq!(
        applied.to_string(),
        "CustomResourceDefinition/widgets.example.com created\nNamespace/team created\n\
         ConfigMap/team/settings created\nWidget/team/w1 created"
    );
    let widget = get(
        &dynamic(&client, "example.com/v1", "Widget", "widgets", "team"),
        "w1",
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("widget missing"))?;
    assert_eq!(widget["spec"]["size"], 3);
    // A manager sharing the discovery cache (as an impersonating one would) sees the same.
    let shared = manager.with_client(client.clone());
    let again = shared.apply_all_staged(set, &options()).await?;
    assert!(
        again.entries.iter().all(|e| e.action == Action::Unchanged),
        "{again}"
    );
    Ok(())
}

#[tokio::test]
async fn one_invalid_object_rejects_the_whole_set_before_any_write() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    manager
        .apply_all_staged(vec![widget_crd("Namespaced")], &options())
        .await?;
    let set = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fresh"}}),
        config_map("default", "good", json!({"a": "1"})),
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
               "metadata": {"name": "bad", "namespace": "default"}, "spec": {"size": "three"}}),
        config_map("default", "Bad_Name", json!({"a": "1"})),
    ];
    let err = manager
        .apply_all_staged(set, &options())
        .await
        .expect_err("invalid objects must fail the set");
    assert!(err.applied.is_empty(), "{}", err.applied);
    let ApplyError::DryRun { failures } = &err.error else {
        anyhow::bail!("expected a dry-run failure, got {err}");
    };
    let subjects: Vec<&str> = failures.iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["Widget/default/bad", "ConfigMap/default/Bad_Name"]
    );
    let message = err.to_string();
    assert!(
        message.contains("Widget/default/bad dry-run failed (Invalid)"),
        "{message}"
    );
    assert!(message.contains("spec.size"), "{message}");
    // Nothing of the set was written: not even the Namespace of the first stage.
    assert!(
        get(
            &dynamic(&client, "v1", "Namespace", "namespaces", ""),
            "fresh"
        )
        .await?
        .is_none()
    );
    assert!(
        get(
            &dynamic(&client, "v1", "ConfigMap", "configmaps", "default"),
            "good"
        )
        .await?
        .is_none()
    );

    // An unknown kind is rejected the same way, naming the object.
    let err = manager
        .apply_all_staged(
            vec![
                config_map("default", "good", json!({"a": "1"})),
                json!({"apiVersion": "nope.example.com/v1", "kind": "Gadget",
                       "metadata": {"name": "g", "namespace": "default"}}),
            ],
            &options(),
        )
        .await
        .expect_err("unknown kind");
    assert!(
        err.to_string()
            .contains("Gadget/default/g dry-run failed (NotFound): no matches for kind \"Gadget\""),
        "{err}"
    );
    assert!(
        get(
            &dynamic(&client, "v1", "ConfigMap", "configmaps", "default"),
            "good"
        )
        .await?
        .is_none()
    );
    Ok(())
}

fn annotated(mut object: Value, key: &str, value: &str) -> Value {
    object["metadata"]["annotations"] = json!({ key: value });
    object
}

#[tokio::test]
async fn ssa_ignore_if_not_present_and_merge() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let cms = dynamic(&client, "v1", "ConfigMap", "configmaps", "default");

    // Ignore: never applied.
    let ignored = annotated(
        config_map("default", "ignored", json!({"a": "1"})),
        annotations::SSA,
        "Ignore",
    );
    let set = manager.apply_all_staged(vec![ignored], &options()).await?;
    assert_eq!(set.to_string(), "ConfigMap/default/ignored skipped");
    assert!(get(&cms, "ignored").await?.is_none());

    // IfNotPresent: created once, then left alone.
    let once = annotated(
        config_map("default", "once", json!({"a": "1"})),
        annotations::SSA,
        "IfNotPresent",
    );
    let set = manager.apply_all_staged(vec![once], &options()).await?;
    assert_eq!(set.to_string(), "ConfigMap/default/once created");
    let changed = annotated(
        config_map("default", "once", json!({"a": "2"})),
        annotations::SSA,
        "IfNotPresent",
    );
    let set = manager.apply_all_staged(vec![changed], &options()).await?;
    assert_eq!(set.to_string(), "ConfigMap/default/once skipped");
    let live = get(&cms, "once")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"]["a"], "1");

    // An in-cluster object annotated Ignore is skipped too.
    let other = config_map("default", "hands-off", json!({"a": "1"}));
    manager
        .apply_all_staged(vec![other.clone()], &options())
        .await?;
    cms.patch(
        "hands-off",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {annotations::SSA: "Ignore"}}, "data": {"a": "mine"}})),
    )
    .await?;
    let set = manager.apply_all_staged(vec![other], &options()).await?;
    assert_eq!(set.to_string(), "ConfigMap/default/hands-off skipped");
    let live = get(&cms, "hands-off")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"]["a"], "mine");

    // Merge: fields another tool added with kubectl are kept; without Merge they are taken
    // over and removed (see drift test).
    let merged = annotated(
        config_map("default", "shared", json!({"a": "1"})),
        annotations::SSA,
        "Merge",
    );
    manager
        .apply_all_staged(vec![merged.clone()], &options())
        .await?;
    cms.patch(
        "shared",
        &PatchParams {
            field_manager: Some("kubectl-edit".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"data": {"extra": "x"}})),
    )
    .await?;
    let set = manager.apply_all_staged(vec![merged], &options()).await?;
    assert_eq!(set.to_string(), "ConfigMap/default/shared unchanged");
    let live = get(&cms, "shared")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"], json!({"a": "1", "extra": "x"}));
    Ok(())
}

#[tokio::test]
async fn drift_from_other_managers_is_corrected() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let cms = dynamic(&client, "v1", "ConfigMap", "configmaps", "default");
    let desired = config_map("default", "settings", json!({"a": "1", "b": "2"}));
    manager
        .apply_all_staged(vec![desired.clone()], &options())
        .await?;

    // Someone edits a field Flux owns, with a plain patch under another manager.
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("kubectl-edit".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"data": {"a": "edited"}})),
    )
    .await?;
    let set = manager
        .apply_all_staged(vec![desired.clone()], &options())
        .await?;
    assert_eq!(set.to_string(), "ConfigMap/default/settings configured");
    let live = get(&cms, "settings")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"], json!({"a": "1", "b": "2"}));

    // A manager that is not a kubectl one editing an owned field is overridden as well
    // (Flux always applies with force).
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("some-operator".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"data": {"b": "operator"}})),
    )
    .await?;
    let set = manager
        .apply_all_staged(vec![desired.clone()], &options())
        .await?;
    assert_eq!(set.to_string(), "ConfigMap/default/settings configured");
    let live = get(&cms, "settings")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"]["b"], "2");

    // A field added by a non-kubectl manager is not Flux's business: it stays.
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("some-operator".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"data": {"operator": "x"}})),
    )
    .await?;
    let set = manager
        .apply_all_staged(vec![desired.clone()], &options())
        .await?;
    assert_eq!(set.to_string(), "ConfigMap/default/settings unchanged");
    let live = get(&cms, "settings")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"]["operator"], "x");

    // kubectl's last-applied annotation is removed by the clean-up.
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("kubectl-client-side-apply".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"metadata": {"annotations": {annotations::LAST_APPLIED: "{}"}}})),
    )
    .await?;
    let set = manager.apply_all_staged(vec![desired], &options()).await?;
    assert_eq!(set.to_string(), "ConfigMap/default/settings configured");
    let live = get(&cms, "settings")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    let annotations: BTreeMap<String, Value> = live["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert!(
        !annotations.contains_key(annotations::LAST_APPLIED),
        "{annotations:?}"
    );
    Ok(())
}

#[tokio::test]
async fn immutable_change_recreates_only_when_forced() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    manager
        .apply_all_staged(vec![widget_crd("Namespaced")], &options())
        .await?;
    let crds = dynamic(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "",
    );
    let uid_of = |v: &Value| v["metadata"]["uid"].as_str().map(String::from);
    let before = get(&crds, "widgets.example.com")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;

    let err = manager
        .apply_all_staged(vec![widget_crd("Cluster")], &options())
        .await
        .expect_err("scope is immutable");
    assert!(
        err.to_string()
            .contains("CustomResourceDefinition/widgets.example.com dry-run failed"),
        "{err}"
    );
    assert!(err.to_string().contains("immutable"), "{err}");

    let forced = annotated(widget_crd("Cluster"), annotations::FORCE, "enabled");
    let set = manager.apply_all_staged(vec![forced], &options()).await?;
    assert_eq!(
        set.to_string(),
        "CustomResourceDefinition/widgets.example.com created"
    );
    let after = get(&crds, "widgets.example.com")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(after["spec"]["scope"], "Cluster");
    assert_ne!(uid_of(&before), uid_of(&after));

    // The same with the Kustomization-wide force option.
    let set = manager
        .apply_all_staged(
            vec![widget_crd("Namespaced")],
            &ApplyOptions::kustomize_controller("kustomize-controller", true),
        )
        .await?;
    assert_eq!(
        set.to_string(),
        "CustomResourceDefinition/widgets.example.com created"
    );
    Ok(())
}

#[tokio::test]
async fn diff_reports_without_writing() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let cms = dynamic(&client, "v1", "ConfigMap", "configmaps", "default");
    let (entry, objects) = manager
        .diff(
            &config_map("default", "settings", json!({"a": "1"})),
            &options(),
        )
        .await?;
    assert_eq!(entry.to_string(), "ConfigMap/default/settings created");
    assert!(objects.is_none());
    assert!(get(&cms, "settings").await?.is_none());

    manager
        .apply_all_staged(
            vec![config_map("default", "settings", json!({"a": "1"}))],
            &options(),
        )
        .await?;
    let (entry, objects) = manager
        .diff(
            &config_map("default", "settings", json!({"a": "2"})),
            &options(),
        )
        .await?;
    assert_eq!(entry.action, Action::Configured);
    let (live, dry) = objects.ok_or_else(|| anyhow::anyhow!("objects of a configured diff"))?;
    assert_eq!(
        (live["data"]["a"].clone(), dry["data"]["a"].clone()),
        (json!("1"), json!("2"))
    );
    assert!(live["metadata"].get("managedFields").is_none());
    let still = get(&cms, "settings")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(still["data"]["a"], "1");
    Ok(())
}

/// The take-over of `kubectl-edit` fields: the cleanup patch rewrites managedFields (the API
/// server honours managedFields written by a patch, as Kubernetes does), then the re-apply
/// removes the field only `kubectl-edit` owned.
#[tokio::test]
async fn fields_added_with_kubectl_edit_are_removed() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let cms = dynamic(&client, "v1", "ConfigMap", "configmaps", "default");
    let desired = config_map("default", "settings", json!({"a": "1", "b": "2"}));
    manager
        .apply_all_staged(vec![desired.clone()], &options())
        .await?;
    // A field added with `kubectl edit` is taken over from the kubectl-edit manager and,
    // as Flux does not apply it, removed.
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("kubectl-edit".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"data": {"extra": "added"}})),
    )
    .await?;
    let set = manager
        .apply_all_staged(vec![desired.clone()], &options())
        .await?;
    assert_eq!(set.to_string(), "ConfigMap/default/settings configured");
    let live = get(&cms, "settings")
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing"))?;
    assert_eq!(live["data"], json!({"a": "1", "b": "2"}));
    let managers: Vec<String> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str().map(String::from))
        .collect();
    assert!(
        !managers.iter().any(|m| m.starts_with("kubectl")),
        "{managers:?}"
    );
    Ok(())
}

fn gadget_crd(sizes: &[&str]) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {
                                       "size": {"type": "string", "enum": sizes}}}}}}}]}
    })
}

#[tokio::test]
async fn custom_resources_are_validated_against_the_crd_of_the_same_set() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    manager
        .apply_all_staged(vec![gadget_crd(&["small"])], &options())
        .await?;
    let large = json!({"apiVersion": "example.com/v1", "kind": "Gadget",
                       "metadata": {"name": "g", "namespace": "default"}, "spec": {"size": "large"}});
    // Invalid against the CRD in the cluster, valid against the CRD of the set.
    let set = manager
        .apply_all_staged(
            vec![large.clone(), gadget_crd(&["small", "large"])],
            &options(),
        )
        .await?;
    assert_eq!(
        set.to_string(),
        "CustomResourceDefinition/gadgets.example.com configured\nGadget/default/g created"
    );
    let gadget = get(
        &dynamic(&client, "example.com/v1", "Gadget", "gadgets", "default"),
        "g",
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("gadget missing"))?;
    assert_eq!(gadget["spec"]["size"], "large");

    // Invalid against both: rejected at its stage, after the CRD stage.
    let huge = json!({"apiVersion": "example.com/v1", "kind": "Gadget",
                      "metadata": {"name": "h", "namespace": "default"}, "spec": {"size": "huge"}});
    let err = manager
        .apply_all_staged(vec![huge, gadget_crd(&["small", "large"])], &options())
        .await
        .expect_err("invalid gadget");
    assert_eq!(
        err.applied.to_string(),
        "CustomResourceDefinition/gadgets.example.com unchanged"
    );
    assert!(
        err.to_string()
            .contains("Gadget/default/h dry-run failed (Invalid)"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn namespaces_of_objects_are_checked_and_normalised() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    // A cluster-scoped object with a namespace (as generators sometimes emit) is applied
    // without it and recorded under its cluster-scoped id.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                      "metadata": {"name": "flux:reader", "namespace": "default"},
                      "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]});
    let set = manager.apply_all_staged(vec![role], &options()).await?;
    assert_eq!(set.to_string(), "ClusterRole/flux:reader created");
    assert_eq!(set.entries[0].id.namespace, "");
    let roles = dynamic(
        &client,
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        "",
    );
    assert!(get(&roles, "flux:reader").await?.is_some());

    // A namespaced object without a namespace, or in a namespace that exists neither in the
    // cluster nor in the set, fails the set.
    let err = manager
        .apply_all_staged(
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "homeless"}}),
                config_map("nowhere", "lost", json!({})),
                config_map("default", "fine", json!({})),
            ],
            &options(),
        )
        .await
        .expect_err("namespace problems");
    let message = err.to_string();
    assert!(
        message.contains(
            "ConfigMap/homeless dry-run failed (BadRequest): metadata.namespace is required"
        ),
        "{message}"
    );
    assert!(
        message.contains("ConfigMap/nowhere/lost dry-run failed (NotFound)"),
        "{message}"
    );
    assert!(
        get(
            &dynamic(&client, "v1", "ConfigMap", "configmaps", "default"),
            "fine"
        )
        .await?
        .is_none()
    );

    // Missing identity fields are named.
    let err = manager
        .apply_all_staged(
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})],
            &options(),
        )
        .await
        .expect_err("no name");
    assert!(
        err.to_string().contains("metadata.name is required"),
        "{err}"
    );
    Ok(())
}
