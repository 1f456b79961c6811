//! The acceptance scenario end to end: a Git repository (served by `git http-backend`)
//! with an infrastructure layer and an apps layer that depends on it; the apps layer is a
//! kustomize overlay with patches and postBuild variables. A change in Git is applied, a
//! manifest deleted from Git is pruned, a `kubectl edit`-style drift is corrected on the
//! next reconcile, and a Deployment the workload simulator fails turns the apps layer
//! Ready=False HealthCheckFailed within its `timeout`, then Ready again once fixed in Git.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::{Patch, PatchParams};
use kustomize_controller::KustomizeOptions;

use crate::fixtures::{Env, Repo, applied_revision, condition, failed_with, have_git, is_ready};

const NAMESPACE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: apps-prod
";

const PLATFORM: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: platform
  namespace: default
data:
  tier: shared
";

const BASE: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- config.yaml
- extra.yaml
";

const BASE_WITHOUT_EXTRA: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- config.yaml
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
";

fn app_config(extra_line: &str) -> String {
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  env: ${{cluster_env}}
  region: ${{region:=eu}}
{extra_line}"
    )
}

const EXTRA: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
data:
  key: x
";

fn overlay(outcome: Option<&str>, tag: &str) -> String {
    let annotation = outcome
        .map(|o| {
            format!(
                "
- target:
    kind: Deployment
    name: web
  patch: |-
    - op: add
      path: /metadata/annotations
      value:
        simulator.flux-rs.io/outcome: {o}"
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: apps-prod
resources:
- ../../base
images:
- name: nginx
  newTag: \"{tag}\"
patches:
- target:
    kind: Deployment
    name: web
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 2{annotation}
"
    )
}

async fn until<T>(
    what: &str,
    mut probe: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn layered_repository_end_to_end() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21561,
        &[
            ("infrastructure/namespace.yaml", NAMESPACE),
            ("infrastructure/platform.yaml", PLATFORM),
            ("apps/base/kustomization.yaml", BASE),
            ("apps/base/deployment.yaml", DEPLOYMENT),
            ("apps/base/config.yaml", &app_config("")),
            ("apps/base/extra.yaml", EXTRA),
            (
                "apps/overlays/prod/kustomization.yaml",
                &overlay(None, "1.25"),
            ),
        ],
    )?;
    // Timers far away: every step below is driven by events.
    let env = Env::start_with(KustomizeOptions::default(), Duration::from_secs(300)).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps/overlays/prod", "interval": "1h",
            "retryInterval": "2s", "wait": true, "timeout": "10s",
            "dependsOn": [{"name": "infrastructure"}],
            "postBuild": {"substitute": {"cluster_env": "prod"}}}),
    )
    .await?;
    env.create_ks(
        "infrastructure",
        serde_json::json!({"path": "./infrastructure", "interval": "1h", "wait": true,
            "timeout": "10s"}),
    )
    .await?;

    // 1. Both layers applied, apps after infrastructure.
    env.wait_ks("infrastructure", "Ready", is_ready).await?;
    let apps = env.wait_ks("apps", "Ready", is_ready).await?;
    let rev1 = env.source_revision().await?;
    assert_eq!(applied_revision(&apps), Some(rev1.as_str()));
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    assert!(namespaces.get_opt("apps-prod").await?.is_some());
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), "apps-prod");
    let config_maps: Api<ConfigMap> = Api::namespaced(env.client.clone(), "apps-prod");
    let replicas = |d: &Deployment| d.spec.as_ref().and_then(|s| s.replicas);
    assert_eq!(
        replicas(&deployments.get("web").await?),
        Some(2),
        "overlay patch"
    );
    let data = config_maps
        .get("app-config")
        .await?
        .data
        .unwrap_or_default();
    assert_eq!(
        data.get("env").map(String::as_str),
        Some("prod"),
        "postBuild"
    );
    assert_eq!(
        data.get("region").map(String::as_str),
        Some("eu"),
        "default"
    );
    assert!(config_maps.get_opt("extra").await?.is_some());

    // 2. A change in Git is applied.
    repo.commit(
        &[("apps/base/config.yaml", &app_config("  feature: on\n"))],
        &[],
        "enable the feature",
    )?;
    env.request_source("change").await?;
    let rev2 = env.wait_source_revision_change(&rev1).await?;
    env.wait_ks("apps", "change applied", |k| {
        applied_revision(k) == Some(rev2.as_str())
    })
    .await?;
    let data = config_maps
        .get("app-config")
        .await?
        .data
        .unwrap_or_default();
    assert_eq!(data.get("feature").map(String::as_str), Some("on"));

    // 3. A manifest deleted from Git is pruned.
    repo.commit(
        &[("apps/base/kustomization.yaml", BASE_WITHOUT_EXTRA)],
        &["apps/base/extra.yaml"],
        "drop extra",
    )?;
    env.request_source("delete").await?;
    let rev3 = env.wait_source_revision_change(&rev2).await?;
    let apps = env
        .wait_ks("apps", "deletion applied", |k| {
            applied_revision(k) == Some(rev3.as_str())
        })
        .await?;
    until("extra pruned", async || {
        Ok(config_maps.get_opt("extra").await?.is_none().then_some(()))
    })
    .await?;
    let ids: Vec<String> = apps
        .status
        .and_then(|s| s.inventory)
        .map(|i| i.entries.into_iter().map(|e| e.id).collect())
        .unwrap_or_default();
    assert!(!ids.iter().any(|id| id.contains("_extra_")), "{ids:?}");

    // 4. `kubectl edit` drift is corrected on the next reconcile.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    deployments
        .patch(
            "web",
            &edit,
            &Patch::Merge(&serde_json::json!({"spec": {"replicas": 5}})),
        )
        .await?;
    config_maps
        .patch(
            "app-config",
            &edit,
            &Patch::Merge(&serde_json::json!({"data": {"env": "edited"}})),
        )
        .await?;
    env.request_ks("apps", "drift").await?;
    until("drift corrected", async || {
        let d = deployments.get("web").await?;
        let c = config_maps
            .get("app-config")
            .await?
            .data
            .unwrap_or_default();
        Ok(
            (replicas(&d) == Some(2) && c.get("env").map(String::as_str) == Some("prod"))
                .then_some(()),
        )
    })
    .await?;

    // 5. A Deployment the simulator fails: HealthCheckFailed within the 10 s timeout.
    repo.commit(
        &[(
            "apps/overlays/prod/kustomization.yaml",
            &overlay(Some("fail"), "1.25"),
        )],
        &[],
        "break the rollout",
    )?;
    env.request_source("break").await?;
    let rev4 = env.wait_source_revision_change(&rev3).await?;
    let started = Instant::now();
    let apps = env
        .wait_ks("apps", "HealthCheckFailed", |k| {
            failed_with(k, "HealthCheckFailed")
                && k.status
                    .as_ref()
                    .and_then(|s| s.last_attempted_revision.as_deref())
                    == Some(rev4.as_str())
        })
        .await?;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "HealthCheckFailed after {took:?}"
    );
    let (_, _, message) = condition(&apps, "Ready").unwrap_or_default();
    assert!(message.contains("Deployment/apps-prod/web"), "{message}");
    assert_eq!(
        condition(&apps, "Healthy").map(|c| (c.0, c.1)),
        Some(("False".to_string(), "HealthCheckFailed".to_string()))
    );
    assert_eq!(applied_revision(&apps), Some(rev3.as_str()));

    // 6. Fixed in Git: Ready again.
    repo.commit(
        &[(
            "apps/overlays/prod/kustomization.yaml",
            &overlay(None, "1.26"),
        )],
        &[],
        "fix the rollout",
    )?;
    env.request_source("fix").await?;
    let rev5 = env.wait_source_revision_change(&rev4).await?;
    let apps = env
        .wait_ks("apps", "recovered", |k| {
            applied_revision(k) == Some(rev5.as_str()) && is_ready(k)
        })
        .await?;
    assert_eq!(
        condition(&apps, "Healthy").map(|c| c.0),
        Some("True".to_string())
    );
    let image = deployments
        .get("web")
        .await?
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
    assert_eq!(image.as_deref(), Some("nginx:1.26"), "images transformer");
    eprintln!("layered scenario: HealthCheckFailed {took:?} after the breaking revision");
    Ok(())
}
