//! Every `ref` kind end to end over `git http-backend`: branches (with a slash), tags
//! (annotated and lightweight), `ref.name` (`refs/heads/…`, `refs/tags/…`,
//! `refs/pull/…/head`), semver ranges (prereleases only when asked), commit pins with
//! and without a branch, precedence, and what upstream reports when a ref is missing.

use flux_api::source::GitRepository;
use serde_json::{Value, json};

use crate::fixtures::{Env, GitHttp, Repo, condition, git, have_tool, is_ready, ready};

fn revision(obj: &GitRepository) -> Option<String> {
    obj.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

/// `apps/app.yaml` of the object's served artifact (downloaded, digest-verified).
async fn app_yaml(obj: &GitRepository) -> anyhow::Result<String> {
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
    Ok(std::fs::read_to_string(out.path().join("apps/app.yaml"))?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ref_kind_against_a_real_server() -> anyhow::Result<()> {
    if !have_tool("git") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let first = repo.head()?;
    repo.tag("v1.0.0")?;
    let second = repo.commit("apps/app.yaml", "kind: Second\n", "second commit")?;
    repo.tag("v1.1.0")?;
    // A lightweight tag, a tag that is no version, a prerelease.
    git(&repo.work, &["tag", "v1.1.1"])?;
    git(&repo.work, &["tag", "latest"])?;
    git(&repo.work, &["push", "origin", "v1.1.1", "latest"])?;
    let third = repo.commit("apps/app.yaml", "kind: Third\n", "third commit")?;
    repo.tag("v2.0.0-rc.1")?;
    // A branch with a slash, and a pull-request head that is on no branch.
    git(&repo.work, &["checkout", "-b", "feature/x"])?;
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: Feature\n")?;
    git(&repo.work, &["commit", "-am", "feature commit"])?;
    let feature = repo.head()?;
    git(&repo.work, &["push", "origin", "feature/x"])?;
    git(&repo.work, &["checkout", "-b", "pr", "main"])?;
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: PullRequest\n")?;
    git(&repo.work, &["commit", "-am", "pull request commit"])?;
    let pull = repo.head()?;
    git(&repo.work, &["push", "origin", "pr:refs/pull/1/head"])?;
    git(&repo.work, &["checkout", "main"])?;

    let server = GitHttp::start(21441, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;

    let missing_commit = "0123456789abcdef0123456789abcdef01234567";
    // (name, ref, expected revision or expected failure message)
    let cases: Vec<(&str, Value, Result<String, String>)> = vec![
        ("branch", json!({"branch": "main"}), Ok(format!("main@sha1:{third}"))),
        ("default-branch", json!({}), Err(format!(
            "failed to checkout and determine revision: unable to clone '{url}': couldn't find remote ref \"refs/heads/master\""
        ))),
        ("slash-branch", json!({"branch": "feature/x"}), Ok(format!("feature/x@sha1:{feature}"))),
        ("annotated-tag", json!({"tag": "v1.0.0"}), Ok(format!("v1.0.0@sha1:{first}"))),
        ("lightweight-tag", json!({"tag": "v1.1.1"}), Ok(format!("v1.1.1@sha1:{second}"))),
        ("missing-tag", json!({"tag": "v9.9.9"}), Err(format!(
            "failed to checkout and determine revision: unable to clone '{url}': couldn't find remote ref \"refs/tags/v9.9.9\""
        ))),
        ("missing-branch", json!({"branch": "gone"}), Err(format!(
            "failed to checkout and determine revision: unable to clone '{url}': couldn't find remote ref \"refs/heads/gone\""
        ))),
        ("name-branch", json!({"name": "refs/heads/main"}), Ok(format!("refs/heads/main@sha1:{third}"))),
        ("name-tag", json!({"name": "refs/tags/v1.0.0"}), Ok(format!("refs/tags/v1.0.0@sha1:{first}"))),
        ("name-pull", json!({"name": "refs/pull/1/head"}), Ok(format!("refs/pull/1/head@sha1:{pull}"))),
        ("name-peeled", json!({"name": "refs/tags/v1.1.0^{}"}), Ok(format!("refs/tags/v1.1.0^{{}}@sha1:{second}"))),
        ("name-missing", json!({"name": "refs/pull/9/head"}), Err(
            "failed to checkout and determine revision: unable to resolve ref 'refs/pull/9/head' to a specific commit".to_string()
        )),
        ("semver-range", json!({"semver": ">=1.0.0 <2.0.0"}), Ok(format!("v1.1.1@sha1:{second}"))),
        ("semver-tilde", json!({"semver": "~1.0"}), Ok(format!("v1.0.0@sha1:{first}"))),
        ("semver-caret", json!({"semver": "^1.1"}), Ok(format!("v1.1.1@sha1:{second}"))),
        ("semver-wildcard", json!({"semver": "1.1.x"}), Ok(format!("v1.1.1@sha1:{second}"))),
        ("semver-any", json!({"semver": "*"}), Ok(format!("v1.1.1@sha1:{second}"))),
        ("semver-or", json!({"semver": "<1.1.0 || >=3"}), Ok(format!("v1.0.0@sha1:{first}"))),
        ("semver-prerelease", json!({"semver": ">=2.0.0-0"}), Ok(format!("v2.0.0-rc.1@sha1:{third}"))),
        ("semver-none", json!({"semver": ">=5.0.0"}), Err(
            "failed to checkout and determine revision: no match found for semver: >=5.0.0".to_string()
        )),
        ("semver-invalid", json!({"semver": "not a range"}), Err(
            "failed to checkout and determine revision: semver parse error: improper constraint: not a range".to_string()
        )),
        ("commit-on-branch", json!({"branch": "main", "commit": first}), Ok(format!("main@sha1:{first}"))),
        ("commit-bare", json!({"commit": second}), Ok(format!("sha1:{second}"))),
        ("commit-missing", json!({"commit": missing_commit}), Err(format!(
            "failed to checkout and determine revision: unable to resolve commit object for '{missing_commit}': object not found"
        ))),
        // Precedence: commit > name > semver > tag > branch.
        ("tag-over-branch", json!({"branch": "main", "tag": "v1.0.0"}), Ok(format!("v1.0.0@sha1:{first}"))),
        ("semver-over-tag", json!({"tag": "v1.0.0", "semver": "1.1.x"}), Ok(format!("v1.1.1@sha1:{second}"))),
        ("name-over-semver", json!({"semver": "1.1.x", "name": "refs/pull/1/head"}), Ok(format!("refs/pull/1/head@sha1:{pull}"))),
    ];
    for (name, reference, _) in &cases {
        env.create(
            name,
            json!({"url": url, "interval": "10m", "ref": reference}),
        )
        .await?;
    }
    for (name, _, expected) in &cases {
        match expected {
            Ok(rev) => {
                let obj = env.wait_for(name, "Ready", is_ready).await?;
                assert_eq!(revision(&obj).as_ref(), Some(rev), "{name}");
                assert_eq!(
                    ready(&obj).map(|r| r.2),
                    Some(format!("stored artifact for revision '{rev}'")),
                    "{name}"
                );
            }
            Err(message) => {
                let obj = env
                    .wait_for(name, "Ready=False", |o| {
                        ready(o).is_some_and(|r| r.0 == "False")
                    })
                    .await?;
                assert_eq!(
                    ready(&obj),
                    Some((
                        "False".to_string(),
                        "GitOperationFailed".to_string(),
                        message.clone()
                    )),
                    "{name}"
                );
                assert_eq!(
                    condition(&obj, "FetchFailed"),
                    Some(("True".into(), "GitOperationFailed".into())),
                    "{name}"
                );
                assert!(
                    obj.status
                        .as_ref()
                        .and_then(|s| s.artifact.as_ref())
                        .is_none(),
                    "{name}: no artifact"
                );
            }
        }
    }
    // The artifacts hold the right trees.
    for (name, content) in [
        ("name-pull", "kind: PullRequest\n"),
        ("slash-branch", "kind: Feature\n"),
        ("commit-on-branch", "kind: ConfigMap\n"),
        ("semver-prerelease", "kind: Third\n"),
    ] {
        let obj = env.repos().get(name).await?;
        assert_eq!(app_yaml(&obj).await?, content, "{name}");
    }

    // A tag that appears later is picked up on the next reconcile (the failure is
    // retried, not stalled).
    git(&repo.work, &["tag", "-a", "v9.9.9", "-m", "late"])?;
    git(&repo.work, &["push", "origin", "v9.9.9"])?;
    let late = env.wait_for("missing-tag", "Ready", is_ready).await?;
    assert_eq!(revision(&late), Some(format!("v9.9.9@sha1:{third}")));
    assert!(condition(&late, "FetchFailed").is_none());
    Ok(())
}
