//! The workload simulator (in the spirit of kwok): moves Deployments, ReplicaSets,
//! StatefulSets, DaemonSets, Jobs, Pods, PVCs and LoadBalancer Services to the status a
//! healthy cluster reports, so health checks, `kubectl wait` and `rollout status` finish.
//!
//! The annotation [`OUTCOME_ANNOTATION`] changes the outcome of one object:
//! `fail` (Deployment: ProgressDeadlineExceeded; Job: Failed; Pod: Failed; PVC: Lost) or
//! `progressing` (never becomes ready; PVC stays Pending).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::object_meta::{is_deleting, meta_str, now_rfc3339};
use crate::replica_controllers;
use crate::request::Query;
use crate::server::Api;
use crate::store::{EventType, StoredEvent};
use crate::verbs::{self, PatchBody};

/// `simulator.flux-rs.io/outcome: fail | progressing`.
pub const OUTCOME_ANNOTATION: &str = "simulator.flux-rs.io/outcome";

/// The field manager of the simulator's status writes.
pub const FIELD_MANAGER: &str = "flux-apiserver-simulator";

const SIMULATED: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("", "pods"),
    ("", "persistentvolumeclaims"),
    ("", "services"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Healthy,
    Fail,
    Progressing,
}

fn outcome(obj: &Value) -> Outcome {
    match obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(OUTCOME_ANNOTATION))
        .and_then(Value::as_str)
    {
        Some("fail") => Outcome::Fail,
        Some("progressing") => Outcome::Progressing,
        _ => Outcome::Healthy,
    }
}

