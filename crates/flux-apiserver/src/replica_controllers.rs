//! The parts of kube-controller-manager the workload simulator plays: a Deployment owns one
//! ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`, scaled to
//! `spec.replicas`, older ones scaled to 0 and pruned beyond `revisionHistoryLimit`), a
//! ReplicaSet owns `spec.replicas` Pods (`<replicaset>-<5 random chars>`), a StatefulSet
//! owns Pods `<name>-0…` (and the PVCs of its `volumeClaimTemplates`), a DaemonSet one Pod
//! for the one simulated node, and a Job `completions` Pods that succeed. Owner references
//! carry `controller: true` and `blockOwnerDeletion: true`, so garbage collection removes
//! them with their owner, as in a real cluster. The simulator's outcome annotation is
//! passed on from an owner to what it creates.

use serde_json::{Map, Value, json};

use crate::object_meta::{is_deleting, meta_str, name_suffix, uid};
use crate::request::Query;
use crate::server::Api;
use crate::verbs::{self, DeleteOptions, PatchBody};

/// The label a Deployment's ReplicaSets and Pods carry.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

fn query() -> Query {
    Query {
        field_manager: Some(crate::simulator::FIELD_MANAGER.to_string()),
        ..Query::default()
    }
}

/// upstream's hash of a pod template: FNV-1a (32 bit) of the template, written with the
/// "safe" alphabet (no vowels, no look-alike characters).
pub fn pod_template_hash(template: &Value) -> String {
    let text = serde_json::to_string(template).unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string()
        .bytes()
        .map(|d| ALPHABET[usize::from(d - b'0') % ALPHABET.len()] as char)
        .collect()
}

fn controller_ref(kind: &str, api_version: &str, owner: &Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta_str(owner, "name"),
           "uid": uid(owner), "controller": true, "blockOwnerDeletion": true})
}

fn controlled_by(obj: &Value, owner_uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(owner_uid)
                    && r.get("controller").and_then(Value::as_bool) == Some(true)
            })
        })
}

fn with_label(labels: Option<&Value>, key: &str, value: &str) -> Value {
    let mut map = labels
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    map.insert(key.to_string(), json!(value));
    Value::Object(map)
}

/// The owner's outcome annotation, for the objects it creates.
fn outcome_annotation(owner: &Value) -> Option<(String, Value)> {
    owner
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(crate::simulator::OUTCOME_ANNOTATION))
        .map(|v| (crate::simulator::OUTCOME_ANNOTATION.to_string(), v.clone()))
}

/// A Pod from `template`, owned by `owner` (`kind`), with extra labels.
fn pod_from_template(
    template: &Value,
    owner: &Value,
    kind: &str,
    api_version: &str,
    name: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut metadata = template
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    metadata.insert("name".into(), json!(name));
    let mut labels = metadata
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), json!(v));
    }
    metadata.insert("labels".into(), Value::Object(labels));
    if let Some((k, v)) = outcome_annotation(owner) {
        let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(k, v);
        }
    }
    metadata.insert(
        "ownerReferences".into(),
        json!([controller_ref(kind, api_version, owner)]),
    );
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
           "spec": template.get("spec").cloned().unwrap_or(json!({}))})
}

fn create_in(api: &Api, group: &str, plural: &str, ns: &str, obj: Value) {
    if let Some(def) = api.registry.get(group, "v1", plural) {
        // AlreadyExists or a terminating namespace: the next event brings the new state.
        let _ = verbs::create(api, &def, Some(ns), obj, &query());
    }
}

