//! The reconcile contract: what a reconciler returns, and the pure decisions the runtime
//! takes from it (conditions, observedGeneration, requeue).

use std::time::Duration;

use flux_api::conditions::{self, reasons, types};
use flux_api::meta::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// What the runtime does after a failed reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Retrying cannot help until the object changes: Stalled=True, no requeue.
    Stalled,
    /// Something the object depends on is not ready: requeue after the given delay
    /// (`--requeue-dependency`) without counting a failure.
    Wait(Duration),
    /// A transient failure: requeue with exponential backoff
    /// (`--min-retry-delay` … `--max-retry-delay`).
    Retry,
}

/// A failed reconcile: the condition reason, a message for users (never a secret) and what
/// to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReconcileError {
    /// The reason put on Ready (and Stalled), e.g. `GitOperationFailed`.
    pub reason: String,
    /// The message put on Ready and in the Warning event.
    pub message: String,
    /// What happens next.
    pub disposition: Disposition,
}

impl ReconcileError {
    /// A transient failure retried with backoff.
    pub fn retry(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_string(),
            message: message.into(),
            disposition: Disposition::Retry,
        }
    }

    /// A failure that needs a change of the object: Stalled, no requeue.
    pub fn stalled(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_string(),
            message: message.into(),
            disposition: Disposition::Stalled,
        }
    }

    /// Waiting for something else: requeue after `after`.
    pub fn wait(reason: &str, message: impl Into<String>, after: Duration) -> Self {
        Self {
            reason: reason.to_string(),
            message: message.into(),
            disposition: Disposition::Wait(after),
        }
    }
}

/// A successful reconcile: what Ready says, and an optional requeue overriding the
/// object's interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    /// Ready's reason (usually `Succeeded`).
    pub reason: String,
    /// Ready's message, e.g. `stored artifact for revision 'main@sha1:…'`.
    pub message: String,
    /// Requeue after this instead of the object's interval.
    pub requeue_after: Option<Duration>,
}

impl Success {
    /// Ready=True with reason `Succeeded` and `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            reason: reasons::SUCCEEDED.to_string(),
            message: message.into(),
            requeue_after: None,
        }
    }
}

/// The outcome of one reconcile.
pub type ReconcileResult = Result<Success, ReconcileError>;

/// The message of Reconciling when a new generation is seen (as Flux words it).
pub fn new_generation_message(observed: Option<i64>, generation: i64) -> String {
    format!(
        "processing object: new generation {} -> {generation}",
        observed.unwrap_or(-1)
    )
}

/// Sets Ready/Reconciling/Stalled and observedGeneration from `result`, as Flux's
/// summarize helper does:
/// * success: Reconciling and Stalled removed, Ready=True with the success reason and
///   message, observedGeneration = generation;
/// * stalled: Reconciling removed, Stalled=True and Ready=False with the error's reason,
///   observedGeneration = generation;
/// * retry: Ready=False with the error's reason; a Reconciling condition still present
///   becomes `ProgressingWithRetry`; observedGeneration unchanged;
/// * wait: Ready=False with the error's reason; observedGeneration unchanged.
pub fn summarize(
    conditions: &mut Vec<Condition>,
    observed_generation: &mut Option<i64>,
    generation: i64,
    result: &ReconcileResult,
    now: Time,
) {
    match result {
        Ok(success) => {
            conditions::delete(conditions, types::RECONCILING);
            conditions::delete(conditions, types::STALLED);
            conditions::mark_true(
                conditions,
                types::READY,
                &success.reason,
                &success.message,
                generation,
                now,
            );
            *observed_generation = Some(generation);
        }
        Err(err) => match err.disposition {
            Disposition::Stalled => {
                conditions::mark_stalled(conditions, &err.reason, &err.message, generation, now);
                *observed_generation = Some(generation);
            }
            Disposition::Retry | Disposition::Wait(_) => {
                if err.disposition == Disposition::Retry
                    && let Some(message) =
                        conditions::find(conditions, types::RECONCILING).map(|c| c.message.clone())
                {
                    conditions::mark_reconciling(
                        conditions,
                        reasons::PROGRESSING_WITH_RETRY,
                        &message,
                        generation,
                        now.clone(),
                    );
                }
                conditions::delete(conditions, types::STALLED);
                conditions::mark_false(
                    conditions,
                    types::READY,
                    &err.reason,
                    &err.message,
                    generation,
                    now,
                );
            }
        },
    }
}

