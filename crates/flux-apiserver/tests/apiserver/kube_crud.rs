//! CRUD through kube-rs `Api` against the in-process server.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{api_error, in_process};

fn cm(name: &str, labels: serde_json::Value) -> anyhow::Result<ConfigMap> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"}
    }))?)
}

#[tokio::test]
async fn configmap_create_get_update_conflict_patch_delete() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &cm("a", json!({"app": "x"}))?)
        .await?;
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert!(meta.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert!(meta.creation_timestamp.is_some());
    assert!(meta.generation.is_none(), "ConfigMaps carry no generation");
    let rv1: u64 = meta.resource_version.as_deref().unwrap_or("").parse()?;

    let again = api
        .create(&PostParams::default(), &cm("a", json!({}))?)
        .await;
    let err = again.expect_err("duplicate create must fail");
    assert_eq!(api_error(&err), Some((409, "AlreadyExists".into())));

    let mut fetched = api.get("a").await?;
    fetched.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = api.replace("a", &PostParams::default(), &fetched).await?;
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap_or("")
        .parse()?;
    assert!(rv2 > rv1, "resourceVersion grows: {rv1} -> {rv2}");

    // The stale copy (rv1) now conflicts.
    let stale = api.replace("a", &PostParams::default(), &fetched).await;
    assert_eq!(
        api_error(&stale.expect_err("stale")),
        Some((409, "Conflict".into()))
    );

    // Merge patch and JSON patch with a test op (what kube's finalizer() sends).
    let patched = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"m": "1"}})),
        )
        .await?;
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("m"))
            .map(String::as_str),
        Some("1")
    );
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/m", "value": "1"},
        {"op": "add", "path": "/data/j", "value": "2"}
    ]))?;
    let patched = api
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await?;
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("j"))
            .map(String::as_str),
        Some("2")
    );
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/m", "value": "nope"}]))?;
    let err = api
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(failing))
        .await
        .expect_err("failed test op");
    assert_eq!(api_error(&err).map(|e| e.0), Some(422));

    // Strategic merge patch on a built-in kind.
    let patched = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"s": "3"}})),
        )
        .await?;
    assert_eq!(
        patched
            .data
            .as_ref()
            .and_then(|d| d.get("s"))
            .map(String::as_str),
        Some("3")
    );

    api.delete("a", &DeleteParams::default()).await?;
    let gone = api.get("a").await.expect_err("deleted");
    assert_eq!(api_error(&gone), Some((404, "NotFound".into())));
    Ok(())
}

#[tokio::test]
async fn generate_name_dry_run_and_selectors() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut gen_cm = cm("", json!({"tier": "a"}))?;
    gen_cm.metadata.name = None;
    gen_cm.metadata.generate_name = Some("gen-".into());
    let made = api.create(&PostParams::default(), &gen_cm).await?;
    let name = made.metadata.name.unwrap_or_default();
    assert!(
        name.starts_with("gen-") && name.len() == 9,
        "generated name {name}"
    );

    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    api.create(&dry, &cm("dry", json!({}))?).await?;
    assert!(
        api.get_opt("dry").await?.is_none(),
        "dry run stored nothing"
    );

    for (n, tier) in [("b1", "b"), ("b2", "b"), ("c1", "c")] {
        api.create(&PostParams::default(), &cm(n, json!({"tier": tier}))?)
            .await?;
    }
    let names = |l: kube::api::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .collect()
    };
    assert_eq!(
        names(api.list(&ListParams::default().labels("tier=b")).await?),
        ["b1", "b2"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier in (c,a)"))
                .await?
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier notin (b),tier"))
                .await?
        )
        .len(),
        2
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c1"))
                .await?
        ),
        ["c1"]
    );

    // Pagination: limit + continue walks everything exactly once.
    let mut seen = Vec::new();
    let mut lp = ListParams::default().limit(2);
    loop {
        let page = api.list(&lp).await?;
        let token = page.metadata.continue_.clone();
        seen.extend(names(page));
        match token {
            Some(t) if !t.is_empty() => lp = lp.continue_token(&t),
            _ => break,
        }
    }
    assert_eq!(seen.len(), 4, "all objects once: {seen:?}");

    // deletecollection with a selector.
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("tier=b"),
    )
    .await?;
    assert_eq!(api.list(&ListParams::default()).await?.items.len(), 2);
    Ok(())
}

