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
pub mod overlay;
pub mod reconciler;
pub mod source_watch;
pub mod substitute;

use std::future::Future;
use std::sync::Arc;

use flux_api::kustomize::Kustomization;
use flux_runtime::Runtime;

pub use reconciler::{KustomizationReconciler, KustomizeOptions};

/// Runs the Kustomization controller until `shutdown` completes.
pub async fn run<F>(rt: Runtime, options: KustomizeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    flux_runtime::install_crypto_provider();
    let reconciler = Arc::new(KustomizationReconciler::new(&rt, options));
    flux_runtime::controller::run::<Kustomization, _, _>(rt, reconciler, shutdown).await;
}
