//! Deletion semantics: Foreground (the `foregroundDeletion` finalizer, blockOwnerDeletion),
//! Orphan (the `orphan` finalizer), pod grace periods, the simulator's ReplicaSets and Pods
//! for Deployments and their garbage collection, and managedFields sent on create.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::in_process;

fn owned_cm(
    name: &str,
    owner: &ConfigMap,
    block: bool,
    finalizer: bool,
) -> anyhow::Result<ConfigMap> {
    let mut v = json!({"metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid,
        "blockOwnerDeletion": block}]}});
    if finalizer {
        v["metadata"]["finalizers"] = json!(["example.com/hold"]);
    }
    Ok(serde_json::from_value(v)?)
}

fn cm(name: &str) -> anyhow::Result<ConfigMap> {
    Ok(serde_json::from_value(json!({"metadata": {"name": name}}))?)
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = cms.create(&PostParams::default(), &cm("owner")?).await?;
    cms.create(
        &PostParams::default(),
        &owned_cm("plain", &owner, true, false)?,
    )
    .await?;
    cms.create(
        &PostParams::default(),
        &owned_cm("held", &owner, true, true)?,
    )
    .await?;

    let answer = cms
        .delete("owner", &DeleteParams::foreground())
        .await?
        .left()
        .ok_or_else(|| anyhow::anyhow!("the owner should still exist"))?;
    assert_eq!(
        answer.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    assert!(answer.metadata.deletion_timestamp.is_some());
    // The plain dependent is gone, the held one is being deleted, the owner waits.
    assert!(cms.get_opt("plain").await?.is_none());
    let held = cms.get("held").await?;
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(cms.get_opt("owner").await?.is_some());

    // Releasing the blocking dependent lets the owner go.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert!(cms.get_opt("held").await?.is_none());
    assert!(cms.get_opt("owner").await?.is_none(), "owner released");
    Ok(())
}

#[tokio::test]
async fn foreground_without_blocking_dependents_and_orphan() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let owner = cms.create(&PostParams::default(), &cm("o1")?).await?;
    // A non-blocking dependent with a finalizer does not hold the owner.
    cms.create(
        &PostParams::default(),
        &owned_cm("d1", &owner, false, true)?,
    )
    .await?;
    let answer = cms.delete("o1", &DeleteParams::foreground()).await?;
    assert!(answer.is_right(), "owner deleted at once: {answer:?}");
    assert!(cms.get("d1").await?.metadata.deletion_timestamp.is_some());

    // Orphan: the dependent stays, without its ownerReference; with another finalizer the
    // owner stays too, and its dependents are orphaned at once.
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "o2", "finalizers": ["example.com/keep"]}}),
            )?,
        )
        .await?;
    cms.create(
        &PostParams::default(),
        &owned_cm("d2", &owner, true, false)?,
    )
    .await?;
    let answer = cms
        .delete("o2", &DeleteParams::orphan())
        .await?
        .left()
        .ok_or_else(|| anyhow::anyhow!("o2 has a finalizer"))?;
    assert_eq!(
        answer.metadata.finalizers,
        Some(vec!["example.com/keep".to_string()]),
        "the orphan finalizer is done at once"
    );
    let d2 = cms.get("d2").await?;
    assert_eq!(d2.metadata.owner_references, None);
    cms.patch(
        "o2",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert!(cms.get_opt("o2").await?.is_none());
    assert!(cms.get_opt("d2").await?.is_some(), "orphan survives");
    Ok(())
}

