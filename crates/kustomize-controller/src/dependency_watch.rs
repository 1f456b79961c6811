//! Dependents woken when a Kustomization they `dependsOn` changes state (turns Ready,
//! applies a new revision, …), so they do not wait for `--requeue-dependency`, which stays
//! as a fallback.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use flux_api::kustomize::Kustomization;
use futures::{Stream, StreamExt};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

/// Whether `dependent` lists `namespace/name` in `spec.dependsOn`.
pub fn depends_on(dependent: &Kustomization, namespace: &str, name: &str) -> bool {
    let own_ns = dependent.namespace().unwrap_or_default();
    dependent.spec.depends_on.iter().flatten().any(|d| {
        d.name == name
            && d.namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(&own_ns)
                == namespace
    })
}

/// Whether Ready is True for the object's current generation.
pub fn is_ready(ks: &Kustomization) -> bool {
    ks.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| flux_api::conditions::is_ready_for(c, ks.metadata.generation.unwrap_or(0)))
}

/// What a dependent's readiness check (or its readyExpr) is likely to look at:
/// generation, labels, annotations and status.
fn state_fingerprint(ks: &Kustomization) -> u64 {
    let mut hasher = DefaultHasher::new();
    ks.metadata.generation.hash(&mut hasher);
    ks.metadata.labels.hash(&mut hasher);
    ks.metadata.annotations.hash(&mut hasher);
    serde_json::to_string(&ks.status)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// A stream of the Kustomizations (from the controller's `store`) that wait for a
/// dependency whose state just changed. Dependencies are watched without the controller's
/// label selector, so a dependency reconciled by another shard wakes its dependents too.
pub fn dependency_ready_triggers(
    client: Client,
    namespace: Option<String>,
    store: Store<Kustomization>,
) -> impl Stream<Item = ObjectRef<Kustomization>> + Send {
    let api: Api<Kustomization> = match namespace.as_deref() {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(move |event| {
            let refs = event.ok().and_then(|dep| {
                let key = (dep.namespace().unwrap_or_default(), dep.name_any());
                let fingerprint = state_fingerprint(&dep);
                if seen.get(&key) == Some(&fingerprint) {
                    return None;
                }
                seen.insert(key.clone(), fingerprint);
                let refs: Vec<ObjectRef<Kustomization>> = store
                    .state()
                    .iter()
                    .filter(|ks| depends_on(ks, &key.0, &key.1) && !is_ready(ks))
                    .map(|ks| ObjectRef::from_obj(ks.as_ref()))
                    .collect();
                (!refs.is_empty()).then(|| futures::stream::iter(refs))
            });
            futures::future::ready(refs)
        })
        .flatten()
}
