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

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use flux_api::kustomize::{Kustomization, KustomizationStatus};
use flux_api::meta::Condition;
use flux_runtime::{FluxResource, Runtime};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

pub use reconciler::{KustomizationReconciler, KustomizeOptions};

/// A Kustomization as the runtime reconciles it. (flux-runtime implements
/// [`FluxResource`] for the kinds it knows; this wrapper carries the implementation for
/// Kustomization until it moves there.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KustomizationObject(pub Kustomization);

impl kube::Resource for KustomizationObject {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Kustomization::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        Kustomization::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        Kustomization::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        Kustomization::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        self.0.meta()
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0.meta_mut()
    }
}

impl FluxResource for KustomizationObject {
    type Status = KustomizationStatus;
    const CONTROLLER: &'static str = "kustomize-controller";

    fn status(&self) -> Option<&KustomizationStatus> {
        self.0.status.as_ref()
    }
    fn suspended(&self) -> bool {
        self.0.spec.suspend.unwrap_or(false)
    }
    fn interval(&self) -> Duration {
        self.0.spec.interval.to_std()
    }
    fn conditions_mut(status: &mut KustomizationStatus) -> &mut Vec<Condition> {
        status.conditions.get_or_insert_with(Vec::new)
    }
    fn observed_generation_mut(status: &mut KustomizationStatus) -> &mut Option<i64> {
        &mut status.observed_generation
    }
    fn last_handled_reconcile_at_mut(status: &mut KustomizationStatus) -> &mut Option<String> {
        &mut status.last_handled_reconcile_at
    }
}

/// Runs the Kustomization controller until `shutdown` completes.
pub async fn run<F>(rt: Runtime, options: KustomizeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    flux_runtime::install_crypto_provider();
    let reconciler = Arc::new(KustomizationReconciler::new(&rt, options));
    flux_runtime::controller::run::<KustomizationObject, _, _>(rt, reconciler, shutdown).await;
}
