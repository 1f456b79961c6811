//! The GitRepository controller end to end over `git http-backend` on loopback.

use flux_api::source::GitRepository;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

use crate::fixtures::{Env, GitHttp, Repo, base64, condition, have_tool, is_ready, ready};

fn revision(obj: &GitRepository) -> Option<String> {
    obj.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

/// git is required; start-git-http installs lighttpd itself (and fails loudly if it
/// cannot).
fn tools() -> bool {
    have_tool("git")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_refs_artifact_and_no_op() -> anyhow::Result<()> {
    if !tools() {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let first = repo.head()?;
    repo.tag("v1.0.0")?;
    let second = repo.commit("apps/app.yaml", "kind: Secret\n", "second commit")?;
    repo.tag("v1.1.0")?;
    repo.tag("v2.0.0-rc.1")?;
    let server = GitHttp::start(21411, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;

    env.create(
        "branch",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    env.create(
        "tag",
        json!({"url": url, "interval": "10m", "ref": {"tag": "v1.0.0"}}),
    )
    .await?;
    env.create(
        "semver",
        json!({"url": url, "interval": "10m", "ref": {"semver": ">=1.0.0 <2.0.0"}}),
    )
    .await?;
    env.create(
        "pin",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main", "commit": first}}),
    )
    .await?;

    let branch = env.wait_for("branch", "Ready", is_ready).await?;
    assert_eq!(revision(&branch), Some(format!("main@sha1:{second}")));
    assert_eq!(ready(&branch).map(|r| r.1), Some("Succeeded".into()));
    assert_eq!(
        condition(&branch, "ArtifactInStorage"),
        Some(("True".into(), "Succeeded".into()))
    );
    assert!(condition(&branch, "Reconciling").is_none());
    let status = branch.status.clone().unwrap_or_default();
    assert_eq!(status.observed_generation, Some(1));
    assert!(
        branch
            .metadata
            .finalizers
            .clone()
            .unwrap_or_default()
            .contains(&"finalizers.fluxcd.io".to_string())
    );

    let tag = env.wait_for("tag", "Ready", is_ready).await?;
    assert_eq!(revision(&tag), Some(format!("v1.0.0@sha1:{first}")));
    let semver = env.wait_for("semver", "Ready", is_ready).await?;
    assert_eq!(revision(&semver), Some(format!("v1.1.0@sha1:{second}")));
    let pin = env.wait_for("pin", "Ready", is_ready).await?;
    assert_eq!(revision(&pin), Some(format!("main@sha1:{first}")));

    // The artifact is served over HTTP and its digest verifies; .sourceignore applied.
    let Some(artifact) = status.artifact.clone() else {
        anyhow::bail!("branch has no artifact");
    };
    assert_eq!(
        artifact.path,
        format!("gitrepository/default/branch/{second}.tar.gz")
    );
    let bytes = reqwest::get(&artifact.url)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    assert_eq!(Some(bytes.len() as i64), artifact.size);
    let digest = flux_artifact::Digest::parse(&artifact.digest)?;
    digest.verify_bytes(&bytes)?;
    let out = tempfile::tempdir()?;
    flux_artifact::extract_verified_bytes(&bytes, &digest, out.path(), &Default::default())?;
    assert!(out.path().join("apps/app.yaml").is_file());
    assert!(
        !out.path().join("README.md").exists(),
        ".sourceignore excludes *.md"
    );

    // No-op reconcile: the handshake is recorded, the artifact is untouched.
    env.request_reconcile("branch", "token-1").await?;
    let again = env
        .wait_for("branch", "lastHandledReconcileAt", |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("token-1")
        })
        .await?;
    let again_artifact = again.status.as_ref().and_then(|s| s.artifact.clone());
    assert_eq!(
        again_artifact.as_ref().map(|a| &a.last_update_time),
        Some(&artifact.last_update_time)
    );
    assert_eq!(
        again_artifact.as_ref().map(|a| &a.digest),
        Some(&artifact.digest)
    );

    // A new commit is picked up on the next reconcile, with a NewArtifact event.
    let third = repo.commit("apps/app.yaml", "kind: Service\n", "third commit")?;
    env.request_reconcile("branch", "token-2").await?;
    let moved = env
        .wait_for("branch", "new revision", |o| {
            revision(o) == Some(format!("main@sha1:{third}")) && is_ready(o)
        })
        .await?;
    assert_ne!(
        moved
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| &a.digest),
        Some(&artifact.digest)
    );
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(env.client.clone(), "default");
    let list = events.list(&Default::default()).await?;
    let new_artifact: Vec<_> = list
        .items
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some("NewArtifact")
                && e.involved_object.name.as_deref() == Some("branch")
        })
        .collect();
    assert!(
        new_artifact
            .iter()
            .any(|e| e.message.as_deref() == Some("stored artifact for commit 'third commit'"))
    );
    let annotated = new_artifact
        .iter()
        .find(|e| e.message.as_deref() == Some("stored artifact for commit 'third commit'"));
    assert_eq!(
        annotated
            .and_then(|e| e.metadata.annotations.as_ref())
            .and_then(|a| a.get("source.toolkit.fluxcd.io/revision"))
            .cloned(),
        Some(format!("main@sha1:{third}"))
    );

    // Deleting the object removes its storage directory and the finalizer.
    env.repos().delete("tag", &Default::default()).await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while env.repos().get_opt("tag").await?.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "tag was not finalized"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !env.storage_dir
            .path()
            .join("gitrepository/default/tag")
            .exists()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_auth_failures_keep_previous_artifact() -> anyhow::Result<()> {
    if !tools() {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let server = GitHttp::start(21412, root.path(), Some("flux:s3cret-pass"))?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "default");
    let secret = |password: &str| -> anyhow::Result<Secret> {
        Ok(serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "git-auth", "namespace": "default"},
            "data": {"username": "Zmx1eA==", "password": base64(password)},
        }))?)
    };
    secrets
        .create(&PostParams::default(), &secret("s3cret-pass")?)
        .await?;

    // Without credentials: Ready=False, GitOperationFailed.
    env.create(
        "anon",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    let anon = env
        .wait_for("anon", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(ready(&anon).map(|r| r.1), Some("GitOperationFailed".into()));
    assert_eq!(
        condition(&anon, "FetchFailed"),
        Some(("True".into(), "GitOperationFailed".into()))
    );

    // With the right password: an artifact.
    env.create("authed", json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "git-auth"}})).await?;
    let ok = env.wait_for("authed", "Ready", is_ready).await?;
    assert_eq!(revision(&ok), Some(format!("main@sha1:{head}")));
    let artifact = ok.status.as_ref().and_then(|s| s.artifact.clone());

    // Wrong password: Ready=False with upstream's reason, no secret in the message,
    // previous artifact kept.
    secrets
        .replace("git-auth", &PostParams::default(), &{
            let mut s = secret("wrong-password-xyz")?;
            s.metadata.resource_version = secrets.get("git-auth").await?.metadata.resource_version;
            s
        })
        .await?;
    env.request_reconcile("authed", "after-rotation").await?;
    let failed = env
        .wait_for("authed", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    let (_, reason, message) = ready(&failed).unwrap_or_default();
    assert_eq!(reason, "GitOperationFailed");
    assert_eq!(
        message,
        format!(
            "failed to checkout and determine revision: unable to list remote for '{url}': authentication required"
        )
    );
    assert!(
        !message.contains("wrong-password-xyz") && !message.contains("s3cret-pass"),
        "{message}"
    );
    assert_eq!(
        failed.status.as_ref().and_then(|s| s.artifact.clone()),
        artifact
    );
    assert_eq!(
        condition(&failed, "ArtifactInStorage").map(|c| c.0),
        Some("True".into())
    );

    // A missing secret: AuthenticationFailed.
    env.create(
        "nosecret",
        json!({"url": url, "interval": "10m", "secretRef": {"name": "absent"}}),
    )
    .await?;
    let nosecret = env
        .wait_for("nosecret", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(
        ready(&nosecret).map(|r| r.1),
        Some("AuthenticationFailed".into())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bad_refs_urls_and_suspend() -> anyhow::Result<()> {
    if !tools() {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let _repo = Repo::create(root.path())?;
    let server = GitHttp::start(21413, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;

    env.create(
        "nobranch",
        json!({"url": url, "interval": "10m", "ref": {"branch": "does-not-exist"}}),
    )
    .await?;
    env.create(
        "nosemver",
        json!({"url": url, "interval": "10m", "ref": {"semver": ">=9.0.0"}}),
    )
    .await?;
    env.create("badurl", json!({"url": "http://", "interval": "10m"}))
        .await?;
    env.create(
        "badrepo",
        json!({"url": format!("{}missing.git", server.url), "interval": "10m"}),
    )
    .await?;
    env.create(
        "suspended",
        json!({"url": url, "interval": "10m", "suspend": true, "ref": {"branch": "main"}}),
    )
    .await?;

    let nobranch = env
        .wait_for("nobranch", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    let (_, reason, message) = ready(&nobranch).unwrap_or_default();
    assert_eq!(reason, "GitOperationFailed");
    assert!(message.contains("does-not-exist"), "{message}");
    assert!(
        nobranch
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_none()
    );
    assert_eq!(
        condition(&nobranch, "Reconciling").map(|c| c.1),
        Some("ProgressingWithRetry".into())
    );

    let nosemver = env
        .wait_for("nosemver", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert!(
        ready(&nosemver).is_some_and(|r| r.2.contains("no match found for semver")),
        "{:?}",
        ready(&nosemver)
    );

    let badurl = env
        .wait_for("badurl", "Stalled", |o| condition(o, "Stalled").is_some())
        .await?;
    assert_eq!(
        condition(&badurl, "Stalled"),
        Some(("True".into(), "URLInvalid".into()))
    );
    assert_eq!(ready(&badurl).map(|r| r.1), Some("URLInvalid".into()));
    assert_eq!(
        badurl.status.as_ref().and_then(|s| s.observed_generation),
        Some(1)
    );

    let badrepo = env
        .wait_for("badrepo", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(
        ready(&badrepo).map(|r| (r.1, r.2)),
        Some((
            "GitOperationFailed".into(),
            format!(
                "failed to checkout and determine revision: unable to list remote for '{}missing.git': repository not found",
                server.url
            )
        ))
    );

    // Suspended: the controller leaves it alone (no status at all).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let suspended = env.repos().get("suspended").await?;
    assert!(
        suspended
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_none_or(|c| c.is_empty())
    );
    Ok(())
}

/// Files in a served artifact (downloaded, digest-verified, extracted).
async fn artifact_files(obj: &GitRepository) -> anyhow::Result<Vec<String>> {
    let Some(artifact) = obj.status.as_ref().and_then(|s| s.artifact.clone()) else {
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
                files.push(
                    path.strip_prefix(out.path())?
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    files.sort();
    Ok(files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_ignore_sparse_include_and_timeout() -> anyhow::Result<()> {
    if !tools() {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let _repo = Repo::create(root.path())?;
    let server = GitHttp::start(21414, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;

    // spec.ignore is appended to .sourceignore (*.md) and drops infra/.
    env.create(
        "ignore",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "ignore": "infra/\n"}),
    )
    .await?;
    let ignore = env.wait_for("ignore", "Ready", is_ready).await?;
    // (.sourceignore itself is not a VCS file: it stays, as upstream.)
    assert_eq!(
        artifact_files(&ignore).await?,
        vec![".sourceignore".to_string(), "apps/app.yaml".to_string()]
    );
    assert_eq!(
        ignore
            .status
            .as_ref()
            .and_then(|s| s.observed_ignore.clone()),
        Some("infra/\n".into())
    );

    // sparseCheckout keeps only the listed directories.
    env.create("sparse", json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "sparseCheckout": ["infra"]}))
        .await?;
    let sparse = env.wait_for("sparse", "Ready", is_ready).await?;
    assert_eq!(
        artifact_files(&sparse).await?,
        vec!["infra/infra.yaml".to_string()]
    );
    assert_eq!(
        sparse
            .status
            .as_ref()
            .and_then(|s| s.observed_sparse_checkout.clone()),
        Some(vec!["infra".to_string()])
    );

    // include copies another GitRepository's artifact (fromPath) into toPath; an include
    // that does not exist yet is IncludeUnavailable until it appears.
    env.create("with-include", json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "ignore": "/infra/\n",
        "include": [{"repository": {"name": "late"}, "fromPath": "infra", "toPath": "vendor/infra"}]}))
        .await?;
    let waiting = env
        .wait_for("with-include", "IncludeUnavailable", |o| {
            condition(o, "IncludeUnavailable").is_some()
        })
        .await?;
    assert_eq!(ready(&waiting).map(|r| r.0), Some("False".into()));
    env.create(
        "late",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    let included = env.wait_for("with-include", "Ready", is_ready).await?;
    assert_eq!(
        artifact_files(&included).await?,
        vec![
            ".sourceignore".to_string(),
            "apps/app.yaml".to_string(),
            "vendor/infra/infra.yaml".to_string()
        ]
    );
    assert_eq!(
        included
            .status
            .as_ref()
            .and_then(|s| s.included_artifacts.as_ref())
            .map(Vec::len),
        Some(1)
    );
    assert!(condition(&included, "IncludeUnavailable").is_none());

    // A server that accepts but never answers: spec.timeout is honoured.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let silent_url = format!("http://{}/app.git", silent.local_addr()?);
    env.create(
        "timeout",
        json!({"url": silent_url, "interval": "10m", "timeout": "2s"}),
    )
    .await?;
    let started = std::time::Instant::now();
    let timed_out = env
        .wait_for("timeout", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "timeout not honoured"
    );
    assert_eq!(
        ready(&timed_out).map(|r| r.1),
        Some("GitOperationFailed".into())
    );
    drop(silent);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_ca_from_secret_and_bearer() -> anyhow::Result<()> {
    if !tools() {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    // TLS=1 makes the script serve https with a test CA.
    let server = {
        let tools = std::env::var_os("FLUX_SHARED_TOOLS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools")
            });
        let out = std::process::Command::new(tools.join("start-git-http"))
            .arg("21415")
            .arg(root.path())
            .env("TLS", "1")
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "start-git-http TLS=1 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let field = |k: &str| {
        server
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let _guard = KillOnDrop(field("PID="));
    let url = format!("{}app.git", field("URL="));
    assert!(url.starts_with("https://"), "{url}");
    let ca = std::fs::read(field("CA="))?;
    let env = Env::start().await?;

    // Without the CA the server's certificate is not trusted.
    env.create(
        "untrusted",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    let untrusted = env
        .wait_for("untrusted", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(
        ready(&untrusted).map(|r| r.1),
        Some("GitOperationFailed".into())
    );

    // With ca.crt (and a bearer token, sent as a header; the server ignores it).
    env.secret("tls", &[("ca.crt", &ca), ("bearerToken", b"tok-123")])
        .await?;
    env.create(
        "trusted",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "tls"}}),
    )
    .await?;
    let trusted = env.wait_for("trusted", "Ready", is_ready).await?;
    assert_eq!(revision(&trusted), Some(format!("main@sha1:{head}")));
    Ok(())
}

struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = std::process::Command::new("kill").arg(&self.0).status();
        }
    }
}

/// Upstream's progress patch: while the new revision is cloned and packaged, the object
/// carries Reconciling=True / Ready=Unknown "building artifact: new upstream revision
/// '<rev>'"; a watcher sees that before Ready=True, and the final object has no
/// Reconciling condition left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_new_revision_progress_is_patched_before_ready() -> anyhow::Result<()> {
    if !tools() {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let server = GitHttp::start(21418, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;

    // Every distinct state of the object, polled every 5 ms from before its creation.
    let seen: std::sync::Arc<std::sync::Mutex<Vec<GitRepository>>> = Default::default();
    let sink = seen.clone();
    let api = env.repos();
    let watch = tokio::spawn(async move {
        loop {
            if let Ok(Some(o)) = api.get_opt("progress").await
                && let Ok(mut v) = sink.lock()
                && v.last().map(|l| &l.status) != Some(&o.status)
            {
                v.push(o);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    env.create(
        "progress",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"}}),
    )
    .await?;
    let done = env.wait_for("progress", "Ready", is_ready).await?;
    // Let the poller record the final state too (allow for a loaded machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < deadline && !seen.lock().is_ok_and(|v| v.iter().any(is_ready))
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    watch.abort();
    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    let expected = format!("building artifact: new upstream revision 'main@sha1:{head}'");
    let progress_at = seen.iter().position(|o| {
        condition(o, "Reconciling") == Some(("True".into(), "Progressing".into()))
            && ready(o).is_some_and(|r| r.0 == "Unknown" && r.2 == expected)
    });
    let ready_at = seen.iter().position(is_ready);
    let states: Vec<_> = seen
        .iter()
        .map(|o| (condition(o, "Reconciling"), ready(o)))
        .collect();
    assert!(
        matches!((progress_at, ready_at), (Some(p), Some(r)) if p < r),
        "progress not seen before Ready: {states:?}"
    );
    assert!(
        condition(&done, "Reconciling").is_none(),
        "{:?}",
        done.status
    );
    assert_eq!(
        ready(&done).map(|r| r.2),
        Some(format!("stored artifact for revision 'main@sha1:{head}'"))
    );
    Ok(())
}
