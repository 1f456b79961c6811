//! `flux events`: Kubernetes Events of Flux objects (and, with `--for Kind/name`, of the
//! object's source), oldest first.

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use serde_json::Value;

use crate::cluster::{Cluster, GlobalArgs};
use crate::kinds;
use crate::output;

/// The kinds whose events `flux events` shows.
const FLUX_KINDS: [&str; 15] = [
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "HelmRepository",
    "HelmChart",
    "ExternalArtifact",
    "ArtifactGenerator",
    "Kustomization",
    "HelmRelease",
    "Alert",
    "Provider",
    "Receiver",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Get the events for a particular object: `<kind>[/<name>]`.
    #[arg(long = "for", default_value = "")]
    pub for_selector: String,
    /// Indicate if the events should be streamed.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Display events from all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Filter events by type: Normal or Warning (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
}

/// Which events to keep.
struct Filter {
    /// (kind, name, namespace) pairs; empty kind list = any Flux kind.
    targets: Vec<(String, Option<String>, Option<String>)>,
    types: Vec<String>,
}

impl Filter {
    fn keeps(&self, e: &Event) -> bool {
        let kind = e.involved_object.kind.clone().unwrap_or_default();
        let name = e.involved_object.name.clone().unwrap_or_default();
        let ns = e.metadata.namespace.clone().unwrap_or_default();
        if !self.types.is_empty()
            && !self
                .types
                .iter()
                .any(|t| Some(t.as_str()) == e.type_.as_deref())
        {
            return false;
        }
        if self.targets.is_empty() {
            return FLUX_KINDS.contains(&kind.as_str());
        }
        self.targets.iter().any(|(k, n, tns)| {
            k.eq_ignore_ascii_case(&kind)
                && n.as_ref().is_none_or(|n| *n == name)
                && tns.as_ref().is_none_or(|t| *t == ns)
        })
    }
}

/// Kubernetes' `duration.HumanDuration`.
pub fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (m, h, days) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        let rest = s % 60;
        if rest == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{rest}s")
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        let rest = m % 60;
        if rest == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{rest}m")
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 192 {
        let rest = h % 24;
        if rest == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{rest}h")
        }
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        let rest = days % 365;
        if rest == 0 {
            format!("{}y", days / 365)
        } else {
            format!("{}y{rest}d", days / 365)
        }
    } else {
        format!("{}y", days / 365)
    }
}

fn since(ts: Option<jiff::Timestamp>) -> String {
    match ts {
        None => "<unknown>".to_owned(),
        Some(t) => {
            let secs = jiff::Timestamp::now().as_second() - t.as_second();
            human_duration(std::time::Duration::from_secs(secs.max(0).unsigned_abs()))
        }
    }
}

fn event_time(e: &Event) -> Option<jiff::Timestamp> {
    if let Some(series) = &e.series
        && let Some(t) = &series.last_observed_time
    {
        return Some(t.0);
    }
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

fn last_seen(e: &Event) -> String {
    let first = e
        .event_time
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0));
    let count = e.count.unwrap_or(0);
    if count > 1 {
        format!(
            "{} (x{count} over {})",
            since(e.last_timestamp.as_ref().map(|t| t.0)),
            since(first)
        )
    } else {
        since(first)
    }
}

fn row(e: &Event, show_ns: bool) -> Vec<String> {
    let mut row = Vec::new();
    if show_ns {
        row.push(e.metadata.namespace.clone().unwrap_or_default());
    }
    row.push(last_seen(e));
    row.push(e.type_.clone().unwrap_or_default());
    row.push(e.reason.clone().unwrap_or_default());
    row.push(format!(
        "{}/{}",
        e.involved_object.kind.clone().unwrap_or_default(),
        e.involved_object.name.clone().unwrap_or_default()
    ));
    row.push(e.message.clone().unwrap_or_default().trim_end().to_owned());
    row
}

