//! The cluster connection: global flags, the kube client, and errors turned into one line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use crate::kinds::FluxKind;

/// The flags every command takes (upstream's root persistent flags).
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace scope for this operation.
    #[arg(
        short = 'n',
        long,
        global = true,
        env = "FLUX_SYSTEM_NAMESPACE",
        default_value = "flux-system"
    )]
    pub namespace: String,
    /// Timeout for this operation.
    #[arg(long, global = true, default_value = "5m0s", value_parser = parse_go_duration)]
    pub timeout: Duration,
    /// Print generated objects.
    #[arg(long, global = true)]
    pub verbose: bool,
}

/// Parses a Go duration (`5m`, `1h30m`, `90s`, `500ms`) as `--timeout` and `--interval` take it.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    flux_api::GoDuration::parse(text)
        .map(|d| d.to_std())
        .map_err(|err| err.to_string())
}

/// Go's `time.Duration.String()` form: `1m0s`, `5m0s`, `1h0m0s`, `500ms`.
pub fn go_duration_string(d: Duration) -> String {
    flux_api::duration::format_go_duration(d)
}

impl GlobalArgs {
    /// Rejects a namespace that is not a DNS label, as upstream's root command does.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !is_dns_label(&self.namespace) {
            anyhow::bail!("namespace must be a valid DNS label: {:?}", self.namespace);
        }
        Ok(())
    }

    /// Connects to the cluster named by `--kubeconfig` / `$KUBECONFIG` and `--context`.
    pub async fn connect(&self) -> anyhow::Result<Cluster> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            cluster: None,
            user: None,
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|err| {
                    anyhow!(
                        "unable to read kubeconfig {}: {}",
                        path.display(),
                        one_line(&err)
                    )
                })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|err| {
                        anyhow!("invalid kubeconfig {}: {}", path.display(), one_line(&err))
                    })?
            }
            None => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|err| anyhow!("unable to load kubeconfig: {}", one_line(&err)))?,
        };
        let url = config.cluster_url.to_string();
        let client = kube::Client::try_from(config)
            .map_err(|err| anyhow!("unable to create a client for {url}: {}", one_line(&err)))?;
        Ok(Cluster {
            client,
            url: url.trim_end_matches('/').to_owned(),
            namespace: self.namespace.clone(),
        })
    }
}

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// An error and its causes on one line, `a: b: c`, without repeating a cause that the
/// message already contains.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let msg = cause.to_string();
        if !text.contains(&msg) {
            text.push_str(": ");
            text.push_str(&msg);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// The cluster did not answer (connection refused, TLS failure, …).
#[derive(Debug)]
pub struct Unreachable {
    pub url: String,
    pub cause: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unable to reach the cluster at {}: {}",
            self.url, self.cause
        )
    }
}

impl std::error::Error for Unreachable {}

/// A connected cluster and the namespace of this invocation.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub url: String,
    pub namespace: String,
}

/// What the API server answered, when it answered with a Status.
pub fn api_status(err: &kube::Error) -> Option<(u16, &str)> {
    match err {
        kube::Error::Api(status) => Some((status.code, status.message.as_str())),
        _ => None,
    }
}

pub fn is_not_found(err: &kube::Error) -> bool {
    api_status(err).is_some_and(|(code, _)| code == 404)
}

impl Cluster {
    /// Turns a client error into upstream-like one-line text: the API server's message, or
    /// why the cluster could not be reached.
    pub fn error(&self, err: kube::Error) -> anyhow::Error {
        match &err {
            kube::Error::Api(status) => anyhow!("{}", status.message),
            kube::Error::Service(_) | kube::Error::HyperError(_) => {
                let text = one_line(&err);
                let cause = text.rsplit(": ").next().unwrap_or(text.as_str()).to_owned();
                anyhow::Error::new(Unreachable {
                    url: self.url.clone(),
                    cause,
                })
            }
            _ => anyhow!("{}", one_line(&err)),
        }
    }

    pub fn api(&self, kind: &FluxKind, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = kind.api_resource();
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// The object, or `None` when it does not exist.
    pub async fn get(
        &self,
        kind: &FluxKind,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<Option<Value>> {
        match self.api(kind, Some(namespace)).get(name).await {
            Ok(obj) => Ok(Some(to_value(&obj)?)),
            Err(err) if is_not_found(&err) => {
                // A 404 for a missing kind reads differently than one for a missing object.
                Ok(None)
            }
            Err(err) => Err(self.error(err)),
        }
    }

    /// The object, or upstream's not-found error:
    /// `gitrepositories.source.toolkit.fluxcd.io "name" not found`.
    pub async fn get_required(
        &self,
        kind: &FluxKind,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<Value> {
        self.get(kind, namespace, name)
            .await?
            .ok_or_else(|| anyhow!("{} \"{}\" not found", kind.crd_name(), name))
    }

    /// Objects of a kind (in `namespace`, or everywhere), sorted as the server lists them;
    /// `Ok(None)` when the server does not serve the kind (its CRD is not installed).
    pub async fn list(
        &self,
        kind: &FluxKind,
        namespace: Option<&str>,
        params: &ListParams,
    ) -> anyhow::Result<Option<Vec<Value>>> {
        match self.api(kind, namespace).list(params).await {
            Ok(list) => Ok(Some(
                list.items
                    .iter()
                    .map(to_value)
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(self.error(err)),
        }
    }

    pub async fn merge_patch(
        &self,
        kind: &FluxKind,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> anyhow::Result<Value> {
        let obj = self
            .api(kind, Some(namespace))
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(|err| self.error(err))?;
        to_value(&obj)
    }

    pub async fn create(
        &self,
        kind: &FluxKind,
        namespace: &str,
        obj: &Value,
    ) -> anyhow::Result<Value> {
        let dynamic: DynamicObject =
            serde_json::from_value(obj.clone()).context("encoding the object")?;
        let created = self
            .api(kind, Some(namespace))
            .create(&PostParams::default(), &dynamic)
            .await
            .map_err(|err| self.error(err))?;
        to_value(&created)
    }

    pub async fn replace(
        &self,
        kind: &FluxKind,
        namespace: &str,
        name: &str,
        obj: &Value,
    ) -> anyhow::Result<Value> {
        let dynamic: DynamicObject =
            serde_json::from_value(obj.clone()).context("encoding the object")?;
        let replaced = self
            .api(kind, Some(namespace))
            .replace(name, &PostParams::default(), &dynamic)
            .await
            .map_err(|err| self.error(err))?;
        to_value(&replaced)
    }

    pub async fn delete(&self, kind: &FluxKind, namespace: &str, name: &str) -> anyhow::Result<()> {
        self.api(kind, Some(namespace))
            .delete(name, &DeleteParams::default())
            .await
            .map_err(|err| self.error(err))?;
        Ok(())
    }
}

pub fn to_value(obj: &DynamicObject) -> anyhow::Result<Value> {
    serde_json::to_value(obj).context("decoding the object")
}

/// Runs a command's future on a fresh runtime, bounded by `--timeout`.
pub fn block_on<T>(
    timeout: Duration,
    what: &str,
    fut: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match tokio::time::timeout(timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(anyhow!(
                "timeout waiting for {what} after {}",
                go_duration_string(timeout)
            )),
        }
    })
}

/// `metadata.name` of an object.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `metadata.namespace` of an object.
pub fn namespace_of(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
