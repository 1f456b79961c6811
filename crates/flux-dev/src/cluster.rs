//! The embedded cluster: the durable API server (HTTPS on loopback for kubectl, in-process
//! for the controllers), Flux's CRDs, the workload simulator, source-controller and
//! kustomize-controller, and the `flux-system` objects `flux bootstrap` would create.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flux_apiserver::{ApiServer, Durability, TlsMaterial};
use flux_artifact::StorageOptions;
use flux_runtime::{ControllerOptions, EventRecorder, Metrics, RequeuePolicy, Runtime};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The namespace, GitRepository and Kustomization name `flux bootstrap` uses.
pub const FLUX_SYSTEM: &str = "flux-system";
/// The field manager of the objects `flux dev` creates.
pub const FIELD_MANAGER: &str = "flux-dev";
/// The URL pattern of the GitRepository CRD served by `flux dev` (upstream's plus `file`).
pub const DEV_GIT_URL_PATTERN: &str = "^(http|https|ssh|file)://.*$";

/// Why the cluster could not be started or configured.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The data directory could not be created.
    #[error("creating the data directory '{path}': {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The API server's storage could not be opened.
    #[error("opening the API server state in '{path}': {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: flux_apiserver::ServerError,
    },
    /// TLS material could not be loaded or created.
    #[error("loading the API server's TLS material from '{path}': {source}")]
    Tls {
        path: PathBuf,
        #[source]
        source: flux_apiserver::TlsError,
    },
    /// The API server address could not be bound.
    #[error("binding the API server to {addr}: {source} (pick another with --port, 0 for any)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The kubeconfig could not be written.
    #[error("writing the kubeconfig: {source}")]
    Kubeconfig {
        #[source]
        source: flux_apiserver::ServerError,
    },
    /// The CRDs could not be generated.
    #[error("generating the Flux CRDs: {source}")]
    Crds {
        #[source]
        source: flux_api::crds::CrdError,
    },
    /// A generated CRD is not a valid CustomResourceDefinition.
    #[error("decoding the CRD {name}: {source}")]
    DecodeCrd {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    /// Writing an object to the API server failed.
    #[error("{action} {what}: {source}")]
    Api {
        action: &'static str,
        what: String,
        #[source]
        source: kube::Error,
    },
    /// The artifact storage could not be opened or served.
    #[error("starting the artifact storage: {source}")]
    Storage {
        #[source]
        source: source_controller::StartError,
    },
}

/// Where things live under the data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    pub fn artifacts(&self) -> PathBuf {
        self.root.join("artifacts")
    }
    pub fn artifact_addr_file(&self) -> PathBuf {
        self.root.join("artifact-addr")
    }
    pub fn shadow_repo(&self) -> PathBuf {
        self.root.join("worktree.git")
    }
}

/// A running embedded cluster.
pub struct Cluster {
    /// In-process client (admin).
    pub client: kube::Client,
    /// The HTTPS address kubectl reaches.
    pub api_addr: SocketAddr,
    /// The kubeconfig written for it.
    pub kubeconfig: PathBuf,
    server: ApiServer,
    stop_tx: tokio::sync::watch::Sender<bool>,
    controllers: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
}

fn runtime(client: &kube::Client, controller: &str) -> Runtime {
    Runtime {
        client: client.clone(),
        recorder: EventRecorder::new(client.clone(), controller, None),
        metrics: Metrics::new(),
        options: ControllerOptions {
            concurrent: 4,
            requeue: RequeuePolicy {
                min_retry_delay: Duration::from_millis(500),
                max_retry_delay: Duration::from_secs(10),
                ..RequeuePolicy::default()
            },
            requeue_dependency: Duration::from_secs(1),
            ..ControllerOptions::default()
        },
    }
}

