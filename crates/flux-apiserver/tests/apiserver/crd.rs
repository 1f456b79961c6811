//! CustomResourceDefinitions: served live, schema validation, defaulting and pruning.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::discovery::Discovery;
use serde_json::json;

use super::{api_error, in_process};

fn crd() -> anyhow::Result<CustomResourceDefinition> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "shortNames": ["wg"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["url"], "properties": {
                        "url": {"type": "string", "pattern": "^https?://"},
                        "interval": {"type": "string", "default": "5m"},
                        "replicas": {"type": "integer", "minimum": 1},
                        "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}}
            }]
        }
    }))?)
}

#[tokio::test]
async fn crd_serves_validates_defaults_prunes() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let created = crds.create(&PostParams::default(), &crd()?).await?;
    let conditions = created
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    for ty in ["NamesAccepted", "Established"] {
        assert!(
            conditions
                .iter()
                .any(|c| c.type_ == ty && c.status == "True"),
            "{ty}: {conditions:?}"
        );
    }

    // Discovery shows the new type.
    let discovery = Discovery::new(client.clone()).run().await?;
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"))
        .ok_or_else(|| anyhow::anyhow!("Widget not discovered"))?;
    assert_eq!(ar.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"url": "https://x", "unknown": 1, "values": {"free": {"form": true}}},
        "junk": true
    }))?;
    let stored = api.create(&PostParams::default(), &w).await?;
    assert_eq!(stored.data["spec"]["interval"], "5m", "defaulted");
    assert!(stored.data["spec"].get("unknown").is_none(), "pruned");
    assert!(stored.data.get("junk").is_none(), "pruned at the root");
    assert_eq!(
        stored.data["spec"]["values"]["free"]["form"], true,
        "preserved"
    );
    assert_eq!(stored.metadata.generation, Some(1));

    let bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "bad"},
        "spec": {"url": "ftp://x", "replicas": 0}
    }))?;
    let err = api
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("invalid");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("not an API error: {err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status
            .message
            .starts_with("Widget.example.com \"bad\" is invalid: [spec.url"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains("spec.replicas"),
        "{}",
        status.message
    );
    let missing: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "m"}, "spec": {}}))?;
    let err = api
        .create(&PostParams::default(), &missing)
        .await
        .expect_err("required");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("not an API error: {err}")
    };
    assert!(
        status.message.contains("spec.url: Required value"),
        "{}",
        status.message
    );

    // Status subresource: status writes don't bump generation, spec writes do.
    let s = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}})),
        )
        .await?;
    assert_eq!(s.data["status"]["ready"], true);
    assert_eq!(s.metadata.generation, Some(1));
    let s = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await?;
    assert_eq!(s.metadata.generation, Some(2));
    // Strategic merge patch is refused for custom resources, as upstream.
    let err = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect_err("no SMP on CRs");
    assert_eq!(api_error(&err).map(|e| e.0), Some(415));

    // Deleting the CRD removes the type and its objects.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await?;
    let err = api.get("w").await.expect_err("type is gone");
    assert_eq!(api_error(&err).map(|e| e.0), Some(404));
    Ok(())
}

#[tokio::test]
async fn crd_with_bad_schema_is_rejected() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let mut bad = serde_json::to_value(crd()?)?;
    bad["metadata"]["name"] = json!("wrong.example.com");
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["type"] = json!("string");
    let bad: CustomResourceDefinition = serde_json::from_value(bad)?;
    let err = crds
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("invalid CRD");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("not an API error: {err}")
    };
    assert_eq!(status.code, 422);
    assert!(
        status.message.contains("metadata.name"),
        "{}",
        status.message
    );
    assert!(
        status.message.contains("openAPIV3Schema.type"),
        "{}",
        status.message
    );
    Ok(())
}

#[tokio::test]
async fn multi_version_crd_serves_every_version_from_one_store() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let schema = json!({"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}});
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.org"},
        "spec": {"group": "example.org", "scope": "Cluster",
                 "names": {"plural": "things", "kind": "Thing"},
                 "versions": [
                    {"name": "v1beta1", "served": true, "storage": false, "schema": schema},
                    {"name": "v1", "served": true, "storage": true, "schema": schema}]}
    }))?;
    let created = crds.create(&PostParams::default(), &crd).await?;
    assert_eq!(
        created.status.and_then(|s| s.stored_versions),
        Some(vec!["v1".to_string()])
    );
    let discovery = Discovery::new(client.clone()).run().await?;
    let group = discovery
        .get("example.org")
        .ok_or_else(|| anyhow::anyhow!("group not discovered"))?;
    assert_eq!(group.preferred_version(), Some("v1"));
    assert_eq!(group.versions().collect::<Vec<_>>(), ["v1", "v1beta1"]);

    let at = |v: &str| {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("example.org", v, "Thing"),
            "things",
        );
        Api::<DynamicObject>::all_with(client.clone(), &ar)
    };
    let beta = at("v1beta1");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.org/v1beta1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"x": 1}}))?;
    beta.create(&PostParams::default(), &obj).await?;
    let read = at("v1").get("t").await?;
    assert_eq!(
        read.types.map(|t| t.api_version).as_deref(),
        Some("example.org/v1")
    );
    assert_eq!(read.data["spec"]["x"], 1);
    Ok(())
}

#[tokio::test]
async fn crd_scale_subresource_follows_its_paths() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "pools.example.net"},
        "spec": {"group": "example.net", "scope": "Namespaced",
            "names": {"plural": "pools", "kind": "Pool"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
                    "statusReplicasPath": ".status.ready", "labelSelectorPath": ".status.selector"}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {
                        "ready": {"type": "integer"}, "selector": {"type": "string"}}}}}}}]}
    }))?;
    crds.create(&PostParams::default(), &crd).await?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.net", "v1", "Pool"),
        "pools",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let pool: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.net/v1", "kind": "Pool", "metadata": {"name": "p"}, "spec": {}}))?;
    api.create(&PostParams::default(), &pool).await?;
    // No spec.size yet: replicas 0, as upstream.
    let scale = api.get_scale("p").await?;
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(0));
    api.patch_status(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"ready": 2, "selector": "app=p"}})),
    )
    .await?;
    let scaled = api
        .patch_scale(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await?;
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    let status = scaled.status.unwrap_or_default();
    assert_eq!(
        (status.replicas, status.selector.as_deref()),
        (2, Some("app=p"))
    );
    let stored = api.get("p").await?;
    assert_eq!(stored.data["spec"]["size"], 4);
    assert!(stored.data["spec"].get("replicas").is_none());
    Ok(())
}
