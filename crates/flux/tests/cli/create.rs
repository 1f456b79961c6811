//! Tests of `flux create`.

use super::cluster::{TestCluster, outputs};
use super::flux;

#[test]
fn create_source_git_export_matches_upstream_golden() {
    // upstream's cmd/flux/testdata/create_source_git/export.golden
    let out = flux()
        .args([
            "create",
            "source",
            "git",
            "podinfo",
            "--namespace=default",
            "--url=https://github.com/stefanprodan/podinfo",
            "--branch=master",
            "--ignore-paths",
            ".cosign,non-existent-dir/",
            "--sparse-checkout-paths",
            ".cosign,non-existent-dir/",
            "--export",
        ])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  ignore: |-\n    .cosign\n    non-existent-dir/\n  interval: 1m0s\n  ref:\n    branch: master\n  sparseCheckout:\n  - .cosign\n  - non-existent-dir/\n  url: https://github.com/stefanprodan/podinfo\n"
    );
}

#[test]
fn create_kustomization_export() {
    let out = flux()
        .args([
            "create",
            "kustomization",
            "apps",
            "--source=GitRepository/podinfo.infra",
            "--path=./deploy/apps",
            "--prune",
            "--interval=10m",
            "--health-check",
            "Deployment/backend.webapp",
            "--depends-on",
            "infra/base,common",
            "--label",
            "team=apps",
            "--export",
        ])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn create_secret_git_exports() {
    let out = flux()
        .args([
            "create",
            "secret",
            "git",
            "podinfo-auth",
            "--url=https://github.com/stefanprodan/podinfo",
            "--username=my-username",
            "--password=my-password",
            "--namespace=my-namespace",
            "--export",
        ])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    // upstream's testdata/create_secret/git/secret-git-basic.yaml
    assert_eq!(
        stdout,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: podinfo-auth\n  namespace: my-namespace\nstringData:\n  password: my-password\n  username: my-username\n\n"
    );
    let out = flux()
        .args([
            "create",
            "secret",
            "git",
            "bearer-token-auth",
            "--url=https://github.com/stefanprodan/podinfo",
            "--bearer-token=ghp_baR2qnFF0O41WlucePL3udt2N9vVZS4R0hAS",
            "--namespace=my-namespace",
            "--export",
        ])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert_eq!(
        stdout,
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: bearer-token-auth\n  namespace: my-namespace\nstringData:\n  bearerToken: ghp_baR2qnFF0O41WlucePL3udt2N9vVZS4R0hAS\n\n"
    );
}

const ECDSA_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS
1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQTuiu+gGwLIu9E5J4vRshoIBHScKx4Y
f9oniWMsLFHXq5p9GJ/eb9Cr3jgNACnGOIGOqlwBQvP5rCJuaJ0pCRKUAAAAuNE1GtvRNR
rbAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBO6K76AbAsi70Tkn
i9GyGggEdJwrHhh/2ieJYywsUdermn0Yn95v0KveOA0AKcY4gY6qXAFC8/msIm5onSkJEp
QAAAAhAPaO6PiN+1238KMrHg34M7XdftGypt2/UKEz2L2Pf40yAAAAH3NvbXRvY2hpb255
ZWt3ZXJlQFNvbXRvY2hpcy1NQlA=
-----END OPENSSH PRIVATE KEY-----
";

#[test]
fn create_secret_git_ssh_applies_the_key_and_its_public_half() {
    let c = TestCluster::start();
    let key = c.dir.path().join("id_ecdsa");
    std::fs::write(&key, ECDSA_KEY).expect("write key");
    let out = c
        .flux()
        .args([
            "create",
            "secret",
            "git",
            "ssh-auth",
            "--url=ssh://git@127.0.0.1:1/org/repo",
            "--private-key-file",
        ])
        .arg(&key)
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(stderr);
    let secret = c
        .get("v1", "Secret", "flux-system", "ssh-auth")
        .expect("secret exists");
    let data = &secret["data"];
    assert!(
        data["identity"].is_string() && data["identity.pub"].is_string(),
        "{secret}"
    );
}

#[test]
fn create_source_git_and_kustomization_wait_for_ready() {
    let c = TestCluster::start();
    c.start_fake_controller("main@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9", None);
    let out = c
        .flux()
        .args([
            "create",
            "source",
            "git",
            "podinfo",
            "--url=https://github.com/stefanprodan/podinfo",
            "--branch=master",
            "-u",
            "git",
            "-p",
            "secret",
        ])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!("create_source_git_stderr", stderr);
    let repo = c
        .get(
            "source.toolkit.fluxcd.io/v1",
            "GitRepository",
            "flux-system",
            "podinfo",
        )
        .expect("created");
    assert_eq!(repo["spec"]["secretRef"]["name"], "podinfo");
    assert!(c.get("v1", "Secret", "flux-system", "podinfo").is_some());

    let out = c
        .flux()
        .args([
            "create",
            "ks",
            "podinfo",
            "--source=podinfo",
            "--path=./kustomize",
            "--prune",
        ])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!("create_kustomization_stderr", stderr);

    // A second create updates.
    let out = c
        .flux()
        .args([
            "create",
            "ks",
            "podinfo",
            "--source=podinfo",
            "--path=./other",
        ])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(stderr.contains("✔ Kustomization updated"), "{stderr}");
    let ks = c
        .get(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "flux-system",
            "podinfo",
        )
        .expect("ks");
    assert_eq!(ks["spec"]["path"], "./other");
}

#[test]
fn create_reports_a_failing_reconciliation() {
    let c = TestCluster::start();
    c.start_fake_controller("x", Some("failed to checkout: authentication required"));
    let out = c
        .flux()
        .args([
            "create",
            "source",
            "git",
            "private",
            "--url=https://example.com/x",
            "--branch=main",
        ])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr.lines().last(),
        Some("✗ failed to checkout: authentication required"),
        "{stderr}"
    );
}

