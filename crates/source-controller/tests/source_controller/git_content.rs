//! What goes into the artifact, over `git http-backend`: includes whose new artifacts
//! rebuild the including repository, sparse checkout (and its missing-directory error),
//! submodules with a relative URL, and the `Succeeded` event on recovery.

use flux_api::source::GitRepository;
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::fixtures::{Env, GitHttp, Repo, condition, git, have_tool, is_ready, ready};

fn artifact(obj: &GitRepository) -> Option<flux_api::meta::Artifact> {
    obj.status.as_ref()?.artifact.clone()
}

/// The files of the object's served artifact (downloaded, digest-verified) with their
/// contents.
async fn artifact_files(obj: &GitRepository) -> anyhow::Result<Vec<(String, String)>> {
    let Some(artifact) = artifact(obj) else {
        anyhow::bail!("no artifact");
    };
    let bytes = reqwest::get(&artifact.url)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let digest = flux_artifact::Digest::parse(&artifact.digest)?;
    let out = tempfile::tempdir()?;
    flux_artifact::extract_verified_bytes(&bytes, &digest, out.path(), &Default::default())?;
    let mut files = Vec::new();
    let mut stack = vec![out.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((
                    path.strip_prefix(out.path())?
                        .to_string_lossy()
                        .into_owned(),
                    std::fs::read_to_string(&path)?,
                ));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn names(files: &[(String, String)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

async fn events_for(env: &Env, name: &str, reason: &str) -> anyhow::Result<Vec<Event>> {
    let events: Api<Event> = Api::namespaced(env.client.clone(), "default");
    Ok(events
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(name) && e.reason.as_deref() == Some(reason)
        })
        .collect())
}

async fn patch_spec(env: &Env, name: &str, spec: serde_json::Value) -> anyhow::Result<()> {
    env.repos()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_changes_rebuild_and_recovery_is_announced() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let app = Repo::create(root.path())?;
    let app_head = app.head()?;
    let lib_root = root.path().join("lib");
    std::fs::create_dir_all(&lib_root)?;
    let lib = Repo::create(&lib_root)?;
    let server = GitHttp::start(21451, root.path(), None)?;
    let env = Env::start().await?;
    env.create(
        "lib",
        json!({"url": format!("{}lib/app.git", server.url), "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    env.create(
        "app",
        json!({"url": format!("{}app.git", server.url), "interval": "10m", "ref": {"branch": "main"},
            "include": [{"repository": {"name": "lib"}, "fromPath": "apps", "toPath": "vendor/lib"}]}),
    )
    .await?;
    let ready_app = env.wait_for("app", "Ready", is_ready).await?;
    let Some(first) = artifact(&ready_app) else {
        anyhow::bail!("app has no artifact");
    };
    assert_eq!(first.revision, format!("main@sha1:{app_head}"));
    let files = artifact_files(&ready_app).await?;
    assert!(
        files.contains(&(
            "vendor/lib/app.yaml".to_string(),
            "kind: ConfigMap\n".to_string()
        )),
        "{files:?}"
    );

    // The included repository moves; the including one has not, yet its next
    // reconcile rebuilds the artifact with the new include (same revision, new digest).
    let lib_head = lib.commit("apps/app.yaml", "kind: LibV2\n", "lib v2")?;
    env.request_reconcile("lib", "lib-moved").await?;
    env.wait_for("lib", "new lib revision", |o| {
        artifact(o).is_some_and(|a| a.revision == format!("main@sha1:{lib_head}"))
    })
    .await?;
    env.request_reconcile("app", "after-lib").await?;
    let rebuilt = env
        .wait_for("app", "rebuilt with the new include", |o| {
            artifact(o).is_some_and(|a| a.digest != first.digest) && is_ready(o)
        })
        .await?;
    assert_eq!(
        artifact(&rebuilt).map(|a| a.revision),
        Some(first.revision.clone())
    );
    assert!(artifact_files(&rebuilt).await?.contains(&(
        "vendor/lib/app.yaml".to_string(),
        "kind: LibV2\n".to_string()
    )));
    assert_eq!(
        rebuilt
            .status
            .as_ref()
            .and_then(|s| s.included_artifacts.as_ref())
            .and_then(|a| a.first())
            .map(|a| a.revision.clone()),
        Some(format!("main@sha1:{lib_head}"))
    );
    assert_eq!(events_for(&env, "app", "NewArtifact").await?.len(), 2);

    // Nothing moved: a no-op (the artifact is untouched).
    env.request_reconcile("app", "nothing-moved").await?;
    let same = env
        .wait_for("app", "handled", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("nothing-moved")
        })
        .await?;
    assert_eq!(
        artifact(&same).map(|a| a.last_update_time),
        artifact(&rebuilt).map(|a| a.last_update_time)
    );

    // A failure (sparse directory that does not exist), then a change that rebuilds the
    // same content: the recovery is announced with a Succeeded event.
    patch_spec(&env, "app", json!({"sparseCheckout": ["nope"]})).await?;
    let failed = env
        .wait_for("app", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(
        ready(&failed),
        Some((
            "False".into(),
            "GitOperationFailed".into(),
            "failed to sparse checkout directories : sparse checkout dir 'nope' does not exist in repository".into()
        ))
    );
    assert_eq!(
        condition(&failed, "FetchFailed"),
        Some(("True".into(), "GitOperationFailed".into()))
    );
    assert_eq!(
        artifact(&failed).map(|a| a.digest),
        artifact(&rebuilt).map(|a| a.digest),
        "previous artifact kept"
    );
    patch_spec(
        &env,
        "app",
        json!({"sparseCheckout": null, "ignore": "matches-nothing/\n"}),
    )
    .await?;
    let recovered = env.wait_for("app", "Ready again", is_ready).await?;
    assert_eq!(
        artifact(&recovered).map(|a| a.digest),
        artifact(&rebuilt).map(|a| a.digest)
    );
    let succeeded = events_for(&env, "app", "Succeeded").await?;
    assert_eq!(succeeded.len(), 1, "{succeeded:?}");
    assert_eq!(
        succeeded[0].message.as_deref(),
        Some("stored artifact for commit 'first commit'")
    );
    assert_eq!(events_for(&env, "app", "NewArtifact").await?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_checkout_and_submodules_over_http() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let app = Repo::create(root.path())?;
    let lib_root = root.path().join("lib");
    std::fs::create_dir_all(&lib_root)?;
    let lib = Repo::create(&lib_root)?;
    lib.commit("apps/app.yaml", "kind: FromLib\n", "lib change")?;
    // The submodule is added from its file path, then its URL made relative to the
    // superproject's, as hosted repositories usually do.
    git(
        &app.work,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            &format!("file://{}", lib.bare.display()),
            "vendor/lib",
        ],
    )?;
    git(
        &app.work,
        &[
            "config",
            "-f",
            ".gitmodules",
            "submodule.vendor/lib.url",
            "../lib/app.git",
        ],
    )?;
    git(&app.work, &["add", "-A"])?;
    git(&app.work, &["commit", "-m", "add submodule"])?;
    git(&app.work, &["push", "origin", "main"])?;
    let server = GitHttp::start(21452, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    env.create(
        "with-submodules",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "recurseSubmodules": true}),
    )
    .await?;
    env.create(
        "without-submodules",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    env.create(
        "sparse",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "sparseCheckout": ["./apps", "vendor/lib/apps"],
            "recurseSubmodules": true}),
    )
    .await?;

    let with = env.wait_for("with-submodules", "Ready", is_ready).await?;
    let files = artifact_files(&with).await?;
    assert!(
        files.contains(&(
            "vendor/lib/apps/app.yaml".to_string(),
            "kind: FromLib\n".to_string()
        )),
        "{files:?}"
    );
    assert_eq!(
        with.status
            .as_ref()
            .and_then(|s| s.observed_recurse_submodules),
        Some(true)
    );
    let without = env
        .wait_for("without-submodules", "Ready", is_ready)
        .await?;
    let files = artifact_files(&without).await?;
    assert!(
        !names(&files).iter().any(|n| n.starts_with("vendor/lib/")),
        "{files:?}"
    );
    let sparse = env.wait_for("sparse", "Ready", is_ready).await?;
    assert_eq!(
        names(&artifact_files(&sparse).await?),
        vec!["apps/app.yaml", "vendor/lib/apps/app.yaml"]
    );
    Ok(())
}
