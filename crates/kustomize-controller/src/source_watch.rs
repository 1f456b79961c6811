//! Which Kustomizations a new source artifact should wake up (upstream's watch of source
//! objects, `EnqueueRequestsFromMapFunc` on the artifact revision). A new revision also
//! cancels the health checks still waiting on an older revision of that source.

use std::collections::HashMap;
use std::sync::Arc;

use flux_api::kustomize::{Kustomization, KustomizationSourceKind};
use flux_api::source::GitRepository;
use futures::{Stream, StreamExt};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crate::health_cancel::InFlightHealthChecks;

/// `Kind/namespace/name` of a source, as used in messages and the cancellation registry.
pub fn source_key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind}/{namespace}/{name}")
}

/// The namespace of a Kustomization's source.
pub fn source_namespace(ks: &Kustomization) -> String {
    ks.spec
        .source_ref
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ks.namespace().unwrap_or_default())
}

/// Whether `ks` takes its artifact from the GitRepository `namespace/name` and has not
/// attempted `revision` yet.
pub fn needs_revision(ks: &Kustomization, namespace: &str, name: &str, revision: &str) -> bool {
    let source = &ks.spec.source_ref;
    source.kind == KustomizationSourceKind::GitRepository
        && source.name == name
        && source_namespace(ks) == namespace
        && ks
            .status
            .as_ref()
            .and_then(|s| s.last_attempted_revision.as_deref())
            != Some(revision)
}

/// A stream of the Kustomizations (from the controller's `store`) to reconcile because a
/// GitRepository they use got a new artifact revision; `namespace` limits the watch as
/// `--watch-all-namespaces=false` does.
pub fn source_revision_triggers(
    client: Client,
    namespace: Option<String>,
    store: Store<Kustomization>,
    in_flight: Arc<InFlightHealthChecks>,
) -> impl Stream<Item = ObjectRef<Kustomization>> + Send {
    let repos: Api<GitRepository> = match namespace.as_deref() {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    watcher(repos, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(move |event| {
            let refs = event.ok().and_then(|repo| {
                let revision = repo.status.as_ref()?.artifact.as_ref()?.revision.clone();
                let key = (repo.namespace().unwrap_or_default(), repo.name_any());
                if seen.get(&key) == Some(&revision) {
                    return None;
                }
                seen.insert(key.clone(), revision.clone());
                let source = source_key("GitRepository", &key.0, &key.1);
                let cancelled = in_flight.cancel_for_source(&source, &revision);
                if cancelled > 0 {
                    tracing::info!(%source, %revision, cancelled, "new revision: cancelling health checks of older revisions");
                }
                let refs: Vec<ObjectRef<Kustomization>> = store
                    .state()
                    .iter()
                    .filter(|ks| needs_revision(ks, &key.0, &key.1, &revision))
                    .map(|ks| ObjectRef::from_obj(ks.as_ref()))
                    .collect();
                Some(futures::stream::iter(refs))
            });
            futures::future::ready(refs)
        })
        .flatten()
}