#[test]
fn create_flag_errors_are_one_line() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["create", "source", "git"], "✗ name is required\n"),
        (
            vec![
                "create",
                "source",
                "git",
                "Bad_Name",
                "--url=https://x/y",
                "--branch=m",
            ],
            "✗ name 'Bad_Name' is invalid, it should adhere to standard defined in RFC 1123, the name can only contain alphanumeric characters or '-'\n",
        ),
        (
            vec!["create", "source", "git", "x1", "--branch=main"],
            "✗ url is required\n",
        ),
        (
            vec![
                "create",
                "source",
                "git",
                "x1",
                "--url=ftp://x/y",
                "--branch=main",
            ],
            "✗ git URL scheme 'ftp' not supported, can be: ssh, http and https\n",
        ),
        (
            vec!["create", "source", "git", "x1", "--url=https://x/y"],
            "✗ a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver\n",
        ),
        (
            vec!["create", "ks", "x1", "--source=podinfo", "--path=deploy"],
            "✗ path must begin with ./\n",
        ),
        (vec!["create", "ks", "x1"], "✗ source is required\n"),
        (
            vec![
                "create",
                "ks",
                "x1",
                "--source=podinfo",
                "--health-check=Pod/x.y",
            ],
            "✗ invalid health check kind 'Pod' can be HelmRelease, Deployment, DaemonSet or StatefulSet\n",
        ),
        (
            vec!["create", "ks", "x1", "--source=podinfo", "--label=novalue"],
            "✗ invalid label format 'novalue', must be key=value\n",
        ),
        (
            vec!["create", "ks", "x1", "--source=podinfo", "--interval=soon"],
            "✗ invalid value 'soon' for '--interval <INTERVAL>': invalid duration \"soon\": must match ^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$ (e.g. 30s, 5m, 1h30m)\n",
        ),
        (
            vec!["create", "secret", "git", "x1", "--url=https://x/y"],
            "✗ for Git over HTTP/S the username and password, or a bearer token is required\n",
        ),
        (
            vec!["create", "secret", "git", "x1", "--url=ssh://git@x/y"],
            "✗ generating SSH keys is not supported by flux-rs: pass --private-key-file (or --secret-ref)\n",
        ),
    ];
    for (args, expected) in cases {
        let out = flux()
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run");
        let (_, stderr) = outputs(&out);
        let code = if expected.contains("invalid value") {
            2
        } else {
            1
        };
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr, expected, "{args:?}");
    }
}

/// `create secret git` over SSH collects the server's host keys (with ssh-keyscan) into
/// `known_hosts`; the test runs its own sshd on a free port.
#[test]
fn create_secret_git_ssh_collects_known_hosts() {
    use std::process::Command;
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let (Some(sshd), true, true) = (sshd, have("ssh-keygen"), have("ssh-keyscan")) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sshd, ssh-keygen and ssh-keyscan are required for this test (CI=true)"
        );
        eprintln!("skipping: OpenSSH server/client tools are not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let host_key = dir.path().join("host_ed25519");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "host", "-f"])
        .arg(&host_key)
        .status()
        .expect("ssh-keygen");
    assert!(ok.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = dir.path().join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n",
            host_key.display(),
            dir.path().join("sshd.pid").display()
        ),
    )
    .expect("config");
    let mut server = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start sshd");
    // Wait for the port.
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "sshd did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let key = dir.path().join("id_ecdsa");
    std::fs::write(&key, ECDSA_KEY).expect("write key");
    let out = flux()
        .args([
            "create", "secret", "git", "ssh-auth", "--export", "-n", "default",
        ])
        .arg(format!("--url=ssh://git@127.0.0.1:{port}/org/repo"))
        .arg("--private-key-file")
        .arg(&key)
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let _ = server.kill();
    let _ = server.wait();
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    let host_pub = std::fs::read_to_string(dir.path().join("host_ed25519.pub")).expect("pub");
    let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
    let expected = format!("[127.0.0.1]:{port} {} {}", host_pub[0], host_pub[1]);
    assert!(
        stdout.contains(&format!("known_hosts: '{expected}'")),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("✔ collected public key from SSH server:\n"),
        "{stderr}"
    );
}
