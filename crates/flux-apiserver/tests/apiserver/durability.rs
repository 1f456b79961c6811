//! Durability: the server runs as a child process (the crate's `flux-apiserver` binary),
//! takes a burst of concurrent creates, is killed with SIGKILL mid-burst, and restarts
//! with every acknowledged write present and resourceVersions still growing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchParams};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

async fn spawn_server(dir: &Path) -> anyhow::Result<(Child, kube::Client)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flux-apiserver"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--port", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await??
        .ok_or_else(|| anyhow::anyhow!("server exited before listening"))?;
    anyhow::ensure!(
        line.starts_with("listening on https://"),
        "unexpected: {line}"
    );
    let kc = kube::config::Kubeconfig::read_from(dir.join("kubeconfig"))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok((child, kube::Client::try_from(config)?))
}

fn cm(name: &str) -> anyhow::Result<ConfigMap> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name}, "data": {"payload": name}
    }))?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut child, client) = spawn_server(dir.path()).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let acked: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let api = api.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{w}-{i}");
                let Ok(made) = api.create(&PostParams::default(), &cm(&name)?).await else {
                    break; // the server died mid-request: not acknowledged
                };
                let rv = made
                    .metadata
                    .resource_version
                    .unwrap_or_default()
                    .parse::<u64>()?;
                acked
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .insert(name, rv);
            }
            anyhow::Ok(())
        }));
    }
    // Let the burst run, then SIGKILL while writers are still going.
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if acked.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len() >= 300 {
            break;
        }
    }
    child.kill().await?;
    for w in writers {
        w.await??;
    }
    let acked = acked
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let max_rv = acked.values().copied().max().unwrap_or(0);

    let (_child2, client2) = spawn_server(dir.path()).await?;
    let api2: Api<ConfigMap> = Api::namespaced(client2, "default");
    let list = api2.list(&ListParams::default()).await?;
    let present: BTreeMap<String, u64> = list
        .items
        .iter()
        .filter_map(|c| {
            Some((
                c.metadata.name.clone()?,
                c.metadata.resource_version.as_deref()?.parse().ok()?,
            ))
        })
        .collect();
    let lost: Vec<&String> = acked.keys().filter(|n| !present.contains_key(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    for (name, rv) in &acked {
        assert_eq!(
            present.get(name),
            Some(rv),
            "{name} kept its resourceVersion"
        );
    }
    let after = api2
        .create(&PostParams::default(), &cm("after-restart")?)
        .await?;
    let rv_after: u64 = after
        .metadata
        .resource_version
        .unwrap_or_default()
        .parse()?;
    assert!(
        rv_after > max_rv,
        "resourceVersion monotonic across restart: {rv_after} > {max_rv}"
    );
    let list_rv: u64 = list.metadata.resource_version.unwrap_or_default().parse()?;
    assert!(list_rv >= max_rv);

    // History before the restart is gone: watching from an old RV is 410 Expired.
    let mut stream = Box::pin(api2.watch(&WatchParams::default().timeout(5), "2").await?);
    use futures::TryStreamExt;
    match stream.try_next().await? {
        Some(kube::api::WatchEvent::Error(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"))
        }
        other => anyhow::bail!("expected a 410 ERROR event, got {other:?}"),
    }
    Ok(())
}
