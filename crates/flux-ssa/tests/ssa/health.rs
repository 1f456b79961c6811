//! Waiting for health: kstatus of live objects, custom CEL health checks, timeouts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flux_api::meta::CustomHealthCheck;
use flux_ssa::{ApplyOptions, HealthCheckExprs, Inventory, Status, WaitError, WaitOptions};
use serde_json::json;

use super::{deployment, dynamic, setup, write_status};

fn quick(timeout_ms: u64) -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(timeout_ms),
        ..WaitOptions::default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn wait_times_out_with_kstatus_message_then_succeeds() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let options = ApplyOptions::kustomize_controller("kustomize-controller", false);
    let applied = manager
        .apply_all_staged(vec![deployment("default", "app", 2, "nginx")], &options)
        .await?;
    let ids = Inventory::from_change_set(&applied).entries().to_vec();

    let started = Instant::now();
    let err = manager
        .wait_for_set(&ids, &quick(400))
        .await
        .expect_err("never ready");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(started.elapsed() < Duration::from_secs(5));
    let WaitError::Timeout { failures } = &err else {
        anyhow::bail!("expected a timeout, got {err}");
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].status, Status::InProgress);
    assert_eq!(
        err.to_string(),
        "timeout waiting for: [Deployment/default/app status: 'InProgress': Replicas: 0/2]"
    );

    // A controller (here, a task on the same single-threaded runtime: the wait must not
    // block it) makes the Deployment available while we wait.
    let deployments = dynamic(&client, "apps/v1", "Deployment", "deployments", "default");
    let writer = {
        let deployments = deployments.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            write_status(
                &deployments,
                "app",
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                       "readyReplicas": 2, "availableReplicas": 2,
                       "conditions": [
                           {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}),
            )
            .await
        })
    };
    manager.wait_for_set(&ids, &quick(5000)).await?;
    writer.await??;

    // A failed rollout ends the wait early with the Failed status.
    write_status(
        &deployments,
        "app",
        json!({"conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"app-1\" has timed out progressing."}]}),
    )
    .await?;
    let started = Instant::now();
    let err = manager
        .wait_for_set(&ids, &quick(10_000))
        .await
        .expect_err("failed");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "must not wait for the timeout"
    );
    assert!(matches!(err, WaitError::Failed { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "failed early due to stalled resources: [Deployment/default/app status: 'Failed': Progress deadline exceeded]"
    );
    Ok(())
}

#[tokio::test]
async fn custom_resources_use_ready_or_health_check_exprs() -> anyhow::Result<()> {
    let (_server, client, manager) = setup()?;
    let options = ApplyOptions::kustomize_controller("kustomize-controller", false);
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "databases.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "databases", "singular": "database", "kind": "Database"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                   "x-kubernetes-preserve-unknown-fields": true}}}]}
    });
    let db = json!({"apiVersion": "example.com/v1", "kind": "Database",
                    "metadata": {"name": "db", "namespace": "default"}, "spec": {"size": 1}});
    let applied = manager.apply_all_staged(vec![crd, db], &options).await?;
    let ids: Vec<_> = Inventory::from_change_set(&applied)
        .entries()
        .iter()
        .filter(|e| e.id.kind == "Database")
        .cloned()
        .collect();
    let dbs = dynamic(
        &client,
        "example.com/v1",
        "Database",
        "databases",
        "default",
    );

    // No status: built-in kstatus calls a custom resource without conditions Current.
    manager.wait_for_set(&ids, &quick(500)).await?;

    // Ready=False is InProgress.
    write_status(&dbs, "db", json!({"phase": "Provisioning", "conditions": [
        {"type": "Ready", "status": "False", "reason": "Provisioning", "message": "creating volume"}]}))
    .await?;
    let err = manager
        .wait_for_set(&ids, &quick(200))
        .await
        .expect_err("not ready");
    assert!(
        err.to_string()
            .contains("status: 'InProgress': creating volume"),
        "{err}"
    );

    // Custom expressions take over for this kind.
    let exprs = HealthCheckExprs::new(&[CustomHealthCheck {
        api_version: "example.com/v1".into(),
        kind: Some("Database".into()),
        current: "status.phase == 'Running'".into(),
        in_progress: Some("status.phase == 'Provisioning'".into()),
        failed: Some("status.phase == 'Error'".into()),
    }])?;
    let with_exprs = WaitOptions {
        health_check_exprs: Some(Arc::new(exprs)),
        ..quick(200)
    };
    let err = manager
        .wait_for_set(&ids, &with_exprs)
        .await
        .expect_err("provisioning");
    assert_eq!(err.failures()[0].status, Status::InProgress);
    write_status(&dbs, "db", json!({"phase": "Error"})).await?;
    let err = manager
        .wait_for_set(&ids, &with_exprs)
        .await
        .expect_err("error");
    assert!(matches!(err, WaitError::Failed { .. }), "{err}");
    write_status(&dbs, "db", json!({"phase": "Running"})).await?;
    manager.wait_for_set(&ids, &with_exprs).await?;

    // A missing object is NotFound.
    let mut gone = ids.clone();
    gone[0].id.name = "nope".into();
    let err = manager
        .wait_for_set(&gone, &quick(150))
        .await
        .expect_err("not found");
    assert_eq!(err.failures()[0].status, Status::NotFound);
    Ok(())
}

