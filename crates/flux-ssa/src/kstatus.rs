//! kstatus: whether an object has reached its desired state, computed from the object alone
//! (fluxcd/cli-utils `kstatus/status.Compute`, with Flux's own Job rules).
//!
//! Order of the checks, as upstream: a deletion timestamp means Terminating; a
//! `status.observedGeneration` behind `metadata.generation` means InProgress; a true
//! `Reconciling` condition means InProgress and a true `Stalled` condition Failed; then the
//! kind's own rules for built-in kinds; then the `Ready` condition of any other object; and
//! Current when there is nothing to look at.

use std::fmt;

use serde_json::Value;

/// The status of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Still being reconciled.
    InProgress,
    /// Reconciliation failed and will not recover by itself.
    Failed,
    /// The object has reached its desired state.
    Current,
    /// The object is being deleted.
    Terminating,
    /// The object does not exist.
    NotFound,
    /// The status could not be read.
    Unknown,
}

impl Status {
    /// The word kstatus prints (`Current`, `InProgress`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Current => "Current",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
            Status::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A computed status with the reason for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResult {
    /// The status.
    pub status: Status,
    /// Why, in kstatus's words (`Replicas: 0/1`, `Resource is Ready`, …).
    pub message: String,
    /// The condition reason behind the status, when there is one (`LessReplicas`, …).
    pub reason: String,
}

impl StatusResult {
    fn current(message: impl Into<String>) -> StatusResult {
        StatusResult {
            status: Status::Current,
            message: message.into(),
            reason: String::new(),
        }
    }

    fn in_progress(reason: &str, message: impl Into<String>) -> StatusResult {
        StatusResult {
            status: Status::InProgress,
            message: message.into(),
            reason: reason.to_string(),
        }
    }

    fn failed(reason: &str, message: impl Into<String>) -> StatusResult {
        StatusResult {
            status: Status::Failed,
            message: message.into(),
            reason: reason.to_string(),
        }
    }
}

fn at<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = object;
    for key in path {
        current = current.get(key)?;
    }
    Some(current)
}

fn int_at(object: &Value, path: &[&str], default: i64) -> i64 {
    match at(object, path) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(default),
        _ => default,
    }
}

fn str_at<'a>(object: &'a Value, path: &[&str], default: &'a str) -> &'a str {
    at(object, path).and_then(Value::as_str).unwrap_or(default)
}

