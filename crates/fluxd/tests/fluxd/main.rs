//! CLI tests for `fluxd` (flag handling; controller behaviour is tested in the controller crates).

use assert_cmd::Command;

fn fluxd() -> Command {
    Command::cargo_bin("fluxd").expect("fluxd binary is built")
}

#[test]
fn unknown_controller_is_a_one_line_error_with_exit_code_2() {
    let out = fluxd()
        .args(["--controllers", "source,bogus"])
        .assert()
        .failure()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("invalid --controllers entry \"bogus\""),
        "stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one-line error, got: {stderr}");
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
    ] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
}
