//! Which Kustomizations a new source artifact should wake up (upstream's watch of source
//! objects, `EnqueueRequestsFromMapFunc` on the artifact revision).
//!
//! flux-runtime's loop has no hook for extra triggers yet, so [`crate::run`] does not use
//! this stream; it is ready to be merged into the controller's queue once the runtime
//! accepts one (see the README).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use flux_api::kustomize::{Kustomization, KustomizationSourceKind};
use flux_api::source::GitRepository;
use futures::{Stream, StreamExt};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

/// Whether `ks` takes its artifact from the GitRepository `namespace/name` and has not
/// attempted `revision` yet.
pub fn needs_revision(ks: &Kustomization, namespace: &str, name: &str, revision: &str) -> bool {
    let source = &ks.spec.source_ref;
    let ks_ns = ks.namespace().unwrap_or_default();
    let source_ns = source
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&ks_ns);
    source.kind == KustomizationSourceKind::GitRepository
        && source.name == name
        && source_ns == namespace
        && ks
            .status
            .as_ref()
            .and_then(|s| s.last_attempted_revision.as_deref())
            != Some(revision)
}

/// A stream of the Kustomizations to reconcile because a GitRepository they use got a new
/// artifact revision.
pub fn source_revision_triggers(
    client: Client,
) -> impl Stream<Item = ObjectRef<Kustomization>> + Send {
    let repos: Api<GitRepository> = Api::all(client.clone());
    let kustomizations: Api<Kustomization> = Api::all(client);
    let seen: Arc<Mutex<HashMap<(String, String), String>>> = Arc::default();
    watcher(repos, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(move |event| {
            let seen = seen.clone();
            let kustomizations = kustomizations.clone();
            async move {
                let repo = event.ok()?;
                let revision = repo.status.as_ref()?.artifact.as_ref()?.revision.clone();
                let key = (repo.namespace().unwrap_or_default(), repo.name_any());
                {
                    let mut seen = seen.lock().ok()?;
                    if seen.get(&key) == Some(&revision) {
                        return None;
                    }
                    seen.insert(key.clone(), revision.clone());
                }
                let list = match kustomizations.list(&Default::default()).await {
                    Ok(list) => list,
                    Err(e) => {
                        tracing::warn!(error = %e, "listing Kustomizations for a new source revision failed");
                        return None;
                    }
                };
                let refs: Vec<ObjectRef<Kustomization>> = list
                    .items
                    .iter()
                    .filter(|ks| needs_revision(ks, &key.0, &key.1, &revision))
                    .map(|ks| {
                        ObjectRef::new(&ks.name_any()).within(&ks.namespace().unwrap_or_default())
                    })
                    .collect();
                Some(futures::stream::iter(refs))
            }
        })
        .flatten()
}
