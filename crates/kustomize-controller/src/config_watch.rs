//! Kustomizations woken when a ConfigMap or Secret they use changes: the objects labelled
//! for watching (`--watch-configs-label-selector`, by default
//! `reconcile.fluxcd.io/watch=Enabled`) named by `postBuild.substituteFrom` or
//! `kubeConfig.secretRef`. A change also cancels the user's health check in flight.

use std::collections::HashMap;
use std::sync::Arc;

use flux_api::kustomize::Kustomization;
use flux_api::meta::ConfigKind;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};

use crate::health_cancel::InFlightHealthChecks;

/// Upstream's default of `--watch-configs-label-selector`.
pub const DEFAULT_WATCH_CONFIGS_LABEL_SELECTOR: &str = "reconcile.fluxcd.io/watch=Enabled";

/// Whether `ks` reads the `kind` object `namespace/name`.
pub fn uses_config(ks: &Kustomization, kind: ConfigKind, namespace: &str, name: &str) -> bool {
    if ks.namespace().as_deref() != Some(namespace) {
        return false;
    }
    let substitutes = ks
        .spec
        .post_build
        .as_ref()
        .and_then(|pb| pb.substitute_from.as_ref())
        .is_some_and(|refs| refs.iter().any(|r| r.kind == kind && r.name == name));
    let kubeconfig = kind == ConfigKind::Secret
        && ks
            .spec
            .kube_config
            .as_ref()
            .and_then(|k| k.secret_ref.as_ref())
            .is_some_and(|s| s.name == name);
    substitutes || kubeconfig
}

/// What changed: (kind, namespace, name), or nothing.
fn changed<K: Resource>(
    kind: ConfigKind,
    event: Event<K>,
    versions: &mut HashMap<(String, String), String>,
) -> Vec<(ConfigKind, String, String)> {
    let key = |obj: &K| {
        (
            obj.meta().namespace.clone().unwrap_or_default(),
            obj.meta().name.clone().unwrap_or_default(),
        )
    };
    let version = |obj: &K| obj.meta().resource_version.clone().unwrap_or_default();
    match event {
        Event::InitApply(obj) => {
            // A re-list after a lost watch: only objects that changed meanwhile count.
            let k = key(&obj);
            let previous = versions.insert(k.clone(), version(&obj));
            match previous {
                Some(previous) if previous != version(&obj) => vec![(kind, k.0, k.1)],
                _ => Vec::new(),
            }
        }
        Event::Apply(obj) => {
            let k = key(&obj);
            let previous = versions.insert(k.clone(), version(&obj));
            if previous.as_deref() == Some(version(&obj).as_str()) {
                Vec::new()
            } else {
                vec![(kind, k.0, k.1)]
            }
        }
        Event::Delete(obj) => {
            let k = key(&obj);
            versions.remove(&k);
            vec![(kind, k.0, k.1)]
        }
        Event::Init | Event::InitDone => Vec::new(),
    }
}

/// A stream of the Kustomizations (from the controller's `store`) to reconcile because a
/// watched ConfigMap or Secret they use changed. An empty `label_selector` disables the
/// watch (rather than watching every ConfigMap and Secret of the cluster).
pub fn watched_config_triggers(
    client: Client,
    namespace: Option<String>,
    label_selector: String,
    store: Store<Kustomization>,
    in_flight: Arc<InFlightHealthChecks>,
) -> impl Stream<Item = ObjectRef<Kustomization>> + Send {
    if label_selector.trim().is_empty() {
        return futures::stream::empty().left_stream();
    }
    let config = watcher::Config::default().labels(&label_selector);
    let (config_maps, secrets): (Api<ConfigMap>, Api<Secret>) = match namespace.as_deref() {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    let mut cm_versions = HashMap::new();
    let cm_changes = watcher::watcher(config_maps, config.clone())
        .default_backoff()
        .map(move |e| match e {
            Ok(event) => changed(ConfigKind::ConfigMap, event, &mut cm_versions),
            Err(_) => Vec::new(),
        });
    let mut secret_versions = HashMap::new();
    let secret_changes =
        watcher::watcher(secrets, config)
            .default_backoff()
            .map(move |e| match e {
                Ok(event) => changed(ConfigKind::Secret, event, &mut secret_versions),
                Err(_) => Vec::new(),
            });
    futures::stream::select(cm_changes, secret_changes)
        .map(move |changes| {
            let mut refs = Vec::new();
            for (kind, ns, name) in changes {
                let trigger = format!("{kind:?}/{ns}/{name}");
                for ks in store.state() {
                    if uses_config(&ks, kind, &ns, &name) {
                        let key = (ks.namespace().unwrap_or_default(), ks.name_any());
                        if in_flight.cancel(&key, &trigger) {
                            tracing::info!(%trigger, kustomization = %key.1, "config changed: cancelling the health check");
                        }
                        refs.push(ObjectRef::from_obj(ks.as_ref()));
                    }
                }
            }
            futures::stream::iter(refs)
        })
        .flatten()
        .right_stream()
}