fn headers(show_ns: bool) -> Vec<&'static str> {
    let mut h = Vec::new();
    if show_ns {
        h.push("Namespace");
    }
    h.extend(["Last seen", "Type", "Reason", "Object", "Message"]);
    h
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    for t in &args.types {
        if t != "Normal" && t != "Warning" {
            anyhow::bail!("type '{t}' not supported. Supported types are Normal, Warning");
        }
    }
    let selector = if args.for_selector.is_empty() {
        None
    } else {
        let (kind, name) = match args.for_selector.split_once('/') {
            Some((k, n)) => (k.to_owned(), Some(n.to_owned())),
            None => (args.for_selector.clone(), None),
        };
        if kind.is_empty() {
            anyhow::bail!("--for selector must be of format <kind>[/<name>]");
        }
        let Some(k) = FLUX_KINDS.iter().find(|k| k.eq_ignore_ascii_case(&kind)) else {
            anyhow::bail!("'{kind}' is not a recognized Flux kind");
        };
        Some(((*k).to_owned(), name))
    };
    crate::cluster::block_on(global.timeout, "events", async move {
        let cluster = global.connect().await?;
        let ns = cluster.namespace.clone();
        let mut filter = Filter {
            targets: Vec::new(),
            types: args.types.clone(),
        };
        let mut show_ns = args.all_namespaces;
        if let Some((kind, name)) = selector {
            let target_ns = (!args.all_namespaces).then(|| ns.clone());
            filter.targets.push((kind.clone(), name.clone(), target_ns));
            if let Some(name) = &name
                && let Some((skind, sname, sns)) = source_of(&cluster, &kind, name, &ns).await?
            {
                show_ns |= sns != ns;
                filter.targets.push((skind, Some(sname), Some(sns)));
            }
        }
        let list_all = args.all_namespaces || show_ns;
        let api: Api<Event> = if list_all {
            Api::all(cluster.client.clone())
        } else {
            Api::namespaced(cluster.client.clone(), &ns)
        };
        if args.watch {
            return watch(&cluster, &api, &filter, show_ns).await;
        }
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| cluster.error(e))?;
        let mut events: Vec<Event> = list.items.into_iter().filter(|e| filter.keeps(e)).collect();
        events.sort_by_key(event_time);
        if events.is_empty() {
            if args.all_namespaces {
                output::failure("No events found.");
            } else {
                output::failure(&format!("No events found in {ns} namespace."));
            }
            return Ok(());
        }
        let rows: Vec<Vec<String>> = events.iter().map(|e| row(e, show_ns)).collect();
        print!("{}", output::table(Some(&headers(show_ns)), &rows));
        Ok(())
    })
}

/// The source a Kustomization (or HelmRelease) refers to: (kind, name, namespace).
async fn source_of(
    cluster: &Cluster,
    kind: &str,
    name: &str,
    ns: &str,
) -> anyhow::Result<Option<(String, String, String)>> {
    let Some(k) = kinds::by_kind(kind) else {
        return Ok(None);
    };
    if k.kind != "Kustomization" {
        return Ok(None);
    }
    let obj = cluster.get_required(&k, ns, name).await?;
    let field = |f: &str| {
        obj.pointer(&format!("/spec/sourceRef/{f}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut sns = field("namespace");
    if sns.is_empty() {
        sns = ns.to_owned();
    }
    Ok(Some((field("kind"), field("name"), sns)))
}

async fn watch(
    cluster: &Cluster,
    api: &Api<Event>,
    filter: &Filter,
    show_ns: bool,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut first = true;
    let mut rv = "0".to_owned();
    loop {
        let stream = api
            .watch(&WatchParams::default(), &rv)
            .await
            .map_err(|e| cluster.error(e))?;
        let mut stream = stream.boxed();
        while let Some(event) = stream.try_next().await.map_err(|e| cluster.error(e))? {
            match event {
                WatchEvent::Added(e) | WatchEvent::Modified(e) => {
                    if let Some(v) = e.metadata.resource_version.clone() {
                        rv = v;
                    }
                    if !filter.keeps(&e) {
                        continue;
                    }
                    let h = headers(show_ns);
                    let header = first.then_some(h.as_slice());
                    first = false;
                    print!("{}", output::table(header, &[row(&e, show_ns)]));
                    let _ = std::io::stdout().flush();
                }
                WatchEvent::Deleted(e) => {
                    if let Some(v) = e.metadata.resource_version.clone() {
                        rv = v;
                    }
                }
                WatchEvent::Bookmark(b) => rv = b.metadata.resource_version,
                WatchEvent::Error(e) => anyhow::bail!("watch failed: {}", e.message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use std::time::Duration;

    #[test]
    fn human_duration_matches_kubernetes() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (134, "2m14s"),
            (600, "10m"),
            (3 * 3600 + 59, "3h"),
            (3 * 3600 + 1800, "3h30m"),
            (47 * 3600, "47h"),
            (50 * 3600, "2d2h"),
            (240 * 3600, "10d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want, "{secs}s");
        }
    }
}
