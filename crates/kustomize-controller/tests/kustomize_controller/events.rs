//! Event-driven reconciliation: a dependency turning Ready, a new source revision and a
//! watched ConfigMap wake the Kustomizations that need them (intervals and
//! `--requeue-dependency` are set far beyond the test's time limits); a new revision
//! cancels a health check in flight; `dependsOn[].readyExpr`.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kustomize_controller::KustomizeOptions;

use crate::fixtures::{Env, Repo, applied_revision, condition, failed_with, have_git, is_ready};

/// Far beyond any wait of these tests: a Kustomization reconciled within the test was woken
/// by an event, not by a timer.
const LONG: Duration = Duration::from_secs(300);

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  key: \"{value}\"\n"
    )
}

fn config_maps(env: &Env) -> Api<ConfigMap> {
    Api::namespaced(env.client.clone(), "default")
}

async fn value_of(env: &Env, name: &str) -> anyhow::Result<Option<String>> {
    Ok(config_maps(env)
        .get_opt(name)
        .await?
        .and_then(|cm| cm.data)
        .and_then(|d| d.get("key").cloned()))
}

#[tokio::test]
async fn dependent_is_woken_when_its_dependency_turns_ready() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21541,
        &[
            ("infra/infra.yaml", &config_map("infra", "x")),
            ("apps/app.yaml", &config_map("app", "x")),
        ],
    )?;
    let env = Env::start_with(KustomizeOptions::default(), LONG).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "interval": "1h", "dependsOn": [{"name": "infra"}]}),
    )
    .await?;
    env.wait_ks("apps", "DependencyNotReady", |k| {
        failed_with(k, "DependencyNotReady")
    })
    .await?;
    // The dependent now waits --requeue-dependency (5 min); the dependency's Ready wakes it.
    let started = Instant::now();
    env.create_ks(
        "infra",
        serde_json::json!({"path": "./infra", "interval": "1h"}),
    )
    .await?;
    env.wait_ks("infra", "Ready", is_ready).await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!(value_of(&env, "app").await?.as_deref(), Some("x"));
    eprintln!("dependent Ready {took:?} after its dependency was created");
    Ok(())
}

#[tokio::test]
async fn new_commit_is_applied_without_waiting_for_the_interval() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21542,
        &[
            ("infra/infra.yaml", &config_map("infra", "1")),
            ("apps/app.yaml", &config_map("app", "1")),
        ],
    )?;
    let env = Env::start_with(KustomizeOptions::default(), LONG).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "infra",
        serde_json::json!({"path": "./infra", "interval": "1h"}),
    )
    .await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "interval": "1h", "dependsOn": [{"name": "infra"}]}),
    )
    .await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    let first = env.source_revision().await?;

    // Both layers change in one commit; only the GitRepository is asked to reconcile.
    repo.commit(
        &[
            ("infra/infra.yaml", &config_map("infra", "2")),
            ("apps/app.yaml", &config_map("app", "2")),
        ],
        &[],
        "change both layers",
    )?;
    let started = Instant::now();
    env.request_source("1").await?;
    let second = env.wait_source_revision_change(&first).await?;
    let apps = env
        .wait_ks("apps", "second revision applied", |k| {
            applied_revision(k) == Some(second.as_str()) && is_ready(k)
        })
        .await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!(value_of(&env, "infra").await?.as_deref(), Some("2"));
    assert_eq!(value_of(&env, "app").await?.as_deref(), Some("2"));
    let (_, reason, message) = condition(&apps, "Ready").unwrap_or_default();
    assert_eq!(reason, "ReconciliationSucceeded");
    assert_eq!(message, format!("Applied revision: {second}"));
    eprintln!("new commit applied by both layers {took:?} after the source was asked");
    Ok(())
}

#[tokio::test]
async fn watched_config_map_and_secret_changes_wake_the_kustomizations_using_them()
-> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21543,
        &[(
            "apps/app.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  key: ${region}\n  zone: ${zone}\n",
        )],
    )?;
    let env = Env::start_with(KustomizeOptions::default(), LONG).await?;
    let secret = |zone: &str| -> anyhow::Result<k8s_openapi::api::core::v1::Secret> {
        Ok(serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "secret-vars", "namespace": "default",
                         "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
            "data": {"zone": zone},
        }))?)
    };
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(env.client.clone(), "default");
    // "a" and "b", base64.
    secrets
        .create(&PostParams::default(), &secret("YQ==")?)
        .await?;
    let vars = |region: &str| -> anyhow::Result<ConfigMap> {
        Ok(serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "vars", "namespace": "default",
                         "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
            "data": {"region": region},
        }))?)
    };
    config_maps(&env)
        .create(&PostParams::default(), &vars("eu")?)
        .await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "interval": "1h",
            "postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"},
                                             {"kind": "Secret", "name": "secret-vars"}]}}),
    )
    .await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    assert_eq!(value_of(&env, "app").await?.as_deref(), Some("eu"));

    let patch = serde_json::json!({"data": {"region": "us"}});
    config_maps(&env)
        .patch("vars", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while value_of(&env, "app").await?.as_deref() != Some("us") {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the change of the watched ConfigMap was not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A watched Secret too.
    let zone = async || -> anyhow::Result<Option<String>> {
        Ok(config_maps(&env)
            .get("app")
            .await?
            .data
            .and_then(|d| d.get("zone").cloned()))
    };
    assert_eq!(zone().await?.as_deref(), Some("a"));
    let patch = serde_json::json!({"data": {"zone": "Yg=="}});
    secrets
        .patch(
            "secret-vars",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while zone().await?.as_deref() != Some("b") {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the change of the watched Secret was not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

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

#[tokio::test]
async fn new_revision_cancels_the_health_check_in_flight() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21544,
        &[(
            "apps/deploy.yaml",
            &deployment("nginx:1.25", Some("progressing")),
        )],
    )?;
    let env = Env::start_with(KustomizeOptions::default(), LONG).await?;
    env.create_repo("repo", &repo).await?;
    // A rollout that never finishes and a 5 minute timeout: without cancellation the fix could not land during the test.
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "interval": "1h", "wait": true, "timeout": "5m"}),
    )
    .await?;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while deployments.get_opt("web").await?.is_none() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "Deployment was not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Applied and being health-checked (it never gets healthy).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let first = env.source_revision().await?;
    repo.commit(
        &[("apps/deploy.yaml", &deployment("nginx:1.26", None))],
        &[],
        "fix",
    )?;
    let started = Instant::now();
    env.request_source("fix").await?;
    let second = env.wait_source_revision_change(&first).await?;
    let ks = env
        .wait_ks("apps", "fixed revision applied", |k| {
            applied_revision(k) == Some(second.as_str()) && is_ready(k)
        })
        .await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let history = ks.status.and_then(|s| s.history).unwrap_or_default();
    assert!(
        history
            .iter()
            .any(|h| h.last_reconciled_status == "HealthCheckCanceled"),
        "{history:?}"
    );
    assert_eq!(
        history.first().map(|h| h.last_reconciled_status.as_str()),
        Some("ReconciliationSucceeded")
    );
    eprintln!("health check of the failing revision cancelled; fix Ready {took:?} after the push");
    Ok(())
}

