//! The core loop: apply, update, prune, bad input, dependsOn, substitution.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;
use kustomize_controller::KustomizeOptions;

use crate::fixtures::{Env, Repo, condition, failed_with, have_git, is_ready};

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  key: \"{value}\"\n"
    )
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
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

fn config_maps(env: &Env) -> Api<ConfigMap> {
    Api::namespaced(env.client.clone(), "default")
}

fn deployments(env: &Env) -> Api<Deployment> {
    Api::namespaced(env.client.clone(), "default")
}

#[tokio::test]
async fn apply_update_and_prune_from_git() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21521,
        &[
            ("apps/config.yaml", &config_map("settings", "one")),
            ("apps/deploy.yaml", DEPLOYMENT),
            ("README.md", "# not a manifest\n"),
        ],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "wait": true, "timeout": "30s"}),
    )
    .await?;
    let ks = env.wait_ks("apps", "Ready", is_ready).await?;
    let (_, reason, message) = condition(&ks, "Ready").unwrap_or_default();
    assert_eq!(reason, "ReconciliationSucceeded");
    let status = ks.status.clone().unwrap_or_default();
    let source_rev = env
        .repos()
        .get("repo")
        .await?
        .status
        .and_then(|s| s.artifact)
        .map(|a| a.revision)
        .unwrap_or_default();
    assert!(source_rev.starts_with("main@sha1:"), "{source_rev}");
    assert_eq!(message, format!("Applied revision: {source_rev}"));
    assert_eq!(
        status.last_applied_revision.as_deref(),
        Some(source_rev.as_str())
    );
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(source_rev.as_str())
    );
    assert_eq!(
        condition(&ks, "Healthy").map(|c| (c.0, c.1)),
        Some(("True".into(), "Succeeded".into()))
    );
    let mut ids: Vec<String> = status
        .inventory
        .unwrap_or_default()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["default_settings__ConfigMap", "default_web_apps_Deployment"]
    );
    let cm = config_maps(&env).get("settings").await?;
    assert_eq!(
        cm.data.unwrap_or_default().get("key").map(String::as_str),
        Some("one")
    );
    let labels = cm.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("apps")
    );
    assert!(deployments(&env).get_opt("web").await?.is_some());

    // A change in Git is applied.
    repo.commit(
        &[("apps/config.yaml", &config_map("settings", "two"))],
        &[],
        "change",
    )?;
    env.request_source("1").await?;
    let rev2 = env.wait_source_revision_change(&source_rev).await?;
    env.request_ks("apps", "1").await?;
    env.wait_ks("apps", "second revision applied", |k| {
        k.status
            .as_ref()
            .and_then(|s| s.last_applied_revision.as_deref())
            == Some(rev2.as_str())
    })
    .await?;
    let cm = config_maps(&env).get("settings").await?;
    assert_eq!(
        cm.data.unwrap_or_default().get("key").map(String::as_str),
        Some("two")
    );

    // Deleting a manifest from Git prunes the object.
    repo.commit(&[], &["apps/deploy.yaml"], "remove the deployment")?;
    env.request_source("2").await?;
    let rev3 = env.wait_source_revision_change(&rev2).await?;
    env.request_ks("apps", "2").await?;
    let ks = env
        .wait_ks("apps", "third revision applied", |k| {
            k.status
                .as_ref()
                .and_then(|s| s.last_applied_revision.as_deref())
                == Some(rev3.as_str())
        })
        .await?;
    let status = ks.status.unwrap_or_default();
    let history = status.history.unwrap_or_default();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[0].last_reconciled_status, "ReconciliationSucceeded");
    assert!(history[0].digest.starts_with("sha256:"), "{history:?}");
    assert_eq!(
        history[0].metadata.as_ref().and_then(|m| m.get("revision")),
        Some(&rev3)
    );
    let entries = status.inventory.unwrap_or_default().entries;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while deployments(&env).get_opt("web").await?.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Deployment was not pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(config_maps(&env).get_opt("settings").await?.is_some());
    Ok(())
}

