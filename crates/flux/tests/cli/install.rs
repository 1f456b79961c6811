//! Tests of `flux install`, `flux check` and `flux uninstall`.

use std::process::Command;

use super::cluster::{TestCluster, outputs, redact};
use super::flux;

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

#[test]
fn install_export_prints_crds_first_then_components() {
    let out = flux().args(["install", "--export"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let docs = flux_object::yaml::parse_documents(&stdout).expect("install --export prints YAML");
    let crds: Vec<&str> = docs
        .iter()
        .take_while(|d| d["kind"] == "CustomResourceDefinition")
        .map(|d| d["metadata"]["name"].as_str().expect("CRD name"))
        .collect();
    let mut sorted = crds.clone();
    sorted.sort();
    assert_eq!(crds, sorted, "CRDs are printed sorted by name");
    assert_eq!(crds.len(), 15);
    assert!(crds.contains(&"gitrepositories.source.toolkit.fluxcd.io"));
    assert!(crds.contains(&"kustomizations.kustomize.toolkit.fluxcd.io"));
    let rest: Vec<String> = docs[15..]
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or("?"),
                d["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        rest,
        [
            "Namespace/flux-system",
            "ServiceAccount/fluxd",
            "ClusterRole/crd-controller-flux-system",
            "ClusterRoleBinding/cluster-reconciler-flux-system",
            "ClusterRoleBinding/crd-controller-flux-system",
            "Service/source-controller",
            "Deployment/fluxd",
        ]
    );
    for d in &docs {
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/part-of"], "flux",
            "{d}"
        );
    }
    let deployment = docs.last().expect("deployment");
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    assert_eq!(args[0], "--controllers=source,kustomize");

    let out = flux()
        .args([
            "install",
            "--export",
            "-n",
            "gitops",
            "--components",
            "kustomize-controller",
        ])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("name: gitops") && !stdout.contains("source-controller.$("),
        "{stdout}"
    );
    let out = flux()
        .args(["install", "--export", "--components", "frob"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn install_then_check_then_uninstall_on_the_embedded_server() {
    let c = TestCluster::start_empty();
    let out = c.flux().args(["check", "--pre"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "► checking prerequisites\n✔ Kubernetes 1.33.1 >=1.33.0-0\n✔ prerequisites checks passed\n"
    );

    let out = c.flux().args(["check"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing installed yet: {stderr}"
    );
    assert!(
        stderr.contains("✗ no controllers found in the 'flux-system' namespace"),
        "{stderr}"
    );
    let out = c.flux().args(["version"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr, "✗ no deployments found in flux-system namespace\n");

    let out = c.flux().args(["install"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("✔ Deployment/flux-system/fluxd created"),
        "{stderr}"
    );
    assert!(stderr.ends_with("✔ install finished\n"), "{stderr}");

    // Installing again changes nothing.
    let out = c.flux().args(["install"]).output().expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("created"), "{stderr}");

    let out = c
        .flux()
        .args(["check", "--timeout", "60s"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    insta::assert_snapshot!(
        "check_after_install",
        redact(&stderr, &c).replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
    );

    let out = c
        .flux()
        .args(["version", "-o", "json"])
        .output()
        .expect("run");
    let (stdout, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    let version: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let v = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(version["flux"], v.as_str());
    assert_eq!(version["distribution"], format!("flux-{v}").as_str());
    assert_eq!(version["fluxd"], v.as_str());

    let out = c
        .flux()
        .args(["uninstall", "--silent"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("✔ Deployment/flux-system/fluxd deleted"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "✔ CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io deleted"
        ),
        "{stderr}"
    );
    assert!(stderr.ends_with("✔ uninstall finished\n"), "{stderr}");
    assert!(
        c.get("apps/v1", "Deployment", "flux-system", "fluxd")
            .is_none()
    );
}

#[test]
fn install_export_is_accepted_by_kubectl_apply() {
    let c = TestCluster::start_empty();
    let out = flux().args(["install", "--export"]).output().expect("run");
    let manifests = c.dir.path().join("install.yaml");
    std::fs::write(&manifests, &out.stdout).expect("write");
    let applied = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args(["apply", "--server-side", "-f"])
        .arg(&manifests)
        .output();
    match applied {
        Ok(applied) => {
            let stderr = String::from_utf8_lossy(&applied.stderr);
            assert!(applied.status.success(), "kubectl apply: {stderr}");
        }
        Err(_) if in_ci() => panic!("kubectl is not installed and CI=true"),
        Err(_) => {
            eprintln!("kubectl not installed: skipping the kubectl apply of install --export");
            return;
        }
    }
    let out = c
        .flux()
        .args(["check", "--timeout", "60s"])
        .output()
        .expect("run");
    let (_, stderr) = outputs(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("✔ fluxd: deployment ready"), "{stderr}");
}
