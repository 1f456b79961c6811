//! `flux logs`: the controllers' JSON logs, from the pods of the Flux Deployments, filtered
//! and printed one line per entry.

use std::io::Write as _;

use anyhow::Context as _;

use futures::{AsyncBufReadExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

use crate::cluster::{Cluster, GlobalArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Log level: debug, info, error.
    #[arg(long, default_value = "", value_parser = ["", "debug", "info", "error"])]
    pub level: String,
    /// Only entries of this kind of object.
    #[arg(long, default_value = "")]
    pub kind: String,
    /// Only entries of this object name.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Stream the logs.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines of recent log to display (-1: all).
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub tail: i64,
    /// Only logs newer than this duration, e.g. 5m.
    #[arg(long, value_parser = crate::cluster::parse_go_duration)]
    pub since: Option<std::time::Duration>,
    /// Entries of objects in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// The namespace where the Flux components are running.
    #[arg(long, default_value = "flux-system")]
    pub flux_namespace: String,
}

/// One log entry, from Flux's zap JSON (`ts`, `level`, `msg`, …) or fluxd's tracing JSON
/// (`timestamp`, `level`, `fields.message`, …).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub timestamp: String,
    pub level: String,
    pub message: String,
    pub error: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

pub fn parse_entry(line: &str) -> Option<Entry> {
    if !line.starts_with('{') {
        return None;
    }
    let v: Value = serde_json::from_str(line).ok()?;
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let fields = v.get("fields").cloned().unwrap_or(Value::Null);
    let pick = |k: &str| {
        let top = s(&v, k);
        if top.is_empty() { s(&fields, k) } else { top }
    };
    let mut kind = pick("reconciler kind");
    if kind.is_empty() {
        kind = pick("controllerKind");
    }
    if kind.is_empty() {
        kind = pick("kind");
    }
    let (mut name, mut namespace) = (pick("name"), pick("namespace"));
    if kind.is_empty() {
        // flux-rs controllers: span `object.ref` = `Kind.version.group/ns.name`, field
        // `object` = `ns/name`.
        let span = v.get("span").cloned().unwrap_or(Value::Null);
        let object_ref = s(&span, "object.ref");
        if let Some((kind_part, _)) = object_ref.split_once('.') {
            kind = kind_part.to_owned();
        }
        if name.is_empty()
            && let Some((ns, n)) = pick("object").split_once('/')
        {
            namespace = ns.to_owned();
            name = n.to_owned();
        }
    }
    let mut message = pick("msg");
    if message.is_empty() {
        message = pick("message");
    }
    let mut timestamp = pick("ts");
    if timestamp.is_empty() {
        timestamp = pick("timestamp");
    }
    Some(Entry {
        timestamp,
        level: pick("level").to_lowercase(),
        message,
        error: pick("error"),
        kind,
        name,
        namespace,
    })
}

impl Entry {
    /// Upstream's line: `{ts} {level} {kind}[/{name}.{namespace}] - {msg} {error}`.
    pub fn line(&self) -> String {
        let mut out = format!("{} {} {}", self.timestamp, self.level, self.kind);
        if !self.name.is_empty() {
            out.push_str(&format!("/{}.{}", self.name, self.namespace));
        }
        out.push_str(&format!(" - {} {}", self.message, self.error));
        out
    }
}

/// The `flux dev` controller log next to the kubeconfig `flux dev` wrote, if that is the
/// cluster: `DATA_DIR/kubeconfig` and `DATA_DIR/flux-dev.log`.
fn dev_log_path(global: &GlobalArgs) -> Option<std::path::PathBuf> {
    let kubeconfig = match &global.kubeconfig {
        Some(path) => path.clone(),
        None => std::path::PathBuf::from(
            std::env::var_os("KUBECONFIG")?
                .to_string_lossy()
                .split(':')
                .next()?,
        ),
    };
    let log = kubeconfig.parent()?.join("flux-dev.log");
    log.is_file().then_some(log)
}

impl Args {
    fn keeps(&self, entry: &Entry, namespace: &str) -> bool {
        (self.level.is_empty() || self.level == entry.level)
            && (self.kind.is_empty() || self.kind.eq_ignore_ascii_case(&entry.kind))
            && (self.name.is_empty() || self.name.eq_ignore_ascii_case(&entry.name))
            && (self.all_namespaces || namespace.eq_ignore_ascii_case(&entry.namespace))
    }
}

/// Prints the entries of `flux dev`'s controller log (`--tail`, filters, `-f` polls the file).
fn print_dev_log(log: &std::path::Path, args: &Args, namespace: &str) -> anyhow::Result<()> {
    use std::io::{BufRead as _, Seek as _};
    let mut file = std::fs::File::open(log)
        .with_context(|| format!("reading the flux dev log {}", log.display()))?;
    let mut reader = std::io::BufReader::new(&mut file);
    let mut kept: Vec<String> = Vec::new();
    let mut line = String::new();
    while reader
        .read_line(&mut line)
        .with_context(|| format!("reading the flux dev log {}", log.display()))?
        > 0
    {
        if let Some(entry) = parse_entry(line.trim_end()).filter(|e| args.keeps(e, namespace)) {
            kept.push(entry.line());
        }
        line.clear();
    }
    let skip = usize::try_from(args.tail)
        .ok()
        .map_or(0, |tail| kept.len().saturating_sub(tail));
    let mut out = std::io::stdout().lock();
    for entry in &kept[skip..] {
        writeln!(out, "{entry}")?;
    }
    out.flush()?;
    if !args.follow {
        return Ok(());
    }
    let mut position = reader.stream_position()?;
    drop(reader);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        file.seek(std::io::SeekFrom::Start(position))?;
        let mut reader = std::io::BufReader::new(&mut file);
        while reader.read_line(&mut line)? > 0 {
            if line.ends_with('\n') {
                if let Some(entry) =
                    parse_entry(line.trim_end()).filter(|e| args.keeps(e, namespace))
                {
                    writeln!(out, "{}", entry.line())?;
                    out.flush()?;
                }
                position += line.len() as u64;
            }
            line.clear();
        }
    }
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    if let Some(log) = dev_log_path(global) {
        return print_dev_log(&log, &args, &global.namespace);
    }
    crate::cluster::block_on(global.timeout, "logs", async move {
        let cluster = global.connect().await?;
        let pods = flux_pods(&cluster, &args.flux_namespace).await?;
        let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &args.flux_namespace);
        let params = LogParams {
            follow: args.follow,
            tail_lines: (args.tail >= 0).then_some(args.tail),
            since_seconds: args
                .since
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            ..LogParams::default()
        };
        let mut failed = false;
        for pod in pods {
            let stream = match api.log_stream(&pod, &params).await {
                Ok(s) => s,
                Err(e) if crate::cluster::is_not_found(&e) => {
                    crate::output::failure(&format!(
                        "{pod}: this API server does not serve pod logs (the embedded API server has no kubelet; `flux dev` prints the controllers' log itself)"
                    ));
                    failed = true;
                    continue;
                }
                Err(e) => {
                    crate::output::failure(&format!("{pod}: {:#}", cluster.error(e)));
                    failed = true;
                    continue;
                }
            };
            let mut lines = stream.lines();
            while let Some(line) = lines.try_next().await? {
                let Some(entry) = parse_entry(&line) else {
                    continue;
                };
                if args.keeps(&entry, &global.namespace) {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{}", entry.line())?;
                }
            }
        }
        if failed {
            anyhow::bail!("failed to collect logs from all Flux pods");
        }
        Ok(())
    })
}

