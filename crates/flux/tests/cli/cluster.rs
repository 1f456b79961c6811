//! A real (embedded) API server for CLI tests: HTTPS on 127.0.0.1, a kubeconfig on disk, the
//! Flux CRDs installed and the `flux-system` namespace created. The test can act as a
//! controller through the same server (`start_fake_controller`).

use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use super::flux;

pub struct TestCluster {
    pub runtime: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub client: kube::Client,
    _server: flux_apiserver::ApiServer,
}

/// The API resource of a kind the tests create.
pub fn resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let lower = kind.to_lowercase();
    let plural = if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    };
    ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        plural,
    }
}

fn cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding"
    )
}

impl TestCluster {
    /// A cluster with the Flux CRDs and the flux-system namespace.
    pub fn start() -> Self {
        let cluster = Self::start_empty();
        for crd in flux_api::crds::all_crds().expect("crds") {
            cluster.create(&crd);
        }
        cluster.create(&json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}
        }));
        cluster
    }

    /// A cluster with nothing of Flux (workloads become ready through the simulator).
    pub fn start_empty() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let server = flux_apiserver::ApiServer::in_memory().expect("api server");
        let tls = flux_apiserver::TlsMaterial::generate().expect("tls");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let kubeconfig = dir.path().join("kubeconfig");
        flux_apiserver::write_kubeconfig(&kubeconfig, addr, &tls).expect("kubeconfig");
        let serving = server.clone();
        runtime.spawn(async move {
            let _ = serving.serve_tls(listener, &tls).await;
        });
        let client = {
            let _guard = runtime.enter();
            server.start_workload_simulator();
            kube::Client::new(server.router(), "default")
        };
        Self {
            runtime,
            dir,
            kubeconfig,
            client,
            _server: server,
        }
    }

    /// `flux --kubeconfig <this cluster>` with colours off.
    pub fn flux(&self) -> assert_cmd::Command {
        let mut cmd = flux();
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("NO_COLOR", "1")
            .env_remove("FLUX_SYSTEM_NAMESPACE");
        cmd
    }

    fn api(&self, obj: &Value) -> Api<DynamicObject> {
        let api_version = obj["apiVersion"].as_str().expect("apiVersion");
        let kind = obj["kind"].as_str().expect("kind");
        let ar = resource(api_version, kind);
        if cluster_scoped(kind) {
            Api::all_with(self.client.clone(), &ar)
        } else {
            let ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("flux-system");
            Api::namespaced_with(self.client.clone(), ns, &ar)
        }
    }

    /// Creates an object (its namespace defaults to flux-system).
    pub fn create(&self, obj: &Value) -> Value {
        let api = self.api(obj);
        let dynamic: DynamicObject = serde_json::from_value(obj.clone()).expect("object");
        let created = self
            .runtime
            .block_on(api.create(&PostParams::default(), &dynamic))
            .unwrap_or_else(|e| panic!("create {obj}: {e}"));
        serde_json::to_value(created).expect("json")
    }

    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": ns}});
        let api = self.api(&obj);
        self.runtime
            .block_on(api.get_opt(name))
            .expect("get")
            .map(|o| serde_json::to_value(o).expect("json"))
    }

    /// Merge-patches an object's status subresource.
    pub fn patch_status(&self, api_version: &str, kind: &str, ns: &str, name: &str, status: Value) {
        let obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": ns}});
        let api = self.api(&obj);
        self.runtime
            .block_on(api.patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            ))
            .unwrap_or_else(|e| panic!("patch status of {kind}/{name}: {e}"));
    }

    /// Acts as source- and kustomize-controller: every GitRepository and Kustomization that
    /// is not suspended and has an unhandled generation or reconcile request gets a Ready
    /// status with `revision` (or, when `fail` is set, a Ready=False status).
    pub fn start_fake_controller(&self, revision: &'static str, fail: Option<&'static str>) {
        let client = self.client.clone();
        self.runtime.spawn(async move {
            loop {
                for (api_version, kind) in [
                    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
                    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
                ] {
                    let api: Api<DynamicObject> =
                        Api::all_with(client.clone(), &resource(api_version, kind));
                    let Ok(list) = api.list(&Default::default()).await else {
                        continue;
                    };
                    for obj in list.items {
                        let v = serde_json::to_value(&obj).expect("json");
                        fake_reconcile(&client, api_version, kind, &v, revision, fail).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
}

async fn fake_reconcile(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    obj: &Value,
    revision: &str,
    fail: Option<&str>,
) {
    if obj["spec"]["suspend"].as_bool() == Some(true) {
        return;
    }
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
    let requested = obj["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
        .as_str()
        .unwrap_or_default();
    let handled = obj["status"]["lastHandledReconcileAt"]
        .as_str()
        .unwrap_or_default();
    let observed = obj["status"]["observedGeneration"].as_i64().unwrap_or(-1);
    if observed == generation && requested == handled {
        return;
    }
    let (ready, reason, message) = match (fail, kind) {
        (Some(msg), _) => ("False", "ReconciliationFailed", msg.to_owned()),
        (None, "GitRepository") => (
            "True",
            "Succeeded",
            format!("stored artifact for revision '{revision}'"),
        ),
        (None, _) => (
            "True",
            "ReconciliationSucceeded",
            format!("Applied revision: {revision}"),
        ),
    };
    let mut status = json!({
        "observedGeneration": generation,
        "conditions": [{
            "type": "Ready", "status": ready, "reason": reason, "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": "2026-11-22T00:00:00Z",
        }],
    });
    if !requested.is_empty() {
        status["lastHandledReconcileAt"] = json!(requested);
    }
    if fail.is_none() {
        if kind == "GitRepository" {
            status["artifact"] = json!({
                "revision": revision, "path": "x", "url": "http://x", "digest": "sha256:00",
                "lastUpdateTime": "2026-11-22T00:00:00Z",
            });
        } else {
            status["lastAppliedRevision"] = json!(revision);
            status["lastAttemptedRevision"] = json!(revision);
        }
    }
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &resource(api_version, kind));
    let _ = api
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await;
}

/// Output with the parts that change between runs replaced: the temp dir, the port.
pub fn redact(text: &str, cluster: &TestCluster) -> String {
    let dir = cluster.dir.path().display().to_string();
    let mut out = text.replace(&dir, "[TMP]");
    let re = regex_lite_port(&out);
    out = re;
    out
}

fn regex_lite_port(text: &str) -> String {
    // 127.0.0.1:<port> -> 127.0.0.1:[PORT]
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..i + 10]);
        rest = &rest[i + 10..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[PORT]");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// stdout and stderr of a finished command, as text.
pub fn outputs(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
