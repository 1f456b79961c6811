//! CRD `x-kubernetes-validations` (CEL) and OpenAPI `format` checks on every write path:
//! create, update, merge/JSON patch, server-side apply and the status subresource.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};

use super::in_process;

fn gadget_crd() -> anyhow::Result<CustomResourceDefinition> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-validations": [
                        {"rule": "self.metadata.name.size() <= 20", "message": "name too long"}],
                    "properties": {
                    "spec": {"type": "object",
                        "x-kubernetes-validations": [
                            {"rule": "self.minReplicas <= self.maxReplicas",
                             "messageExpression": "'minReplicas (' + string(self.minReplicas) + ') must not exceed maxReplicas (' + string(self.maxReplicas) + ')'"},
                            {"rule": "self.storageClass == oldSelf.storageClass", "message": "storageClass is immutable",
                             "fieldPath": ".storageClass"}],
                        "properties": {
                            "minReplicas": {"type": "integer", "default": 1},
                            "maxReplicas": {"type": "integer", "default": 3},
                            "storageClass": {"type": "string", "default": "standard"},
                            "endpoint": {"type": "string", "format": "uri"},
                            "since": {"type": "string", "format": "date-time"},
                            "owner": {"type": "string", "format": "email"},
                            "mode": {"type": "string",
                                "x-kubernetes-validations": [{"rule": "self in ['fast', 'safe']", "reason": "FieldValueForbidden",
                                    "message": "mode must be fast or safe"}]}
                        }},
                    "status": {"type": "object", "properties": {
                        "phase": {"type": "string",
                            "x-kubernetes-validations": [{"rule": "self != 'Broken'", "message": "phase Broken is reserved"}]}}}
                }}}}]}
    }))?)
}

async fn setup() -> anyhow::Result<(flux_apiserver::ApiServer, Api<DynamicObject>)> {
    let (server, client) = in_process()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &gadget_crd()?).await?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Gadget"),
        "gadgets",
    );
    Ok((server, Api::namespaced_with(client, "default", &ar)))
}

fn gadget(name: &str, spec: Value) -> anyhow::Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Gadget",
        "metadata": {"name": name}, "spec": spec}))?)
}

/// One `details.causes[]` entry: (field, reason, message).
type Cause = (String, String, String);

/// The 422 Status of a failed write: its message and causes.
fn invalid(err: &kube::Error) -> anyhow::Result<(String, Vec<Cause>)> {
    let kube::Error::Api(status) = err else {
        anyhow::bail!("not an API error: {err}")
    };
    anyhow::ensure!(
        status.code == 422 && status.reason == "Invalid",
        "expected 422 Invalid, got {} {}: {}",
        status.code,
        status.reason,
        status.message
    );
    let causes = status
        .details
        .as_ref()
        .map(|d| {
            d.causes
                .iter()
                .map(|c| (c.field.clone(), c.reason.clone(), c.message.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok((status.message.clone(), causes))
}

#[tokio::test]
async fn cel_rules_run_on_create_with_upstream_error_shape() -> anyhow::Result<()> {
    let (_server, api) = setup().await?;
    // Defaults are applied before the rules run (1 <= 3).
    let ok = api
        .create(
            &PostParams::default(),
            &gadget("ok", json!({"mode": "fast"}))?,
        )
        .await?;
    assert_eq!(ok.data["spec"]["minReplicas"], 1);

    let err = api
        .create(
            &PostParams::default(),
            &gadget(
                "bad",
                json!({"minReplicas": 5, "maxReplicas": 2, "mode": "slow"}),
            )?,
        )
        .await
        .expect_err("rules fail");
    let (message, causes) = invalid(&err)?;
    assert_eq!(
        causes,
        vec![
            (
                "spec".to_string(),
                "FieldValueInvalid".to_string(),
                "Invalid value: minReplicas (5) must not exceed maxReplicas (2)".to_string()
            ),
            (
                "spec.mode".to_string(),
                "FieldValueForbidden".to_string(),
                "Forbidden: mode must be fast or safe".to_string()
            ),
        ]
    );
    assert!(
        message.starts_with(
            "Gadget.example.com \"bad\" is invalid: [spec: Invalid value: minReplicas (5)"
        ),
        "{message}"
    );
    // A rule at the root sees metadata.name; upstream's path for the root is "<nil>".
    let err = api
        .create(
            &PostParams::default(),
            &gadget("a-name-that-is-far-too-long", json!({}))?,
        )
        .await
        .expect_err("root rule");
    let (_, causes) = invalid(&err)?;
    assert_eq!(
        causes,
        vec![(
            "<nil>".to_string(),
            "FieldValueInvalid".to_string(),
            "Invalid value: name too long".to_string()
        )]
    );
    // Nothing partial was stored.
    assert!(api.get_opt("bad").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn transition_rules_run_on_update_patch_apply_and_status() -> anyhow::Result<()> {
    let (_server, api) = setup().await?;
    api.create(
        &PostParams::default(),
        &gadget("g", json!({"storageClass": "fast-ssd"}))?,
    )
    .await?;

    // Merge patch changing an immutable field.
    let err = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"storageClass": "slow-hdd"}})),
        )
        .await
        .expect_err("transition rule");
    let (_, causes) = invalid(&err)?;
    assert_eq!(
        causes,
        vec![(
            "spec.storageClass".to_string(),
            "FieldValueInvalid".to_string(),
            "Invalid value: storageClass is immutable".to_string()
        )]
    );

    // Update (PUT) with the same change.
    let mut current = api.get("g").await?;
    current.data["spec"]["storageClass"] = json!("other");
    let err = api
        .replace("g", &PostParams::default(), &current)
        .await
        .expect_err("update");
    assert_eq!(invalid(&err)?.1.len(), 1);

    // Server-side apply.
    let cfg = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"},
        "spec": {"storageClass": "applied"}});
    let err = api
        .patch("g", &PatchParams::apply("t").force(), &Patch::Apply(&cfg))
        .await
        .expect_err("apply");
    assert_eq!(invalid(&err)?.1[0].0, "spec.storageClass");

    // JSON patch that breaks a plain rule.
    let err = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(json!([
                {"op": "add", "path": "/spec/minReplicas", "value": 10}]))?),
        )
        .await
        .expect_err("json patch");
    assert_eq!(invalid(&err)?.1[0].0, "spec");

    // Changes that keep the rules pass.
    let ok = api
        .patch(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"maxReplicas": 9}})),
        )
        .await?;
    assert_eq!(ok.data["spec"]["storageClass"], "fast-ssd");

    // The status subresource is validated too.
    let err = api
        .patch_status(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Broken"}})),
        )
        .await
        .expect_err("status rule");
    let (_, causes) = invalid(&err)?;
    assert_eq!(
        causes,
        vec![(
            "status.phase".to_string(),
            "FieldValueInvalid".to_string(),
            "Invalid value: \"Broken\": phase Broken is reserved".to_string()
        )]
    );
    let ok = api
        .patch_status(
            "g",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await?;
    assert_eq!(ok.data["status"]["phase"], "Ready");
    Ok(())
}

