//! Tests of `flux suspend`, `resume`, `reconcile` and `delete`. The test plays the
//! controllers through the API server (`start_fake_controller`).

use serde_json::json;

use super::cluster::{TestCluster, outputs};

const REV: &str = "6.3.5@sha1:67e2c98a60dc92283531412a9e604dd4bae005a9";

fn seed(c: &TestCluster) {
    c.create(&json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "tkfg", "namespace": "flux-system"},
        "spec": {"url": "https://example.com/repo.git", "interval": "1m", "ref": {"branch": "main"}},
    }));
    c.create(&json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "tkfg", "namespace": "flux-system"},
        "spec": {"interval": "10m", "path": "./", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "tkfg"}},
    }));
}

fn ks_suspended(c: &TestCluster, name: &str) -> Option<bool> {
    c.get(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "flux-system",
        name,
    )
    .and_then(|o| o["spec"]["suspend"].as_bool())
}

#[test]
fn suspend_and_resume_kustomization_match_upstream_goldens() {
    let c = TestCluster::start();
    seed(&c);
    c.start_fake_controller(REV, None);
    let out = c
        .flux()
        .args(["suspend", "ks", "tkfg"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    // upstream's testdata/kustomization/suspend_kustomization_from_git.golden
    assert_eq!(
        stderr,
        "► suspending kustomization tkfg in flux-system namespace\n✔ kustomization suspended\n"
    );
    assert_eq!(ks_suspended(&c, "tkfg"), Some(true));

    let out = c
        .flux()
        .args(["resume", "ks", "tkfg"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    // upstream's testdata/kustomization/resume_kustomization_from_git.golden
    assert_eq!(
        stderr,
        format!(
            "► resuming kustomization tkfg in flux-system namespace\n✔ kustomization resumed\n◎ waiting for Kustomization reconciliation\n✔ Kustomization tkfg reconciliation completed\n✔ applied revision {REV}\n"
        )
    );
    assert_eq!(ks_suspended(&c, "tkfg"), Some(false));
}

#[test]
fn suspend_all_and_unknown_names() {
    let c = TestCluster::start();
    seed(&c);
    let out = c
        .flux()
        .args(["suspend", "ks", "tkfg", "foo", "bar"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // upstream's suspend_kustomization_from_git_multiple_args.golden (upstream exits 0)
    assert_eq!(
        stderr,
        "► suspending kustomization tkfg in flux-system namespace\n✔ kustomization suspended\n✗ Kustomization foo not found in flux-system namespace\n✗ Kustomization bar not found in flux-system namespace\n"
    );
    let out = c
        .flux()
        .args(["suspend", "source", "git", "--all"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "► suspending source git tkfg in flux-system namespace\n✔ source git suspended\n"
    );
    let out = c
        .flux()
        .args(["resume", "source", "git", "--all"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("waiting"),
        "--all does not wait without --wait: {stderr}"
    );
    for args in [["suspend", "ks"], ["resume", "ks"]] {
        let out = c.flux().args(args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stderr, "✗ kustomization name is required\n");
    }
}

#[test]
fn resume_reports_a_failed_reconciliation() {
    let c = TestCluster::start();
    seed(&c);
    c.start_fake_controller(REV, Some("kustomization path not found: ./nope"));
    let out = c
        .flux()
        .args(["resume", "ks", "tkfg"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn reconcile_kustomization_with_source_matches_upstream_golden() {
    let c = TestCluster::start();
    seed(&c);
    c.start_fake_controller(REV, None);
    let out = c
        .flux()
        .args(["reconcile", "kustomization", "tkfg", "--with-source"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    // upstream's testdata/kustomization/reconcile_kustomization_from_git.golden
    assert_eq!(
        stderr,
        format!(
            "► annotating GitRepository tkfg in flux-system namespace\n✔ GitRepository annotated\n◎ waiting for GitRepository reconciliation\n✔ fetched revision {REV}\n► annotating Kustomization tkfg in flux-system namespace\n✔ Kustomization annotated\n◎ waiting for Kustomization reconciliation\n✔ applied revision {REV}\n"
        )
    );
    let ks = c
        .get(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "flux-system",
            "tkfg",
        )
        .expect("ks");
    let requested = ks["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
        .as_str()
        .expect("requestedAt set");
    assert_eq!(ks["status"]["lastHandledReconcileAt"], requested);
}

#[test]
fn reconcile_errors() {
    let c = TestCluster::start();
    seed(&c);
    c.flux()
        .args(["suspend", "source", "git", "tkfg"])
        .assert()
        .success();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["reconcile", "source", "git"],
            "✗ GitRepository name is required\n",
        ),
        (
            vec!["reconcile", "source", "git", "nope"],
            "✗ gitrepositories.source.toolkit.fluxcd.io \"nope\" not found\n",
        ),
        (
            vec!["reconcile", "source", "git", "tkfg"],
            "✗ resource is suspended\n",
        ),
        (
            vec!["reconcile", "ks", "tkfg", "--with-source"],
            "✗ resource is suspended\n",
        ),
        (
            vec!["reconcile", "ks", "tkfg", "--timeout", "1s"],
            "► annotating Kustomization tkfg in flux-system namespace\n✔ Kustomization annotated\n◎ waiting for Kustomization reconciliation\n✗ timeout waiting for the reconciliation after 1s\n",
        ),
    ];
    for (args, expected) in cases {
        let out = c.flux().args(&args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr, expected, "{args:?}");
    }
}

#[test]
fn delete_asks_unless_silent() {
    let c = TestCluster::start();
    seed(&c);
    let out = c
        .flux()
        .args(["delete", "ks", "tkfg"])
        .write_stdin("n\n")
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.ends_with("✗ aborting\n"), "{stderr}");
    assert!(
        ks_suspended(&c, "tkfg").is_some()
            || c.get(
                "kustomize.toolkit.fluxcd.io/v1",
                "Kustomization",
                "flux-system",
                "tkfg"
            )
            .is_some()
    );

    let out = c
        .flux()
        .args(["delete", "ks", "tkfg"])
        .write_stdin("y\n")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        c.get(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "flux-system",
            "tkfg"
        )
        .is_none()
    );

    let out = c
        .flux()
        .args(["delete", "source", "git", "tkfg", "-s"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    // upstream's delete_kustomization_from_git.golden, for the source
    assert_eq!(
        stderr,
        "► deleting source git tkfg in flux-system namespace\n✔ source git deleted\n"
    );
    let out = c
        .flux()
        .args(["delete", "source", "git", "tkfg", "-s"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        "✗ gitrepositories.source.toolkit.fluxcd.io \"tkfg\" not found\n"
    );
}

#[test]
fn other_source_kinds_and_helmreleases() {
    let c = TestCluster::start();
    c.create(&json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "podinfo", "namespace": "flux-system"},
        "spec": {"url": "https://stefanprodan.github.io/podinfo", "interval": "10m"},
    }));
    let out = c
        .flux()
        .args(["suspend", "source", "helm", "podinfo"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "► suspending source helm podinfo in flux-system namespace\n✔ source helm suspended\n"
    );
    let out = c
        .flux()
        .args(["get", "sources", "helm"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert!(
        stdout.lines().nth(1).is_some_and(|l| l.contains("True")),
        "suspended: {stdout}"
    );
    let out = c
        .flux()
        .args(["export", "source", "helm", "podinfo"])
        .output()
        .expect("run");
    let (stdout, _) = outputs(&out);
    assert_eq!(
        stdout,
        "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  provider: generic\n  suspend: true\n  url: https://stefanprodan.github.io/podinfo\n"
    );
    // Wrong kinds: a name that exists as another kind, and kinds flux-rs has no command for.
    let cases: Vec<(Vec<&str>, &str, i32)> = vec![
        (
            vec!["get", "sources", "oci", "podinfo"],
            "✗ OCIRepository object 'podinfo' not found in \"flux-system\" namespace\n",
            1,
        ),
        (
            vec!["reconcile", "source", "git", "podinfo"],
            "✗ gitrepositories.source.toolkit.fluxcd.io \"podinfo\" not found\n",
            1,
        ),
        (
            vec!["get", "hr"],
            "✗ no HelmRelease objects found in \"flux-system\" namespace\n",
            1,
        ),
        (
            vec!["create", "ks", "apps", "--source=HelmRepository/podinfo"],
            "✗ invalid argument \"HelmRepository/podinfo\" for \"--source\" flag: source kind 'HelmRepository' is not supported, must be one of: GitRepository, OCIRepository, Bucket\n",
            1,
        ),
        (
            vec!["get", "sources", "frob"],
            "✗ unrecognized subcommand 'frob'\n",
            2,
        ),
        (
            vec!["suspend", "alert", "x"],
            "✗ unrecognized subcommand 'alert'\n",
            2,
        ),
    ];
    for (args, expected, code) in cases {
        let out = c.flux().args(&args).output().expect("run");
        let (_, stderr) = outputs(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr, expected, "{args:?}");
    }
}

#[test]
fn get_without_the_crds_says_so() {
    let c = TestCluster::start_empty();
    let out = c.flux().args(["get", "ks"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        "✗ no matches for kind \"Kustomization\" in version \"kustomize.toolkit.fluxcd.io/v1\"\n"
    );
    let out = c.flux().args(["get", "all"]).output().expect("run");
    assert!(
        out.status.success(),
        "get all skips kinds that are not installed"
    );
}

/// On a terminal (util-linux `script` provides one) waiting shows a spinner with the elapsed
/// time, in colour unless NO_COLOR is set; piped, the same command prints plain lines.
#[test]
fn waiting_shows_a_spinner_on_a_terminal_only() {
    let available = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "util-linux `script` is required for this test (CI=true)"
        );
        eprintln!("skipping: `script` is not installed");
        return;
    }
    let c = TestCluster::start();
    seed(&c);
    let flux_bin = c.flux().get_program().to_owned();
    let command = format!(
        "{} --kubeconfig {} reconcile source git tkfg --timeout 2s",
        flux_bin.display(),
        c.kubeconfig.display()
    );
    let run = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&cmd.output().expect("script").stdout).into_owned()
    };
    let tty = run(false);
    assert!(
        tty.contains("waiting for GitRepository reconciliation (0."),
        "{tty:?}"
    );
    assert!(
        tty.contains("\u{1b}[32m✔\u{1b}[0m GitRepository annotated"),
        "{tty:?}"
    );
    let no_color = run(true);
    assert!(
        no_color.contains("waiting for GitRepository reconciliation (0."),
        "{no_color:?}"
    );
    assert!(!no_color.contains("\u{1b}[32m"), "{no_color:?}");
    let out = c
        .flux()
        .args(["reconcile", "source", "git", "tkfg", "--timeout", "1s"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains("(0."),
        "{stderr:?}"
    );
}