#[tokio::test]
async fn ready_expr_decides_dependency_readiness() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21545,
        &[
            ("infra/infra.yaml", &config_map("infra", "x")),
            ("apps/app.yaml", &config_map("app", "x")),
        ],
    )?;
    let env = Env::start_with(KustomizeOptions::default(), LONG).await?;
    env.create_repo("repo", &repo).await?;
    // The dependency is suspended: never Ready; readyExpr replaces the built-in check.
    let infra: flux_api::kustomize::Kustomization = serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "infra", "namespace": "default",
                     "annotations": {"app/version": "v2"}},
        "spec": {"interval": "1h", "prune": true, "suspend": true, "path": "./infra",
                 "sourceRef": {"kind": "GitRepository", "name": "repo"}},
    }))?;
    env.kustomizations()
        .create(&PostParams::default(), &infra)
        .await?;
    let apps: flux_api::kustomize::Kustomization = serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "default",
                     "annotations": {"app/version": "v1"}},
        "spec": {"interval": "1h", "prune": true, "path": "./apps",
                 "sourceRef": {"kind": "GitRepository", "name": "repo"},
                 "dependsOn": [{"name": "infra",
                   "readyExpr": "self.metadata.annotations['app/version'] == dep.metadata.annotations['app/version']"}]},
    }))?;
    env.kustomizations()
        .create(&PostParams::default(), &apps)
        .await?;
    let ks = env
        .wait_ks("apps", "DependencyNotReady", |k| {
            failed_with(k, "DependencyNotReady")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert_eq!(
        message,
        "dependency 'default/infra' is not ready according to readyExpr eval"
    );
    assert!(value_of(&env, "app").await?.is_none());

    // The dependency's annotation now matches: the dependent is woken and applied.
    let patch = serde_json::json!({"metadata": {"annotations": {"app/version": "v1"}}});
    env.kustomizations()
        .patch("infra", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    assert_eq!(value_of(&env, "app").await?.as_deref(), Some("x"));

    // An expression naming an undeclared variable stalls with InvalidCELExpression.
    let patch = serde_json::json!({"spec": {"dependsOn": [{"name": "infra",
        "readyExpr": "self.metadata.generation == deps.metadata.generation"}]}});
    env.kustomizations()
        .patch("apps", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let ks = env
        .wait_ks("apps", "InvalidCELExpression", |k| {
            failed_with(k, "InvalidCELExpression")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.starts_with(
            "Reconciliation failed terminally due to configuration error: failed to evaluate dependency infra: failed to parse"
        ),
        "{message}"
    );
    assert!(message.contains("'deps'"), "{message}");
    assert_eq!(
        condition(&ks, "Stalled").map(|c| c.0),
        Some("True".to_string())
    );
    Ok(())
}

#[tokio::test]
async fn spec_change_cancels_the_health_check_in_flight() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21546,
        &[
            (
                "stuck/deploy.yaml",
                &deployment("nginx:1.25", Some("progressing")),
            ),
            ("ok/app.yaml", &config_map("app", "ok")),
        ],
    )?;
    let env = Env::start_with(KustomizeOptions::default(), LONG).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./stuck", "interval": "1h", "wait": true, "timeout": "5m"}),
    )
    .await?;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while deployments.get_opt("web").await?.is_none() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "Deployment was not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The user points the Kustomization elsewhere while its health check waits.
    let started = Instant::now();
    let patch = serde_json::json!({"spec": {"path": "./ok"}});
    env.kustomizations()
        .patch("apps", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let ks = env.wait_ks("apps", "Ready", is_ready).await?;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_eq!(value_of(&env, "app").await?.as_deref(), Some("ok"));
    let history = ks.status.and_then(|s| s.history).unwrap_or_default();
    assert!(
        history
            .iter()
            .any(|h| h.last_reconciled_status == "HealthCheckCanceled"),
        "{history:?}"
    );
    // The stuck Deployment left the inventory and was pruned.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while deployments.get_opt("web").await?.is_some() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "Deployment was not pruned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
