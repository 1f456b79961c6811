//! Server-side apply and managedFields through kube-rs.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{api_error, in_process};

fn managers(obj: &kube::api::ObjectMeta) -> Vec<(String, String)> {
    obj.managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn apply_creates_updates_conflicts_and_forces() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "settings"}, "data": {"a": "1", "b": "2"}});
    let created = api
        .patch("settings", &PatchParams::apply("flux"), &Patch::Apply(&cfg))
        .await?;
    assert_eq!(
        managers(&created.metadata),
        [("flux".to_string(), "Apply".to_string())]
    );
    // As structured-merge-diff's ToFieldSet: the keys of `data` are owned, `data` itself (a
    // field of the ConfigMap struct) has no `.` entry in an Apply set.
    let fields = serde_json::to_value(&created.metadata.managed_fields)?;
    assert_eq!(
        fields[0]["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}}),
        "{fields}"
    );

    // Re-applying the same config changes nothing.
    let again = api
        .patch("settings", &PatchParams::apply("flux"), &Patch::Apply(&cfg))
        .await?;
    assert_eq!(
        again.metadata.resource_version,
        created.metadata.resource_version
    );

    // Another manager takes data.a with an Update (merge patch): no conflict for it.
    let patched = api
        .patch(
            "settings",
            &PatchParams {
                field_manager: Some("editor".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({"data": {"a": "edited"}})),
        )
        .await?;
    let ms = managers(&patched.metadata);
    assert!(
        ms.contains(&("editor".to_string(), "Update".to_string())),
        "{ms:?}"
    );

    // Applying a different value for data.a now conflicts...
    let cfg2 = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "settings"}, "data": {"a": "mine", "b": "2"}});
    let err = api
        .patch(
            "settings",
            &PatchParams::apply("flux"),
            &Patch::Apply(&cfg2),
        )
        .await
        .expect_err("conflict");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("{err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status.message.contains("conflict with \"editor\""),
        "{}",
        status.message
    );
    assert!(status.message.contains(".data.a"), "{}", status.message);
    // ...unless forced.
    let forced = api
        .patch(
            "settings",
            &PatchParams::apply("flux").force(),
            &Patch::Apply(&cfg2),
        )
        .await?;
    assert_eq!(
        forced
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("mine")
    );

    // Dropping a field from the config removes it.
    let cfg3 = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "settings"}, "data": {"a": "mine"}});
    let pruned = api
        .patch(
            "settings",
            &PatchParams::apply("flux"),
            &Patch::Apply(&cfg3),
        )
        .await?;
    assert!(
        pruned.data.as_ref().is_some_and(|d| !d.contains_key("b")),
        "{:?}",
        pruned.data
    );

    // Dry-run apply stores nothing.
    let cfg4 = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "settings"}, "data": {"a": "dry"}});
    let dry = PatchParams::apply("flux").dry_run();
    let answer = api.patch("settings", &dry, &Patch::Apply(&cfg4)).await?;
    assert_eq!(
        answer
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("dry")
    );
    let live = api.get("settings").await?;
    assert_eq!(
        live.data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("mine")
    );

    // Without a field manager: 422.
    let err = api
        .patch("settings", &PatchParams::default(), &Patch::Apply(&cfg4))
        .await
        .expect_err("fieldManager required");
    assert_eq!(api_error(&err).map(|e| e.0), Some(422));
    Ok(())
}

#[tokio::test]
async fn apply_merges_lists_by_key_and_records_updates() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let dep = |image: &str| {
        json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}}})
    };
    let d = api
        .patch(
            "web",
            &PatchParams::apply("flux"),
            &Patch::Apply(dep("nginx:1.27")),
        )
        .await?;
    assert_eq!(d.metadata.generation, Some(1));
    // A sidecar added by another manager survives the next apply (merge by name).
    api.patch("web", &PatchParams { field_manager: Some("injector".into()), ..Default::default() },
        &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy"}]}}}})))
        .await?;
    let d = api
        .patch(
            "web",
            &PatchParams::apply("flux"),
            &Patch::Apply(dep("nginx:1.28")),
        )
        .await?;
    let containers = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let mut names: Vec<(&str, Option<&str>)> = containers
        .iter()
        .map(|c| (c.name.as_str(), c.image.as_deref()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("app", Some("nginx:1.28")), ("sidecar", Some("envoy"))]
    );
    assert_eq!(d.metadata.generation, Some(3));

    // Creates record an Update entry for their manager.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let made = cms
        .create(
            &PostParams {
                field_manager: Some("creator".into()),
                ..Default::default()
            },
            &serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"x": "1"}}))?,
        )
        .await?;
    assert_eq!(
        managers(&made.metadata),
        [("creator".to_string(), "Update".to_string())]
    );
    // An Update owns what it added, with a `.` entry for a map the live object lacked.
    let fields = serde_json::to_value(&made.metadata.managed_fields)?;
    assert_eq!(
        fields[0]["fieldsV1"],
        json!({"f:data": {".": {}, "f:x": {}}}),
        "{fields}"
    );

    // kube-lease-manager style: apply on a Lease.
    let leases: Api<Lease> = Api::namespaced(client, "default");
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                       "metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
    let l = leases
        .patch(
            "leader",
            &PatchParams::apply("elector").force(),
            &Patch::Apply(&lease),
        )
        .await?;
    assert_eq!(l.spec.and_then(|s| s.holder_identity).as_deref(), Some("a"));
    Ok(())
}