fn delete_now(api: &Api, group: &str, plural: &str, ns: &str, name: &str) {
    if let Some(def) = api.registry.get(group, "v1", plural) {
        let opts = DeleteOptions {
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        let _ = verbs::delete(api, &def, Some(ns), name, &opts);
    }
}

/// The live Pods `owner_uid` controls in `ns`.
fn owned_pods(api: &Api, ns: &str, owner_uid: &str) -> Vec<std::sync::Arc<Value>> {
    let (pods, _) = api.store.list("/pods", Some(ns), None);
    pods.into_iter()
        .filter(|p| controlled_by(p, owner_uid) && !is_deleting(p))
        .collect()
}

/// Keep a StatefulSet's Pods `<name>-0 … <name>-(n-1)` at the current template revision,
/// and create the PVCs of its `volumeClaimTemplates`.
pub fn reconcile_statefulset(api: &Api, sts: &Value) {
    if is_deleting(sts) {
        return;
    }
    let ns = meta_str(sts, "namespace").to_string();
    let name = meta_str(sts, "name").to_string();
    let template = sts.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let revision = format!("{name}-{}", pod_template_hash(&template));
    let want = usize::try_from(
        sts.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0),
    )
    .unwrap_or(0);
    let pods = owned_pods(api, &ns, uid(sts));
    for pod in &pods {
        let pod_name = meta_str(pod, "name");
        let ordinal = pod_name
            .strip_prefix(&format!("{name}-"))
            .and_then(|o| o.parse::<usize>().ok());
        let current = pod
            .pointer("/metadata/labels/controller-revision-hash")
            .and_then(Value::as_str)
            == Some(revision.as_str());
        if ordinal.is_none_or(|o| o >= want) || !current {
            delete_now(api, "", "pods", &ns, pod_name);
        }
    }
    let claims: Vec<Value> = sts
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for i in 0..want {
        let pod_name = format!("{name}-{i}");
        let mut pod = pod_from_template(
            &template,
            sts,
            "StatefulSet",
            "apps/v1",
            &pod_name,
            &[
                ("controller-revision-hash", revision.clone()),
                ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                ("apps.kubernetes.io/pod-index", i.to_string()),
            ],
        );
        pod["spec"]["hostname"] = json!(pod_name);
        for claim in &claims {
            let claim_name = claim
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("data");
            let pvc_name = format!("{claim_name}-{pod_name}");
            let mut pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": pvc_name,
                    "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({}))},
                "spec": claim.get("spec").cloned().unwrap_or(json!({}))});
            if let Some(m) = pvc["metadata"].as_object_mut() {
                m.retain(|_, v| !v.is_null());
            }
            if api
                .store
                .get(&(
                    "/persistentvolumeclaims".to_string(),
                    ns.clone(),
                    pvc_name.clone(),
                ))
                .is_none()
            {
                create_in(api, "", "persistentvolumeclaims", &ns, pvc);
            }
        }
        if api
            .store
            .get(&("/pods".to_string(), ns.clone(), pod_name.clone()))
            .is_none()
        {
            create_in(api, "", "pods", &ns, pod.take());
        }
    }
}

/// A DaemonSet runs one Pod on the one simulated node.
pub fn reconcile_daemonset(api: &Api, ds: &Value) {
    if is_deleting(ds) {
        return;
    }
    let ns = meta_str(ds, "namespace").to_string();
    let name = meta_str(ds, "name").to_string();
    let template = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let revision = pod_template_hash(&template);
    let pods = owned_pods(api, &ns, uid(ds));
    let mut current = 0;
    for pod in &pods {
        let same = pod
            .pointer("/metadata/labels/controller-revision-hash")
            .and_then(Value::as_str)
            == Some(revision.as_str());
        if same && current == 0 {
            current += 1;
        } else {
            delete_now(api, "", "pods", &ns, meta_str(pod, "name"));
        }
    }
    if current == 0 {
        let generation = ds
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let pod = pod_from_template(
            &template,
            ds,
            "DaemonSet",
            "apps/v1",
            &format!("{name}-{}", name_suffix()),
            &[
                ("controller-revision-hash", revision),
                ("pod-template-generation", generation.to_string()),
            ],
        );
        create_in(api, "", "pods", &ns, pod);
    }
}

/// A Job runs `completions` Pods (the simulator completes them).
pub fn reconcile_job(api: &Api, job: &Value) {
    if is_deleting(job) {
        return;
    }
    let ns = meta_str(job, "namespace").to_string();
    let name = meta_str(job, "name").to_string();
    let want = usize::try_from(
        job.pointer("/spec/completions")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0),
    )
    .unwrap_or(0);
    let (pods, _) = api.store.list("/pods", Some(&ns), None);
    let have = pods.iter().filter(|p| controlled_by(p, uid(job))).count();
    let template = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let job_uid = uid(job).to_string();
    for _ in have..want {
        let pod = pod_from_template(
            &template,
            job,
            "Job",
            "batch/v1",
            &format!("{name}-{}", name_suffix()),
            &[
                ("job-name", name.clone()),
                ("batch.kubernetes.io/job-name", name.clone()),
                ("controller-uid", job_uid.clone()),
                ("batch.kubernetes.io/controller-uid", job_uid.clone()),
            ],
        );
        create_in(api, "", "pods", &ns, pod);
    }
}

