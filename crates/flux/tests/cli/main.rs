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
        stderr.contains("invalid --output \"toml\""),
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
fn unknown_command_is_an_error() {
    flux().arg("frobnicate").assert().failure().code(2);
}

#[test]
fn install_export_prints_the_fifteen_flux_crds() {
    let out = flux().args(["install", "--export"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let docs = flux_object::yaml::parse_documents(&stdout).expect("install --export prints YAML");
    let mut names: Vec<String> = docs
        .iter()
        .map(|d| {
            assert_eq!(
                d["kind"], "CustomResourceDefinition",
                "unexpected document {d}"
            );
            d["metadata"]["name"].as_str().expect("CRD name").to_owned()
        })
        .collect();
    let printed = names.clone();
    names.sort();
    assert_eq!(printed, names, "CRDs are printed sorted by name");
    assert_eq!(
        names,
        [
            "alerts.notification.toolkit.fluxcd.io",
            "artifactgenerators.source.extensions.fluxcd.io",
            "buckets.source.toolkit.fluxcd.io",
            "externalartifacts.source.toolkit.fluxcd.io",
            "gitrepositories.source.toolkit.fluxcd.io",
            "helmcharts.source.toolkit.fluxcd.io",
            "helmreleases.helm.toolkit.fluxcd.io",
            "helmrepositories.source.toolkit.fluxcd.io",
            "imagepolicies.image.toolkit.fluxcd.io",
            "imagerepositories.image.toolkit.fluxcd.io",
            "imageupdateautomations.image.toolkit.fluxcd.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "ocirepositories.source.toolkit.fluxcd.io",
            "providers.notification.toolkit.fluxcd.io",
            "receivers.notification.toolkit.fluxcd.io",
        ]
    );
}

#[test]
fn install_without_export_is_a_one_line_error() {
    let out = flux().arg("install").assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains("--export"), "stderr: {stderr}");
}

// Per-command test modules, each owned by the command's author.
mod build_helm;
mod build_kustomize;
mod dev;
