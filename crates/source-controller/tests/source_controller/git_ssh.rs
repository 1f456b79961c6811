//! The GitRepository controller over SSH (Debian's sshd via start-git-ssh, the system ssh
//! client): identity + known_hosts from the secret, wrong key, unknown host key.

use serde_json::json;

use crate::fixtures::{Env, GitServer, Repo, have_tool, is_ready, ready};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_identity_wrong_key_unknown_host() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("ssh") || !have_tool("ssh-keygen") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let server = GitServer::start_ssh(21421, root.path())?;
    let url = format!("{}app.git", server.url);
    let key = std::fs::read(
        server
            .info
            .get("KEY")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    let known_hosts = std::fs::read(
        server
            .info
            .get("KNOWN_HOSTS")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    let env = Env::start().await?;

    env.secret(
        "ssh-ok",
        &[("identity", &key), ("known_hosts", &known_hosts)],
    )
    .await?;
    env.create("ssh", json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": "ssh-ok"}}))
        .await?;
    let ok = env.wait_for("ssh", "Ready", is_ready).await?;
    assert_eq!(
        ok.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone()),
        Some(format!("main@sha1:{head}"))
    );

    // A key the server does not know.
    let keys = tempfile::tempdir()?;
    let other = keys.path().join("other");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .output()?;
    assert!(out.status.success(), "ssh-keygen failed");
    let other_key = std::fs::read(&other)?;
    env.secret(
        "ssh-wrong-key",
        &[("identity", &other_key), ("known_hosts", &known_hosts)],
    )
    .await?;
    env.create("wrongkey", json!({"url": url, "interval": "10m", "secretRef": {"name": "ssh-wrong-key"}, "ref": {"branch": "main"}}))
        .await?;
    let wrong = env
        .wait_for("wrongkey", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    let (_, reason, message) = ready(&wrong).unwrap_or_default();
    assert_eq!(reason, "GitOperationFailed");
    assert!(!message.contains("PRIVATE KEY"), "{message}");

    // A known_hosts without the server's key: strict host key checking refuses.
    let other_pub = std::fs::read_to_string(other.with_extension("pub"))?;
    let fake_hosts = format!("[127.0.0.1]:21421 {}", other_pub.trim());
    env.secret(
        "ssh-unknown-host",
        &[("identity", &key), ("known_hosts", fake_hosts.as_bytes())],
    )
    .await?;
    env.create("unknownhost", json!({"url": url, "interval": "10m", "secretRef": {"name": "ssh-unknown-host"}, "ref": {"branch": "main"}}))
        .await?;
    let unknown = env
        .wait_for("unknownhost", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(
        ready(&unknown).map(|r| r.1),
        Some("GitOperationFailed".into())
    );

    // SSH secret without known_hosts: AuthenticationFailed.
    env.secret("ssh-incomplete", &[("identity", &key)]).await?;
    env.create(
        "incomplete",
        json!({"url": url, "interval": "10m", "secretRef": {"name": "ssh-incomplete"}}),
    )
    .await?;
    let incomplete = env
        .wait_for("incomplete", "Ready=False", |o| {
            ready(o).is_some_and(|r| r.0 == "False")
        })
        .await?;
    assert_eq!(
        ready(&incomplete).map(|r| r.1),
        Some("AuthenticationFailed".into())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_encrypted_identity_with_password() -> anyhow::Result<()> {
    if !have_tool("git") || !have_tool("ssh") || !have_tool("ssh-keygen") {
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let repo = Repo::create(root.path())?;
    let head = repo.head()?;
    let keys = tempfile::tempdir()?;
    let key_path = keys.path().join("locked");
    let passphrase = "key-pass-61f0";
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
        .arg(&key_path)
        .output()?;
    anyhow::ensure!(out.status.success(), "ssh-keygen failed");
    let server =
        GitServer::start_ssh_with_keys(21422, root.path(), &key_path.with_extension("pub"))?;
    let url = format!("{}app.git", server.url);
    let known_hosts = std::fs::read(
        server
            .info
            .get("KNOWN_HOSTS")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    let locked = std::fs::read(&key_path)?;
    let env = Env::start().await?;
    for (name, password) in [
        ("with-password", Some(passphrase)),
        ("no-password", None),
        ("wrong-password", Some("not-the-pass")),
    ] {
        let mut data: Vec<(&str, &[u8])> =
            vec![("identity", &locked), ("known_hosts", &known_hosts)];
        if let Some(p) = password {
            data.push(("password", p.as_bytes()));
        }
        env.secret(name, &data).await?;
        env.create(
            name,
            json!({"url": url, "interval": "10m", "ref": {"branch": "main"}, "secretRef": {"name": name}}),
        )
        .await?;
    }
    let ok = env.wait_for("with-password", "Ready", is_ready).await?;
    assert_eq!(
        ok.status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone()),
        Some(format!("main@sha1:{head}"))
    );
    let failed = |o: &flux_api::source::GitRepository| ready(o).is_some_and(|r| r.0 == "False");
    let none = env.wait_for("no-password", "Ready=False", failed).await?;
    assert_eq!(
        ready(&none).map(|r| (r.1, r.2)),
        Some((
            "AuthenticationFailed".to_string(),
            "SSH identity key is encrypted but no 'password' field was provided in the secret 'default/no-password'".to_string()
        ))
    );
    let wrong = env
        .wait_for("wrong-password", "Ready=False", failed)
        .await?;
    let (_, reason, message) = ready(&wrong).unwrap_or_default();
    assert_eq!(reason, "AuthenticationFailed", "{message}");
    assert!(
        message.contains("unable to decrypt the SSH identity key")
            && !message.contains("not-the-pass"),
        "{message}"
    );
    Ok(())
}
