//! Waiting for a set of objects to become Current, polling without blocking a thread.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use flux_object::ObjectId;
use futures::StreamExt;
use serde_json::Value;

use crate::health_expr::HealthCheckExprs;
use crate::inventory::VersionedId;
use crate::kstatus::{self, Status, StatusResult};
use crate::manager::ResourceManager;

/// Options of a wait (Flux's `ssa.WaitOptions`).
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// How often to read the objects.
    pub interval: Duration,
    /// When to give up.
    pub timeout: Duration,
    /// Stop at the first Failed object instead of waiting for every object to settle.
    pub fail_fast: bool,
    /// Custom health checks (`healthCheckExprs`); built-in kstatus for other kinds.
    pub health_check_exprs: Option<Arc<HealthCheckExprs>>,
}

impl Default for WaitOptions {
    /// Flux's `DefaultWaitOptions`: every 5 s for up to 60 s.
    fn default() -> WaitOptions {
        WaitOptions {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            fail_fast: false,
            health_check_exprs: None,
        }
    }
}

/// The last status seen of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStatus {
    /// The object.
    pub id: ObjectId,
    /// Its status.
    pub status: Status,
    /// Why (kstatus message or read error).
    pub message: String,
}

/// `Kind/namespace/name status: 'InProgress': Replicas: 0/1`.
impl fmt::Display for ObjectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} status: '{}'", self.id, self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

fn list(failures: &[ObjectStatus]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Objects that did not become Current.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WaitError {
    /// The timeout passed first; the objects not Current are listed.
    #[error("timeout waiting for: [{}]", list(failures))]
    Timeout {
        /// Each object that was not Current, with its last status.
        failures: Vec<ObjectStatus>,
    },
    /// Every object settled, some as Failed (or one Failed with `fail_fast`).
    #[error("failed early due to stalled resources: [{}]", list(failures))]
    Failed {
        /// The objects that were not Current.
        failures: Vec<ObjectStatus>,
    },
}

impl WaitError {
    /// The objects that were not Current.
    pub fn failures(&self) -> &[ObjectStatus] {
        match self {
            WaitError::Timeout { failures } | WaitError::Failed { failures } => failures,
        }
    }
}

impl ResourceManager {
    /// Reads the status of one object now.
    pub async fn status_of(
        &self,
        object: &VersionedId,
        exprs: Option<&HealthCheckExprs>,
    ) -> ObjectStatus {
        let result = self.read_status(object, exprs).await;
        ObjectStatus {
            id: object.id.clone(),
            status: result.status,
            message: result.message,
        }
    }

    async fn read_status(
        &self,
        object: &VersionedId,
        exprs: Option<&HealthCheckExprs>,
    ) -> StatusResult {
        let unknown = |message: String| StatusResult {
            status: Status::Unknown,
            message,
            reason: String::new(),
        };
        let resolved = match self.resolve(&object.api_version(), &object.id.kind).await {
            Ok(resolved) => resolved,
            Err(err) => return unknown(format!("can't determine status: {err}")),
        };
        let api = self.api(&resolved, &object.id.namespace);
        match api.get_opt(&object.id.name).await {
            Ok(Some(found)) => {
                let value = serde_json::to_value(found).unwrap_or(Value::Null);
                match exprs {
                    Some(exprs) => exprs.status_of(&value),
                    None => kstatus::compute(&value),
                }
            }
            Ok(None) => StatusResult {
                status: Status::NotFound,
                message: "Resource not found".into(),
                reason: String::new(),
            },
            Err(err) => unknown(format!("can't determine status: {err}")),
        }
    }

    /// Polls `objects` every `options.interval` until all are Current (Ok), all have
    /// settled as Current or Failed with some Failed, one is Failed with `fail_fast`, or
    /// `options.timeout` passes. Sleeps on the tokio timer between polls; no thread blocks.
    pub async fn wait_for_set(
        &self,
        objects: &[VersionedId],
        options: &WaitOptions,
    ) -> Result<(), WaitError> {
        if objects.is_empty() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + options.timeout;
        let exprs = options.health_check_exprs.clone();
        loop {
            let pending: Vec<_> = objects
                .iter()
                .map(|object| self.status_of(object, exprs.as_deref()))
                .collect();
            let statuses: Vec<ObjectStatus> =
                futures::stream::iter(pending).buffered(8).collect().await;
            let not_current: Vec<ObjectStatus> = statuses
                .iter()
                .filter(|s| s.status != Status::Current)
                .cloned()
                .collect();
            if not_current.is_empty() {
                return Ok(());
            }
            let settled = not_current.iter().all(|s| s.status == Status::Failed);
            let any_failed = not_current.iter().any(|s| s.status == Status::Failed);
            if settled || (options.fail_fast && any_failed) {
                return Err(WaitError::Failed {
                    failures: not_current,
                });
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(WaitError::Timeout {
                    failures: not_current,
                });
            }
            tokio::time::sleep(options.interval.min(deadline - now)).await;
        }
    }
}

/// Objects still present when the termination wait gave up.
#[derive(Debug, Clone, thiserror::Error)]
#[error("termination timeout: still present after {timeout:?}: [{}]", still_present.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
pub struct TerminationError {
    /// The objects not yet gone.
    pub still_present: Vec<ObjectId>,
    /// How long we waited.
    pub timeout: Duration,
}

impl ResourceManager {
    /// Waits until every `deleted` object of `change_set` is gone from the cluster (finalizers
    /// done), polling every `options.interval` up to `options.timeout` (Flux's
    /// `WaitForSetTermination`). Objects whose kind is no longer served count as gone.
    pub async fn wait_for_set_termination(
        &self,
        change_set: &crate::change_set::ChangeSet,
        options: &WaitOptions,
    ) -> Result<(), TerminationError> {
        let deleted: Vec<VersionedId> = change_set
            .entries
            .iter()
            .filter(|e| e.action == crate::change_set::Action::Deleted)
            .map(VersionedId::from)
            .collect();
        let deadline = tokio::time::Instant::now() + options.timeout;
        loop {
            let pending: Vec<_> = deleted
                .iter()
                .map(|object| self.is_present(object))
                .collect();
            let present: Vec<bool> = futures::stream::iter(pending).buffered(8).collect().await;
            let still_present: Vec<ObjectId> = deleted
                .iter()
                .zip(present)
                .filter(|(_, present)| *present)
                .map(|(object, _)| object.id.clone())
                .collect();
            if still_present.is_empty() {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(TerminationError {
                    still_present,
                    timeout: options.timeout,
                });
            }
            tokio::time::sleep(options.interval.min(deadline - now)).await;
        }
    }

    /// Whether the object exists; read errors count as present (we cannot tell it is gone).
    async fn is_present(&self, object: &VersionedId) -> bool {
        let Ok(resolved) = self.resolve(&object.api_version(), &object.id.kind).await else {
            return false;
        };
        !matches!(
            self.api(&resolved, &object.id.namespace)
                .get_opt(&object.id.name)
                .await,
            Ok(None)
        )
    }
}
