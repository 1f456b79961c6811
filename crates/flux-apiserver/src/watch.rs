//! The watch stream: one JSON event per line, flushed as it happens.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::object_meta::random_bytes;
use crate::request::Query;
use crate::resources::ResourceDef;
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Api;
use crate::status::ApiError;
use crate::store::{EventType, StoredEvent, WatchStart};
use crate::verbs::{parse_resource_version, render};

/// How often a bookmark is sent when the client allows them.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    object: &'a Value,
}

fn line(event_type: &str, object: &Value) -> Bytes {
    let mut buf = serde_json::to_vec(&Line { event_type, object }).unwrap_or_default();
    buf.push(b'\n');
    Bytes::from(buf)
}

struct Filter {
    def: Arc<ResourceDef>,
    /// Events carry a one-row Table instead of the object.
    table: Option<crate::table::IncludeObject>,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, ns: &str, obj: &Value) -> bool {
        self.namespace.as_deref().is_none_or(|want| want == ns)
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }

    /// The event to send for a stored change, if any (selector transitions become
    /// ADDED / DELETED).
    fn translate(&self, ev: &StoredEvent) -> Option<Bytes> {
        if ev.key.0 != self.def.storage_resource() {
            return None;
        }
        let now = self.matches(&ev.key.1, &ev.object);
        let before = ev
            .previous
            .as_ref()
            .is_some_and(|p| self.matches(&ev.key.1, p));
        let ty = match ev.event_type {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => before.then_some("DELETED"),
            EventType::Modified => match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            },
        }?;
        let stored_as_served = ev.object.get("apiVersion").and_then(Value::as_str)
            == Some(self.def.api_version().as_str())
            && ev.object.get("kind").and_then(Value::as_str) == Some(self.def.kind.as_str());
        if self.table.is_none() && stored_as_served {
            let json = ev.object_json();
            let mut buf = Vec::with_capacity(json.len() + 32);
            buf.extend_from_slice(b"{\"type\":\"");
            buf.extend_from_slice(ty.as_bytes());
            buf.extend_from_slice(b"\",\"object\":");
            buf.extend_from_slice(json);
            buf.extend_from_slice(b"}\n");
            return Some(Bytes::from(buf));
        }
        let obj = render(&self.def, &ev.object);
        match self.table {
            Some(include) => {
                let rv = json!({"resourceVersion": ev.rv.to_string()});
                let table = crate::table::table(&self.def, std::slice::from_ref(&obj), rv, include);
                Some(line(ty, &table))
            }
            None => Some(line(ty, &obj)),
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": meta})
    }
}

/// Validate a watch request and start streaming it into a channel of lines.
pub fn start(
    api: Arc<Api>,
    def: Arc<ResourceDef>,
    namespace: Option<String>,
    q: &Query,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let labels = LabelSelector::parse(&q.label_selector)?;
    let fields = FieldSelector::parse(&q.field_selector, &def.kind, &def.api_version())?;
    let send_initial = q.send_initial_events == Some(true);
    if q.send_initial_events.is_some()
        && q.resource_version_match.as_deref() != Some("NotOlderThan")
    {
        return Err(ApiError::invalid(
            &def.plural,
            &def.group,
            "",
            vec![crate::status::StatusCause::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
            )],
        ));
    }
    let start = match q.resource_version.as_deref() {
        None | Some("0") => WatchStart::Snapshot,
        Some(raw) => {
            let rv = parse_resource_version(raw, &def)?;
            if send_initial {
                WatchStart::Snapshot
            } else {
                WatchStart::After(rv)
            }
        }
    };
    let timeout = match q.timeout_seconds {
        Some(s) => Duration::from_secs(s),
        None => {
            // As upstream: a random 30–60 minutes.
            let r = u64::from(random_bytes::<2>()[0]) * 1800 / 255;
            Duration::from_secs(1800 + r)
        }
    };
    let bookmarks = q.allow_watch_bookmarks;
    let filter = Filter {
        table: q
            .as_table
            .then(|| crate::table::IncludeObject::parse(q.include_object.as_deref())),
        namespace: if def.namespaced { namespace } else { None },
        def,
        labels,
        fields,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(1024);
    let feed = api.store.watch(&filter.def.storage_resource(), start);
    tokio::spawn(async move {
        let feed = match feed {
            Ok(feed) => feed,
            Err(err) => {
                let _ = tx.send(line("ERROR", &err.to_status())).await;
                return;
            }
        };
        let mut last_rv = feed.rv;
        for ev in &feed.initial {
            if let Some(l) = filter.translate(ev)
                && tx.send(l).await.is_err()
            {
                return;
            }
        }
        if send_initial && bookmarks {
            let mark = filter.bookmark(feed.rv, true);
            if tx.send(line("BOOKMARK", &mark)).await.is_err() {
                return;
            }
        }
        let mut receiver = feed.receiver;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
        ticker.tick().await;
        loop {
            tokio::select! {
                received = receiver.recv() => match received {
                    Ok(ev) => {
                        if ev.rv <= feed.rv {
                            continue;
                        }
                        last_rv = ev.rv;
                        if let Some(l) = filter.translate(&ev)
                            && tx.send(l).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let err = ApiError::expired(last_rv, api.store.oldest_rv());
                        let _ = tx.send(line("ERROR", &err.to_status())).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = &mut deadline => {
                    if bookmarks {
                        let _ = tx.send(line("BOOKMARK", &filter.bookmark(last_rv, false))).await;
                    }
                    return;
                }
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(line("BOOKMARK", &filter.bookmark(last_rv, false))).await.is_err() {
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    });
    Ok(rx)
}
