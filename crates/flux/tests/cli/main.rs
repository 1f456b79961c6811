//! CLI tests for `flux` (one integration-test binary for the crate).

use assert_cmd::Command;

/// The `flux` binary under test.
pub fn flux() -> Command {
    Command::cargo_bin("flux").expect("flux binary is built")
}

#[test]
fn version_prints_client_version() {
    let out = flux().args(["version", "--client"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(
        stdout.trim(),
        format!("flux: v{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn version_rejects_unknown_output_format() {
    let out = flux().args(["version", "-o", "toml"]).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--output must be json or yaml, not toml"),
        "stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one-line error, got: {stderr}");
}

#[test]
fn completion_bash_mentions_subcommands() {
    let out = flux().args(["completion", "bash"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("_flux"), "no completion function in output");
    assert!(
        stdout.contains("kustomize"),
        "build kustomize not completed"
    );
}

#[test]
fn unknown_command_is_a_one_line_error() {
    let out = flux().arg("frobnicate").assert().failure().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr, "✗ unrecognized subcommand 'frobnicate'\n");
    let out = flux()
        .args(["get", "ks", "--frobnicate"])
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr, "✗ unexpected argument '--frobnicate' found\n");
}

// Per-command test modules, each owned by the command's author.
mod build_helm;
mod build_kustomize;
mod cluster;
mod create;
mod dev;
mod export;
mod get;
mod inspect;
mod install;
mod lifecycle;
mod local_build;
mod unreachable;
mod with_controllers;
