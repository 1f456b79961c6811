//! `spec.verify` (mode HEAD) with SSH-signed commits made by `git commit -S` with
//! `gpg.format=ssh` in the test: trusted key, untrusted key, unsigned commit, Tag mode.

use serde_json::json;

use crate::fixtures::{Env, GitHttp, Repo, condition, git, have_tool, is_ready, ready};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ssh_signed_commits() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("ssh-keygen") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let keys = tempfile::tempdir()?;
    for name in ["signer", "stranger"] {
        let out = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(keys.path().join(name))
            .output()?;
        anyhow::ensure!(out.status.success(), "ssh-keygen failed");
    }
    let signer_key = keys.path().join("signer");
    // The first (unsigned) commit stays reachable as branch `unsigned`.
    git(&repo.work, &["push", "origin", "main:refs/heads/unsigned"])?;
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: Signed\n")?;
    git(&repo.work, &["add", "-A"])?;
    git(
        &repo.work,
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={}", signer_key.display()),
            "commit",
            "-S",
            "-m",
            "signed commit",
        ],
    )?;
    git(&repo.work, &["push", "origin", "main"])?;
    let signed = repo.head()?;
    // A signed annotated tag and an unsigned one on the signed commit.
    git(
        &repo.work,
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={}", signer_key.display()),
            "tag",
            "-s",
            "v1.0.0",
            "-m",
            "signed tag",
        ],
    )?;
    git(&repo.work, &["tag", "-a", "v0.9.0", "-m", "unsigned tag"])?;
    git(&repo.work, &["push", "origin", "v1.0.0", "v0.9.0"])?;
    let server = GitHttp::start(21416, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    let signer_pub = std::fs::read(keys.path().join("signer.pub"))?;
    let stranger_pub = std::fs::read(keys.path().join("stranger.pub"))?;
    env.secret("trusted", &[("author.sshpub", &signer_pub)])
        .await?;
    env.secret("untrusted", &[("other.sshpub", &stranger_pub)])
        .await?;

    env.create(
        "verified",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
        "verify": {"mode": "HEAD", "secretRef": {"name": "trusted"}}}),
    )
    .await?;
    let ok = env.wait_for("verified", "Ready", is_ready).await?;
    assert_eq!(
        condition(&ok, "SourceVerified"),
        Some(("True".into(), "Succeeded".into()))
    );
    assert_eq!(
        ok.status
            .as_ref()
            .and_then(|s| s.source_verification_mode.clone()),
        Some("HEAD".into())
    );
    assert_eq!(
        ok.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone()),
        Some(format!("main@sha1:{signed}"))
    );

    env.create(
        "untrusted",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
        "verify": {"secretRef": {"name": "untrusted"}}}),
    )
    .await?;
    let bad = env
        .wait_for("untrusted", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(ready(&bad).map(|r| r.1), Some("VerificationError".into()));
    assert_eq!(
        condition(&bad, "SourceVerified"),
        Some(("False".into(), "VerificationError".into()))
    );
    assert!(
        bad.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_none(),
        "no artifact from an untrusted commit"
    );

    env.create(
        "unsigned",
        json!({"url": url, "interval": "10m", "ref": {"branch": "unsigned"},
        "verify": {"secretRef": {"name": "trusted"}}}),
    )
    .await?;
    let unsigned = env
        .wait_for("unsigned", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert!(
        ready(&unsigned)
            .is_some_and(|r| r.1 == "VerificationError" && r.2.contains("no signature")),
        "{:?}",
        ready(&unsigned)
    );

    env.create(
        "tagmode",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
        "verify": {"mode": "Tag", "secretRef": {"name": "trusted"}}}),
    )
    .await?;
    let tagmode = env
        .wait_for("tagmode", "Stalled", |o| condition(o, "Stalled").is_some())
        .await?;
    assert_eq!(
        condition(&tagmode, "Stalled"),
        Some(("True".into(), "VerificationError".into()))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_gpg_signed_commit() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("gpg") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let gnupg = tempfile::tempdir()?;
    let gpg = |args: &[&str]| -> anyhow::Result<Vec<u8>> {
        let out = std::process::Command::new("gpg")
            .env("GNUPGHOME", gnupg.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out.stdout)
    };
    gpg(&[
        "--quick-gen-key",
        "Flux Test <signer@example.com>",
        "ed25519",
        "sign",
        "never",
    ])?;
    let public = gpg(&["--armor", "--export", "signer@example.com"])?;
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: GpgSigned\n")?;
    git(&repo.work, &["add", "-A"])?;
    let out = std::process::Command::new("git")
        .current_dir(&repo.work)
        .env("GNUPGHOME", gnupg.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "-c",
            "user.name=Flux Test",
            "-c",
            "user.email=signer@example.com",
        ])
        .args([
            "-c",
            "user.signingkey=signer@example.com",
            "commit",
            "-S",
            "-m",
            "gpg signed",
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "git commit -S: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(&repo.work, &["push", "origin", "main"])?;
    let server = GitHttp::start(21417, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    env.secret("pgp", &[("author.asc", &public)]).await?;
    env.create(
        "gpg",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
        "verify": {"mode": "HEAD", "secretRef": {"name": "pgp"}}}),
    )
    .await?;
    let ok = env.wait_for("gpg", "Ready", is_ready).await?;
    assert_eq!(
        condition(&ok, "SourceVerified"),
        Some(("True".into(), "Succeeded".into()))
    );

    // An SSH-only key set cannot verify an OpenPGP signature.
    env.secret(
        "ssh-only",
        &[(
            "x.sshpub",
            b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x",
        )],
    )
    .await?;
    env.create(
        "gpg-wrong",
        json!({"url": url, "interval": "10m", "ref": {"branch": "main"},
        "verify": {"secretRef": {"name": "ssh-only"}}}),
    )
    .await?;
    let bad = env
        .wait_for("gpg-wrong", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(ready(&bad).map(|r| r.1), Some("VerificationError".into()));
    Ok(())
}