impl Cluster {
    /// Opens the state under `data`, serves HTTPS on 127.0.0.1:`port`, installs the CRDs
    /// and starts the controllers.
    pub async fn start(
        data: &DataDir,
        port: u16,
        workload_simulator: bool,
    ) -> Result<Self, ClusterError> {
        flux_runtime::install_crypto_provider();
        std::fs::create_dir_all(&data.root).map_err(|source| ClusterError::DataDir {
            path: data.root.clone(),
            source,
        })?;
        let server = ApiServer::open(&data.root, Durability::ProcessCrash).map_err(|source| {
            ClusterError::Open {
                path: data.root.clone(),
                source,
            }
        })?;
        let tls = TlsMaterial::load_or_create(&data.root).map_err(|source| ClusterError::Tls {
            path: data.root.clone(),
            source,
        })?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ClusterError::Bind { addr, source })?;
        let api_addr = listener
            .local_addr()
            .map_err(|source| ClusterError::Bind { addr, source })?;
        let kubeconfig = data.kubeconfig();
        flux_apiserver::write_kubeconfig(&kubeconfig, api_addr, &tls)
            .map_err(|source| ClusterError::Kubeconfig { source })?;
        let mut background = Vec::new();
        {
            let server = server.clone();
            background.push(tokio::spawn(async move {
                if let Err(e) = server.serve_tls(listener, &tls).await {
                    tracing::error!(error = %e, "API server stopped");
                }
            }));
        }
        if workload_simulator {
            background.push(server.start_workload_simulator());
        }
        let client = kube::Client::new(server.router(), "default");
        install_crds(&client).await?;

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let storage_listener = bind_artifact_server(data).await?;
        let storage_addr = storage_listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "127.0.0.1:0".into());
        let storage = source_controller::open_storage(&StorageOptions {
            storage_path: data.artifacts(),
            storage_addr: storage_addr.clone(),
            storage_adv_addr: Some(storage_addr),
            ..StorageOptions::default()
        })
        .map_err(|source| ClusterError::Storage { source })?;
        let controllers = vec![
            tokio::spawn(source_controller::run(
                runtime(&client, "source-controller"),
                storage,
                storage_listener,
                stopped(stop_rx.clone()),
            )),
            tokio::spawn(kustomize_controller::run(
                runtime(&client, "kustomize-controller"),
                kustomize_controller::KustomizeOptions {
                    poll_interval: Duration::from_millis(500),
                    ..kustomize_controller::KustomizeOptions::default()
                },
                stopped(stop_rx),
            )),
        ];
        Ok(Self {
            client,
            api_addr,
            kubeconfig,
            server,
            stop_tx,
            controllers,
            background,
        })
    }

    /// The API server (for tests that want to reach it in-process).
    pub fn server(&self) -> &ApiServer {
        &self.server
    }

    /// Stops the controllers (waiting up to 5 s each), then the API server.
    pub async fn stop(self) {
        let _ = self.stop_tx.send(true);
        for task in self.controllers {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        for task in self.background {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Binds the artifact server on loopback, reusing the previous run's port when free so
/// stored artifact URLs stay valid across restarts.
async fn bind_artifact_server(data: &DataDir) -> Result<tokio::net::TcpListener, ClusterError> {
    let file = data.artifact_addr_file();
    if let Ok(previous) = std::fs::read_to_string(&file)
        && let Ok(listener) = tokio::net::TcpListener::bind(previous.trim()).await
    {
        return Ok(listener);
    }
    let listener = source_controller::bind_storage_server("127.0.0.1:0")
        .await
        .map_err(|source| ClusterError::Storage { source })?;
    if let Ok(addr) = listener.local_addr() {
        let _ = std::fs::write(&file, addr.to_string());
    }
    Ok(listener)
}

/// Widens the GitRepository CRD's `spec.url` pattern to accept `file://` (every version).
pub fn widen_git_url_pattern(crd: &mut Value) {
    let Some(versions) = crd
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for version in versions {
        if let Some(pattern) =
            version.pointer_mut("/schema/openAPIV3Schema/properties/spec/properties/url/pattern")
        {
            *pattern = Value::String(DEV_GIT_URL_PATTERN.into());
        }
    }
}

/// Creates or replaces every Flux CRD (the GitRepository one widened for `file://`).
pub async fn install_crds(client: &kube::Client) -> Result<(), ClusterError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = flux_api::crds::all_crds().map_err(|source| ClusterError::Crds { source })?;
    for mut value in crds {
        let name = flux_api::crds::crd_name(&value).to_string();
        if name == "gitrepositories.source.toolkit.fluxcd.io" {
            widen_git_url_pattern(&mut value);
        }
        let mut crd: CustomResourceDefinition =
            serde_json::from_value(value).map_err(|source| ClusterError::DecodeCrd {
                name: name.clone(),
                source,
            })?;
        match api.get_opt(&name).await {
            Ok(Some(existing)) => {
                if existing.spec == crd.spec {
                    continue;
                }
                crd.metadata.resource_version = existing.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &crd)
                    .await
                    .map_err(|source| ClusterError::Api {
                        action: "updating",
                        what: format!("CustomResourceDefinition {name}"),
                        source,
                    })?;
            }
            Ok(None) => {
                api.create(&PostParams::default(), &crd)
                    .await
                    .map_err(|source| ClusterError::Api {
                        action: "creating",
                        what: format!("CustomResourceDefinition {name}"),
                        source,
                    })?;
            }
            Err(source) => {
                return Err(ClusterError::Api {
                    action: "reading",
                    what: format!("CustomResourceDefinition {name}"),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The API resource of a kind served by the cluster.
pub fn api_resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn git_repositories() -> ApiResource {
    api_resource(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    )
}

pub fn kustomizations() -> ApiResource {
    api_resource(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
    )
}

/// What the `flux-system` objects point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// The GitRepository URL.
    pub url: String,
    /// The branch.
    pub branch: String,
    /// The Kustomization path (`./…`).
    pub path: String,
    /// The path holds `flux bootstrap`'s own manifests (`gotk-sync.yaml`,
    /// `gotk-components.yaml`): patch them to stay local (see [`fleet_patches`]).
    pub fleet_patches: bool,
}

/// The GitRepository `flux bootstrap` writes (without the credentials secret).
pub fn git_repository_manifest(b: &Bootstrap) -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": FLUX_SYSTEM, "namespace": FLUX_SYSTEM},
        "spec": {
            "interval": "1m0s",
            "ref": {"branch": b.branch},
            "url": b.url,
        },
    })
}

/// The Kustomization `flux bootstrap` writes.
pub fn kustomization_manifest(b: &Bootstrap) -> Value {
    let mut manifest = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": FLUX_SYSTEM, "namespace": FLUX_SYSTEM},
        "spec": {
            "interval": "10m0s",
            "path": b.path,
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": FLUX_SYSTEM},
        },
    });
    if b.fleet_patches {
        manifest["spec"]["patches"] = fleet_patches(b);
    }
    manifest
}

/// Kustomization patches for a bootstrapped fleet directory: the GitRepository
/// `flux-system` its `gotk-sync.yaml` declares is pointed at the local repository (URL,
/// branch, no credentials secret), and Flux's CRDs from `gotk-components.yaml` are left
/// out of the build (the embedded server serves its own, with `file://` allowed).
pub fn fleet_patches(b: &Bootstrap) -> Value {
    let git_repository = format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {FLUX_SYSTEM}\n  namespace: {FLUX_SYSTEM}\nspec:\n  url: {}\n  ref:\n    branch: {}\n  secretRef: null\n",
        Value::String(b.url.clone()),
        Value::String(b.branch.clone())
    );
    let drop_crds = "$patch: delete\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: flux-crds\n";
    json!([
        {
            "patch": git_repository,
            "target": {"group": "source.toolkit.fluxcd.io", "kind": "GitRepository", "name": FLUX_SYSTEM, "namespace": FLUX_SYSTEM},
        },
        {
            "patch": drop_crds,
            "target": {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition", "name": ".*\\.fluxcd\\.io"},
        },
    ])
}

/// Server-side applies `object` (namespaced in flux-system unless a Namespace).
async fn apply(
    client: &kube::Client,
    ar: &ApiResource,
    object: &Value,
) -> Result<(), ClusterError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let api: Api<DynamicObject> = if ar.kind == "Namespace" {
        Api::all_with(client.clone(), ar)
    } else {
        Api::namespaced_with(client.clone(), FLUX_SYSTEM, ar)
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(object))
        .await
        .map_err(|source| ClusterError::Api {
            action: "applying",
            what: format!("{} {name}", ar.kind),
            source,
        })?;
    Ok(())
}

