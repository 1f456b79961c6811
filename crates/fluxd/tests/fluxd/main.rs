//! Tests for `fluxd`: flag handling, and the binary running the controllers against the
//! embedded API server with a real Git server.

mod controllers;
mod fixtures;

use assert_cmd::Command;

fn fluxd() -> Command {
    Command::cargo_bin("fluxd").expect("fluxd binary is built")
}

fn one_line_failure(args: &[&str], code: i32) -> String {
    let out = fluxd().args(args).assert().failure().code(code);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one-line error, got: {stderr}");
    stderr
}

#[test]
fn unknown_controller_is_a_one_line_error_with_exit_code_2() {
    let stderr = one_line_failure(&["--controllers", "source,bogus"], 2);
    assert!(
        stderr.contains("invalid --controllers entry \"bogus\""),
        "stderr: {stderr}"
    );
}

#[test]
fn only_unimplemented_controllers_is_a_one_line_error() {
    let stderr = one_line_failure(&["--controllers=helm"], 2);
    assert!(
        stderr.contains("--controllers=helm: not implemented yet")
            && stderr.contains("implemented: source,kustomize"),
        "stderr: {stderr}"
    );
}

#[test]
fn unknown_feature_gate_is_a_one_line_error() {
    let stderr = one_line_failure(&["--feature-gates=NoSuchGate=true"], 2);
    assert!(
        stderr.contains("\"NoSuchGate\" is not supported"),
        "{stderr}"
    );
}

#[test]
fn help_lists_flux_controller_flags() {
    let out = fluxd().arg("--help").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for flag in [
        "--controllers",
        "--concurrent",
        "--watch-label-selector",
        "--events-addr",
        "--no-remote-bases",
        "--default-service-account",
        "--feature-gates",
        "--leader-election-retry-period",
    ] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
}