#[tokio::test]
async fn pod_grace_period_is_honoured() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod = |name: &str| -> anyhow::Result<Pod> {
        Ok(serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 45,
                     "containers": [{"name": "c", "image": "busybox"}]}}))?)
    };
    pods.create(&PostParams::default(), &pod("slow")?).await?;
    let marked = pods
        .delete("slow", &DeleteParams::default())
        .await?
        .left()
        .ok_or_else(|| anyhow::anyhow!("a scheduled pod terminates gracefully"))?;
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(45));
    let when = marked
        .metadata
        .deletion_timestamp
        .ok_or_else(|| anyhow::anyhow!("no deletionTimestamp"))?;
    let ahead = when.0.as_second() - jiff::Timestamp::now().as_second();
    assert!(
        (40..=46).contains(&ahead),
        "deletionTimestamp {ahead}s ahead"
    );
    // gracePeriodSeconds=0 finishes it.
    let gone = pods
        .delete(
            "slow",
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            },
        )
        .await?;
    assert!(gone.is_left(), "pods answer with the object");
    assert!(pods.get_opt("slow").await?.is_none());

    // An explicit grace period wins over the pod's; invalid DeleteOptions are a 400.
    pods.create(&PostParams::default(), &pod("fast")?).await?;
    let marked = pods
        .delete(
            "fast",
            &DeleteParams {
                grace_period_seconds: Some(5),
                ..DeleteParams::default()
            },
        )
        .await?
        .left()
        .ok_or_else(|| anyhow::anyhow!("still terminating"))?;
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(5));
    Ok(())
}

#[tokio::test]
async fn deployments_get_replicasets_and_pods_that_gc_removes() -> anyhow::Result<()> {
    let (server, client) = in_process()?;
    let _sim = server.start_workload_simulator();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let dep: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}))?;
    let dep = deploys.create(&PostParams::default(), &dep).await?;
    let pods_of = |n: usize| {
        let pods = pods.clone();
        async move {
            for _ in 0..100 {
                let list = pods.list(&ListParams::default().labels("app=web")).await?;
                let live: Vec<Pod> = list
                    .items
                    .into_iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                if live.len() == n {
                    return Ok::<_, anyhow::Error>(live);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::bail!("never saw {n} pods")
        }
    };
    let first = pods_of(2).await?;
    let rs_list = rss.list(&ListParams::default()).await?.items;
    assert_eq!(rs_list.len(), 1);
    let rs = &rs_list[0];
    let hash = rs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no pod-template-hash"))?;
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    let rs_owner = &rs.metadata.owner_references.as_ref().map(|r| r[0].clone());
    assert_eq!(
        rs_owner.as_ref().map(|r| r.uid.clone()),
        dep.metadata.uid.clone()
    );
    assert_eq!(
        rs_owner.as_ref().and_then(|r| r.block_owner_deletion),
        Some(true)
    );
    for p in &first {
        let owner = p.metadata.owner_references.as_ref().map(|r| r[0].clone());
        assert_eq!(owner.as_ref().map(|r| r.kind.as_str()), Some("ReplicaSet"));
        assert_eq!(
            p.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash")),
            Some(&hash)
        );
        assert!(
            p.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(&format!("web-{hash}-")))
        );
    }
    // Scaling and a new template: a second ReplicaSet, the first scaled to 0.
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}})),
        )
        .await?;
    let second = pods_of(3).await?;
    assert!(second.iter().all(|p| {
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-template-hash"))
            != Some(&hash)
    }));
    assert_eq!(rss.list(&ListParams::default()).await?.items.len(), 2);
    // A deleted pod is replaced.
    let victim = second[0].metadata.name.clone().unwrap_or_default();
    pods.delete(&victim, &DeleteParams::default()).await?;
    let replaced = pods_of(3).await?;
    assert!(
        replaced
            .iter()
            .all(|p| p.metadata.name.as_deref() != Some(victim.as_str()))
    );
    // Deleting the Deployment removes its ReplicaSets and Pods (background GC).
    deploys.delete("web", &DeleteParams::background()).await?;
    for _ in 0..100 {
        if rss.list(&ListParams::default()).await?.items.is_empty()
            && pods
                .list(&ListParams::default().labels("app=web"))
                .await?
                .items
                .is_empty()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("ReplicaSets or Pods left after the Deployment was deleted")
}