#[tokio::test]
async fn bad_input_leaves_the_cluster_untouched() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21522,
        &[
            (
                "broken/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- missing.yaml\n- ok.yaml\n",
            ),
            ("broken/ok.yaml", &config_map("from-broken", "x")),
            ("invalid/good.yaml", &config_map("good", "x")),
            ("invalid/bad.yaml", &config_map("Bad_Name", "x")),
            ("schema/good.yaml", &config_map("beside-schema", "x")),
            (
                "schema/repo.yaml",
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: no-url\n  namespace: default\nspec:\n  interval: 1m\n",
            ),
        ],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks("broken", serde_json::json!({"path": "./broken"}))
        .await?;
    env.create_ks("invalid", serde_json::json!({"path": "./invalid"}))
        .await?;
    env.create_ks("schema", serde_json::json!({"path": "./schema"}))
        .await?;

    let ks = env
        .wait_ks("broken", "BuildFailed", |k| failed_with(k, "BuildFailed"))
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(message.contains("kustomize build failed"), "{message}");
    assert!(message.contains("missing.yaml"), "{message}");

    let ks = env
        .wait_ks("invalid", "ReconciliationFailed", |k| {
            failed_with(k, "ReconciliationFailed")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.contains("ConfigMap/default/Bad_Name dry-run failed"),
        "{message}"
    );
    let status = ks.status.unwrap_or_default();
    assert!(status.last_attempted_revision.is_some());
    assert!(status.last_applied_revision.is_none());
    // An object failing schema validation: the whole set is rejected by the dry-run.
    let ks = env
        .wait_ks("schema", "ReconciliationFailed", |k| {
            failed_with(k, "ReconciliationFailed")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.contains("GitRepository/default/no-url dry-run failed"),
        "{message}"
    );
    assert!(message.contains("url"), "{message}");
    assert!(config_maps(&env).get_opt("beside-schema").await?.is_none());
    assert!(env.repos().get_opt("no-url").await?.is_none());
    // Nothing of either set was applied.
    assert!(config_maps(&env).get_opt("good").await?.is_none());
    assert!(config_maps(&env).get_opt("from-broken").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn depends_on_waits_for_the_dependency() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21523,
        &[
            ("infra/ns.yaml", &config_map("infra", "x")),
            ("apps/app.yaml", &config_map("app", "x")),
        ],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "dependsOn": [{"name": "infra"}]}),
    )
    .await?;
    let ks = env
        .wait_ks("apps", "DependencyNotReady", |k| {
            failed_with(k, "DependencyNotReady")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.starts_with("dependency 'default/infra' not found"),
        "{message}"
    );
    assert!(config_maps(&env).get_opt("app").await?.is_none());

    // Once the dependency exists and is Ready, the dependent is applied.
    env.create_ks("infra", serde_json::json!({"path": "./infra"}))
        .await?;
    env.wait_ks("infra", "Ready", is_ready).await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    assert!(config_maps(&env).get_opt("app").await?.is_some());
    Ok(())
}

const SUBST: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: subst
  namespace: default
data:
  region: ${region}
  zone: ${zone}
  tier: ${tier:=free}
  literal: $${region}
  script: echo $HOME
";

const NO_SUBST: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: raw
  namespace: default
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  region: ${region}
";