/// Requeue settings (`--interval-jitter-percentage`, `--min-retry-delay`,
/// `--max-retry-delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequeuePolicy {
    /// Jitter applied to the interval after a success, in percent (0–100).
    pub interval_jitter_percentage: u8,
    /// First retry delay after a failure.
    pub min_retry_delay: Duration,
    /// Cap of the exponential backoff.
    pub max_retry_delay: Duration,
}

impl Default for RequeuePolicy {
    fn default() -> Self {
        Self {
            interval_jitter_percentage: 5,
            min_retry_delay: Duration::from_millis(750),
            max_retry_delay: Duration::from_secs(15 * 60),
        }
    }
}

impl RequeuePolicy {
    /// `interval` moved by a random amount within ±percentage (`unit` in [0, 1) picks it).
    pub fn jittered(&self, interval: Duration, unit: f64) -> Duration {
        let pct = f64::from(self.interval_jitter_percentage.min(100)) / 100.0;
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let factor = 1.0 + pct * (2.0 * unit - 1.0);
        interval.mul_f64(factor.max(0.0))
    }

    /// The delay before retry number `failures` (1 for the first failure):
    /// min × 2^(failures-1), capped at max.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(40);
        let delay = self.min_retry_delay.saturating_mul(1u32 << exp.min(31));
        if exp > 31 {
            return self.max_retry_delay;
        }
        delay.min(self.max_retry_delay)
    }
}

/// A cheap pseudo-random number in [0, 1) for jitter (no cryptographic use).
pub fn jitter_unit() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use flux_api::meta::ConditionStatus;
    use k8s_openapi::jiff::Timestamp;

    fn now() -> Time {
        Time(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn success_clears_reconciling_and_sets_generation() {
        let mut c = Vec::new();
        conditions::mark_reconciling(&mut c, reasons::PROGRESSING, "x", 3, now());
        let mut observed = Some(2);
        summarize(&mut c, &mut observed, 3, &Ok(Success::new("done")), now());
        assert_eq!(observed, Some(3));
        assert!(conditions::find(&c, types::RECONCILING).is_none());
        let ready = conditions::find(&c, types::READY).cloned();
        assert_eq!(
            ready.map(|r| (r.status, r.reason, r.message)),
            Some((ConditionStatus::True, "Succeeded".into(), "done".into()))
        );
    }

    #[test]
    fn retry_keeps_generation_and_marks_progressing_with_retry() {
        let mut c = Vec::new();
        conditions::mark_reconciling(&mut c, reasons::PROGRESSING, "new gen", 3, now());
        let mut observed = Some(2);
        let err = ReconcileError::retry("GitOperationFailed", "boom");
        summarize(&mut c, &mut observed, 3, &Err(err), now());
        assert_eq!(observed, Some(2));
        let rec = conditions::find(&c, types::RECONCILING).cloned();
        assert_eq!(
            rec.map(|r| (r.reason, r.message)),
            Some(("ProgressingWithRetry".into(), "new gen".into()))
        );
        assert!(conditions::is_false(&c, types::READY));
    }

    #[test]
    fn stalled_sets_generation_and_stalled() {
        let mut c = Vec::new();
        let mut observed = None;
        let err = ReconcileError::stalled("URLInvalid", "bad url");
        summarize(&mut c, &mut observed, 1, &Err(err), now());
        assert_eq!(observed, Some(1));
        assert!(conditions::is_true(&c, types::STALLED));
        assert!(conditions::is_false(&c, types::READY));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RequeuePolicy::default();
        let i = Duration::from_secs(100);
        assert_eq!(p.jittered(i, 0.0), Duration::from_secs(95));
        assert_eq!(p.jittered(i, 1.0), Duration::from_secs(105));
        for _ in 0..100 {
            let d = p.jittered(i, jitter_unit());
            assert!(d >= Duration::from_secs(95) && d <= Duration::from_secs(105));
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RequeuePolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(750));
        assert_eq!(p.backoff(2), Duration::from_millis(1500));
        assert_eq!(p.backoff(100), Duration::from_secs(900));
    }
}