fn merge_patch(api: &Api, group: &str, plural: &str, ns: &str, name: &str, patch: &Value) {
    let Some(def) = api.registry.get(group, "v1", plural) else {
        return;
    };
    let body = patch.to_string();
    // A conflict or a vanished object is fine: the next event brings the new state.
    let _ = verbs::patch(
        api,
        &def,
        Some(ns),
        name,
        None,
        PatchBody {
            content_type: Some("application/merge-patch+json"),
            body: body.as_bytes(),
        },
        &query(),
    );
}

/// Keep a Deployment's ReplicaSets in line with its spec.
pub fn reconcile_deployment(api: &Api, deployment: &Value) {
    if is_deleting(deployment) {
        return;
    }
    let Some(rs_def) = api.registry.get("apps", "v1", "replicasets") else {
        return;
    };
    let ns = meta_str(deployment, "namespace").to_string();
    let name = meta_str(deployment, "name").to_string();
    let owner_uid = uid(deployment).to_string();
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let hash = pod_template_hash(&template);
    let replicas = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let (owned, _) = api.store.list("apps/replicasets", Some(&ns), None);
    let owned: Vec<_> = owned
        .into_iter()
        .filter(|rs| controlled_by(rs, &owner_uid))
        .collect();
    let rs_name = format!("{name}-{hash}");
    let revision = owned
        .iter()
        .filter_map(|rs| {
            rs.pointer("/metadata/annotations")
                .and_then(|a| a.get(REVISION_ANNOTATION))
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0);
    let current = owned.iter().find(|rs| meta_str(rs, "name") == rs_name);
    match current {
        None => {
            let mut template = template.clone();
            let pod_labels = with_label(
                template.pointer("/metadata/labels"),
                POD_TEMPLATE_HASH,
                &hash,
            );
            if let Some(t) = template.as_object_mut() {
                let meta = t.entry("metadata").or_insert_with(|| json!({}));
                if let Some(m) = meta.as_object_mut() {
                    m.insert("labels".into(), pod_labels.clone());
                }
            }
            let match_labels = with_label(
                deployment.pointer("/spec/selector/matchLabels"),
                POD_TEMPLATE_HASH,
                &hash,
            );
            let mut selector = deployment
                .pointer("/spec/selector")
                .cloned()
                .unwrap_or(json!({}));
            selector["matchLabels"] = match_labels;
            let mut rs = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns, "labels": pod_labels,
                    "annotations": {REVISION_ANNOTATION: (revision + 1).to_string(),
                        "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                        "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string()},
                    "ownerReferences": [controller_ref("Deployment", "apps/v1", deployment)]},
                "spec": {"replicas": replicas, "selector": selector, "template": template,
                    "minReadySeconds": deployment.pointer("/spec/minReadySeconds").cloned().unwrap_or(json!(0))},
            });
            if let Some((k, v)) = outcome_annotation(deployment) {
                rs["metadata"]["annotations"][k] = v;
            }
            let _ = verbs::create(api, &rs_def, Some(&ns), rs, &query());
        }
        Some(rs) => {
            if rs.pointer("/spec/replicas").and_then(Value::as_i64) != Some(replicas) {
                merge_patch(
                    api,
                    "apps",
                    "replicasets",
                    &ns,
                    &rs_name,
                    &json!({"metadata": {"annotations": {"deployment.kubernetes.io/desired-replicas": replicas.to_string()}},
                            "spec": {"replicas": replicas}}),
                );
            }
        }
    }
    // Older ReplicaSets are scaled down and kept for rollback, up to revisionHistoryLimit.
    let limit = usize::try_from(
        deployment
            .pointer("/spec/revisionHistoryLimit")
            .and_then(Value::as_i64)
            .unwrap_or(10)
            .max(0),
    )
    .unwrap_or(10);
    let mut old: Vec<_> = owned
        .iter()
        .filter(|rs| meta_str(rs, "name") != rs_name)
        .collect();
    old.sort_by_key(|rs| {
        rs.pointer("/metadata/annotations")
            .and_then(|a| a.get(REVISION_ANNOTATION))
            .and_then(Value::as_str)
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(0)
    });
    if old.len() > limit {
        for rs in &old[..old.len() - limit] {
            let idle = rs
                .pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                == 0
                && rs.pointer("/spec/replicas").and_then(Value::as_i64) == Some(0);
            if idle {
                delete_now(api, "apps", "replicasets", &ns, meta_str(rs, "name"));
            }
        }
    }
    for rs in &owned {
        let old_name = meta_str(rs, "name");
        if old_name != rs_name && rs.pointer("/spec/replicas").and_then(Value::as_i64) != Some(0) {
            merge_patch(
                api,
                "apps",
                "replicasets",
                &ns,
                old_name,
                &json!({"spec": {"replicas": 0}}),
            );
        }
    }
}

