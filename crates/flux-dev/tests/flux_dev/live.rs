//! Live runs: reaching Ready, kubectl against the printed kubeconfig, following new
//! commits within seconds, restarting on the stored state, and `--worktree`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::fixtures::{ExampleRepo, Live, config_value, deployment, eventually, have_git, kubectl};

const APPS: &str = "examples/fleet/clusters/dev/apps.yaml";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_run_follows_commits_and_restart_reuses_state() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    let session = flux_dev::Session::start(&repo.options()).await?;
    let client = session.client();
    let kubeconfig = session.kubeconfig().to_path_buf();
    let mut announced = Vec::new();
    session.announce(&mut announced)?;
    let announced = String::from_utf8(announced)?;
    assert!(
        announced.contains(&format!(
            "kubectl --kubeconfig {} get deploy -A",
            kubeconfig.display()
        )),
        "{announced}"
    );
    let live = Live::spawn(session);

    // The example reaches Ready: both workloads are up.
    eventually(
        Duration::from_secs(40),
        "podinfo with 2 ready replicas",
        || {
            let client = client.clone();
            async move {
                deployment(&client, "apps", "podinfo")
                    .await
                    .filter(|r| *r == (2, 2))
            }
        },
    )
    .await?;
    eventually(Duration::from_secs(10), "redis ready", || {
        let client = client.clone();
        async move {
            deployment(&client, "infrastructure", "redis")
                .await
                .filter(|r| r.1 == 1)
        }
    })
    .await?;
    assert_eq!(
        config_value(&client, "apps", "podinfo-config", "PODINFO_UI_MESSAGE")
            .await
            .as_deref(),
        Some("Hello from dev"),
        "postBuild substitution"
    );
    assert_eq!(
        config_value(&client, "apps", "podinfo-config", "PODINFO_DOMAIN")
            .await
            .as_deref(),
        Some("podinfo.dev.example.local"),
        "substituteFrom the cluster-vars ConfigMap"
    );

    // kubectl through the written kubeconfig sees the example's workloads.
    if let Some(kubectl) = kubectl() {
        let out = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["get", "deploy", "-A"])
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("podinfo") && stdout.contains("redis"),
            "{stdout}"
        );
        assert!(
            stdout.contains("apps") && stdout.contains("infrastructure"),
            "{stdout}"
        );
    }

    // A new commit changes the cluster within seconds.
    repo.edit(APPS, "podinfo_replicas: \"2\"", "podinfo_replicas: \"3\"")?;
    repo.commit("scale podinfo")?;
    let committed = Instant::now();
    eventually(
        Duration::from_secs(20),
        "podinfo scaled to 3 after the commit",
        || {
            let client = client.clone();
            async move {
                deployment(&client, "apps", "podinfo")
                    .await
                    .filter(|r| r.0 == 3)
            }
        },
    )
    .await?;
    eprintln!("commit → cluster: {:?}", committed.elapsed());

    let repos: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "flux-system",
        &flux_dev::cluster::git_repositories(),
    );
    let uid = repos.get("flux-system").await?.metadata.uid;
    live.stop().await?;

    // Restart on the same data directory: the stored objects are still there.
    let session = flux_dev::Session::start(&repo.options()).await?;
    let client = session.client();
    let repos: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        "flux-system",
        &flux_dev::cluster::git_repositories(),
    );
    assert_eq!(
        repos.get("flux-system").await?.metadata.uid,
        uid,
        "same GitRepository"
    );
    assert_eq!(
        deployment(&client, "apps", "podinfo").await.map(|r| r.0),
        Some(3),
        "the workloads of the previous run are kept"
    );
    let mut session = session;
    let outcome = session
        .run(
            crate::fixtures::once(Duration::from_secs(40)),
            &mut std::io::sink(),
            std::future::pending(),
        )
        .await;
    session.stop().await;
    let outcome = outcome?;
    assert!(
        matches!(outcome, flux_dev::Outcome::Ready { .. }),
        "after the restart: {outcome:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worktree_picks_up_uncommitted_changes_and_honours_gitignore() -> anyhow::Result<()> {
    if !have_git() {
        return Ok(());
    }
    let repo = ExampleRepo::create()?;
    // An ignored file that would break the cluster directory's build if it were taken.
    repo.write(".gitignore", "scratch.yaml\n")?;
    repo.write(
        "examples/fleet/clusters/dev/scratch.yaml",
        "this: [is not: valid\n",
    )?;
    let options = flux_dev::DevOptions {
        worktree: true,
        ..repo.options()
    };
    let session = flux_dev::Session::start(&options).await?;
    assert!(
        session.bootstrap().url.ends_with("/worktree.git"),
        "{}",
        session.bootstrap().url
    );
    let client = session.client();
    let live = Live::spawn(session);
    eventually(Duration::from_secs(40), "podinfo ready", || {
        let client = client.clone();
        async move {
            deployment(&client, "apps", "podinfo")
                .await
                .filter(|r| *r == (2, 2))
        }
    })
    .await?;

    // Not committed: only on disk.
    repo.edit(
        "examples/fleet/apps/base/podinfo/configmap.yaml",
        "Hello from ${cluster_name}",
        "Hi from ${cluster_name}",
    )?;
    let changed = Instant::now();
    eventually(
        Duration::from_secs(20),
        "the uncommitted ConfigMap change",
        || {
            let client = client.clone();
            async move {
                config_value(&client, "apps", "podinfo-config", "PODINFO_UI_MESSAGE")
                    .await
                    .filter(|v| v == "Hi from dev")
            }
        },
    )
    .await?;
    eprintln!("edit → cluster: {:?}", changed.elapsed());
    live.stop().await?;
    Ok(())
}
