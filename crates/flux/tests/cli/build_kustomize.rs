//! Tests of `flux build kustomize`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::flux;

/// Cases of ../shared/fixtures/kustomize that passed when this ratchet was last raised.
/// The test fails if fewer pass; raise it when more do.
const FIXTURE_CASES_PASSING: usize = 66;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, text)?;
    Ok(())
}

#[test]
fn fixture_checker_passes_at_least_the_ratchet() -> anyhow::Result<()> {
    let checker = fixtures_root().join("check-kustomize");
    let python = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !checker.is_file() || !python {
        if in_ci() {
            anyhow::bail!(
                "the fixture checker needs {} and python3 with pyyaml (CI=true)",
                checker.display()
            );
        }
        eprintln!("skipping: fixture checker or python3+pyyaml missing");
        return Ok(());
    }
    let bin = assert_cmd::cargo::cargo_bin("flux");
    let out = Command::new(&checker)
        .arg("--")
        .arg(&bin)
        .args(["build", "kustomize"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .ok_or_else(|| anyhow::anyhow!("no summary line in checker output:\n{stdout}"))?;
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("cannot read the summary {summary:?}"))?;
    let failing: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        passed >= FIXTURE_CASES_PASSING,
        "{passed} fixture cases pass, the ratchet is {FIXTURE_CASES_PASSING}:\n{}",
        failing.join("\n")
    );
    Ok(())
}

#[test]
fn builds_an_overlay_with_generated_config_map() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    write(
        tmp.path(),
        "base/kustomization.yaml",
        "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: the-map\n  literals:\n  - altGreeting=Good Morning!\n  - enableRisky=false\n",
    )?;
    write(
        tmp.path(),
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: the-map\n",
    )?;
    write(
        tmp.path(),
        "overlay/kustomization.yaml",
        "resources: [../base]\nnamePrefix: dev-\nnamespace: dev\n",
    )?;
    let out = flux()
        .args(["build", "kustomize"])
        .arg(tmp.path().join("overlay"))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // The hash is kustomize's (kubectl kustomize v5.5 prints the same name).
    assert!(stdout.contains("name: dev-the-map-8hkcg74h7c"), "{stdout}");
    assert!(stdout.contains("namespace: dev"), "{stdout}");
    let cm = stdout.find("kind: ConfigMap").unwrap_or(usize::MAX);
    let deploy = stdout.find("kind: Deployment").unwrap_or(0);
    assert!(cm < deploy, "legacy order puts ConfigMap first:\n{stdout}");
    Ok(())
}

#[test]
fn load_restrictor_flag_controls_files_outside_the_root() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    write(
        tmp.path(),
        "shared.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
    )?;
    write(
        tmp.path(),
        "app/kustomization.yaml",
        "resources: [../shared.yaml]\n",
    )?;
    let dir = tmp.path().join("app");
    let out = flux()
        .args(["build", "kustomize"])
        .arg(&dir)
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("is not in or below"), "{stderr}");
    assert!(
        stderr.contains("kustomization.yaml"),
        "names the file: {stderr}"
    );
    flux()
        .args([
            "build",
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
        ])
        .arg(&dir)
        .assert()
        .success();
    flux()
        .args(["build", "kustomize", "--load-restrictor=Bogus"])
        .arg(&dir)
        .assert()
        .failure()
        .code(2);
    Ok(())
}

#[test]
fn remote_resources_are_a_clear_error() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    write(
        tmp.path(),
        "kustomization.yaml",
        "resources:\n- https://github.com/stefanprodan/podinfo//kustomize?ref=6.0.0\n",
    )?;
    let out = flux()
        .args(["build", "kustomize"])
        .arg(tmp.path())
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("remote resource"), "{stderr}");
    assert!(stderr.contains("resources[0]"), "names the field: {stderr}");
    Ok(())
}

#[test]
fn missing_directory_and_bad_kustomization_fail() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    flux()
        .args(["build", "kustomize"])
        .arg(tmp.path().join("nope"))
        .assert()
        .failure();
    write(tmp.path(), "kustomization.yaml", "resourcez: [a.yaml]\n")?;
    let out = flux()
        .args(["build", "kustomize"])
        .arg(tmp.path())
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("resourcez"), "{stderr}");
    Ok(())
}