#[tokio::test]
async fn schema_errors_block_rules_and_formats_are_checked() -> anyhow::Result<()> {
    let (_server, api) = setup().await?;
    let err = api
        .create(
            &PostParams::default(),
            &gadget(
                "f",
                json!({"endpoint": "not a uri", "since": "yesterday", "owner": "nobody", "minReplicas": "x"}),
            )?,
        )
        .await
        .expect_err("formats");
    let (_, causes) = invalid(&err)?;
    let by_field = |f: &str| causes.iter().find(|c| c.0 == f).cloned();
    assert_eq!(
        by_field("spec.endpoint"),
        Some((
            "spec.endpoint".to_string(),
            "FieldValueTypeInvalid".to_string(),
            "Invalid value: \"not a uri\": spec.endpoint in body must be of type uri: \"not a uri\""
                .to_string()
        ))
    );
    assert!(by_field("spec.since").is_some(), "{causes:?}");
    assert!(by_field("spec.owner").is_some(), "{causes:?}");
    assert_eq!(
        by_field("spec.minReplicas").map(|c| c.1),
        Some("FieldValueTypeInvalid".to_string())
    );
    // A type error stops the CEL rules, with upstream's note.
    assert_eq!(
        by_field("<nil>").map(|c| c.2),
        Some("Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".to_string())
    );
    let ok = api
        .create(
            &PostParams::default(),
            &gadget(
                "f",
                json!({"endpoint": "https://example.com/x", "since": "2024-05-01T10:00:00Z", "owner": "ops@example.com"}),
            )?,
        )
        .await?;
    assert_eq!(ok.data["spec"]["since"], "2024-05-01T10:00:00Z");
    Ok(())
}

#[tokio::test]
async fn crd_with_a_rule_that_does_not_compile_is_rejected() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let mut bad = serde_json::to_value(gadget_crd()?)?;
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"]
        [0]["rule"] = json!("self.minReplicas <=");
    let bad: CustomResourceDefinition = serde_json::from_value(bad)?;
    let err = crds
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("rule does not compile");
    let kube::Error::Api(status) = &err else {
        anyhow::bail!("not an API error: {err}")
    };
    assert_eq!(status.code, 422);
    let fields: Vec<String> = status
        .details
        .as_ref()
        .map(|d| d.causes.iter().map(|c| c.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        [
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
        ]
    );
    assert!(crds.get_opt("gadgets.example.com").await?.is_none());
    Ok(())
}
