//! Waiting for Flux objects: upstream's readiness and reconcile-handled checks, polled.

use std::time::Duration;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::cmd::get::find_condition;
use crate::kinds::FluxKind;
use crate::output::Progress;

/// How often objects are polled while waiting (upstream polls every 2s; tests need less).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

fn condition_is(obj: &Value, type_: &str, status: &str) -> bool {
    find_condition(obj, type_)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some(status)
}

fn condition_message(obj: &Value, type_: &str) -> String {
    find_condition(obj, type_)
        .and_then(|c| c.get("message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn observed_generation(obj: &Value) -> i64 {
    obj.pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(-1)
}

/// kstatus for a Flux object whose generation has been observed: `Ok(true)` when current,
/// `Ok(false)` while in progress, an error with the condition's message when failed.
fn kstatus_current(obj: &Value) -> anyhow::Result<bool> {
    if observed_generation(obj) != generation(obj) {
        return Ok(false);
    }
    if condition_is(obj, "Reconciling", "True") {
        return Ok(false);
    }
    if condition_is(obj, "Stalled", "True") {
        anyhow::bail!("{}", condition_message(obj, "Stalled"));
    }
    if condition_is(obj, "Ready", "False") {
        anyhow::bail!("{}", condition_message(obj, "Ready"));
    }
    Ok(true)
}

/// Upstream's `isObjectReady` for objects with a reconciler: generation observed, a Ready
/// condition for it, and kstatus Current.
pub fn is_object_ready(obj: &Value) -> anyhow::Result<bool> {
    if observed_generation(obj) < 1 {
        return Ok(false);
    }
    let Some(ready) = find_condition(obj, "Ready") else {
        return Ok(false);
    };
    let cond_gen = ready
        .get("observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if cond_gen != 0 && cond_gen != generation(obj) {
        return Ok(false);
    }
    kstatus_current(obj)
}

/// The `reconcile.fluxcd.io/requestedAt` value the controller last handled.
pub fn last_handled_reconcile_at(obj: &Value) -> String {
    obj.pointer("/status/lastHandledReconcileAt")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Polls `kind/name` until `done` says so, showing progress as `◎ {what}`; returns the
/// last object read.
pub async fn poll_until(
    cluster: &Cluster,
    kind: &FluxKind,
    namespace: &str,
    name: &str,
    what: &str,
    mut done: impl FnMut(&Value) -> anyhow::Result<bool>,
) -> anyhow::Result<Value> {
    let _progress = Progress::start(what);
    loop {
        let obj = cluster.get_required(kind, namespace, name).await?;
        if done(&obj)? {
            return Ok(obj);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits until the object is Ready (upstream's `isObjectReadyConditionFunc`).
pub async fn until_ready(
    cluster: &Cluster,
    kind: &FluxKind,
    namespace: &str,
    name: &str,
    what: &str,
) -> anyhow::Result<Value> {
    poll_until(cluster, kind, namespace, name, what, is_object_ready).await
}

/// Waits until the controller handled a request newer than `last_handled` and the object is
/// no longer in progress (upstream's `reconciliationHandled`).
pub async fn until_reconciled(
    cluster: &Cluster,
    kind: &FluxKind,
    namespace: &str,
    name: &str,
    what: &str,
    last_handled: &str,
) -> anyhow::Result<Value> {
    poll_until(cluster, kind, namespace, name, what, |obj| {
        if last_handled_reconcile_at(obj) == last_handled {
            return Ok(false);
        }
        if observed_generation(obj) != generation(obj) || condition_is(obj, "Reconciling", "True") {
            return Ok(false);
        }
        if condition_is(obj, "Stalled", "True") {
            anyhow::bail!("{}", condition_message(obj, "Stalled"));
        }
        Ok(true)
    })
    .await
}

/// A reconcile request: sets `reconcile.fluxcd.io/requestedAt` to now (RFC 3339, nanoseconds).
pub async fn request_reconciliation(
    cluster: &Cluster,
    kind: &FluxKind,
    namespace: &str,
    name: &str,
) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now().to_string();
    let patch = serde_json::json!({
        "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": now}}
    });
    cluster.merge_patch(kind, namespace, name, &patch).await?;
    Ok(())
}