/// One entry of `status.conditions`.
struct Condition<'a> {
    type_: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn conditions(object: &Value) -> Vec<Condition<'_>> {
    at(object, &["status", "conditions"])
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| Condition {
                    type_: c.get("type").and_then(Value::as_str).unwrap_or(""),
                    status: c.get("status").and_then(Value::as_str).unwrap_or(""),
                    reason: c.get("reason").and_then(Value::as_str).unwrap_or(""),
                    message: c.get("message").and_then(Value::as_str).unwrap_or(""),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Computes the kstatus of `object` (a full Kubernetes object as JSON).
pub fn compute(object: &Value) -> StatusResult {
    if let Some(result) = generic_properties(object) {
        return result;
    }
    let api_version = str_at(object, &["apiVersion"], "");
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    let kind = str_at(object, &["kind"], "");
    match (group, kind) {
        ("", "Service") => service(object),
        ("", "Pod") => pod(object),
        ("", "Secret") | ("", "ConfigMap") | ("batch", "CronJob") => {
            StatusResult::current("Resource is always ready")
        }
        ("", "PersistentVolumeClaim") => pvc(object),
        ("apps", "StatefulSet") => stateful_set(object),
        ("apps" | "extensions", "DaemonSet") => daemon_set(object),
        ("apps" | "extensions", "Deployment") => deployment(object),
        ("apps" | "extensions", "ReplicaSet") => replica_set(object),
        ("policy", "PodDisruptionBudget") => {
            StatusResult::current("AllowedDisruptions has been computed.")
        }
        ("batch", "Job") => job(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(object),
        _ => {
            ready_condition(object).unwrap_or_else(|| StatusResult::current("Resource is current"))
        }
    }
}

/// Deletion, observed generation, and the Reconciling/Stalled conditions.
fn generic_properties(object: &Value) -> Option<StatusResult> {
    if at(object, &["metadata", "deletionTimestamp"])
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Some(StatusResult {
            status: Status::Terminating,
            message: "Resource scheduled for deletion".into(),
            reason: String::new(),
        });
    }
    let kind = str_at(object, &["kind"], "");
    if let (Some(generation), Some(observed)) = (
        at(object, &["metadata", "generation"]).and_then(Value::as_i64),
        at(object, &["status", "observedGeneration"]).and_then(Value::as_i64),
    ) && generation != observed
    {
        return Some(StatusResult::in_progress(
            "LatestGenerationNotObserved",
            format!(
                "{kind} generation is {generation}, but latest observed generation is {observed}"
            ),
        ));
    }
    for c in conditions(object) {
        if c.type_ == "Reconciling" && c.status == "True" {
            return Some(StatusResult::in_progress(c.reason, c.message));
        }
        if c.type_ == "Stalled" && c.status == "True" {
            return Some(StatusResult::failed(c.reason, c.message));
        }
    }
    None
}

/// The `Ready` condition of a custom resource: True is Current, False/Unknown InProgress.
fn ready_condition(object: &Value) -> Option<StatusResult> {
    let ready = conditions(object)
        .into_iter()
        .find(|c| c.type_ == "Ready")?;
    match ready.status {
        "True" => Some(StatusResult::current("Resource is Ready")),
        "False" | "Unknown" => Some(StatusResult::in_progress(ready.reason, ready.message)),
        _ => None,
    }
}

fn service(object: &Value) -> StatusResult {
    let type_ = str_at(object, &["spec", "type"], "ClusterIP");
    if type_ == "LoadBalancer" && str_at(object, &["spec", "clusterIP"], "").is_empty() {
        return StatusResult::in_progress(
            "NoIPAssigned",
            "ClusterIP not set. Service type: LoadBalancer",
        );
    }
    StatusResult::current("Service is ready")
}

fn pvc(object: &Value) -> StatusResult {
    let phase = str_at(object, &["status", "phase"], "unknown");
    if phase != "Bound" {
        return StatusResult::in_progress("NotBound", format!("PVC is not Bound. phase: {phase}"));
    }
    StatusResult::current("PVC is Bound")
}

fn pod(object: &Value) -> StatusResult {
    let conds = conditions(object);
    match str_at(object, &["status", "phase"], "") {
        "Succeeded" => StatusResult::current("Pod has completed successfully"),
        "Failed" => StatusResult::current("Pod has completed, but not successfully"),
        "Running" => {
            if conds
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
            {
                return StatusResult::current("Pod is Ready");
            }
            let crash_looping: Vec<&str> = at(object, &["status", "containerStatuses"])
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter(|cs| {
                            cs.pointer("/state/waiting/reason").and_then(Value::as_str)
                                == Some("CrashLoopBackOff")
                        })
                        .filter_map(|cs| cs.get("name").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            if !crash_looping.is_empty() {
                return StatusResult::failed(
                    "ContainerCrashLooping",
                    format!("Containers in CrashLoop state: {}", crash_looping.join(",")),
                );
            }
            StatusResult::in_progress("PodRunningNotReady", "Pod is running but is not Ready")
        }
        "Pending" => {
            let unschedulable = conds.iter().any(|c| {
                c.type_ == "PodScheduled" && c.status == "False" && c.reason == "Unschedulable"
            });
            if unschedulable {
                // Upstream waits 15 s after creation before calling this a failure; without
                // a clock in a pure function the creation time decides against "now".
                let created = str_at(object, &["metadata", "creationTimestamp"], "");
                if within_schedule_window(created) {
                    return StatusResult::in_progress(
                        "PodNotScheduled",
                        "Pod has not been scheduled",
                    );
                }
                return StatusResult::failed("PodUnschedulable", "Pod could not be scheduled");
            }
            StatusResult::in_progress("PodPending", "Pod is in the Pending phase")
        }
        "" => StatusResult::in_progress("PodNotObserved", "Pod phase not available"),
        other => StatusResult {
            status: Status::Unknown,
            message: format!("unknown phase {other}"),
            reason: String::new(),
        },
    }
}

/// Whether `created` (RFC 3339) is less than 15 s ago.
fn within_schedule_window(created: &str) -> bool {
    let Ok(created) = created.parse::<k8s_openapi::jiff::Timestamp>() else {
        return false;
    };
    let now = k8s_openapi::jiff::Timestamp::now();
    now.as_second() - created.as_second() < 15
}

fn stateful_set(object: &Value) -> StatusResult {
    if str_at(object, &["spec", "updateStrategy", "type"], "") == "OnDelete" {
        return StatusResult::current("StatefulSet is using the ondelete update strategy");
    }
    let spec = int_at(object, &["spec", "replicas"], 1);
    let ready = int_at(object, &["status", "readyReplicas"], 0);
    let current = int_at(object, &["status", "currentReplicas"], 0);
    let updated = int_at(object, &["status", "updatedReplicas"], 0);
    let replicas = int_at(object, &["status", "replicas"], 0);
    let partition = int_at(
        object,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );
    if spec > replicas {
        return StatusResult::in_progress("LessReplicas", format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return StatusResult::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return StatusResult::in_progress(
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        );
    }
    if partition != -1 {
        if updated < spec - partition {
            return StatusResult::in_progress(
                "PartitionRollout",
                format!("updated: {updated}/{}", spec - partition),
            );
        }
        return StatusResult::current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current {
        return StatusResult::in_progress("LessCurrent", format!("current: {current}/{spec}"));
    }
    if str_at(object, &["status", "currentRevision"], "")
        != str_at(object, &["status", "updateRevision"], "")
    {
        return StatusResult::in_progress(
            "RevisionMismatch",
            "Waiting for updated revision to match current",
        );
    }
    StatusResult::current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    ))
}

fn deployment(object: &Value) -> StatusResult {
    let mut progressing = at(object, &["spec", "progressDeadlineSeconds"]).is_none();
    let mut available = false;
    for c in conditions(object) {
        match c.type_ {
            "Progressing" => {
                if c.reason == "ProgressDeadlineExceeded" {
                    return StatusResult::failed(c.reason, "Progress deadline exceeded");
                }
                if c.status == "True" && c.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    let spec = int_at(object, &["spec", "replicas"], 1);
    let replicas = int_at(object, &["status", "replicas"], 0);
    let updated = int_at(object, &["status", "updatedReplicas"], 0);
    let ready = int_at(object, &["status", "readyReplicas"], 0);
    let avail = int_at(object, &["status", "availableReplicas"], 0);
    if spec > replicas {
        return StatusResult::in_progress("LessReplicas", format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return StatusResult::in_progress("LessUpdated", format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return StatusResult::in_progress(
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        );
    }
    if updated > avail {
        return StatusResult::in_progress("LessAvailable", format!("Available: {avail}/{updated}"));
    }
    if spec > ready {
        return StatusResult::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return StatusResult::in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available");
    }
    if !available {
        return StatusResult::in_progress("DeploymentNotAvailable", "Deployment not Available");
    }
    StatusResult::current(format!("Deployment is available. Replicas: {replicas}"))
}

fn replica_set(object: &Value) -> StatusResult {
    if conditions(object)
        .iter()
        .any(|c| c.type_ == "ReplicaFailure" && c.status == "True")
    {
        return StatusResult::in_progress(
            "ReplicaFailure",
            "Replica Failure condition. Check Pods",
        );
    }
    let spec = int_at(object, &["spec", "replicas"], 1);
    let replicas = int_at(object, &["status", "replicas"], 0);
    let ready = int_at(object, &["status", "readyReplicas"], 0);
    let avail = int_at(object, &["status", "availableReplicas"], 0);
    let labelled = int_at(object, &["status", "fullyLabeledReplicas"], 0);
    if spec > labelled {
        return StatusResult::in_progress("LessLabelled", format!("Labelled: {labelled}/{spec}"));
    }
    if spec > avail {
        return StatusResult::in_progress("LessAvailable", format!("Available: {avail}/{spec}"));
    }
    if spec > ready {
        return StatusResult::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return StatusResult::in_progress(
            "ExtraPods",
            format!("Pending termination: {}", replicas - spec),
        );
    }
    StatusResult::current(format!("ReplicaSet is available. Replicas: {replicas}"))
}

fn daemon_set(object: &Value) -> StatusResult {
    let kind = str_at(object, &["kind"], "DaemonSet");
    if at(object, &["metadata", "generation"])
        .and_then(Value::as_i64)
        .is_none()
    {
        return StatusResult::in_progress(
            "NoGeneration",
            format!("{kind} metadata.generation not found"),
        );
    }
    if at(object, &["status", "observedGeneration"])
        .and_then(Value::as_i64)
        .is_none()
    {
        return StatusResult::in_progress(
            "NoObservedGeneration",
            format!("{kind} status.observedGeneration not found"),
        );
    }
    let desired = int_at(object, &["status", "desiredNumberScheduled"], -1);
    let current = int_at(object, &["status", "currentNumberScheduled"], 0);
    let updated = int_at(object, &["status", "updatedNumberScheduled"], 0);
    let avail = int_at(object, &["status", "numberAvailable"], 0);
    let ready = int_at(object, &["status", "numberReady"], 0);
    if desired == -1 {
        return StatusResult::in_progress(
            "NoDesiredNumber",
            "Missing .status.desiredNumberScheduled",
        );
    }
    if desired > current {
        return StatusResult::in_progress("LessCurrent", format!("Current: {current}/{desired}"));
    }
    if desired > updated {
        return StatusResult::in_progress("LessUpdated", format!("Updated: {updated}/{desired}"));
    }
    if desired > avail {
        return StatusResult::in_progress("LessAvailable", format!("Available: {avail}/{desired}"));
    }
    if desired > ready {
        return StatusResult::in_progress("LessReady", format!("Ready: {ready}/{desired}"));
    }
    StatusResult::current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))
}

/// Flux's Job rules (fluxcd/pkg `statusreaders`): a suspended Job is Current, a running one
/// InProgress (plain kstatus would call it Current).
fn job(object: &Value) -> StatusResult {
    if at(object, &["spec", "suspend"]).and_then(Value::as_bool) == Some(true) {
        return StatusResult::current("Job is suspended");
    }
    let parallelism = int_at(object, &["spec", "parallelism"], 1);
    let completions = int_at(object, &["spec", "completions"], parallelism);
    let active = int_at(object, &["status", "active"], 0);
    let succeeded = int_at(object, &["status", "succeeded"], 0);
    let failed = int_at(object, &["status", "failed"], 0);
    for c in conditions(object) {
        match c.type_ {
            "Complete" if c.status == "True" => {
                return StatusResult::current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                ));
            }
            "Failed" if c.status == "True" => {
                return StatusResult::failed(
                    "JobFailed",
                    format!("Job Failed. failed: {failed}/{completions}"),
                );
            }
            _ => {}
        }
    }
    if str_at(object, &["status", "startTime"], "").is_empty() {
        return StatusResult::in_progress(
            "JobNotStarted",
            format!("Job not started. active: 0/{parallelism}"),
        );
    }
    StatusResult::in_progress(
        "JobInProgress",
        format!("Job in progress. success:{succeeded}, active: {active}, failed: {failed}"),
    )
}

fn crd(object: &Value) -> StatusResult {
    for c in conditions(object) {
        if c.type_ == "NamesAccepted" && c.status == "False" {
            return StatusResult::failed(c.reason, c.message);
        }
        if c.type_ == "Established" {
            if c.status == "False" && c.reason != "Installing" {
                return StatusResult::failed(c.reason, c.message);
            }
            if c.status == "True" {
                return StatusResult::current("CRD is established");
            }
        }
    }
    StatusResult::in_progress("Installing", "Install in progress")
}
