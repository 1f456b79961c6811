//! kstatus table: one row per rule of fluxcd/cli-utils (plus Flux's Job reader).

use flux_ssa::Status::{self, Current, Failed, InProgress, Terminating, Unknown};
use flux_ssa::kstatus::compute;
use serde_json::{Value, json};

fn obj(api_version: &str, kind: &str, spec: Value, status: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"name": "x", "namespace": "default", "generation": 1},
           "spec": spec, "status": status})
}

fn cond(type_: &str, status: &str, reason: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": format!("{type_} {reason}")})
}

#[test]
fn kstatus_table() {
    let available = json!([
        cond("Available", "True", "MinimumReplicasAvailable"),
        cond("Progressing", "True", "NewReplicaSetAvailable")
    ]);
    let rows: Vec<(&str, Value, Status, &str)> = vec![
        // Deployment
        (
            "deployment without status",
            obj("apps/v1", "Deployment", json!({"replicas": 3}), json!({})),
            InProgress,
            "Replicas: 0/3",
        ),
        (
            "deployment default replicas",
            obj("apps/v1", "Deployment", json!({}), json!({"replicas": 1})),
            InProgress,
            "Updated: 0/1",
        ),
        (
            "deployment old generation",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 1}),
                json!({"observedGeneration": 0, "replicas": 1}),
            ),
            InProgress,
            "Deployment generation is 1, but latest observed generation is 0",
        ),
        (
            "deployment extra pods",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 1}),
                json!({"replicas": 2, "updatedReplicas": 1}),
            ),
            InProgress,
            "Pending termination: 1",
        ),
        (
            "deployment less available",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 2}),
                json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
            ),
            InProgress,
            "Available: 1/2",
        ),
        (
            "deployment less ready",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 2}),
                json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 1}),
            ),
            InProgress,
            "Ready: 1/2",
        ),
        (
            "deployment rs not available",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 1, "progressDeadlineSeconds": 600}),
                json!({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}),
            ),
            InProgress,
            "ReplicaSet not Available",
        ),
        (
            "deployment not available",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 1}),
                json!({"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}),
            ),
            InProgress,
            "Deployment not Available",
        ),
        (
            "deployment deadline exceeded",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 1}),
                json!({"conditions": [cond("Progressing", "False", "ProgressDeadlineExceeded")]}),
            ),
            Failed,
            "Progress deadline exceeded",
        ),
        (
            "deployment available",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 2, "progressDeadlineSeconds": 600}),
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                   "readyReplicas": 2, "conditions": available}),
            ),
            Current,
            "Deployment is available. Replicas: 2",
        ),
        (
            "deployment scaled to zero",
            obj(
                "apps/v1",
                "Deployment",
                json!({"replicas": 0}),
                json!({"conditions": [cond("Available", "True", "MinimumReplicasAvailable")]}),
            ),
            Current,
            "Deployment is available. Replicas: 0",
        ),
        // StatefulSet
        (
            "sts replicas",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"replicas": 2}),
                json!({"replicas": 1}),
            ),
            InProgress,
            "Replicas: 1/2",
        ),
        (
            "sts ready",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"replicas": 2}),
                json!({"replicas": 2, "readyReplicas": 1}),
            ),
            InProgress,
            "Ready: 1/2",
        ),
        (
            "sts partition",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"replicas": 3, "updateStrategy": {"rollingUpdate": {"partition": 1}}}),
                json!({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 1}),
            ),
            InProgress,
            "updated: 1/2",
        ),
        (
            "sts current",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"replicas": 2}),
                json!({"replicas": 2, "readyReplicas": 2, "currentReplicas": 1}),
            ),
            InProgress,
            "current: 1/2",
        ),
        (
            "sts revision",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"replicas": 1}),
                json!({"replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "currentRevision": "a", "updateRevision": "b"}),
            ),
            InProgress,
            "Waiting for updated revision to match current",
        ),
        (
            "sts ok",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"replicas": 1}),
                json!({"replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "currentRevision": "a", "updateRevision": "a"}),
            ),
            Current,
            "All replicas scheduled as expected. Replicas: 1",
        ),
        (
            "sts ondelete",
            obj(
                "apps/v1",
                "StatefulSet",
                json!({"updateStrategy": {"type": "OnDelete"}}),
                json!({}),
            ),
            Current,
            "StatefulSet is using the ondelete update strategy",
        ),
        // DaemonSet
        (
            "ds no observed generation",
            obj("apps/v1", "DaemonSet", json!({}), json!({})),
            InProgress,
            "DaemonSet status.observedGeneration not found",
        ),
        (
            "ds no desired",
            obj(
                "apps/v1",
                "DaemonSet",
                json!({}),
                json!({"observedGeneration": 1}),
            ),
            InProgress,
            "Missing .status.desiredNumberScheduled",
        ),
        (
            "ds less ready",
            obj(
                "apps/v1",
                "DaemonSet",
                json!({}),
                json!({"observedGeneration": 1,
            "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "updatedNumberScheduled": 2,
            "numberAvailable": 2, "numberReady": 1}),
            ),
            InProgress,
            "Ready: 1/2",
        ),
        (
            "ds ok",
            obj(
                "apps/v1",
                "DaemonSet",
                json!({}),
                json!({"observedGeneration": 1,
            "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "updatedNumberScheduled": 2,
            "numberAvailable": 2, "numberReady": 2}),
            ),
            Current,
            "All replicas scheduled as expected. Replicas: 2",
        ),
        // ReplicaSet
        (
            "rs failure",
            obj(
                "apps/v1",
                "ReplicaSet",
                json!({}),
                json!({"conditions": [cond("ReplicaFailure", "True", "FailedCreate")]}),
            ),
            InProgress,
            "Replica Failure condition. Check Pods",
        ),
        (
            "rs labelled",
            obj(
                "apps/v1",
                "ReplicaSet",
                json!({"replicas": 2}),
                json!({"fullyLabeledReplicas": 1}),
            ),
            InProgress,
            "Labelled: 1/2",
        ),
        (
            "rs ok",
            obj(
                "apps/v1",
                "ReplicaSet",
                json!({"replicas": 1}),
                json!({"replicas": 1, "fullyLabeledReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}),
            ),
            Current,
            "ReplicaSet is available. Replicas: 1",
        ),
        // Job (Flux's reader)
        (
            "job not started",
            obj("batch/v1", "Job", json!({}), json!({})),
            InProgress,
            "Job not started. active: 0/1",
        ),
        (
            "job running",
            obj(
                "batch/v1",
                "Job",
                json!({}),
                json!({"startTime": "2024-01-01T00:00:00Z", "active": 1}),
            ),
            InProgress,
            "Job in progress. success:0, active: 1, failed: 0",
        ),
        (
            "job complete",
            obj(
                "batch/v1",
                "Job",
                json!({"completions": 2}),
                json!({"succeeded": 2, "conditions": [cond("Complete", "True", "")]}),
            ),
            Current,
            "Job Completed. succeeded: 2/2",
        ),
        (
            "job failed",
            obj(
                "batch/v1",
                "Job",
                json!({}),
                json!({"failed": 3, "conditions": [cond("Failed", "True", "BackoffLimitExceeded")]}),
            ),
            Failed,
            "Job Failed. failed: 3/1",
        ),
        (
            "job suspended",
            obj("batch/v1", "Job", json!({"suspend": true}), json!({})),
            Current,
            "Job is suspended",
        ),
        // Pod
        (
            "pod no phase",
            obj("v1", "Pod", json!({}), json!({})),
            InProgress,
            "Pod phase not available",
        ),
        (
            "pod pending",
            obj("v1", "Pod", json!({}), json!({"phase": "Pending"})),
            InProgress,
            "Pod is in the Pending phase",
        ),
        (
            "pod running not ready",
            obj("v1", "Pod", json!({}), json!({"phase": "Running"})),
            InProgress,
            "Pod is running but is not Ready",
        ),
        (
            "pod crash loop",
            obj(
                "v1",
                "Pod",
                json!({}),
                json!({"phase": "Running",
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
            ),
            Failed,
            "Containers in CrashLoop state: app",
        ),
        (
            "pod ready",
            obj(
                "v1",
                "Pod",
                json!({}),
                json!({"phase": "Running", "conditions": [cond("Ready", "True", "")]}),
            ),
            Current,
            "Pod is Ready",
        ),
        (
            "pod succeeded",
            obj("v1", "Pod", json!({}), json!({"phase": "Succeeded"})),
            Current,
            "Pod has completed successfully",
        ),
        (
            "pod unschedulable",
            obj(
                "v1",
                "Pod",
                json!({}),
                json!({"phase": "Pending",
            "conditions": [cond("PodScheduled", "False", "Unschedulable")]}),
            ),
            Failed,
            "Pod could not be scheduled",
        ),
        (
            "pod odd phase",
            obj("v1", "Pod", json!({}), json!({"phase": "Weird"})),
            Unknown,
            "unknown phase Weird",
        ),
        // PVC, Service, always-ready kinds
        (
            "pvc pending",
            obj(
                "v1",
                "PersistentVolumeClaim",
                json!({}),
                json!({"phase": "Pending"}),
            ),
            InProgress,
            "PVC is not Bound. phase: Pending",
        ),
        (
            "pvc bound",
            obj(
                "v1",
                "PersistentVolumeClaim",
                json!({}),
                json!({"phase": "Bound"}),
            ),
            Current,
            "PVC is Bound",
        ),
        (
            "lb service without ip",
            obj("v1", "Service", json!({"type": "LoadBalancer"}), json!({})),
            InProgress,
            "ClusterIP not set. Service type: LoadBalancer",
        ),
        (
            "service",
            obj("v1", "Service", json!({"clusterIP": "10.0.0.1"}), json!({})),
            Current,
            "Service is ready",
        ),
        (
            "configmap",
            obj("v1", "ConfigMap", json!({}), json!({})),
            Current,
            "Resource is always ready",
        ),
        (
            "pdb",
            obj("policy/v1", "PodDisruptionBudget", json!({}), json!({})),
            Current,
            "AllowedDisruptions has been computed.",
        ),
        // CRD
        (
            "crd installing",
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                json!({}),
                json!({}),
            ),
            InProgress,
            "Install in progress",
        ),
        (
            "crd names rejected",
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                json!({}),
                json!({"conditions": [cond("NamesAccepted", "False", "Conflict")]}),
            ),
            Failed,
            "NamesAccepted Conflict",
        ),
        (
            "crd established",
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                json!({}),
                json!({"conditions": [cond("NamesAccepted", "True", "NoConflicts"), cond("Established", "True", "InitialNamesAccepted")]}),
            ),
            Current,
            "CRD is established",
        ),
        // Custom resources: generic conditions, then Ready.
        (
            "cr no conditions",
            obj("example.com/v1", "Widget", json!({}), json!({})),
            Current,
            "Resource is current",
        ),
        (
            "cr ready",
            obj(
                "example.com/v1",
                "Widget",
                json!({}),
                json!({"conditions": [cond("Ready", "True", "Succeeded")]}),
            ),
            Current,
            "Resource is Ready",
        ),
        (
            "cr not ready",
            obj(
                "example.com/v1",
                "Widget",
                json!({}),
                json!({"conditions": [cond("Ready", "False", "Failing")]}),
            ),
            InProgress,
            "Ready Failing",
        ),
        (
            "cr ready unknown",
            obj(
                "example.com/v1",
                "Widget",
                json!({}),
                json!({"conditions": [cond("Ready", "Unknown", "Progressing")]}),
            ),
            InProgress,
            "Ready Progressing",
        ),
        (
            "cr reconciling",
            obj(
                "example.com/v1",
                "Widget",
                json!({}),
                json!({"conditions": [cond("Reconciling", "True", "Progressing"), cond("Ready", "True", "Succeeded")]}),
            ),
            InProgress,
            "Reconciling Progressing",
        ),
        (
            "cr stalled",
            obj(
                "example.com/v1",
                "Widget",
                json!({}),
                json!({"conditions": [cond("Stalled", "True", "BuildFailed")]}),
            ),
            Failed,
            "Stalled BuildFailed",
        ),
        (
            "namespace",
            obj("v1", "Namespace", json!({}), json!({"phase": "Active"})),
            Current,
            "Resource is current",
        ),
    ];
    let mut failures = Vec::new();
    for (name, object, status, message) in rows {
        let result = compute(&object);
        if result.status != status || result.message != message {
            failures.push(format!(
                "{name}: got {} {:?}, want {status} {message:?}",
                result.status, result.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let mut deleting = obj("apps/v1", "Deployment", json!({}), json!({}));
    deleting["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    assert_eq!(compute(&deleting).status, Terminating);
}