#[tokio::test]
async fn generation_follows_spec_changes_only() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}},
        "status": {"replicas": 9}
    }))?;
    let created = api.create(&PostParams::default(), &d).await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.status.is_none(), "status is dropped on create");
    let spec = created.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(1), "defaulted replicas");
    assert_eq!(spec.revision_history_limit, Some(10));

    let p = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await?;
    assert_eq!(
        p.metadata.generation,
        Some(1),
        "metadata changes keep generation"
    );
    let p = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await?;
    assert_eq!(p.metadata.generation, Some(2));
    let s = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 3, "observedGeneration": 2}})),
        )
        .await?;
    assert_eq!(
        s.metadata.generation,
        Some(2),
        "status changes keep generation"
    );
    assert_eq!(s.status.as_ref().and_then(|s| s.replicas), Some(3));
    // A status write through the main resource is ignored.
    let p = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 7}})),
        )
        .await?;
    assert_eq!(p.status.as_ref().and_then(|s| s.replicas), Some(3));
    // The scale subresource reads and writes spec.replicas.
    let scale = api.get_scale("web").await?;
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
    let scaled = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await?;
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    let p = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await?;
    assert_eq!(p.metadata.generation, Some(4));
    // A write that changes nothing keeps the resourceVersion.
    let same = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await?;
    assert_eq!(same.metadata.resource_version, p.metadata.resource_version);
    Ok(())
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut c = cm("fin", json!({}))?;
    c.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &c).await?;
    api.delete("fin", &DeleteParams::default()).await?;
    let held = api.get("fin").await?;
    assert!(held.metadata.deletion_timestamp.is_some());
    // No new finalizers while deleting.
    let err = api
        .patch(
            "fin",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/hold", "b/c"]}})),
        )
        .await
        .expect_err("adding a finalizer while deleting");
    assert_eq!(api_error(&err).map(|e| e.0), Some(422));
    api.patch(
        "fin",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert!(
        api.get_opt("fin").await?.is_none(),
        "gone once the finalizer is removed"
    );
    Ok(())
}

#[tokio::test]
async fn namespaces_lifecycle() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let nss: Api<Namespace> = Api::all(client.clone());
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let ns = nss.get(n).await?;
        assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    }
    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nope");
    let err = missing
        .create(&PostParams::default(), &cm("x", json!({}))?)
        .await
        .expect_err("no ns");
    assert_eq!(api_error(&err), Some((404, "NotFound".into())));
    assert!(missing.list(&ListParams::default()).await?.items.is_empty());

    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "demo"}}))?;
    let ns = nss.create(&PostParams::default(), &ns).await?;
    assert_eq!(
        ns.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/metadata.name"))
            .map(String::as_str),
        Some("demo")
    );
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), "demo");
    assert!(
        sas.get_opt("default").await?.is_some(),
        "every namespace has a default ServiceAccount"
    );
    let in_demo: Api<ConfigMap> = Api::namespaced(client.clone(), "demo");
    in_demo
        .create(&PostParams::default(), &cm("plain", json!({}))?)
        .await?;
    let mut held = cm("held", json!({}))?;
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    in_demo.create(&PostParams::default(), &held).await?;

    nss.delete("demo", &DeleteParams::default()).await?;
    let terminating = nss.get("demo").await?;
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    assert!(
        in_demo.get_opt("plain").await?.is_none(),
        "content is deleted"
    );
    let err = in_demo
        .create(&PostParams::default(), &cm("late", json!({}))?)
        .await
        .expect_err("terminating");
    assert_eq!(api_error(&err).map(|e| e.0), Some(403));
    in_demo
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await?;
    assert!(
        nss.get_opt("demo").await?.is_none(),
        "namespace goes once empty"
    );
    Ok(())
}

#[tokio::test]
async fn owner_references_are_garbage_collected() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({}))?)
        .await?;
    let uid = owner.metadata.uid.clone().unwrap_or_default();
    for n in ["dep1", "dep2"] {
        let mut d = cm(n, json!({}))?;
        d.metadata.owner_references = Some(vec![serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}))?]);
        api.create(&PostParams::default(), &d).await?;
    }
    api.delete("owner", &DeleteParams::default()).await?;
    assert!(api.get_opt("dep1").await?.is_none());
    assert!(api.get_opt("dep2").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn secret_string_data_is_stored_as_data() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Secret;
    let (_server, client) = in_process()?;
    let api: Api<Secret> = Api::namespaced(client, "default");
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds"},
        "data": {"username": "Z2l0"},
        "stringData": {"password": "hunter2", "username": "flux"}
    }))?;
    api.create(&PostParams::default(), &secret).await?;
    let stored = api.get("creds").await?;
    assert!(stored.string_data.is_none(), "stringData is write-only");
    let data = stored.data.unwrap_or_default();
    assert_eq!(
        data.get("password").map(|b| b.0.as_slice()),
        Some(&b"hunter2"[..])
    );
    assert_eq!(
        data.get("username").map(|b| b.0.as_slice()),
        Some(&b"flux"[..])
    );
    assert_eq!(stored.type_.as_deref(), Some("Opaque"));

    // A merge patch with stringData updates one key and keeps the others.
    let patch = json!({"stringData": {"password": "changed"}});
    api.patch("creds", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let patched = api.get("creds").await?;
    let data = patched.data.unwrap_or_default();
    assert_eq!(
        data.get("password").map(|b| b.0.as_slice()),
        Some(&b"changed"[..])
    );
    assert_eq!(
        data.get("username").map(|b| b.0.as_slice()),
        Some(&b"flux"[..])
    );
    assert!(patched.string_data.is_none());
    Ok(())
}