fn int(obj: &Value, pointer: &str, default: i64) -> i64 {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

/// Conditions keep their transition time while their status does not change (so a
/// repeated pass writes nothing and the simulator does not loop).
fn conditions(old: &Value, wanted: &[(&str, bool, &str, &str)]) -> Value {
    let now = now_rfc3339();
    let existing = old.pointer("/status/conditions").and_then(Value::as_array);
    let list: Vec<Value> = wanted
        .iter()
        .map(|(ty, ok, reason, message)| {
            let status = if *ok { "True" } else { "False" };
            let prior = existing
                .into_iter()
                .flatten()
                .find(|c| c["type"] == *ty && c["status"] == status && c["reason"] == *reason);
            let time = prior
                .and_then(|c| c.get("lastTransitionTime").cloned())
                .unwrap_or_else(|| json!(now));
            let mut c = json!({"type": ty, "status": status, "reason": reason,
                               "message": message, "lastTransitionTime": time});
            if let Some(updated) = prior.and_then(|c| c.get("lastUpdateTime")) {
                c["lastUpdateTime"] = updated.clone();
            } else if *ty == "Available" || *ty == "Progressing" {
                c["lastUpdateTime"] = time;
            }
            c
        })
        .collect();
    Value::Array(list)
}

/// The status the object should have, or None when the kind needs nothing.
fn desired_status(plural: &str, obj: &Value) -> Option<Value> {
    let generation = int(obj, "/metadata/generation", 1);
    let out = outcome(obj);
    let ready = out == Outcome::Healthy;
    match plural {
        "deployments" => {
            let replicas = int(obj, "/spec/replicas", 1);
            let up = if ready { replicas } else { 0 };
            let progressing = match out {
                Outcome::Healthy => (
                    true,
                    "NewReplicaSetAvailable",
                    "ReplicaSet has successfully progressed.",
                ),
                Outcome::Progressing => (true, "ReplicaSetUpdated", "ReplicaSet is progressing."),
                Outcome::Fail => (
                    false,
                    "ProgressDeadlineExceeded",
                    "ReplicaSet has timed out progressing.",
                ),
            };
            let mut status = json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": if ready { replicas } else { 0 },
                "conditions": conditions(obj, &[
                    ("Available", ready, if ready { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                     if ready { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." }),
                    ("Progressing", progressing.0, progressing.1, progressing.2),
                ]),
            });
            if up > 0 {
                status["readyReplicas"] = json!(up);
                status["availableReplicas"] = json!(up);
            } else {
                status["unavailableReplicas"] = json!(replicas);
            }
            Some(status)
        }
        "replicasets" => {
            let replicas = int(obj, "/spec/replicas", 1);
            let up = if ready { replicas } else { 0 };
            Some(
                json!({"observedGeneration": generation, "replicas": replicas,
                        "fullyLabeledReplicas": replicas, "readyReplicas": up, "availableReplicas": up}),
            )
        }
        "statefulsets" => {
            let replicas = int(obj, "/spec/replicas", 1);
            let up = if ready { replicas } else { 0 };
            let revision = format!("{}-{generation}", meta_str(obj, "name"));
            Some(
                json!({"observedGeneration": generation, "replicas": replicas,
                        "readyReplicas": up, "currentReplicas": up, "updatedReplicas": up,
                        "availableReplicas": up, "currentRevision": revision,
                        "updateRevision": revision, "collisionCount": 0}),
            )
        }
        "daemonsets" => {
            let up = if ready { 1 } else { 0 };
            Some(
                json!({"observedGeneration": generation, "desiredNumberScheduled": 1,
                        "currentNumberScheduled": 1, "numberReady": up, "updatedNumberScheduled": up,
                        "numberAvailable": up, "numberMisscheduled": 0}),
            )
        }
        "jobs" => {
            let completions = int(obj, "/spec/completions", 1);
            let start = obj
                .pointer("/status/startTime")
                .cloned()
                .unwrap_or_else(|| json!(now_rfc3339()));
            Some(match out {
                Outcome::Healthy => {
                    let done = obj
                        .pointer("/status/completionTime")
                        .cloned()
                        .unwrap_or_else(|| json!(now_rfc3339()));
                    json!({"startTime": start, "completionTime": done, "succeeded": completions,
                           "ready": 0, "terminating": 0,
                           "conditions": conditions(obj, &[
                               ("SuccessCriteriaMet", true, "CompletionsReached", "Reached expected number of succeeded pods"),
                               ("Complete", true, "CompletionsReached", "Reached expected number of succeeded pods")])})
                }
                Outcome::Fail => {
                    json!({"startTime": start, "failed": 1, "ready": 0, "terminating": 0,
                    "conditions": conditions(obj, &[
                        ("FailureTarget", true, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
                        ("Failed", true, "BackoffLimitExceeded", "Job has reached the specified backoff limit")])})
                }
                Outcome::Progressing => {
                    json!({"startTime": start, "active": 1, "ready": 0, "terminating": 0})
                }
            })
        }
        "pods" => {
            let run_to_completion = obj
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["kind"] == "Job"));
            if run_to_completion && out != Outcome::Progressing {
                let ok = out == Outcome::Healthy;
                let statuses: Vec<Value> = obj
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        json!({"name": c["name"], "image": c["image"], "ready": false,
                        "restartCount": 0, "started": false,
                        "state": {"terminated": {"exitCode": if ok { 0 } else { 1 },
                            "reason": if ok { "Completed" } else { "Error" }}}})
                    })
                    .collect();
                return Some(json!({"phase": if ok { "Succeeded" } else { "Failed" },
                    "podIP": "10.244.0.10", "hostIP": "127.0.0.1", "containerStatuses": statuses,
                    "conditions": conditions(obj, &[
                        ("PodScheduled", true, "Scheduled", ""),
                        ("Initialized", true, "Initialized", ""),
                        ("ContainersReady", false, "PodCompleted", ""),
                        ("Ready", false, "PodCompleted", "")])}));
            }
            let phase = match out {
                Outcome::Healthy => "Running",
                Outcome::Fail => "Failed",
                Outcome::Progressing => "Pending",
            };
            let statuses: Vec<Value> = obj
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| json!({"name": c["name"], "image": c["image"], "ready": ready,
                                "restartCount": 0, "started": ready,
                                "state": if ready { json!({"running": {}}) } else { json!({"waiting": {"reason": "ContainerCreating"}}) }}))
                .collect();
            Some(
                json!({"phase": phase, "podIP": "10.244.0.10", "hostIP": "127.0.0.1",
                        "containerStatuses": statuses,
                        "conditions": conditions(obj, &[
                            ("PodScheduled", true, "Scheduled", ""),
                            ("Initialized", true, "Initialized", ""),
                            ("ContainersReady", ready, if ready { "ContainersReady" } else { "ContainersNotReady" }, ""),
                            ("Ready", ready, if ready { "PodReady" } else { "ContainersNotReady" }, "")])}),
            )
        }
        "persistentvolumeclaims" => {
            let phase = match out {
                Outcome::Healthy => "Bound",
                Outcome::Fail => "Lost",
                Outcome::Progressing => "Pending",
            };
            let mut status = json!({"phase": phase});
            if ready {
                status["accessModes"] = obj
                    .pointer("/spec/accessModes")
                    .cloned()
                    .unwrap_or(json!(["ReadWriteOnce"]));
                if let Some(req) = obj.pointer("/spec/resources/requests") {
                    status["capacity"] = req.clone();
                }
            }
            Some(status)
        }
        "services" => {
            if obj.pointer("/spec/type").and_then(Value::as_str) != Some("LoadBalancer") || !ready {
                return None;
            }
            Some(json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}}))
        }
        _ => None,
    }
}