#[tokio::test]
async fn managed_fields_sent_on_create_are_honoured() -> anyhow::Result<()> {
    let (_server, client) = in_process()?;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let sent: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "imported", "labels": {"team": "a"},
            "managedFields": [
                {"manager": "old-tool", "operation": "Apply", "apiVersion": "v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:gone": {}, "f:a": {}}}},
                {"manager": "other", "operation": "Update", "apiVersion": "v1",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}]},
        "data": {"a": "1"}}))?;
    let created = cms
        .create(
            &PostParams {
                field_manager: Some("creator".into()),
                ..PostParams::default()
            },
            &sent,
        )
        .await?;
    let entries: Vec<(String, String, serde_json::Value)> = created
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.manager.unwrap_or_default(),
                e.operation.unwrap_or_default(),
                serde_json::to_value(e.fields_v1).unwrap_or_default(),
            )
        })
        .collect();
    // The creator owns what it set; old-tool keeps only the field the object lacks;
    // "other" owned only fields the creator took and is gone.
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].0, "old-tool");
    assert_eq!(entries[0].2, json!({"f:data": {"f:gone": {}}}));
    assert_eq!(entries[1].0, "creator");
    assert_eq!(entries[1].1, "Update");
    assert_eq!(
        entries[1].2,
        json!({"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:team": {}}}})
    );
    Ok(())
}

#[tokio::test]
async fn statefulsets_daemonsets_and_jobs_get_pods() -> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    let (server, client) = in_process()?;
    let _sim = server.start_workload_simulator();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let template = |app: &str| {
        json!({"metadata": {"labels": {"app": app}},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    };
    let sts: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "db"},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": template("db"),
                 "volumeClaimTemplates": [{"metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}))?;
    Api::<StatefulSet>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &sts)
        .await?;
    let ds: DaemonSet = serde_json::from_value(json!({"metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")}}))?;
    Api::<DaemonSet>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &ds)
        .await?;
    let mut job_template = template("once");
    job_template["spec"]["restartPolicy"] = json!("Never");
    let job: Job = serde_json::from_value(json!({"metadata": {"name": "once"},
        "spec": {"completions": 2, "template": job_template}}))?;
    Api::<Job>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &job)
        .await?;
    let phases = |app: &'static str| {
        let pods = pods.clone();
        async move {
            let list = pods
                .list(&ListParams::default().labels(&format!("app={app}")))
                .await?;
            let mut out: Vec<(String, String)> = list
                .items
                .into_iter()
                .map(|p| {
                    (
                        p.metadata.name.unwrap_or_default(),
                        p.status.and_then(|s| s.phase).unwrap_or_default(),
                    )
                })
                .collect();
            out.sort();
            Ok::<_, anyhow::Error>(out)
        }
    };
    for _ in 0..100 {
        let db = phases("db").await?;
        let agent = phases("agent").await?;
        let once = phases("once").await?;
        let ready = db.len() == 2
            && db.iter().all(|(_, p)| p == "Running")
            && agent.len() == 1
            && agent[0].1 == "Running"
            && once.len() == 2
            && once.iter().all(|(_, p)| p == "Succeeded");
        if ready {
            assert_eq!(
                db.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                ["db-0", "db-1"]
            );
            assert!(agent[0].0.starts_with("agent-"));
            let pvcs = Api::<PersistentVolumeClaim>::namespaced(client.clone(), "default")
                .list(&ListParams::default())
                .await?;
            let mut names: Vec<String> = pvcs
                .items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .collect();
            names.sort();
            assert_eq!(names, ["data-db-0", "data-db-1"]);
            // Deleting the StatefulSet removes its Pods but keeps the PVCs, as upstream.
            Api::<StatefulSet>::namespaced(client.clone(), "default")
                .delete("db", &DeleteParams::default())
                .await?;
            assert!(phases("db").await?.is_empty());
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!(
        "pods never settled: db {:?}, agent {:?}, once {:?}",
        phases("db").await?,
        phases("agent").await?,
        phases("once").await?
    )
}
