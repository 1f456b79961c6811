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
