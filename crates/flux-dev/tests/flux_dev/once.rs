//! `--once`: the first complete reconciliation decides the outcome.

use std::time::Duration;

use crate::fixtures::{ExampleRepo, have_git, once};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_on_the_example_reaches_ready() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    let mut session = flux_dev::Session::start(&repo.options()).await?;
    assert_eq!(session.bootstrap().path, "./examples/fleet/clusters/dev");
    assert_eq!(session.bootstrap().branch, "main");
    let mut out = Vec::new();
    let outcome = session
        .run(
            once(Duration::from_secs(50)),
            &mut out,
            std::future::pending(),
        )
        .await;
    session.stop().await;
    let text = String::from_utf8_lossy(&out).into_owned();
    match outcome? {
        flux_dev::Outcome::Ready {
            kustomizations,
            revision,
            ..
        } => {
            assert_eq!(
                kustomizations, 3,
                "flux-system, infrastructure, apps\n{text}"
            );
            assert!(revision.starts_with("main@sha1:"), "{revision}");
        }
        other => panic!("expected Ready, got {other:?}\n{text}"),
    }
    assert!(text.contains("Kustomization flux-system/apps"), "{text}");
    assert!(text.contains("Deployment apps/podinfo"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_on_a_broken_example_names_the_object_and_reason() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    repo.edit(
        "examples/fleet/apps/dev/kustomization.yaml",
        "  - ../base/podinfo\n",
        "  - ../base/podinfo\n  - missing.yaml\n",
    )?;
    repo.commit("break the apps overlay")?;
    let mut session = flux_dev::Session::start(&repo.options()).await?;
    let outcome = session
        .run(
            once(Duration::from_secs(50)),
            &mut std::io::sink(),
            std::future::pending(),
        )
        .await;
    session.stop().await;
    let outcome = outcome?;
    match &outcome {
        flux_dev::Outcome::Failed {
            object,
            reason,
            message,
        } => {
            assert_eq!(object, "Kustomization flux-system/apps");
            assert_eq!(reason, "BuildFailed");
            assert!(message.contains("missing.yaml"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let summary = outcome.summary();
    assert_eq!(summary.lines().count(), 1, "{summary}");
    assert!(
        summary.starts_with("Kustomization flux-system/apps failed: BuildFailed: "),
        "{summary}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_outside_a_git_work_tree_is_a_clear_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = flux_dev::DevOptions {
        port: 0,
        data_dir: dir.path().join("data"),
        ..flux_dev::DevOptions::new(dir.path())
    };
    let err = match flux_dev::Session::start(&options).await {
        Ok(session) => {
            session.stop().await;
            panic!("a directory outside Git must be refused");
        }
        Err(err) => err.to_string(),
    };
    assert!(err.contains("is not inside a Git work tree"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrapped_fleet_directory_stays_local() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    // What `flux bootstrap` commits into the cluster directory: Flux's CRDs and
    // controllers, and a GitRepository pointing at the real remote with a secret.
    let mut components = flux_api::crds::all_crds_yaml()?;
    components.push_str(
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: source-controller\n  namespace: flux-system\n  labels:\n    app.kubernetes.io/part-of: flux\nspec:\n  selector:\n    matchLabels:\n      app: source-controller\n  template:\n    metadata:\n      labels:\n        app: source-controller\n    spec:\n      containers:\n      - name: manager\n        image: ghcr.io/fluxcd/source-controller:v1.7.0\n",
    );
    let dir = "examples/fleet/clusters/dev/flux-system";
    repo.write(&format!("{dir}/gotk-components.yaml"), &components)?;
    repo.write(
        &format!("{dir}/gotk-sync.yaml"),
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  secretRef:\n    name: flux-system\n  url: ssh://git@github.com/example/fleet\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./examples/fleet/clusters/dev\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
    )?;
    repo.write(
        &format!("{dir}/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n",
    )?;
    repo.commit("flux bootstrap")?;
    let mut session = flux_dev::Session::start(&repo.options()).await?;
    assert!(session.bootstrap().fleet_patches);
    let client = session.client();
    let local_url = session.bootstrap().url.clone();
    let outcome = session
        .run(
            once(Duration::from_secs(50)),
            &mut std::io::sink(),
            std::future::pending(),
        )
        .await;
    let repos: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "flux-system",
        &flux_dev::cluster::git_repositories(),
    );
    let repo_obj = repos.get("flux-system").await?;
    let kustomizations: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "flux-system",
        &flux_dev::cluster::kustomizations(),
    );
    let ks = kustomizations.get("flux-system").await?;
    session.stop().await;
    assert_eq!(
        ks.data["spec"]["patches"].as_array().map(Vec::len),
        Some(2),
        "gotk-sync's Kustomization applied over ours keeps flux-dev's patches: {:?}",
        ks.data["spec"]
    );
    let ks_applied = ks.data["status"]["inventory"]["entries"]
        .as_array()
        .is_some_and(|e| {
            e.iter().any(|e| {
                e["id"] == "flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization"
            })
        });
    assert!(
        ks_applied,
        "the Kustomization of gotk-sync.yaml was applied: {:?}",
        ks.data["status"]
    );
    match outcome? {
        flux_dev::Outcome::Ready { kustomizations, .. } => assert_eq!(kustomizations, 3),
        other => panic!("expected Ready, got {other:?}"),
    }
    assert_eq!(repo_obj.data["spec"]["url"], serde_json::json!(local_url));
    assert!(
        repo_obj.data["spec"].get("secretRef").is_none(),
        "{:?}",
        repo_obj.data
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_times_out_with_what_it_waited_for() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    let mut session = flux_dev::Session::start(&repo.options()).await?;
    let outcome = session
        .run(
            once(Duration::ZERO),
            &mut std::io::sink(),
            std::future::pending(),
        )
        .await;
    session.stop().await;
    let outcome = outcome?;
    assert!(
        matches!(outcome, flux_dev::Outcome::TimedOut { .. }),
        "{outcome:?}"
    );
    let summary = outcome.summary();
    assert!(
        summary.starts_with("timed out after 0s waiting for "),
        "{summary}"
    );
    assert_eq!(summary.lines().count(), 1, "{summary}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_kustomization_path_is_refused_before_starting() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    let options = flux_dev::DevOptions {
        kustomization_path: Some("clusters/staging".into()),
        ..repo.options()
    };
    let err = match flux_dev::Session::start(&options).await {
        Ok(session) => {
            session.stop().await;
            panic!("a missing --path must be refused");
        }
        Err(err) => err.to_string(),
    };
    assert!(err.starts_with("--path './clusters/staging': "), "{err}");
    assert!(err.ends_with("is not a directory"), "{err}");
    assert!(
        !repo.data_dir.exists(),
        "nothing is started for a bad --path"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_log_holds_json_lines_of_the_controllers() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    let path = flux_dev::controller_log::init(&repo.data_dir)?;
    assert_eq!(path, repo.data_dir.join("flux-dev.log"));
    let mut session = flux_dev::Session::start(&repo.options()).await?;
    let outcome = session
        .run(
            once(Duration::from_secs(50)),
            &mut std::io::sink(),
            std::future::pending(),
        )
        .await;
    session.stop().await;
    let outcome = outcome?;
    assert!(
        matches!(outcome, flux_dev::Outcome::Ready { .. }),
        "{outcome:?}"
    );
    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert!(!lines.is_empty(), "the controllers logged nothing");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string()),
        "{text}"
    );
    Ok(())
}