fn simulate(api: &Api, group: &str, plural: &str, obj: &Value) {
    if is_deleting(obj) {
        return;
    }
    let Some(status) = desired_status(plural, obj) else {
        return;
    };
    if obj.get("status") == Some(&status) {
        return;
    }
    let version = if group == "batch" || group == "apps" || group.is_empty() {
        "v1"
    } else {
        return;
    };
    let Some(def) = api.registry.get(group, version, plural) else {
        return;
    };
    let ns = meta_str(obj, "namespace").to_string();
    let name = meta_str(obj, "name").to_string();
    // A JSON patch replacing status, guarded by the RV we computed from.
    let rv = meta_str(obj, "resourceVersion").to_string();
    let ops = json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/status", "value": status},
    ]);
    let body = ops.to_string();
    let q = Query {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Query::default()
    };
    // A failed test (the object changed meanwhile) is fine: the newer event comes next.
    let _ = verbs::patch(
        api,
        &def,
        (!ns.is_empty()).then_some(ns.as_str()),
        &name,
        Some("status"),
        PatchBody {
            content_type: Some("application/json-patch+json"),
            body: body.as_bytes(),
        },
        &q,
    );
}

/// The controllers' part (ReplicaSets for Deployments, Pods for ReplicaSets, the
/// kubelet's end of a graceful pod deletion), then the status.
fn reconcile(api: &Api, group: &str, plural: &str, obj: &Value) {
    match (group, plural) {
        ("apps", "deployments") => replica_controllers::reconcile_deployment(api, obj),
        ("apps", "replicasets") => replica_controllers::reconcile_replicaset(api, obj),
        ("apps", "statefulsets") => replica_controllers::reconcile_statefulset(api, obj),
        ("apps", "daemonsets") => replica_controllers::reconcile_daemonset(api, obj),
        ("batch", "jobs") => replica_controllers::reconcile_job(api, obj),
        ("", "pods") => replica_controllers::finish_pod_deletion(api, obj),
        _ => {}
    }
    simulate(api, group, plural, obj);
}

/// A deleted pod is replaced by its ReplicaSet, StatefulSet or DaemonSet.
fn pod_deleted(api: &Api, pod: &Value) {
    let ns = meta_str(pod, "namespace").to_string();
    let owners: Vec<(String, String)> = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            Some((
                r.get("kind")?.as_str()?.to_string(),
                r.get("name")?.as_str()?.to_string(),
            ))
        })
        .collect();
    for (kind, name) in owners {
        let resource = match kind.as_str() {
            "ReplicaSet" => "apps/replicasets",
            "StatefulSet" => "apps/statefulsets",
            "DaemonSet" => "apps/daemonsets",
            _ => continue,
        };
        let Some(owner) = api.store.get(&(resource.to_string(), ns.clone(), name)) else {
            continue;
        };
        match kind.as_str() {
            "ReplicaSet" => replica_controllers::reconcile_replicaset(api, &owner),
            "StatefulSet" => replica_controllers::reconcile_statefulset(api, &owner),
            _ => replica_controllers::reconcile_daemonset(api, &owner),
        }
    }
}

fn handle(api: &Api, ev: &StoredEvent) {
    let Some((group, plural)) = ev.key.0.split_once('/') else {
        return;
    };
    if ev.event_type == EventType::Deleted {
        if group.is_empty() && plural == "pods" {
            pod_deleted(api, &ev.object);
        }
        return;
    }
    if SIMULATED.iter().any(|(g, p)| *g == group && *p == plural) {
        reconcile(api, group, plural, &ev.object);
    }
}

/// Run the simulator until the store's event channel closes: first a pass over the
/// existing objects, then every change.
pub async fn run(api: Arc<Api>) {
    let mut rx = api.store.subscribe();
    for (group, plural) in SIMULATED {
        let (objects, _) = api.store.list(&format!("{group}/{plural}"), None, None);
        for obj in objects {
            reconcile(&api, group, plural, &obj);
        }
    }
    loop {
        match rx.recv().await {
            Ok(ev) => handle(&api, &ev),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                for (group, plural) in SIMULATED {
                    let (objects, _) = api.store.list(&format!("{group}/{plural}"), None, None);
                    for obj in objects {
                        reconcile(&api, group, plural, &obj);
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
