//! Smoke test with the Python `kubernetes` client (PyPI) against the HTTPS listener. A
//! missing python3 or package fails under CI=true and is skipped (loudly) otherwise.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::Listening;

const SCRIPT: &str = r#"
import os
from kubernetes import client, config, watch

config.load_kube_config(config_file=os.environ["KUBECONFIG_PATH"])
core = client.CoreV1Api()
apps = client.AppsV1Api()

ns = core.read_namespace("default")
assert ns.status.phase == "Active", ns.status

cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"from": "python"}), data={"a": "1"})
made = core.create_namespaced_config_map("default", cm)
assert made.metadata.uid and made.metadata.resource_version

listed = core.list_namespaced_config_map("default", label_selector="from=python")
assert [c.metadata.name for c in listed.items] == ["py"], listed.items

patched = core.patch_namespaced_config_map("py", "default", {"data": {"b": "2"}})
assert patched.data == {"a": "1", "b": "2"}, patched.data

applied = core.patch_namespaced_config_map(
    "py-ssa", "default",
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa"}, "data": {"x": "y"}},
    field_manager="py", force=True, _content_type="application/apply-patch+yaml")
assert applied.data == {"x": "y"}

dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="pyweb"),
    spec=client.V1DeploymentSpec(
        selector=client.V1LabelSelector(match_labels={"app": "pyweb"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "pyweb"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="nginx")]))))
d = apps.create_namespaced_deployment("default", dep)
assert d.metadata.generation == 1 and d.spec.replicas == 1

events = []
for ev in watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=2):
    events.append((ev["type"], ev["object"].metadata.name))
assert ("ADDED", "py") in events and ("ADDED", "py-ssa") in events, events

core.delete_namespaced_config_map("py", "default")
try:
    core.read_namespaced_config_map("py", "default")
    raise SystemExit("py still exists")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
print("python client ok")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_kubernetes_client_smoke() -> anyhow::Result<()> {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .await;
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            anyhow::bail!("python3 with the `kubernetes` package is required under CI=true");
        }
        eprintln!("SKIPPED: python3 or the PyPI `kubernetes` package is missing");
        return Ok(());
    }
    let server = Listening::start().await?;
    let mut child = tokio::process::Command::new("python3")
        .arg("-")
        .env("KUBECONFIG_PATH", server.kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    stdin.write_all(SCRIPT.as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed:\n{stderr}\n{stdout}");
    assert_eq!(stdout.trim(), "python client ok");
    Ok(())
}
