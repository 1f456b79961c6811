//! `flux get`: tables of Flux objects and their Ready status.

use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{ListParams, WatchEvent, WatchParams};
use serde_json::Value;

use crate::cluster::{Cluster, GlobalArgs, name_of, namespace_of};
use crate::kinds::{self, FluxKind};
use crate::output;

/// Flags shared by every `flux get` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GetFlags {
    /// List the requested object(s) across all namespaces.
    #[arg(short = 'A', long = "all-namespaces", global = true)]
    pub all_namespaces: bool,
    /// Skip the header when printing the results.
    #[arg(long, global = true)]
    pub no_header: bool,
    /// After listing/getting the requested object, watch for changes.
    #[arg(short = 'w', long, global = true)]
    pub watch: bool,
    /// Filter by a status condition: `ready=false`, `ready!=true`.
    #[arg(long, global = true)]
    pub status_selector: Option<String>,
    /// Filter objects by label selector.
    #[arg(short = 'l', long, global = true)]
    pub label_selector: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub flags: GetFlags,
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Get source statuses.
    #[command(alias = "source")]
    Sources {
        #[command(subcommand)]
        what: SourceWhat,
    },
    /// Get Kustomization statuses.
    #[command(aliases = ["ks", "kustomization"])]
    Kustomizations(KustomizationArgs),
    /// Get HelmRelease statuses.
    #[command(aliases = ["hr", "helmrelease"])]
    Helmreleases(KustomizationArgs),
    /// Get all resources and statuses.
    All,
}

#[derive(Debug, clap::Subcommand)]
pub enum SourceWhat {
    /// Get GitRepository source statuses.
    Git(NameArg),
    /// Get OCIRepository source statuses.
    Oci(NameArg),
    /// Get Bucket source statuses.
    Bucket(NameArg),
    /// Get HelmRepository source statuses.
    Helm(NameArg),
    /// Get HelmChart source statuses.
    Chart(NameArg),
    /// Get all source statuses.
    All,
}

#[derive(Debug, clap::Args)]
pub struct NameArg {
    /// Only this object.
    pub name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct KustomizationArgs {
    /// Only this object.
    pub name: Option<String>,
    /// Show the source reference for each kustomization.
    #[arg(long)]
    pub show_source: bool,
}

/// How `flux get` prints one kind.
#[derive(Debug, Clone, Copy)]
struct Lister {
    kind: FluxKind,
    show_source: bool,
}

impl Lister {
    fn headers(&self, all_namespaces: bool) -> Vec<&'static str> {
        let mut h = Vec::new();
        if all_namespaces {
            h.push("Namespace");
        }
        h.push("Name");
        if self.show_source {
            h.push("Source");
        }
        h.extend(["Revision", "Suspended", "Ready", "Message"]);
        h
    }

    fn row(&self, obj: &Value, all_namespaces: bool, include_kind: bool) -> Vec<String> {
        let mut row = Vec::new();
        if all_namespaces {
            row.push(namespace_of(obj).to_owned());
        }
        let name = name_of(obj);
        if include_kind {
            row.push(format!("{}/{name}", self.kind.kind.to_lowercase()));
        } else {
            row.push(name.to_owned());
        }
        if self.show_source {
            let source = if self.kind.kind == "HelmRelease" {
                obj.pointer("/spec/chartRef")
                    .or_else(|| obj.pointer("/spec/chart/spec/sourceRef"))
            } else {
                obj.pointer("/spec/sourceRef")
            };
            let field = |f: &str| {
                source
                    .and_then(|s| s.get(f))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut ns = field("namespace");
            if ns.is_empty() {
                ns = namespace_of(obj).to_owned();
            }
            row.push(format!("{}/{ns}/{}", field("kind"), field("name")));
        }
        let revision = revision_of(&self.kind, obj);
        let (status, message) = ready_status_and_message(obj);
        let suspended = obj
            .pointer("/spec/suspend")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        row.push(output::truncate_hex(&revision));
        row.push(if suspended { "True" } else { "False" }.to_owned());
        row.push(status);
        row.push(output::truncate_hex(&message));
        row
    }
}

/// The revision column: what the object last produced or applied.
pub fn revision_of(kind: &FluxKind, obj: &Value) -> String {
    let pointer = match kind.kind {
        "Kustomization" => "/status/lastAppliedRevision",
        "HelmRelease" => "/status/lastAttemptedRevision",
        _ => "/status/artifact/revision",
    };
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Upstream's `statusAndMessage`: the Ready condition's status and message, or
/// `False` / `waiting to be reconciled` without one.
pub fn ready_status_and_message(obj: &Value) -> (String, String) {
    match find_condition(obj, "Ready") {
        Some(c) => (
            c.get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            c.get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        None => ("False".to_owned(), "waiting to be reconciled".to_owned()),
    }
}

pub fn find_condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .rev()
        .find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(type_))
        })
}