#[test]
fn health_check_exprs_order_and_errors() -> anyhow::Result<()> {
    let check =
        |current: &str, in_progress: Option<&str>, failed: Option<&str>| CustomHealthCheck {
            api_version: "example.com/v1".into(),
            kind: Some("Thing".into()),
            current: current.into(),
            in_progress: in_progress.map(String::from),
            failed: failed.map(String::from),
        };
    let object = |phase: &str, generation: i64, observed: i64| {
        json!({"apiVersion": "example.com/v1", "kind": "Thing",
               "metadata": {"name": "t", "generation": generation},
               "status": {"phase": phase, "observedGeneration": observed}})
    };
    // inProgress wins over failed and current when several are true.
    let exprs = HealthCheckExprs::new(&[check("true", Some("status.phase != ''"), Some("true"))])?;
    assert_eq!(
        exprs.status_of(&object("x", 1, 1)).status,
        Status::InProgress
    );
    let exprs =
        HealthCheckExprs::new(&[check("true", Some("false"), Some("status.phase == 'Bad'"))])?;
    assert_eq!(exprs.status_of(&object("Bad", 1, 1)).status, Status::Failed);
    assert_eq!(
        exprs.status_of(&object("Good", 1, 1)).status,
        Status::Current
    );
    // An old observedGeneration is InProgress before any expression.
    assert_eq!(
        exprs.status_of(&object("Good", 2, 1)).status,
        Status::InProgress
    );
    // None true: InProgress.
    let exprs = HealthCheckExprs::new(&[check("false", None, None)])?;
    assert_eq!(
        exprs.status_of(&object("x", 1, 1)).status,
        Status::InProgress
    );
    // Kind-specific entries do not apply to other kinds: built-in kstatus does.
    let mut other = object("x", 1, 1);
    other["kind"] = json!("Other");
    assert_eq!(exprs.status_of(&other).status, Status::Current);
    // Errors: parse errors at compile time, non-boolean results at evaluation time.
    let err = HealthCheckExprs::new(&[check("status.phase ==", None, None)]).expect_err("parse");
    assert!(
        err.to_string()
            .starts_with("healthCheckExprs[0].current: failed to parse"),
        "{err}"
    );
    let err = HealthCheckExprs::new(&[check("  ", None, None)]).expect_err("missing current");
    assert!(
        err.to_string().contains("expression current not specified"),
        "{err}"
    );
    let exprs = HealthCheckExprs::new(&[check("status.phase", None, None)])?;
    let result = exprs.status_of(&object("x", 1, 1));
    assert_eq!(result.status, Status::Unknown);
    assert!(
        result.message.contains("not a boolean"),
        "{}",
        result.message
    );
    Ok(())
}