/// One pod per Flux Deployment (running ones first), as upstream picks them.
async fn flux_pods(cluster: &Cluster, ns: &str) -> anyhow::Result<Vec<String>> {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let selector = format!(
        "{}={}",
        super::install::PART_OF.0,
        super::install::PART_OF.1
    );
    let list = deployments
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| cluster.error(e))?;
    let pods_api: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let mut out = Vec::new();
    for d in list.items {
        let labels = d
            .spec
            .and_then(|s| s.template.metadata)
            .and_then(|m| m.labels)
            .unwrap_or_default();
        if labels.is_empty() {
            continue;
        }
        let sel: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let pods = pods_api
            .list(&ListParams::default().labels(&sel.join(",")))
            .await
            .map_err(|e| cluster.error(e))?;
        let mut items = pods.items;
        items.sort_by_key(|p| {
            p.status.as_ref().and_then(|s| s.phase.clone()).as_deref() != Some("Running")
        });
        if let Some(name) = items.first().and_then(|p| p.metadata.name.clone()) {
            out.push(name);
        }
    }
    if out.is_empty() {
        anyhow::bail!("no Flux pods found in namespace {ns:?}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flux_and_fluxd_log_lines() {
        let zap = r#"{"level":"info","ts":"2026-11-22T10:00:00.000Z","msg":"server-side apply completed","controller":"kustomization","controllerKind":"Kustomization","name":"apps","namespace":"flux-system"}"#;
        let e = parse_entry(zap).expect("parsed");
        assert_eq!(
            e.line(),
            "2026-11-22T10:00:00.000Z info Kustomization/apps.flux-system - server-side apply completed "
        );
        let tracing = r#"{"timestamp":"2026-11-22T10:00:01Z","level":"INFO","fields":{"message":"reconciled","kind":"GitRepository","name":"podinfo","namespace":"default"},"target":"source_controller"}"#;
        let e = parse_entry(tracing).expect("parsed");
        assert_eq!(e.level, "info");
        assert_eq!(
            e.line(),
            "2026-11-22T10:00:01Z info GitRepository/podinfo.default - reconciled "
        );
        assert!(parse_entry("plain text").is_none());
    }

    #[test]
    fn parses_flux_rs_runtime_lines() {
        let line = r#"{"timestamp":"2026-11-22T23:52:08.088354Z","level":"INFO","fields":{"message":"reconcile failed","object":"flux-system/apps","reason":"ArtifactFailed","message":"Source artifact not found, retrying"},"target":"flux_runtime::controller","span":{"object.ref":"Kustomization.v1.kustomize.toolkit.fluxcd.io/flux-system.apps","name":"reconciling object"}}"#;
        let e = parse_entry(line).expect("parsed");
        assert_eq!(
            e.line(),
            "2026-11-22T23:52:08.088354Z info Kustomization/apps.flux-system - Source artifact not found, retrying "
        );
    }
}