/// A parsed `--status-selector`.
struct StatusSelector {
    condition: String,
    status: String,
    negated: bool,
}

impl StatusSelector {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let (sep, negated) = if text.contains("!=") {
            ("!=", true)
        } else {
            ("=", false)
        };
        let Some((condition, status)) = text.split_once(sep) else {
            anyhow::bail!(
                "expected status selector in type=status or type!=status format, but found: {text}"
            );
        };
        Ok(Self {
            condition: condition.to_owned(),
            status: status.to_owned(),
            negated,
        })
    }

    fn matches(&self, obj: &Value) -> bool {
        let found = find_condition(obj, &self.condition).is_some_and(|c| {
            c.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(&self.status))
        });
        found != self.negated
    }
}

fn namespace_or_any(flags: &GetFlags, ns: &str) -> String {
    if flags.all_namespaces {
        "any".to_owned()
    } else {
        format!("{ns:?}")
    }
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let selector = args
        .flags
        .status_selector
        .as_deref()
        .map(StatusSelector::parse)
        .transpose()?;
    let (listers, name, get_all): (Vec<Lister>, Option<String>, bool) = match args.what {
        What::Sources {
            what: SourceWhat::All,
        } => (
            kinds::GET_ALL_SOURCES
                .iter()
                .map(|k| Lister {
                    kind: *k,
                    show_source: false,
                })
                .collect(),
            None,
            true,
        ),
        What::Sources { what } => {
            let (kind, a) = match what {
                SourceWhat::Oci(a) => (kinds::OCI_REPOSITORY, a),
                SourceWhat::Bucket(a) => (kinds::BUCKET, a),
                SourceWhat::Helm(a) => (kinds::HELM_REPOSITORY, a),
                SourceWhat::Chart(a) => (kinds::HELM_CHART, a),
                SourceWhat::Git(a) => (kinds::GIT_REPOSITORY, a),
                SourceWhat::All => (kinds::GIT_REPOSITORY, NameArg { name: None }),
            };
            (
                vec![Lister {
                    kind,
                    show_source: false,
                }],
                a.name,
                false,
            )
        }
        What::Helmreleases(a) => (
            vec![Lister {
                kind: kinds::HELM_RELEASE,
                show_source: a.show_source,
            }],
            a.name,
            false,
        ),
        What::Kustomizations(a) => (
            vec![Lister {
                kind: kinds::KUSTOMIZATION,
                show_source: a.show_source,
            }],
            a.name,
            false,
        ),
        What::All => {
            let mut l: Vec<Lister> = kinds::GET_ALL_SOURCES
                .iter()
                .map(|k| Lister {
                    kind: *k,
                    show_source: false,
                })
                .collect();
            l.push(Lister {
                kind: kinds::HELM_RELEASE,
                show_source: false,
            });
            l.push(Lister {
                kind: kinds::KUSTOMIZATION,
                show_source: false,
            });
            (l, None, true)
        }
    };
    if get_all && args.flags.watch {
        anyhow::bail!("expected a single resource type, but found all");
    }
    let flags = args.flags;
    crate::cluster::block_on(global.timeout, "the get operation", async move {
        let cluster = global.connect().await?;
        if flags.watch {
            return watch(
                &cluster,
                listers[0],
                name.as_deref(),
                &flags,
                selector.as_ref(),
            )
            .await;
        }
        for lister in listers {
            let result = list_and_print(
                &cluster,
                lister,
                name.as_deref(),
                &flags,
                selector.as_ref(),
                get_all,
            )
            .await;
            match result {
                Ok(()) => {}
                Err(err) if get_all && !err.is::<crate::cluster::Unreachable>() => {
                    output::failure(&format!("{err:#}"));
                }
                Err(err) => return Err(err),
            }
        }
        Ok(())
    })
}