#[tokio::test]
async fn post_build_substitution_and_overlay_fields() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21524,
        &[("apps/subst.yaml", SUBST), ("apps/raw.yaml", NO_SUBST)],
    )?;
    let env = Env::start(KustomizeOptions::default()).await?;
    let vars = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("vars".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        data: Some(
            [
                ("zone".to_string(), "b".to_string()),
                ("region".to_string(), "us".to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    config_maps(&env)
        .create(&PostParams::default(), &vars)
        .await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({
            "path": "./apps",
            "namePrefix": "p-",
            "commonMetadata": {"labels": {"team": "a"}},
            "patches": [{"patch": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw\ndata:\n  patched: \"yes\"\n",
                         "target": {"kind": "ConfigMap", "name": "raw"}}],
            "postBuild": {
                "substitute": {"region": "eu"},
                "substituteFrom": [{"kind": "ConfigMap", "name": "vars"},
                                   {"kind": "Secret", "name": "absent", "optional": true}],
            },
        }),
    )
    .await?;
    env.wait_ks("apps", "Ready", is_ready).await?;
    let cm = config_maps(&env).get("p-subst").await?;
    let data = cm.data.unwrap_or_default();
    assert_eq!(
        data.get("region").map(String::as_str),
        Some("eu"),
        "inline wins: {data:?}"
    );
    assert_eq!(data.get("zone").map(String::as_str), Some("b"));
    assert_eq!(data.get("tier").map(String::as_str), Some("free"));
    assert_eq!(data.get("literal").map(String::as_str), Some("${region}"));
    assert_eq!(data.get("script").map(String::as_str), Some("echo $HOME"));
    assert_eq!(
        cm.metadata
            .labels
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("a")
    );
    let raw = config_maps(&env).get("p-raw").await?;
    let data = raw.data.unwrap_or_default();
    assert_eq!(data.get("region").map(String::as_str), Some("${region}"));
    assert_eq!(data.get("patched").map(String::as_str), Some("yes"));
    Ok(())
}

#[tokio::test]
async fn strict_substitution_rejects_undefined_variables() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(21525, &[("apps/subst.yaml", SUBST)])?;
    let env = Env::start(KustomizeOptions {
        strict_substitutions: true,
        ..KustomizeOptions::default()
    })
    .await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "apps",
        serde_json::json!({"path": "./apps", "postBuild": {"substitute": {"region": "eu"}}}),
    )
    .await?;
    let ks = env
        .wait_ks("apps", "BuildFailed", |k| failed_with(k, "BuildFailed"))
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.contains("ConfigMap/default/subst") && message.contains("\"zone\""),
        "{message}"
    );
    assert!(config_maps(&env).get_opt("subst").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn forbidden_and_unsupported_sources_stall() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(21529, &[("apps/app.yaml", &config_map("app", "x"))])?;
    let env = Env::start(KustomizeOptions {
        no_cross_namespace_refs: true,
        ..KustomizeOptions::default()
    })
    .await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks(
        "cross",
        serde_json::json!({"path": "./apps",
            "sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "flux-system"}}),
    )
    .await?;
    env.create_ks(
        "oci",
        serde_json::json!({"path": "./apps", "sourceRef": {"kind": "OCIRepository", "name": "repo"}}),
    )
    .await?;
    let ks = env
        .wait_ks("cross", "AccessDenied", |k| failed_with(k, "AccessDenied"))
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert_eq!(
        message,
        "can't access 'GitRepository/flux-system/repo', cross-namespace references have been blocked"
    );
    assert_eq!(
        condition(&ks, "Stalled").map(|c| c.0),
        Some("True".to_string())
    );
    // A dependency in another namespace is refused too.
    env.create_ks(
        "cross-dep",
        serde_json::json!({"path": "./apps", "dependsOn": [{"name": "infra", "namespace": "other"}]}),
    )
    .await?;
    let ks = env
        .wait_ks("cross-dep", "AccessDenied", |k| {
            failed_with(k, "AccessDenied")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert_eq!(
        message,
        "can't access 'Kustomization/other/infra', cross-namespace references have been blocked"
    );
    let ks = env
        .wait_ks("oci", "ArtifactFailed", |k| {
            failed_with(k, "ArtifactFailed")
        })
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(message.contains("OCIRepository"), "{message}");
    // SOPS decryption is not implemented yet: a Kustomization asking for it stalls with a
    // clear BuildFailed instead of applying encrypted data.
    env.create_ks(
        "sops",
        serde_json::json!({"path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "decryption": {"provider": "sops"}}),
    )
    .await?;
    let ks = env
        .wait_ks("sops", "BuildFailed", |k| failed_with(k, "BuildFailed"))
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(message.contains("decryption is not supported"), "{message}");
    assert_eq!(
        condition(&ks, "Stalled").map(|c| c.0),
        Some("True".to_string())
    );
    assert!(config_maps(&env).get_opt("app").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn remote_bases_are_refused() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = Repo::create(
        21531,
        &[
            (
                "remote/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- local.yaml\n- https://github.com/fluxcd/flux2//manifests/install?ref=v2.4.0\n",
            ),
            ("remote/local.yaml", &config_map("beside-remote", "x")),
        ],
    )?;
    let env = Env::start(KustomizeOptions {
        no_remote_bases: true,
        ..KustomizeOptions::default()
    })
    .await?;
    env.create_repo("repo", &repo).await?;
    env.create_ks("remote", serde_json::json!({"path": "./remote"}))
        .await?;
    let ks = env
        .wait_ks("remote", "BuildFailed", |k| failed_with(k, "BuildFailed"))
        .await?;
    let (_, _, message) = condition(&ks, "Ready").unwrap_or_default();
    assert!(
        message.contains("remote/kustomization.yaml")
            && message.contains("https://github.com/fluxcd/flux2//manifests/install?ref=v2.4.0")
            && message.contains("--no-remote-bases"),
        "{message}"
    );
    assert!(
        !message.contains("/tmp/"),
        "temporary paths leak: {message}"
    );
    assert!(config_maps(&env).get_opt("beside-remote").await?.is_none());
    Ok(())
}
