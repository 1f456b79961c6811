//! kube-runtime against the server: `finalizer()` (JSON patch with `test` ops) and a
//! `Controller` reconciling objects it watches.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use serde_json::json;

use super::in_process;

const FINALIZER: &str = "example.com/cleanup";

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed: {0}")]
struct ReconcileError(String);

async fn reconcile(cm: Arc<ConfigMap>, api: Arc<Api<ConfigMap>>) -> Result<Action, ReconcileError> {
    finalizer(&api, FINALIZER, cm, |event| async {
        match event {
            Event::Apply(cm) => {
                let name = cm.metadata.name.clone().unwrap_or_default();
                api.patch(
                    &name,
                    &PatchParams::apply("reconciler"),
                    &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": name, "annotations": {"example.com/reconciled": "true"}}})),
                )
                .await
                .map_err(|e| ReconcileError(e.to_string()))?;
                Ok(Action::await_change())
            }
            Event::Cleanup(_) => Ok::<_, ReconcileError>(Action::await_change()),
        }
    })
    .await
    .map_err(|e: kube::runtime::finalizer::Error<ReconcileError>| ReconcileError(e.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_with_finalizer_reconciles_and_cleans_up() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let shared = Arc::new(api.clone());
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .run(
                reconcile,
                |_, _, _| Action::requeue(Duration::from_secs(1)),
                shared,
            )
            .for_each(|r| async move {
                if let Err(e) = r {
                    eprintln!("reconcile error: {e:?}");
                }
            }),
    );
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "managed"}}))?,
    )
    .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let cm = api.get("managed").await?;
        let has_finalizer = cm
            .metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|x| x == FINALIZER));
        let reconciled = cm
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("example.com/reconciled"));
        if has_finalizer && reconciled {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not reconciled: {:?}",
            cm.metadata
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Deleting: the finalizer holds the object until the controller's cleanup removes it.
    api.delete("managed", &DeleteParams::default()).await?;
    loop {
        if api.get_opt("managed").await?.is_none() {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "finalizer never removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    controller.abort();
    Ok(())
}