/// Keep a ReplicaSet's Pods at `spec.replicas`.
pub fn reconcile_replicaset(api: &Api, rs: &Value) {
    if is_deleting(rs) {
        return;
    }
    let Some(pod_def) = api.registry.get("", "v1", "pods") else {
        return;
    };
    let ns = meta_str(rs, "namespace").to_string();
    let name = meta_str(rs, "name").to_string();
    let owner_uid = uid(rs).to_string();
    let want = rs
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0);
    let (pods, _) = api.store.list("/pods", Some(&ns), None);
    let mut owned: Vec<_> = pods
        .into_iter()
        .filter(|p| controlled_by(p, &owner_uid) && !is_deleting(p))
        .collect();
    let have = i64::try_from(owned.len()).unwrap_or(i64::MAX);
    if have < want {
        let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        for _ in have..want {
            let mut pod = pod_from_template(
                &template,
                rs,
                "ReplicaSet",
                "apps/v1",
                &format!("{name}-{}", name_suffix()),
                &[],
            );
            pod["metadata"]["generateName"] = json!(format!("{name}-"));
            let _ = verbs::create(api, &pod_def, Some(&ns), pod, &query());
        }
    } else if have > want {
        // The newest go first, as the ReplicaSet controller prefers.
        owned
            .sort_by(|a, b| meta_str(b, "creationTimestamp").cmp(meta_str(a, "creationTimestamp")));
        let excess = usize::try_from(have - want).unwrap_or(0);
        for pod in owned.iter().take(excess) {
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                ..DeleteOptions::default()
            };
            let _ = verbs::delete(api, &pod_def, Some(&ns), meta_str(pod, "name"), &opts);
        }
    }
}

/// The kubelet's last step: a pod whose grace period started and that holds no finalizers
/// goes away (the simulated containers stop at once).
pub fn finish_pod_deletion(api: &Api, pod: &Value) {
    let graceful = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g > 0);
    let has_finalizers = pod
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if !is_deleting(pod) || !graceful || has_finalizers {
        return;
    }
    let Some(pod_def) = api.registry.get("", "v1", "pods") else {
        return;
    };
    let ns = meta_str(pod, "namespace").to_string();
    let opts = DeleteOptions {
        grace_period_seconds: Some(0),
        precondition_uid: Some(uid(pod).to_string()),
        ..DeleteOptions::default()
    };
    let _ = verbs::delete(api, &pod_def, Some(&ns), meta_str(pod, "name"), &opts);
}

#[cfg(test)]
mod tests {
    use super::pod_template_hash;
    use serde_json::json;

    #[test]
    fn template_hash_is_stable_and_safe() {
        let a = pod_template_hash(&json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}));
        let b = pod_template_hash(&json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}));
        let c = pod_template_hash(&json!({"spec": {"containers": [{"name": "a", "image": "y"}]}}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(
            a.chars()
                .all(|ch| "bcdfghjklmnpqrstvwxz2456789".contains(ch)),
            "{a}"
        );
    }
}
