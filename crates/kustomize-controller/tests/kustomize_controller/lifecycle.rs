//! Health checks, drift correction and deletion.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use kustomize_controller::KustomizeOptions;

use crate::fixtures::{Env, Repo, condition, failed_with, have_git, is_ready};

fn deployment(image: &str, outcome: Option<&str>) -> String {
    let annotations = outcome
        .map(|o| format!("  annotations:\n    simulator.flux-rs.io/outcome: {o}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
{annotations}spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: {image}
"
    )
}

const CONFIG: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  key: from-git
";

fn config_maps(env: &Env) -> Api<ConfigMap> {
    Api::namespaced(env.client.clone(), "default")
}

async fn wait_gone(env: &Env, name: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while config_maps(env).get_opt(name).await?.is_some() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "ConfigMap {name} was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn failing_deployment_is_health_check_failed_then_recovers() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21526,
        &[("apps/deploy.yaml", &deployment("nginx:1.25", Some("fail")))],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "wait": true, "timeout": "10s", "retryInterval": "1s"}),
    )
    .await?;
    let ks = env
        .wait_ks("apps", "HealthCheckFailed", |k| {
            failed_with(k, "HealthCheckFailed")
        })
        .await?;
    let (status, reason, message) = condition(&ks, "Healthy").unwrap_or_default();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "HealthCheckFailed")
    );
    assert!(message.contains("Deployment/default/web"), "{message}");
    // The objects were applied even though they are unhealthy.
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), "default");
    assert!(deployments.get_opt("web").await?.is_some());
    assert!(ks.status.and_then(|s| s.last_applied_revision).is_none());

    // Fixed in Git: healthy again.
    let old = env
        .repos()
        .get("repo")
        .await?
        .status
        .and_then(|s| s.artifact)
        .map(|a| a.revision)
        .unwrap_or_default();
    repo.commit(
        &[("apps/deploy.yaml", &deployment("nginx:1.26", None))],
        &[],
        "fix",
    )?;
    env.request_source("1").await?;
    env.wait_source_revision_change(&old).await?;
    let ks = env.wait_ks("apps", "Ready", is_ready).await?;
    assert_eq!(
        condition(&ks, "Healthy").map(|c| c.0),
        Some("True".to_string())
    );
    Ok(())
}

#[tokio::test]
async fn drift_is_corrected_on_the_next_reconcile() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(21527, &[("apps/config.yaml", CONFIG)])?;
    let env = Env::start(KustomizeOptions::default()).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks("apps", serde_json::json!({"path": "./apps"}))
        .await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    // An edit as `kubectl edit` makes it.
    let patch = serde_json::json!({"data": {"key": "edited"}});
    config_maps(&env)
        .patch(
            "settings",
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(&patch),
        )
        .await?;
    env.request_ks("apps", "drift").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cm = config_maps(&env).get("settings").await?;
        if cm.data.unwrap_or_default().get("key").map(String::as_str) == Some("from-git") {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "drift was not corrected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn deletion_prunes_or_orphans_by_policy() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let orphan = CONFIG.replace("name: settings", "name: kept");
    let repo = Repo::create(
        21528,
        &[
            ("pruned/config.yaml", CONFIG),
            ("orphan/config.yaml", &orphan),
        ],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks("pruned", serde_json::json!({"path": "./pruned"}))
        .await?;
    env.create_ks(
        "orphan",
        serde_json::json!({"path": "./orphan", "deletionPolicy": "Orphan"}),
    )
    .await?;
    env.wait_ks("pruned", "Ready", is_ready).await?;
    env.wait_ks("orphan", "Ready", is_ready).await?;
    assert!(config_maps(&env).get_opt("settings").await?.is_some());
    assert!(config_maps(&env).get_opt("kept").await?.is_some());

    env.kustomizations()
        .delete("pruned", &DeleteParams::default())
        .await?;
    env.kustomizations()
        .delete("orphan", &DeleteParams::default())
        .await?;
    wait_gone(&env, "settings").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while env.kustomizations().get_opt("orphan").await?.is_some() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "orphan Kustomization was not finalized"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(config_maps(&env).get_opt("kept").await?.is_some());
    Ok(())
}
