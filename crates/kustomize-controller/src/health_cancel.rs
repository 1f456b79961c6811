//! Health checks in flight, so a new source revision (or a change of a watched
//! ConfigMap/Secret) can cancel them (upstream's `CancelHealthCheckOnNewRevision`, on by
//! default from Flux 2.8): the Kustomization is then reconciled again at once instead of
//! waiting for `timeout` on a revision that is already outdated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// A Kustomization's namespace and name.
pub type ObjectKey = (String, String);

struct InFlight {
    token: u64,
    /// `Kind/namespace/name` of the source the checked revision came from.
    source: String,
    revision: String,
    /// The Kustomization's generation and `requestedAt` token when the check started.
    generation: i64,
    requested_at: Option<String>,
    cancel: watch::Sender<Option<String>>,
}

/// The health checks running now, by Kustomization.
#[derive(Default)]
pub struct InFlightHealthChecks {
    next: AtomicU64,
    running: Mutex<HashMap<ObjectKey, InFlight>>,
}

impl std::fmt::Debug for InFlightHealthChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running = self.running.lock().map(|r| r.len()).unwrap_or(0);
        f.debug_struct("InFlightHealthChecks")
            .field("running", &running)
            .finish()
    }
}

/// A registered health check; dropping it unregisters it.
pub struct HealthCheckGuard {
    registry: Arc<InFlightHealthChecks>,
    key: ObjectKey,
    token: u64,
    cancelled: watch::Receiver<Option<String>>,
}

impl HealthCheckGuard {
    /// Resolves with what triggered the cancellation (`Kind/namespace/name`); pending
    /// forever when never cancelled.
    pub async fn cancelled(&mut self) -> String {
        loop {
            if let Some(trigger) = self.cancelled.borrow_and_update().clone() {
                return trigger;
            }
            if self.cancelled.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for HealthCheckGuard {
    fn drop(&mut self) {
        if let Ok(mut running) = self.registry.running.lock()
            && running
                .get(&self.key)
                .is_some_and(|f| f.token == self.token)
        {
            running.remove(&self.key);
        }
    }
}

impl InFlightHealthChecks {
    /// Registers the health check of Kustomization `key` (at `generation`, with the
    /// `requestedAt` token `requested_at`) for `revision` of `source`.
    pub fn register(
        self: &Arc<Self>,
        key: ObjectKey,
        (generation, requested_at): (i64, Option<&str>),
        source: &str,
        revision: &str,
    ) -> HealthCheckGuard {
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        let (cancel, cancelled) = watch::channel(None);
        if let Ok(mut running) = self.running.lock() {
            running.insert(
                key.clone(),
                InFlight {
                    token,
                    source: source.to_string(),
                    revision: revision.to_string(),
                    generation,
                    requested_at: requested_at.map(str::to_string),
                    cancel,
                },
            );
        }
        HealthCheckGuard {
            registry: self.clone(),
            key,
            token,
            cancelled,
        }
    }

    /// Cancels the checks of revisions of `source` other than `revision`; returns how many.
    pub fn cancel_for_source(&self, source: &str, revision: &str) -> usize {
        let Ok(running) = self.running.lock() else {
            return 0;
        };
        let mut count = 0;
        for flight in running.values() {
            if flight.source == source && flight.revision != revision {
                flight.cancel.send_replace(Some(source.to_string()));
                count += 1;
            }
        }
        count
    }

    /// Cancels the check of Kustomization `key` when the object now has another generation
    /// (a spec change) or `requestedAt` token (`flux reconcile`); returns whether it did.
    pub fn cancel_if_outdated(
        &self,
        key: &ObjectKey,
        generation: i64,
        requested_at: Option<&str>,
    ) -> bool {
        let Ok(running) = self.running.lock() else {
            return false;
        };
        match running.get(key) {
            Some(flight)
                if flight.generation != generation
                    || flight.requested_at.as_deref() != requested_at =>
            {
                flight
                    .cancel
                    .send_replace(Some(format!("Kustomization/{}/{}", key.0, key.1)));
                true
            }
            _ => false,
        }
    }

    /// Cancels the check of Kustomization `key` because `trigger` changed; returns whether
    /// one was running.
    pub fn cancel(&self, key: &ObjectKey, trigger: &str) -> bool {
        let Ok(running) = self.running.lock() else {
            return false;
        };
        match running.get(key) {
            Some(flight) => {
                flight.cancel.send_replace(Some(trigger.to_string()));
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn cancels_only_other_revisions_of_the_source() {
        let registry = Arc::new(InFlightHealthChecks::default());
        let key = ("default".to_string(), "apps".to_string());
        let mut guard =
            registry.register(key.clone(), (1, None), "GitRepository/default/repo", "r1");
        assert_eq!(
            registry.cancel_for_source("GitRepository/default/repo", "r1"),
            0
        );
        assert_eq!(
            registry.cancel_for_source("GitRepository/default/other", "r2"),
            0
        );
        let pending = tokio::time::timeout(Duration::from_millis(50), guard.cancelled()).await;
        assert!(pending.is_err(), "not cancelled yet");
        assert_eq!(
            registry.cancel_for_source("GitRepository/default/repo", "r2"),
            1
        );
        let trigger = tokio::time::timeout(Duration::from_secs(1), guard.cancelled()).await;
        assert_eq!(trigger.ok().as_deref(), Some("GitRepository/default/repo"));
        drop(guard);
        assert!(
            !registry.cancel(&key, "ConfigMap/default/vars"),
            "unregistered on drop"
        );
    }

    #[tokio::test]
    async fn cancels_on_a_new_generation_or_requested_at() {
        let registry = Arc::new(InFlightHealthChecks::default());
        let key = ("default".to_string(), "apps".to_string());
        let _guard = registry.register(
            key.clone(),
            (2, Some("t1")),
            "GitRepository/default/repo",
            "r1",
        );
        assert!(!registry.cancel_if_outdated(&key, 2, Some("t1")));
        assert!(registry.cancel_if_outdated(&key, 3, Some("t1")));
        assert!(registry.cancel_if_outdated(&key, 2, Some("t2")));
    }
}
