//! Prints how fast flux-ssa applies Flux-benchmark-shaped sets (Namespace, ServiceAccount,
//! Service, Ingress, Deployment scaled to zero) to the embedded API server in-process:
//! first apply (everything created), re-apply (everything unchanged), and prune.
//!
//! `cargo run -p flux-ssa --example apply_bench -- [N] [CONCURRENT]` (default 100 sets, 8 at once).

use std::time::Instant;

use anyhow::Context;
use flux_ssa::{ApplyOptions, DeleteOptions, Inventory, Owner, ResourceManager, set_owner_labels};
use futures::StreamExt;
use serde_json::{Value, json};

fn set(i: usize) -> Vec<Value> {
    let ns = format!("tenant-{i}");
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": ns}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app", "namespace": ns},
               "spec": {"selector": {"app": "app"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "app", "namespace": ns},
               "spec": {"rules": [{"host": format!("{ns}.example.com"), "http": {"paths": [{"path": "/",
                   "pathType": "Prefix", "backend": {"service": {"name": "app", "port": {"number": 80}}}}]}}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": ns},
               "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "app"}},
                        "template": {"metadata": {"labels": {"app": "app"}},
                                     "spec": {"serviceAccountName": "app",
                                              "containers": [{"name": "app", "image": "nginx:1.27"}]}}}}),
    ]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()
        .context("N")?
        .unwrap_or(100);
    let concurrent: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()
        .context("CONCURRENT")?
        .unwrap_or(8);
    let server = flux_apiserver::ApiServer::in_memory()?;
    let client = kube::Client::new(server.router(), "default");
    let owner = Owner {
        field: "kustomize-controller".into(),
        group: "kustomize.toolkit.fluxcd.io".into(),
    };
    let manager = ResourceManager::new(client, owner.clone());
    let options = ApplyOptions::kustomize_controller("kustomize-controller", false);
    let sets: Vec<Vec<Value>> = (0..n)
        .map(|i| {
            set(i)
                .into_iter()
                .map(|mut o| {
                    set_owner_labels(&mut o, &owner, &format!("ks-{i}"), "flux-system");
                    o
                })
                .collect()
        })
        .collect();

    let run = |label: &'static str| {
        let sets = sets.clone();
        let manager = &manager;
        let options = &options;
        async move {
            let started = Instant::now();
            let results: Vec<_> = futures::stream::iter(sets)
                .map(|s| manager.apply_all_staged(s, options))
                .buffer_unordered(concurrent)
                .collect()
                .await;
            let elapsed = started.elapsed();
            let mut change_sets = Vec::new();
            for r in results {
                change_sets.push(r?);
            }
            println!(
                "{label:<10} {n} sets x 5 objects: {:>8.3} s  ({:.1} sets/s)",
                elapsed.as_secs_f64(),
                n as f64 / elapsed.as_secs_f64()
            );
            anyhow::Ok(change_sets)
        }
    };
    let created = run("create").await?;
    let _unchanged = run("unchanged").await?;

    let started = Instant::now();
    for (i, cs) in created.iter().enumerate() {
        let stale = Inventory::from_change_set(cs).diff(&Inventory::new());
        manager
            .delete_all(
                &stale,
                &DeleteOptions::kustomize_controller(&owner, &format!("ks-{i}"), "flux-system"),
            )
            .await?;
    }
    println!(
        "{:<10} {n} sets x 5 objects: {:>8.3} s",
        "prune",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
