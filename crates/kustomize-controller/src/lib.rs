//! kustomize-controller: Flux's Kustomization reconciler (`kustomize.toolkit.fluxcd.io/v1`)
//! on flux-runtime. Source artifact → safe extract → Flux overlay → kustomize build
//! (flux-kustomize) → post-build substitution → staged server-side apply, inventory, prune
//! and health (flux-ssa).
//!
//! * [`reconciler::KustomizationReconciler`]: the reconciler.
//! * [`overlay`]: Flux's kustomization generator (targetNamespace, namePrefix/Suffix,
//!   patches, images, components written into the build directory).
//! * [`substitute`]: the `${var}` envsubst dialect of `postBuild`.
//! * [`run`]: the controller, as `fluxd --controllers=kustomize` runs it.

pub mod artifact_cache;
pub mod artifact_tree;
pub mod cluster_client;
pub mod config_watch;
pub mod dependency_watch;
pub mod health_cancel;
pub mod overlay;
pub mod ready_expr;
pub mod reconciler;
pub mod source_watch;
pub mod substitute;

use std::future::Future;
use std::sync::Arc;

use flux_api::kustomize::Kustomization;
use flux_runtime::Runtime;
use futures::StreamExt;

pub use reconciler::{KustomizationReconciler, KustomizeOptions};

/// Runs the Kustomization controller until `shutdown` completes. Besides its own watch,
/// a Kustomization is woken when its source gets a new artifact revision, when a
/// Kustomization it depends on changes state, and when a watched ConfigMap/Secret it uses
/// changes.
pub async fn run<F>(rt: Runtime, options: KustomizeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    flux_runtime::install_crypto_provider();
    let label_selector = options.watch_configs_label_selector.clone();
    let reconciler = Arc::new(KustomizationReconciler::new(&rt, options));
    let in_flight = reconciler.in_flight();
    let client = rt.client.clone();
    let namespace = rt.options.namespace.clone();
    flux_runtime::controller::run_with_triggers::<Kustomization, _, _, _, _>(
        rt,
        reconciler,
        move |store| {
            futures::stream::select_all([
                source_watch::source_revision_triggers(
                    client.clone(),
                    namespace.clone(),
                    store.clone(),
                    in_flight.clone(),
                )
                .boxed(),
                dependency_watch::dependency_ready_triggers(
                    client.clone(),
                    namespace.clone(),
                    store.clone(),
                    in_flight.clone(),
                )
                .boxed(),
                config_watch::watched_config_triggers(
                    client,
                    namespace,
                    label_selector,
                    store,
                    in_flight,
                )
                .boxed(),
            ])
        },
        shutdown,
    )
    .await;
}
