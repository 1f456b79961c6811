//! flux-runtime: the machinery every flux-rs controller shares (Flux's `pkg/runtime`).
//!
//! * [`reconcile`]: the contract — [`Success`], [`ReconcileError`] with a condition reason
//!   and a [`Disposition`] (stalled / wait / retry), the pure [`reconcile::summarize`] of
//!   Ready/Reconciling/Stalled and the requeue policy (jitter, backoff).
//! * [`controller`]: the loop on kube-runtime ([`controller::run`], [`Reconciler`]):
//!   finalizer, suspend, `requestedAt` handshake, one status patch per reconcile,
//!   `--concurrent`, `--watch-label-selector`.
//! * [`status`]: the status patcher (merge patch of the status subresource).
//! * [`events`]: core/v1 Events with Flux's annotations and the `--events-addr` forwarder.
//! * [`leader`]: leader election on a coordination.k8s.io Lease.
//! * [`metrics`] and [`admin`]: Prometheus metrics with Flux's names, `/healthz`,
//!   `/readyz`, `/metrics`.

pub mod admin;
pub mod controller;
pub mod events;
pub mod leader;
pub mod metrics;
pub mod object;
pub mod progress;
pub mod reconcile;
pub mod status;

pub use controller::{ControllerOptions, Reconciler, Runtime};
pub use events::{EventRecorder, EventType};
pub use leader::{LeaderElectionOptions, LeaderElector};
pub use metrics::Metrics;
pub use object::{FINALIZER, FluxResource, RECONCILE_REQUESTED_AT};
pub use progress::{ProgressError, mark_progressing};
pub use reconcile::{Disposition, ReconcileError, ReconcileResult, RequeuePolicy, Success};

/// Installs ring as the process-wide rustls crypto provider (reqwest is built without
/// one); harmless when a provider is already installed.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
