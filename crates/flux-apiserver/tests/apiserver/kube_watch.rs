//! Watches through kube-rs: raw `Api::watch`, `watcher()` (list+watch and streaming
//! lists), bookmarks and selector transitions.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;

use super::in_process;

fn cm(name: &str, app: &str) -> anyhow::Result<ConfigMap> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": app}}, "data": {"k": "v"}
    }))?)
}

#[tokio::test]
async fn watch_from_resource_version_sees_changes_in_order() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("before", "a")?)
        .await?;
    let list = api.list_metadata(&Default::default()).await?;
    let rv = list.metadata.resource_version.unwrap_or_default();
    let stream = api.watch(&WatchParams::default().timeout(5), &rv).await?;
    let mut stream = stream.boxed();
    api.create(&PostParams::default(), &cm("w1", "a")?).await?;
    api.patch(
        "w1",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await?;
    api.delete("w1", &DeleteParams::default()).await?;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await??
            .ok_or_else(|| anyhow::anyhow!("stream ended early after {seen:?}"))?;
        match ev {
            WatchEvent::Added(o) => {
                seen.push(format!("ADDED {}", o.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Modified(o) => {
                seen.push(format!("MODIFIED {}", o.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Deleted(o) => {
                seen.push(format!("DELETED {}", o.metadata.name.unwrap_or_default()))
            }
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => anyhow::bail!("watch error {e:?}"),
        }
    }
    assert_eq!(seen, ["ADDED w1", "MODIFIED w1", "DELETED w1"]);
    Ok(())
}

#[tokio::test]
async fn label_selector_transitions_become_added_and_deleted() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut stream = api
        .watch(&WatchParams::default().labels("app=web").timeout(5), "0")
        .await?
        .boxed();
    api.create(&PostParams::default(), &cm("t", "other")?)
        .await?;
    api.patch(
        "t",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await?;
    api.patch(
        "t",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})),
    )
    .await?;
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await??
            .ok_or_else(|| anyhow::anyhow!("ended"))?
        {
            WatchEvent::Added(_) => kinds.push("ADDED"),
            WatchEvent::Deleted(_) => kinds.push("DELETED"),
            WatchEvent::Modified(_) => kinds.push("MODIFIED"),
            _ => {}
        }
    }
    assert_eq!(kinds, ["ADDED", "DELETED"]);
    Ok(())
}

async fn watcher_sees_objects(config: watcher::Config) -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("pre", "x")?).await?;
    let mut events = watcher(api.clone(), config).boxed();
    let mut init_done = false;
    let mut seen = std::collections::BTreeSet::new();
    let mut created_live = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(init_done && seen.contains("live")) {
        let ev = tokio::time::timeout_at(deadline, events.try_next())
            .await??
            .ok_or_else(|| anyhow::anyhow!("watcher ended"))?;
        match ev {
            watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                seen.insert(o.metadata.name.unwrap_or_default());
            }
            watcher::Event::InitDone => init_done = true,
            _ => {}
        }
        if init_done && !created_live {
            created_live = true;
            api.create(&PostParams::default(), &cm("live", "x")?)
                .await?;
        }
    }
    assert!(seen.contains("pre") && seen.contains("live"), "{seen:?}");
    Ok(())
}

#[tokio::test]
async fn runtime_watcher_list_then_watch() -> anyhow::Result<()> {
    watcher_sees_objects(watcher::Config::default()).await
}

#[tokio::test]
async fn runtime_watcher_streaming_list_gets_initial_events_end() -> anyhow::Result<()> {
    watcher_sees_objects(watcher::Config::default().streaming_lists()).await
}