/// Creates (or updates) namespace flux-system, GitRepository and Kustomization flux-system.
pub async fn apply_bootstrap(client: &kube::Client, b: &Bootstrap) -> Result<(), ClusterError> {
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FLUX_SYSTEM}});
    apply(
        client,
        &api_resource("", "v1", "Namespace", "namespaces"),
        &namespace,
    )
    .await?;
    apply(client, &git_repositories(), &git_repository_manifest(b)).await?;
    apply(client, &kustomizations(), &kustomization_manifest(b)).await?;
    Ok(())
}

/// Sets `reconcile.fluxcd.io/requestedAt` on an object, as `flux reconcile` does.
pub async fn request_reconcile(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: &str,
    name: &str,
    token: &str,
) -> Result<(), ClusterError> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| ClusterError::Api {
            action: "annotating",
            what: format!("{} {namespace}/{name}", ar.kind),
            source,
        })?;
    Ok(())
}

/// A path made absolute against the current directory (no symlink resolution).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_url_pattern_is_widened_in_every_version() {
        let mut crd = json!({"spec": {"versions": [
            {"name": "v1", "schema": {"openAPIV3Schema": {"properties": {"spec": {"properties": {"url": {"pattern": "^(http|https|ssh)://.*$", "type": "string"}}}}}}},
            {"name": "v1beta2", "schema": {"openAPIV3Schema": {"properties": {"spec": {"properties": {"url": {"pattern": "^(http|https|ssh)://.*$"}}}}}}},
        ]}});
        widen_git_url_pattern(&mut crd);
        for v in 0..2 {
            assert_eq!(
                crd.pointer(&format!("/spec/versions/{v}/schema/openAPIV3Schema/properties/spec/properties/url/pattern")),
                Some(&json!(DEV_GIT_URL_PATTERN))
            );
        }
    }

    #[test]
    fn bootstrap_objects_have_flux_bootstrap_names_and_shape() {
        let b = Bootstrap {
            url: "file:///repo".into(),
            branch: "main".into(),
            path: "./clusters/dev".into(),
            fleet_patches: false,
        };
        let ks = kustomization_manifest(&b);
        assert_eq!(
            ks["metadata"],
            json!({"name": "flux-system", "namespace": "flux-system"})
        );
        assert_eq!(ks["spec"]["prune"], json!(true));
        assert_eq!(ks["spec"]["path"], json!("./clusters/dev"));
        assert_eq!(
            ks["spec"]["sourceRef"],
            json!({"kind": "GitRepository", "name": "flux-system"})
        );
        let repo = git_repository_manifest(&b);
        assert_eq!(repo["spec"]["ref"], json!({"branch": "main"}));
        assert_eq!(repo["spec"]["url"], json!("file:///repo"));
        assert!(
            ks["spec"].get("patches").is_none(),
            "no patches unless a fleet directory"
        );
        let ks = kustomization_manifest(&Bootstrap {
            fleet_patches: true,
            ..b
        });
        let patches = ks["spec"]["patches"].as_array().expect("patches");
        assert_eq!(patches.len(), 2);
        assert!(
            patches[0]["patch"]
                .as_str()
                .is_some_and(|p| p.contains("url: \"file:///repo\""))
        );
        assert_eq!(patches[1]["target"]["name"], json!(".*\\.fluxcd\\.io"));
    }
}
