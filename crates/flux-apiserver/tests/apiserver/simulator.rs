//! The workload simulator through kube-rs: workloads become ready, the outcome
//! annotation makes them fail or stay in progress.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

use super::in_process;

async fn wait_for<K, C>(api: &Api<K>, name: &str, cond: C) -> anyhow::Result<K>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    C: kube::runtime::wait::Condition<K>,
{
    let found = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), name, cond),
    )
    .await??;
    found.ok_or_else(|| anyhow::anyhow!("{name} disappeared"))
}

#[tokio::test]
async fn workloads_become_ready_or_fail_on_request() -> anyhow::Result<()> {
    let (server, client) = in_process()?;
    let _sim = server.start_workload_simulator();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let dep = |name: &str, outcome: Option<&str>| -> anyhow::Result<Deployment> {
        let mut v = json!({"metadata": {"name": name},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}});
        if let Some(o) = outcome {
            v["metadata"]["annotations"] = json!({"simulator.flux-rs.io/outcome": o});
        }
        Ok(serde_json::from_value(v)?)
    };
    deploys
        .create(&PostParams::default(), &dep("ok", None)?)
        .await?;
    let ready = wait_for(&deploys, "ok", conditions::is_deployment_completed()).await?;
    let status = ready.status.unwrap_or_default();
    assert_eq!(
        (
            status.ready_replicas,
            status.available_replicas,
            status.observed_generation
        ),
        (Some(3), Some(3), Some(1))
    );

    deploys
        .create(&PostParams::default(), &dep("bad", Some("fail"))?)
        .await?;
    let failed = wait_for(&deploys, "bad", |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c.type_ == "Progressing"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                })
            })
    })
    .await?;
    assert_eq!(failed.status.and_then(|s| s.ready_replicas), None);

    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    jobs.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "j"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}))?)
        .await?;
    wait_for(&jobs, "j", conditions::is_job_completed()).await?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))?,
    )
    .await?;
    wait_for(&pods, "p", conditions::is_pod_running()).await?;

    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "default");
    pvcs.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))?)
        .await?;
    wait_for(&pvcs, "data", |p: Option<&PersistentVolumeClaim>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Bound")
    })
    .await?;

    let svcs: Api<Service> = Api::namespaced(client, "default");
    let svc = svcs
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "ok"}, "ports": [{"port": 80}]}}))?)
        .await?;
    assert!(
        svc.spec
            .as_ref()
            .and_then(|s| s.cluster_ip.as_deref())
            .is_some_and(|ip| ip.starts_with("10.96."))
    );
    wait_for(
        &svcs,
        "lb",
        conditions::is_service_loadbalancer_provisioned(),
    )
    .await?;
    Ok(())
}
