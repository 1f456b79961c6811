//! Integration tests of flux-ssa against the embedded API server, in-process.

mod apply;
mod health;
mod kstatus_table;
mod prune;

use flux_apiserver::ApiServer;
use flux_ssa::{Owner, ResourceManager};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

/// A fresh in-memory API server, a kube client on it and a resource manager applying as
/// `kustomize-controller`.
pub fn setup() -> anyhow::Result<(ApiServer, kube::Client, ResourceManager)> {
    let server = ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    let manager = ResourceManager::new(client.clone(), owner());
    Ok((server, client, manager))
}

pub fn owner() -> Owner {
    Owner {
        field: "kustomize-controller".into(),
        group: "kustomize.toolkit.fluxcd.io".into(),
    }
}

/// A dynamic API for `api_version`/`kind` (plural given) in `namespace` ("" = cluster).
pub fn dynamic(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    plural: &str,
    namespace: &str,
) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    if namespace.is_empty() {
        Api::all_with(client.clone(), &resource)
    } else {
        Api::namespaced_with(client.clone(), namespace, &resource)
    }
}

/// The object as JSON, or None when absent.
pub async fn get(api: &Api<DynamicObject>, name: &str) -> anyhow::Result<Option<Value>> {
    Ok(match api.get_opt(name).await? {
        Some(found) => Some(serde_json::to_value(found)?),
        None => None,
    })
}

pub fn config_map(namespace: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": namespace}, "data": data})
}

pub fn deployment(namespace: &str, name: &str, replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"replicas": replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "app", "image": image}]}}}})
}

/// Writes `status` through the status subresource, as a controller would.
pub async fn write_status(
    api: &Api<DynamicObject>,
    name: &str,
    status: Value,
) -> anyhow::Result<()> {
    let params = PatchParams {
        field_manager: Some("test-controller".into()),
        ..PatchParams::default()
    };
    api.patch_status(name, &params, &Patch::Merge(json!({"status": status})))
        .await?;
    Ok(())
}

/// The manager's futures can be spawned on a multi-threaded runtime (controllers do).
#[test]
fn futures_are_send_and_the_manager_is_shareable() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<ResourceManager>();
    assert_sync::<flux_ssa::HealthCheckExprs>();
    assert_sync::<flux_ssa::WaitOptions>();
    let runtime = tokio::runtime::Builder::new_current_thread().build();
    let Ok(runtime) = runtime else {
        panic!("runtime")
    };
    let _guard = runtime.enter();
    let Ok((_server, _client, manager)) = setup() else {
        panic!("setup")
    };
    let options = flux_ssa::ApplyOptions::default();
    let apply = manager.apply_all_staged(Vec::new(), &options);
    assert_send(&apply);
    let owner = owner();
    let delete_options = flux_ssa::DeleteOptions::kustomize_controller(&owner, "a", "b");
    let delete = manager.delete_all(&[], &delete_options);
    assert_send(&delete);
    let wait_options = flux_ssa::WaitOptions::default();
    let wait = manager.wait_for_set(&[], &wait_options);
    assert_send(&wait);
}
