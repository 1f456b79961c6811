//! fluxd (the binary) against the embedded API server and a real Git server.

use std::time::Duration;

use flux_api::kustomize::Kustomization;
use flux_api::source::GitRepository;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event};
use kube::Api;
use kube::api::{ListParams, PostParams};

use crate::fixtures::{Cluster, Fluxd, Repo, eventually, have_git};

const APP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  greeting: hello-from-git
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
";

fn ready(conditions: Option<&Vec<flux_api::meta::Condition>>, generation: Option<i64>) -> bool {
    conditions.is_some_and(|c| flux_api::conditions::is_ready_for(c, generation.unwrap_or(0)))
}

async fn create_sources(cluster: &Cluster, url: &str) -> anyhow::Result<()> {
    let repo: GitRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "repo", "namespace": "default"},
        "spec": {"url": url, "interval": "10m", "ref": {"branch": "main"}},
    }))?;
    Api::<GitRepository>::namespaced(cluster.client.clone(), "default")
        .create(&PostParams::default(), &repo)
        .await?;
    let ks: Kustomization = serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "interval": "10m", "prune": true, "path": "./app",
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
        },
    }))?;
    Api::<Kustomization>::namespaced(cluster.client.clone(), "default")
        .create(&PostParams::default(), &ks)
        .await?;
    Ok(())
}

async fn holder(leases: &Api<Lease>, name: &str) -> anyhow::Result<Option<String>> {
    Ok(leases
        .get_opt(name)
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fluxd_reconciles_git_repository_and_kustomization_with_both_leases() -> anyhow::Result<()>
{
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(&[("app/app.yaml", APP)])?;
    let cluster = Cluster::start().await?;
    let mut fluxd = Fluxd::start(&cluster, &["--controllers=source,kustomize"])?;
    create_sources(&cluster, &repo.url).await?;

    let kustomizations: Api<Kustomization> = Api::namespaced(cluster.client.clone(), "default");
    let result = eventually(
        Duration::from_secs(90),
        "Kustomization app Ready",
        || async {
            let ks = kustomizations.get("app").await?;
            let status = ks.status.as_ref();
            Ok(ready(
                status.and_then(|s| s.conditions.as_ref()),
                ks.metadata.generation,
            )
            .then_some(ks))
        },
    )
    .await;
    let ks = match result {
        Ok(ks) => ks,
        Err(e) => anyhow::bail!("{e}\nfluxd log:\n{}", fluxd.log_text()),
    };
    let revision = ks
        .status
        .as_ref()
        .and_then(|s| s.last_applied_revision.clone())
        .unwrap_or_default();
    assert!(revision.starts_with("main@sha1:"), "revision {revision}");
    let repos: Api<GitRepository> = Api::namespaced(cluster.client.clone(), "default");
    let gr = repos.get("repo").await?;
    assert!(ready(
        gr.status.as_ref().and_then(|s| s.conditions.as_ref()),
        gr.metadata.generation
    ));

    // The objects from Git exist.
    let cm = Api::<ConfigMap>::namespaced(cluster.client.clone(), "default")
        .get("settings")
        .await?;
    assert_eq!(
        cm.data.and_then(|d| d.get("greeting").cloned()).as_deref(),
        Some("hello-from-git")
    );
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
    assert!(namespaces.get_opt("team-a").await?.is_some());

    // One Lease per controller, named as upstream, held by this fluxd.
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "default");
    let source_holder = holder(&leases, "source-controller-leader-election").await?;
    let kustomize_holder = holder(&leases, "kustomize-controller-leader-election").await?;
    assert!(source_holder.is_some(), "source lease has no holder");
    assert_eq!(source_holder, kustomize_holder);

    // Events are reported by the controller that emitted them.
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), "default");
    let reporters: Vec<String> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.reporting_component.or(e.source.and_then(|s| s.component)))
        .collect();
    assert!(
        reporters.iter().any(|r| r == "kustomize-controller"),
        "reporters: {reporters:?}"
    );

    // SIGTERM stops fluxd cleanly and releases both leases.
    fluxd.terminate()?;
    let status = fluxd.wait_exit(Duration::from_secs(30)).await?;
    assert!(
        status.success(),
        "exit {status:?}; log:\n{}",
        fluxd.log_text()
    );
    assert_eq!(
        holder(&leases, "source-controller-leader-election").await?,
        None
    );
    assert_eq!(
        holder(&leases, "kustomize-controller-leader-election").await?,
        None
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_lease_stops_fluxd_with_an_error() -> anyhow::Result<()> {
    let cluster = Cluster::start().await?;
    let mut fluxd = Fluxd::start(
        &cluster,
        &[
            "--controllers=kustomize",
            "--leader-election-retry-period=200ms",
            "--leader-election-renew-deadline=2s",
        ],
    )?;
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), "default");
    let name = "kustomize-controller-leader-election";
    eventually(Duration::from_secs(30), "the lease to be held", || async {
        Ok(holder(&leases, name).await?.map(|_| ()))
    })
    .await?;
    assert!(
        leases
            .get_opt("source-controller-leader-election")
            .await?
            .is_none(),
        "only the requested controller elects"
    );
    // Another instance takes the lease over.
    let mut lease = leases.get(name).await?;
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = Some("another-fluxd".into());
        spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
            jiff::Timestamp::now(),
        ));
        spec.lease_duration_seconds = Some(3600);
    }
    leases.replace(name, &PostParams::default(), &lease).await?;
    let status = fluxd.wait_exit(Duration::from_secs(20)).await?;
    let log = fluxd.log_text();
    assert!(!status.success(), "fluxd must fail when its lease is lost");
    assert!(log.contains("leader election lost"), "log:\n{log}");
    // It did not release a lease it no longer holds.
    assert_eq!(
        holder(&leases, name).await?.as_deref(),
        Some("another-fluxd")
    );
    Ok(())
}
