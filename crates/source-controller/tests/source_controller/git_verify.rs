//! `spec.verify` end to end (in-process verification, no gpg/ssh-keygen at run time):
//! commits and tags signed in the test with `git commit -S` / `git tag -s`, by
//! `ssh-keygen` keys (`gpg.format=ssh`) and by gpg keys (a primary signing key and a
//! signing subkey), served by `git http-backend`.

use std::path::Path;
use std::process::Command;

use flux_api::source::GitRepository;
use serde_json::json;

use crate::fixtures::{Env, GitHttp, Repo, condition, git, have_tool, is_ready, ready};

/// The SourceVerified condition's (status, reason, message).
fn verified(obj: &GitRepository) -> Option<(String, String, String)> {
    let conds = obj.status.as_ref()?.conditions.as_ref()?;
    flux_api::conditions::find(conds, "SourceVerified").map(|c| {
        (
            c.status.as_str().to_string(),
            c.reason.clone(),
            c.message.clone(),
        )
    })
}

fn revision(obj: &GitRepository) -> Option<String> {
    obj.status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

fn not_ready(o: &GitRepository) -> bool {
    ready(o).is_some_and(|r| r.0 == "False")
}

/// Waits for Ready=False and checks its reason equals SourceVerified's; returns the
/// SourceVerified message.
async fn failed_with(env: &Env, name: &str, reason: &str) -> anyhow::Result<String> {
    let obj = env.wait_for(name, "Ready=False", not_ready).await?;
    let (status, got, message) = verified(&obj).unwrap_or_default();
    assert_eq!(
        (status.as_str(), got.as_str()),
        ("False", reason),
        "{name}: {message}"
    );
    assert_eq!(ready(&obj).map(|r| r.1), Some(reason.to_string()), "{name}");
    assert!(
        obj.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .is_none(),
        "{name}: no artifact from an unverified source"
    );
    Ok(message)
}

/// `git` with extra `-c` settings and a GNUPGHOME.
fn git_signing(
    dir: &Path,
    gnupg: Option<&Path>,
    config: &[String],
    args: &[&str],
) -> anyhow::Result<()> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some(home) = gnupg {
        cmd.env("GNUPGHOME", home);
    }
    for c in config {
        cmd.arg("-c").arg(c);
    }
    let out = cmd.args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_ssh_signed_commits_and_tags() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("ssh-keygen") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let keys = tempfile::tempdir()?;
    for name in ["signer", "stranger", "colleague"] {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(keys.path().join(name))
            .output()?;
        anyhow::ensure!(out.status.success(), "ssh-keygen failed");
    }
    let ssh_config = |key: &str| {
        vec![
            "gpg.format=ssh".to_string(),
            format!("user.signingkey={}", keys.path().join(key).display()),
        ]
    };
    // The first (unsigned) commit stays reachable as branch `unsigned`.
    git(&repo.work, &["push", "origin", "main:refs/heads/unsigned"])?;
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: Signed\n")?;
    git(&repo.work, &["add", "-A"])?;
    git_signing(
        &repo.work,
        None,
        &ssh_config("signer"),
        &["commit", "-S", "-m", "signed commit"],
    )?;
    git(&repo.work, &["push", "origin", "main"])?;
    let signed = repo.head()?;
    // A signed annotated tag, an unsigned annotated one and a lightweight one, all on
    // the signed commit; a tag signed by a stranger.
    git_signing(
        &repo.work,
        None,
        &ssh_config("signer"),
        &["tag", "-s", "v1.0.0", "-m", "signed tag"],
    )?;
    git(&repo.work, &["tag", "-a", "v0.9.0", "-m", "unsigned tag"])?;
    git(&repo.work, &["tag", "v0.8.0"])?;
    git_signing(
        &repo.work,
        None,
        &ssh_config("stranger"),
        &["tag", "-s", "v0.7.0", "-m", "stranger tag"],
    )?;
    git(
        &repo.work,
        &["push", "origin", "v1.0.0", "v0.9.0", "v0.8.0", "v0.7.0"],
    )?;
    let unsigned_tag_object = git(&repo.work, &["rev-parse", "v0.9.0"])?;
    let fingerprint = {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(keys.path().join("signer.pub"))
            .output()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    let server = GitHttp::start(21416, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    let signer_pub = std::fs::read(keys.path().join("signer.pub"))?;
    let stranger_pub = std::fs::read(keys.path().join("stranger.pub"))?;
    // Several keys in one authorized-keys list, with a comment line.
    let mut list = b"# trusted signers\n".to_vec();
    list.extend_from_slice(&std::fs::read(keys.path().join("colleague.pub"))?);
    list.extend_from_slice(&signer_pub);
    env.secret("trusted", &[("authors.sshpub", &list)]).await?;
    env.secret("untrusted", &[("other.sshpub", &stranger_pub)])
        .await?;
    env.secret("pgp-only", &[("author.asc", b"not used")])
        .await?;
    env.secret("bad-list", &[("x.sshpub", b"ssh-ed25519 not-base64!")])
        .await?;

    let create = |name: &'static str, reference: serde_json::Value, mode: &str, secret: &str| {
        env.create(
            name,
            json!({"url": url, "interval": "10m", "ref": reference,
                "verify": {"mode": mode, "secretRef": {"name": secret}}}),
        )
    };
    create("head", json!({"branch": "main"}), "HEAD", "trusted").await?;
    create("tag", json!({"tag": "v1.0.0"}), "Tag", "trusted").await?;
    create("both", json!({"semver": "1.x"}), "TagAndHEAD", "trusted").await?;
    create("untrusted", json!({"branch": "main"}), "HEAD", "untrusted").await?;
    create("unsigned", json!({"branch": "unsigned"}), "HEAD", "trusted").await?;
    create("tag-on-branch", json!({"branch": "main"}), "Tag", "trusted").await?;
    create("unsigned-tag", json!({"tag": "v0.9.0"}), "Tag", "trusted").await?;
    create("lightweight", json!({"tag": "v0.8.0"}), "Tag", "trusted").await?;
    create("stranger-tag", json!({"tag": "v0.7.0"}), "Tag", "trusted").await?;
    create("no-ssh-keys", json!({"branch": "main"}), "HEAD", "pgp-only").await?;
    create("bad-list", json!({"branch": "main"}), "HEAD", "bad-list").await?;
    create("no-secret", json!({"branch": "main"}), "HEAD", "absent").await?;

    let head = env.wait_for("head", "Ready", is_ready).await?;
    let (status, reason, message) = verified(&head).unwrap_or_default();
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Succeeded"));
    assert_eq!(
        message,
        format!("verified signature of\n\t- commit '{signed}' with key '{fingerprint}'")
    );
    assert_eq!(
        head.status
            .as_ref()
            .and_then(|s| s.source_verification_mode.clone()),
        Some("HEAD".into())
    );
    assert_eq!(revision(&head), Some(format!("main@sha1:{signed}")));

    let tag = env.wait_for("tag", "Ready", is_ready).await?;
    let tag_object = git(&repo.work, &["rev-parse", "v1.0.0"])?;
    assert_eq!(
        verified(&tag).map(|v| v.2),
        Some(format!(
            "verified signature of\n\t- tag 'v1.0.0@{tag_object}' with key '{fingerprint}'"
        ))
    );
    assert_eq!(
        tag.status
            .as_ref()
            .and_then(|s| s.source_verification_mode.clone()),
        Some("Tag".into())
    );
    let both = env.wait_for("both", "Ready", is_ready).await?;
    assert_eq!(
        verified(&both).map(|v| v.2),
        Some(format!(
            "verified signature of\n\t- tag 'v1.0.0@{tag_object}' with key '{fingerprint}'\n\t- commit '{signed}' with key '{fingerprint}'"
        ))
    );

    let message = failed_with(&env, "untrusted", "InvalidCommitSignature").await?;
    assert_eq!(
        message,
        format!(
            "signature verification of commit '{signed}' failed: unable to verify Git commit SSH signature: unable to verify payload with any of the given authorized keys: no matching key"
        )
    );
    let message = failed_with(&env, "unsigned", "InvalidCommitSignature").await?;
    assert!(
        message.ends_with("failed: unsupported signature type: empty"),
        "{message}"
    );
    let tag_on_branch = env
        .wait_for("tag-on-branch", "Stalled", |o| {
            condition(o, "Stalled").is_some()
        })
        .await?;
    assert_eq!(
        condition(&tag_on_branch, "Stalled"),
        Some(("True".into(), "InvalidVerificationMode".into()))
    );
    assert_eq!(
        verified(&tag_on_branch).map(|v| v.2),
        Some("cannot verify tag object's signature if a tag reference is not specified".into())
    );
    let message = failed_with(&env, "unsigned-tag", "InvalidGitObject").await?;
    assert_eq!(
        message,
        format!(
            "cannot verify signature of tag 'v0.9.0@{unsigned_tag_object}' since it is not signed"
        )
    );
    let message = failed_with(&env, "lightweight", "InvalidGitObject").await?;
    assert_eq!(
        message,
        "cannot verify signature of tag 'v0.8.0' since it is not signed"
    );
    let message = failed_with(&env, "stranger-tag", "InvalidTagSignature").await?;
    assert!(
        message.contains("unable to verify Git tag SSH signature"),
        "{message}"
    );
    let message = failed_with(&env, "no-ssh-keys", "InvalidCommitSignature").await?;
    assert!(
        message.ends_with(
            "SSH signature detected but no SSH public keys found in secret (keys with .sshpub suffix)"
        ),
        "{message}"
    );
    let message = failed_with(&env, "bad-list", "InvalidCommitSignature").await?;
    assert!(
        message.contains("unable to parse authorized keys 'x.sshpub'"),
        "{message}"
    );
    let message = failed_with(&env, "no-secret", "VerificationError").await?;
    assert!(message.starts_with("public keys secret error"), "{message}");
    Ok(())
}

/// A throw-away gpg home; the agent is stopped on drop.
struct GnuPg {
    home: tempfile::TempDir,
}

impl GnuPg {
    fn new() -> anyhow::Result<Self> {
        // A short path: gpg-agent's socket path has a length limit.
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp")?;
        Ok(Self { home })
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The fingerprints (primary first, then subkeys) of `uid`'s key.
    fn fingerprints(&self, uid: &str) -> anyhow::Result<Vec<String>> {
        Ok(self
            .run(&["--with-colons", "--list-keys", uid])?
            .lines()
            .filter_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .collect())
    }
}

impl Drop for GnuPg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_gpg_signed_commits_and_tags() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("gpg") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    git(&repo.work, &["push", "origin", "main:refs/heads/unsigned"])?;
    let gpg = GnuPg::new()?;
    // `signer` signs with its primary key; `subkey` has a signing subkey that git uses
    // (`!` forces it); `stranger` is trusted by nobody.
    for uid in ["signer", "stranger", "colleague"] {
        gpg.run(&[
            "--quick-gen-key",
            &format!("{uid} <{uid}@example.com>"),
            "ed25519",
            "sign",
            "never",
        ])?;
    }
    gpg.run(&[
        "--quick-gen-key",
        "subkey <subkey@example.com>",
        "rsa3072",
        "cert",
        "never",
    ])?;
    let subkey_primary = gpg.fingerprints("subkey@example.com")?;
    let subkey_primary = subkey_primary.first().cloned().unwrap_or_default();
    gpg.run(&[
        "--quick-add-key",
        &subkey_primary,
        "ed25519",
        "sign",
        "never",
    ])?;
    let subkey_signing = gpg
        .fingerprints("subkey@example.com")?
        .get(1)
        .cloned()
        .unwrap_or_default();
    anyhow::ensure!(!subkey_signing.is_empty(), "no signing subkey created");
    let export = |uid: &str| gpg.run(&["--armor", "--export", uid]);
    let signer_pub = export("signer@example.com")?;
    let stranger_pub = export("stranger@example.com")?;
    let colleague_pub = export("colleague@example.com")?;
    let subkey_pub = export("subkey@example.com")?;
    let key_id = |fpr: &str| fpr[fpr.len().saturating_sub(16)..].to_string();
    let signer_id = key_id(&gpg.fingerprints("signer@example.com")?.concat());
    let subkey_id = key_id(&subkey_primary);

    let signing = |key: &str| vec![format!("user.signingkey={key}")];
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: GpgSigned\n")?;
    git(&repo.work, &["add", "-A"])?;
    git_signing(
        &repo.work,
        Some(gpg.home.path()),
        &signing("signer@example.com"),
        &["commit", "-S", "-m", "gpg signed"],
    )?;
    let signed = repo.head()?;
    git_signing(
        &repo.work,
        Some(gpg.home.path()),
        &signing("signer@example.com"),
        &["tag", "-s", "v1.0.0", "-m", "gpg signed tag"],
    )?;
    git(&repo.work, &["push", "origin", "main", "v1.0.0"])?;
    let tag_object = git(&repo.work, &["rev-parse", "v1.0.0"])?;
    // A commit signed by the subkey, on branch `subkey`.
    git(&repo.work, &["checkout", "-b", "subkey"])?;
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: SubkeySigned\n")?;
    git(&repo.work, &["add", "-A"])?;
    git_signing(
        &repo.work,
        Some(gpg.home.path()),
        &signing(&format!("{subkey_signing}!")),
        &["commit", "-S", "-m", "subkey signed"],
    )?;
    let subkey_commit = repo.head()?;
    git(&repo.work, &["push", "origin", "subkey"])?;
    git(&repo.work, &["checkout", "main"])?;

    // A key that expires 4 seconds after it signs, and a key revoked after it signed
    // (its export before the revocation still verifies).
    gpg.run(&[
        "--quick-gen-key",
        "expiring <expiring@example.com>",
        "ed25519",
        "sign",
        "seconds=4",
    ])?;
    let expiring_born = std::time::Instant::now();
    let signed_branch = |branch: &str, key: &str| -> anyhow::Result<()> {
        git(&repo.work, &["checkout", "-b", branch, "main"])?;
        std::fs::write(repo.work.join("apps/app.yaml"), format!("kind: {branch}\n"))?;
        git(&repo.work, &["add", "-A"])?;
        git_signing(
            &repo.work,
            Some(gpg.home.path()),
            &signing(key),
            &["commit", "-S", "-m", branch],
        )?;
        git(&repo.work, &["push", "origin", branch])?;
        git(&repo.work, &["checkout", "main"])?;
        Ok(())
    };
    signed_branch("expiring", "expiring@example.com")?;
    let expiring_pub = export("expiring@example.com")?;
    gpg.run(&[
        "--quick-gen-key",
        "revoked <revoked@example.com>",
        "ed25519",
        "sign",
        "never",
    ])?;
    signed_branch("revoked", "revoked@example.com")?;
    let revoked_before = export("revoked@example.com")?;
    let revoked_fpr = gpg
        .fingerprints("revoked@example.com")?
        .first()
        .cloned()
        .unwrap_or_default();
    // gpg keeps a revocation certificate per key, armored with a leading ':' so that it
    // is not imported by accident.
    let cert = std::fs::read_to_string(
        gpg.home
            .path()
            .join(format!("openpgp-revocs.d/{revoked_fpr}.rev")),
    )?;
    let cert_path = gpg.home.path().join("revoke.asc");
    std::fs::write(&cert_path, cert.replace(":-----BEGIN", "-----BEGIN"))?;
    gpg.run(&["--import", &cert_path.to_string_lossy()])?;
    let revoked_after = export("revoked@example.com")?;
    anyhow::ensure!(revoked_after != revoked_before, "revocation not exported");

    let server = GitHttp::start(21417, root.path(), None)?;
    let url = format!("{}app.git", server.url);
    let env = Env::start().await?;
    // The trusted ring holds two keys in separate entries, one without a suffix
    // (upstream reads keys without `.sshpub` as OpenPGP key rings).
    env.secret(
        "pgp",
        &[
            ("colleague.asc", colleague_pub.as_bytes()),
            ("signer", signer_pub.as_bytes()),
            ("subkey.asc", subkey_pub.as_bytes()),
        ],
    )
    .await?;
    env.secret("wrong", &[("stranger.asc", stranger_pub.as_bytes())])
        .await?;
    env.secret(
        "ssh-only",
        &[(
            "x.sshpub",
            b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x",
        )],
    )
    .await?;
    env.secret(
        "garbage",
        &[("k.asc", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnope\n")],
    )
    .await?;
    let create = |name: &'static str, reference: serde_json::Value, mode: &str, secret: &str| {
        env.create(
            name,
            json!({"url": url, "interval": "10m", "ref": reference,
                "verify": {"mode": mode, "secretRef": {"name": secret}}}),
        )
    };
    create("gpg", json!({"branch": "main"}), "HEAD", "pgp").await?;
    create("gpg-tag", json!({"tag": "v1.0.0"}), "TagAndHEAD", "pgp").await?;
    create("gpg-subkey", json!({"branch": "subkey"}), "HEAD", "pgp").await?;
    create("gpg-wrong", json!({"branch": "main"}), "HEAD", "wrong").await?;
    create("gpg-wrong-tag", json!({"tag": "v1.0.0"}), "Tag", "wrong").await?;
    create("gpg-unsigned", json!({"branch": "unsigned"}), "HEAD", "pgp").await?;
    create(
        "gpg-ssh-only",
        json!({"branch": "main"}),
        "HEAD",
        "ssh-only",
    )
    .await?;
    create("gpg-garbage", json!({"branch": "main"}), "HEAD", "garbage").await?;
    env.secret("revoked-before", &[("k.asc", revoked_before.as_bytes())])
        .await?;
    env.secret("revoked-after", &[("k.asc", revoked_after.as_bytes())])
        .await?;
    env.secret("expiring", &[("k.asc", expiring_pub.as_bytes())])
        .await?;
    create(
        "revoked-before",
        json!({"branch": "revoked"}),
        "HEAD",
        "revoked-before",
    )
    .await?;
    create(
        "revoked-after",
        json!({"branch": "revoked"}),
        "HEAD",
        "revoked-after",
    )
    .await?;
    if let Some(left) = std::time::Duration::from_secs(6).checked_sub(expiring_born.elapsed()) {
        tokio::time::sleep(left).await;
    }
    create("expired", json!({"branch": "expiring"}), "HEAD", "expiring").await?;

    let ok = env.wait_for("gpg", "Ready", is_ready).await?;
    assert_eq!(
        verified(&ok),
        Some((
            "True".into(),
            "Succeeded".into(),
            format!("verified signature of\n\t- commit '{signed}' with key '{signer_id}'")
        ))
    );
    let ok = env.wait_for("gpg-tag", "Ready", is_ready).await?;
    assert_eq!(
        verified(&ok).map(|v| v.2),
        Some(format!(
            "verified signature of\n\t- tag 'v1.0.0@{tag_object}' with key '{signer_id}'\n\t- commit '{signed}' with key '{signer_id}'"
        ))
    );
    assert_eq!(revision(&ok), Some(format!("v1.0.0@sha1:{signed}")));
    // A subkey signature is reported with the primary key's ID, as upstream.
    let ok = env.wait_for("gpg-subkey", "Ready", is_ready).await?;
    assert_eq!(
        verified(&ok).map(|v| v.2),
        Some(format!(
            "verified signature of\n\t- commit '{subkey_commit}' with key '{subkey_id}'"
        ))
    );

    let message = failed_with(&env, "gpg-wrong", "InvalidCommitSignature").await?;
    assert_eq!(
        message,
        format!(
            "signature verification of commit '{signed}' failed: unable to verify Git commit: unable to verify payload with any of the given key rings: no matching key"
        )
    );
    let message = failed_with(&env, "gpg-wrong-tag", "InvalidTagSignature").await?;
    assert_eq!(
        message,
        format!(
            "signature verification of tag 'v1.0.0@{tag_object}' failed: unable to verify Git tag: unable to verify payload with any of the given key rings: no matching key"
        )
    );
    let message = failed_with(&env, "gpg-unsigned", "InvalidCommitSignature").await?;
    assert!(
        message.ends_with("unsupported signature type: empty"),
        "{message}"
    );
    let message = failed_with(&env, "gpg-ssh-only", "InvalidCommitSignature").await?;
    assert!(
        message.ends_with(
            "PGP signature detected but no PGP public keys found in secret (keys with .asc suffix)"
        ),
        "{message}"
    );
    let message = failed_with(&env, "gpg-garbage", "InvalidCommitSignature").await?;
    assert!(
        message.contains("unable to read armored key ring 'k.asc'"),
        "{message}"
    );

    // Revoked and expired keys no longer vouch for signatures (go-crypto checks both at
    // verification time).
    env.wait_for("revoked-before", "Ready", is_ready).await?;
    for name in ["revoked-after", "expired"] {
        let message = failed_with(&env, name, "InvalidCommitSignature").await?;
        assert!(
            message.ends_with(
                "unable to verify payload with any of the given key rings: no matching key"
            ),
            "{name}: {message}"
        );
    }

    // A verified artifact survives a new commit signed by an untrusted key: Ready=False,
    // the previous artifact and revision are kept.
    std::fs::write(repo.work.join("apps/app.yaml"), "kind: Stranger\n")?;
    git(&repo.work, &["add", "-A"])?;
    git_signing(
        &repo.work,
        Some(gpg.home.path()),
        &signing("stranger@example.com"),
        &["commit", "-S", "-m", "stranger commit"],
    )?;
    git(&repo.work, &["push", "origin", "main"])?;
    env.request_reconcile("gpg", "after-stranger").await?;
    let kept = env
        .wait_for("gpg", "Ready=False after the stranger's commit", not_ready)
        .await?;
    assert_eq!(
        verified(&kept).map(|v| v.1),
        Some("InvalidCommitSignature".into())
    );
    assert_eq!(revision(&kept), Some(format!("main@sha1:{signed}")));
    assert_eq!(
        condition(&kept, "ArtifactInStorage").map(|c| c.0),
        Some("True".into())
    );
    Ok(())
}