fn list_params(flags: &GetFlags) -> ListParams {
    let mut params = ListParams::default();
    if let Some(sel) = &flags.label_selector {
        params = params.labels(sel);
    }
    params
}

async fn list_objects(
    cluster: &Cluster,
    lister: Lister,
    name: Option<&str>,
    flags: &GetFlags,
) -> anyhow::Result<Option<Vec<Value>>> {
    let ns = (!flags.all_namespaces).then_some(cluster.namespace.as_str());
    let Some(mut items) = cluster.list(&lister.kind, ns, &list_params(flags)).await? else {
        return Ok(None);
    };
    if let Some(name) = name {
        items.retain(|o| name_of(o) == name);
    }
    Ok(Some(items))
}

async fn list_and_print(
    cluster: &Cluster,
    lister: Lister,
    name: Option<&str>,
    flags: &GetFlags,
    selector: Option<&StatusSelector>,
    get_all: bool,
) -> anyhow::Result<()> {
    let items = match list_objects(cluster, lister, name, flags).await? {
        Some(items) => items,
        None if get_all => return Ok(()),
        None => anyhow::bail!(
            "no matches for kind \"{}\" in version \"{}\"",
            lister.kind.kind,
            lister.kind.api_version()
        ),
    };
    if items.is_empty() {
        let where_ = namespace_or_any(flags, &cluster.namespace);
        if let Some(name) = name {
            anyhow::bail!(
                "{} object '{name}' not found in {where_} namespace",
                lister.kind.kind
            );
        }
        if !get_all {
            anyhow::bail!(
                "no {} objects found in {where_} namespace",
                lister.kind.kind
            );
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .filter(|o| selector.is_none_or(|s| s.matches(o)))
        .map(|o| lister.row(o, flags.all_namespaces, get_all))
        .collect();
    if get_all && rows.is_empty() {
        return Ok(());
    }
    let headers = lister.headers(flags.all_namespaces);
    let header = (!flags.no_header).then_some(headers.as_slice());
    print!("{}", output::table(header, &rows));
    if get_all {
        println!();
    }
    Ok(())
}

async fn watch(
    cluster: &Cluster,
    lister: Lister,
    name: Option<&str>,
    flags: &GetFlags,
    selector: Option<&StatusSelector>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let ns = (!flags.all_namespaces).then_some(cluster.namespace.as_str());
    let api = cluster.api(&lister.kind, ns);
    let list = api
        .list(&list_params(flags))
        .await
        .map_err(|e| cluster.error(e))?;
    let rv = list.metadata.resource_version.clone().unwrap_or_default();
    let headers = lister.headers(flags.all_namespaces);
    let mut first = true;
    let mut print_one = |obj: &Value| {
        if name.is_some_and(|n| n != name_of(obj)) {
            return;
        }
        let rows: Vec<Vec<String>> = std::iter::once(obj)
            .filter(|o| selector.is_none_or(|s| s.matches(o)))
            .map(|o| lister.row(o, flags.all_namespaces, false))
            .collect();
        let header = (first && !flags.no_header).then_some(headers.as_slice());
        first = false;
        print!("{}", output::table(header, &rows));
        let _ = std::io::stdout().flush();
    };
    for item in &list.items {
        print_one(&crate::cluster::to_value(item)?);
    }
    let mut params = WatchParams::default();
    if let Some(sel) = &flags.label_selector {
        params = params.labels(sel);
    }
    let mut rv = rv;
    loop {
        let stream = api
            .watch(&params, &rv)
            .await
            .map_err(|e| cluster.error(e))?;
        let mut stream = stream.boxed();
        while let Some(event) = stream.try_next().await.map_err(|e| cluster.error(e))? {
            match event {
                WatchEvent::Added(obj) | WatchEvent::Modified(obj) | WatchEvent::Deleted(obj) => {
                    if let Some(v) = obj.metadata.resource_version.clone() {
                        rv = v;
                    }
                    print_one(&crate::cluster::to_value(&obj)?);
                }
                WatchEvent::Bookmark(b) => rv = b.metadata.resource_version,
                WatchEvent::Error(e) => anyhow::bail!("watch failed: {}", e.message),
            }
        }
    }
}
