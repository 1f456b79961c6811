//! Server-side defaults for built-in kinds that clients rely on (a small subset of
//! upstream's defaulting functions; see the README for what is covered).

use serde_json::{Map, Value, json};

use crate::resources::ResourceDef;

fn obj_at<'a>(root: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let map = root.as_object_mut()?;
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if entry.is_null() {
        *entry = json!({});
    }
    entry.as_object_mut()
}

fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// A Secret's `stringData` is write-only: its entries are base64-encoded into `data`
/// (overriding keys already there) and the field is dropped, as the API server's
/// conversion does.
fn fold_string_data(secret: &mut Map<String, Value>) {
    use base64::Engine;
    let Some(Value::Object(string_data)) = secret.remove("stringData") else {
        return;
    };
    let data = secret
        .entry("data".to_string())
        .or_insert_with(|| json!({}));
    if data.is_null() {
        *data = json!({});
    }
    if let Some(data) = data.as_object_mut() {
        for (key, value) in string_data {
            let text = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            data.insert(key, Value::String(encoded));
        }
    }
}

fn pod_spec_defaults(spec: &mut Map<String, Value>) {
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "securityContext", json!({}));
    if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            default(c, "terminationMessagePath", json!("/dev/termination-log"));
            default(c, "terminationMessagePolicy", json!("File"));
            default(c, "resources", json!({}));
            let image = c.get("image").and_then(Value::as_str).unwrap_or("");
            let latest = !image.contains(':') || image.ends_with(":latest");
            default(
                c,
                "imagePullPolicy",
                json!(if latest { "Always" } else { "IfNotPresent" }),
            );
            if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    default(p, "protocol", json!("TCP"));
                }
            }
        }
    }
}

fn template_defaults(spec: &mut Map<String, Value>) {
    if let Some(tspec) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec_defaults(tspec);
    }
}

/// Apply the defaults for `def`'s kind.
pub fn apply(def: &ResourceDef, obj: &mut Value) {
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Namespace") => {
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some(meta) = obj_at(obj, "metadata") {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    l.insert("kubernetes.io/metadata.name".into(), json!(name));
                }
            }
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "finalizers", json!(["kubernetes"]));
            }
            if let Some(status) = obj_at(obj, "status") {
                default(status, "phase", json!("Active"));
            }
        }
        ("", "Secret") => {
            if let Some(map) = obj.as_object_mut() {
                default(map, "type", json!("Opaque"));
                fold_string_data(map);
            }
        }
        ("", "Service") => {
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "type", json!("ClusterIP"));
                default(spec, "sessionAffinity", json!("None"));
                let ty = spec.get("type").and_then(Value::as_str).unwrap_or("");
                if ty != "ExternalName" && spec.get("clusterIP").is_none_or(Value::is_null) {
                    let b = crate::object_meta::random_bytes::<2>();
                    let ip = format!("10.96.{}.{}", b[0], b[1].max(1));
                    spec.insert("clusterIP".into(), json!(ip));
                    spec.insert("clusterIPs".into(), json!([ip]));
                    default(spec, "ipFamilies", json!(["IPv4"]));
                    default(spec, "ipFamilyPolicy", json!("SingleStack"));
                    default(spec, "internalTrafficPolicy", json!("Cluster"));
                }
                if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        default(p, "protocol", json!("TCP"));
                        if let Some(port) = p.get("port").cloned() {
                            default(p, "targetPort", port);
                        }
                    }
                }
            }
        }
        ("", "Pod") => {
            if let Some(spec) = obj_at(obj, "spec") {
                pod_spec_defaults(spec);
            }
        }
        ("apps", "Deployment") => {
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "replicas", json!(1));
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "progressDeadlineSeconds", json!(600));
                default(
                    spec,
                    "strategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                );
                template_defaults(spec);
            }
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "replicas", json!(1));
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "podManagementPolicy", json!("OrderedReady"));
                default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                template_defaults(spec);
            }
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "revisionHistoryLimit", json!(10));
                default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                );
                template_defaults(spec);
            }
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "replicas", json!(1));
                template_defaults(spec);
            }
        }
        ("batch", "Job") => {
            if let Some(spec) = obj_at(obj, "spec") {
                default(spec, "parallelism", json!(1));
                default(spec, "completions", json!(1));
                default(spec, "backoffLimit", json!(6));
                template_defaults(spec);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod string_data_tests {
    use super::fold_string_data;
    use serde_json::json;

    #[test]
    fn string_data_is_folded_into_data_and_dropped() {
        let mut secret = json!({
            "data": {"keep": "a2VlcA==", "both": "b2xk"},
            "stringData": {"both": "new", "plain": "hello"}
        });
        let map = secret.as_object_mut().expect("object");
        fold_string_data(map);
        assert_eq!(
            secret,
            json!({"data": {"keep": "a2VlcA==", "both": "bmV3", "plain": "aGVsbG8="}})
        );
    }

    #[test]
    fn string_data_without_data_creates_it() {
        let mut secret = json!({"stringData": {"token": "s3cr3t"}});
        fold_string_data(secret.as_object_mut().expect("object"));
        assert_eq!(secret, json!({"data": {"token": "czNjcjN0"}}));
    }
}
