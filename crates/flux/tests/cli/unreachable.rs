//! Every cluster command fails with one `✗` line when there is no cluster to talk to.

use super::cluster::outputs;
use super::flux;

/// The cluster commands and arguments that would otherwise succeed.
const COMMANDS: &[&[&str]] = &[
    &["get", "sources", "git"],
    &["get", "kustomizations"],
    &["get", "all"],
    &["export", "source", "git", "--all"],
    &["export", "kustomization", "apps"],
    &["suspend", "kustomization", "apps"],
    &["resume", "source", "git", "podinfo"],
    &["reconcile", "kustomization", "apps", "--with-source"],
    &["delete", "kustomization", "apps", "--silent"],
    &[
        "create",
        "source",
        "git",
        "podinfo",
        "--url",
        "https://example.com/x",
        "--branch",
        "main",
    ],
    &["create", "kustomization", "apps", "--source", "podinfo"],
    &[
        "create",
        "secret",
        "git",
        "auth",
        "--url",
        "https://example.com/x",
        "-u",
        "a",
        "-p",
        "b",
    ],
];

fn assert_one_line_failure(args: &[&str], kubeconfig: &std::path::Path, expected: &str) {
    let out = flux()
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .args(["--timeout", "20s"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run flux");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ ") && last.contains(expected),
        "{args:?}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    let failures = stderr.lines().filter(|l| l.starts_with('✗')).count();
    assert_eq!(failures, 1, "{args:?}: {stderr}");
}

#[test]
fn closed_port_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Bind and drop a listener to find a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let tls = flux_apiserver::TlsMaterial::generate().expect("tls");
    let kubeconfig = dir.path().join("kubeconfig");
    flux_apiserver::write_kubeconfig(&kubeconfig, ([127, 0, 0, 1], port).into(), &tls)
        .expect("kubeconfig");
    for args in COMMANDS {
        assert_one_line_failure(
            args,
            &kubeconfig,
            "unable to reach the cluster at https://127.0.0.1:",
        );
    }
}

#[test]
fn missing_or_invalid_kubeconfig_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    for args in COMMANDS {
        assert_one_line_failure(args, &missing, "unable to read kubeconfig");
    }
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "clusters: [this is not\n").expect("write");
    assert_one_line_failure(COMMANDS[0], &garbage, "unable to read kubeconfig");
    let no_context = dir.path().join("empty");
    std::fs::write(&no_context, "apiVersion: v1\nkind: Config\n").expect("write");
    assert_one_line_failure(COMMANDS[0], &no_context, "invalid kubeconfig");
}

/// Invalid flags are caught before any cluster access: one `✗` line, exit code 2.
#[test]
fn invalid_flags_are_one_line_usage_errors() {
    let cases: &[&[&str]] = &[
        &["get", "ks", "--frob"],
        &["get", "sources", "git", "--watch=maybe"],
        &["export", "ks", "--al"],
        &["create", "source", "git", "x1", "--interval", "often"],
        &["create", "ks", "x1", "--health-check-timeout", "-5"],
        &["suspend", "ks", "x", "--frob"],
        &["resume", "ks", "x", "--wait=perhaps"],
        &["reconcile", "ks", "x", "--with-source=2"],
        &["delete", "ks", "x", "--silently"],
        &["install", "--log-level", "loud"],
        &["uninstall", "--keep"],
        &["check", "--poll-interval", "fast"],
        &["tree", "ks", "x", "-o", "table"],
        &["trace", "--frob"],
        &["events", "--for"],
        &["logs", "--tail", "many"],
        &["build", "ks", "x", "--dry"],
        &["diff", "ks", "x", "--progress-bar=sometimes"],
        &["envsubst", "--strictly"],
        &["version", "--cliente"],
        &["get", "ks", "--timeout", "soon"],
    ];
    for args in cases {
        let out = flux()
            .args(*args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run flux");
        let (stdout, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("✗ "), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}
