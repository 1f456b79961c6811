//! Dependents woken when a Kustomization they `dependsOn` changes state (turns Ready,
//! applies a new revision, …), so they do not wait for `--requeue-dependency`, which stays
//! as a fallback.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use flux_api::kustomize::Kustomization;
use futures::{Stream, StreamExt};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crate::health_cancel::InFlightHealthChecks;

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
/// generation, labels, annotations and the status without `history` (which changes on
/// every reconcile, also when nothing else did).
fn state_fingerprint(ks: &Kustomization) -> u64 {
    let mut hasher = DefaultHasher::new();
    ks.metadata.generation.hash(&mut hasher);
    ks.metadata.labels.hash(&mut hasher);
    ks.metadata.annotations.hash(&mut hasher);
    let mut status = ks.status.clone().unwrap_or_default();
    status.history = None;
    serde_json::to_string(&status)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// Whether a change of `dep` should wake `dependent`: the dependent is not Ready, or the
/// dependency is Ready (its new state may be what the dependent waits for, e.g. a new
/// revision applied while the dependent's own status is not patched yet), or the
/// dependent judges it by a readyExpr.
fn should_wake(dependent: &Kustomization, dep: &Kustomization, dep_ready: bool) -> bool {
    let (ns, name) = (dep.namespace().unwrap_or_default(), dep.name_any());
    if !depends_on(dependent, &ns, &name) {
        return false;
    }
    let own_ns = dependent.namespace().unwrap_or_default();
    let by_expr = dependent.spec.depends_on.iter().flatten().any(|d| {
        d.name == name
            && d.namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(&own_ns)
                == ns
            && d.ready_expr
                .as_deref()
                .is_some_and(|e| !e.trim().is_empty())
    });
    dep_ready || by_expr || !is_ready(dependent)
}

/// A stream of the Kustomizations (from the controller's `store`) that wait for a
/// dependency whose state just changed. Dependencies are watched without the controller's
/// label selector, so a dependency reconciled by another shard wakes its dependents too.
///
/// The same watch cancels a Kustomization's own health check in flight when its spec
/// (generation) or `reconcile.fluxcd.io/requestedAt` token changes.
pub fn dependency_ready_triggers(
    client: Client,
    namespace: Option<String>,
    store: Store<Kustomization>,
    in_flight: Arc<InFlightHealthChecks>,
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
                if in_flight.cancel_if_outdated(
                    &key,
                    dep.metadata.generation.unwrap_or(0),
                    flux_runtime::object::requested_at(&dep),
                ) {
                    tracing::info!(kustomization = %key.1, "new generation or reconcile request: cancelling the health check");
                }
                let fingerprint = state_fingerprint(&dep);
                if seen.get(&key) == Some(&fingerprint) {
                    return None;
                }
                seen.insert(key, fingerprint);
                let dep_ready = is_ready(&dep);
                let refs: Vec<ObjectRef<Kustomization>> = store
                    .state()
                    .iter()
                    .filter(|ks| should_wake(ks, &dep, dep_ready))
                    .map(|ks| ObjectRef::from_obj(ks.as_ref()))
                    .collect();
                (!refs.is_empty()).then(|| futures::stream::iter(refs))
            });
            futures::future::ready(refs)
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ks(name: &str, ready: bool, depends_on: serde_json::Value) -> Kustomization {
        let status = if ready {
            serde_json::json!({"observedGeneration": 1, "conditions": [{"type": "Ready",
                "status": "True", "reason": "ReconciliationSucceeded", "message": "", "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
        } else {
            serde_json::json!({})
        };
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "default", "generation": 1},
            "spec": {"interval": "1h", "prune": true, "dependsOn": depends_on,
                     "sourceRef": {"kind": "GitRepository", "name": "repo"}},
            "status": status,
        }))
        .unwrap_or_else(|e| panic!("fixture: {e}"))
    }

    #[test]
    fn wakes_waiting_dependents_and_all_dependents_of_a_ready_dependency() {
        let dep_ready = ks("infra", true, serde_json::json!([]));
        let dep_not_ready = ks("infra", false, serde_json::json!([]));
        let waiting = ks("apps", false, serde_json::json!([{"name": "infra"}]));
        let ready = ks("apps", true, serde_json::json!([{"name": "infra"}]));
        let by_expr = ks(
            "apps",
            true,
            serde_json::json!([{"name": "infra", "readyExpr": "true"}]),
        );
        let unrelated = ks(
            "other",
            false,
            serde_json::json!([{"name": "infra", "namespace": "x"}]),
        );
        assert!(should_wake(&waiting, &dep_not_ready, false));
        assert!(should_wake(&ready, &dep_ready, true));
        assert!(!should_wake(&ready, &dep_not_ready, false));
        assert!(should_wake(&by_expr, &dep_not_ready, false));
        assert!(!should_wake(&unrelated, &dep_ready, true));
        // history alone does not change the fingerprint.
        let mut later = dep_ready.clone();
        if let Some(status) = later.status.as_mut() {
            status.history = Some(Vec::new());
        }
        assert_eq!(state_fingerprint(&dep_ready), state_fingerprint(&later));
    }
}