/// As upstream's field manager: managedFields written by an update or patch replace the
/// stored ones when they decode, `[]` and `[{}]` clear them, and entries that do not decode
/// (or a body without them) leave the stored ones in place.
#[tokio::test]
async fn managed_fields_written_by_update_and_patch_are_honoured() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "owned"}, "data": {"a": "1"}});
    api.patch("owned", &PatchParams::apply("flux"), &Patch::Apply(&cfg))
        .await?;
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let edited = api
        .patch(
            "owned",
            &edit,
            &Patch::Merge(json!({"data": {"extra": "x"}})),
        )
        .await?;
    assert_eq!(
        managers(&edited.metadata),
        [
            ("flux".to_string(), "Apply".to_string()),
            ("kubectl-edit".to_string(), "Update".to_string())
        ]
    );
    let stored = serde_json::to_value(&edited.metadata.managed_fields)?;

    // Entries that do not decode (no fieldsType) are ignored: the stored ones stay.
    let bad = json!([{"manager": "x", "operation": "Update", "apiVersion": "v1",
                      "fieldsV1": {"f:data": {"f:a": {}}}}]);
    let kept = api
        .patch(
            "owned",
            &edit,
            &Patch::Json::<()>(serde_json::from_value(json!([
                {"op": "replace", "path": "/metadata/managedFields", "value": bad}
            ]))?),
        )
        .await?;
    assert_eq!(serde_json::to_value(&kept.metadata.managed_fields)?, stored);
    assert_eq!(
        kept.metadata.resource_version,
        edited.metadata.resource_version
    );

    // A PUT without managedFields keeps the stored ones.
    let mut put = kept.clone();
    put.metadata.managed_fields = None;
    let replaced = api.replace("owned", &PostParams::default(), &put).await?;
    assert_eq!(
        serde_json::to_value(&replaced.metadata.managed_fields)?,
        stored
    );

    // Handing kubectl-edit's fields to flux with a JSON patch (what flux-ssa's cleanup does)
    // is stored, and is a write.
    let flux_only: Vec<serde_json::Value> = stored
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["manager"] == "flux")
        .map(|e| {
            let mut e = e.clone();
            e["fieldsV1"] = json!({"f:data": {"f:a": {}, "f:extra": {}}});
            e
        })
        .collect();
    let dropped = api
        .patch(
            "owned",
            &edit,
            &Patch::Json::<()>(serde_json::from_value(json!([
                {"op": "replace", "path": "/metadata/managedFields", "value": flux_only}
            ]))?),
        )
        .await?;
    assert_eq!(
        managers(&dropped.metadata),
        [("flux".to_string(), "Apply".to_string())]
    );
    assert_ne!(
        dropped.metadata.resource_version,
        kept.metadata.resource_version
    );
    // The re-apply now removes `extra`: flux owned it alone and no longer applies it.
    let reapplied = api
        .patch("owned", &PatchParams::apply("flux"), &Patch::Apply(&cfg))
        .await?;
    let keys: Vec<&String> = reapplied.data.iter().flatten().map(|(k, _)| k).collect();
    assert_eq!(keys, ["a"]);

    // A PUT that sends `[{}]` clears managedFields; a merge patch with `[]` does too.
    let mut cleared = reapplied.clone();
    cleared.metadata.managed_fields = Some(vec![Default::default()]);
    let cleared = api
        .replace("owned", &PostParams::default(), &cleared)
        .await?;
    assert_eq!(cleared.metadata.managed_fields, None);
    api.patch("owned", &PatchParams::apply("flux"), &Patch::Apply(&cfg))
        .await?;
    let emptied = api
        .patch(
            "owned",
            &edit,
            &Patch::Merge(json!({"metadata": {"managedFields": []}})),
        )
        .await?;
    assert_eq!(emptied.metadata.managed_fields, None);
    Ok(())
}
