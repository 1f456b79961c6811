//! Table output (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns
//! kubectl prints for built-in kinds, CRD printer columns, rows with object metadata.

use serde_json::{Map, Value, json};

use crate::object_meta::meta;
use crate::resources::ResourceDef;

/// What each row carries in `object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// Does the Accept header ask for a Table?
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').next().is_some_and(|first| {
            let params: Vec<String> = first
                .split(';')
                .map(|p| p.trim().replace(' ', "").to_ascii_lowercase())
                .collect();
            params.iter().any(|p| p == "as=table") && params.iter().any(|p| p == "g=meta.k8s.io")
        })
    })
}

enum Cell {
    Name,
    Age,
    Path(String),
    Custom(fn(&Value) -> Value),
}

struct Column {
    name: String,
    ty: &'static str,
    format: &'static str,
    priority: u32,
    cell: Cell,
}

fn col(name: &str, ty: &'static str, priority: u32, cell: Cell) -> Column {
    Column {
        name: name.to_string(),
        ty,
        format: if matches!(cell, Cell::Name) {
            "name"
        } else {
            ""
        },
        priority,
        cell,
    }
}

fn ptr<'a>(obj: &'a Value, pointer: &str) -> Option<&'a Value> {
    obj.pointer(pointer)
}

fn int(obj: &Value, pointer: &str) -> i64 {
    ptr(obj, pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn text(obj: &Value, pointer: &str) -> String {
    match ptr(obj, pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn or_none(s: String) -> Value {
    if s.is_empty() {
        json!("<none>")
    } else {
        json!(s)
    }
}

fn count(obj: &Value, pointer: &str) -> usize {
    match ptr(obj, pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

fn containers(obj: &Value, pointer: &str, field: &str) -> Value {
    let list: Vec<String> = ptr(obj, pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| text(c, &format!("/{field}")))
        .collect();
    or_none(list.join(","))
}

fn selector(obj: &Value) -> Value {
    let pairs: Vec<String> = ptr(obj, "/spec/selector/matchLabels")
        .or_else(|| ptr(obj, "/spec/selector"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    or_none(pairs.join(","))
}

fn ports(obj: &Value) -> Value {
    let list: Vec<String> = ptr(obj, "/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = text(p, "/protocol");
            let proto = if proto.is_empty() {
                "TCP".into()
            } else {
                proto
            };
            let node = int(p, "/nodePort");
            if node > 0 {
                format!("{}:{node}/{proto}", int(p, "/port"))
            } else {
                format!("{}/{proto}", int(p, "/port"))
            }
        })
        .collect();
    or_none(list.join(","))
}

fn pod_ready(obj: &Value) -> Value {
    let total = count(obj, "/spec/containers");
    let ready = ptr(obj, "/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |a| a.iter().filter(|c| c["ready"] == true).count());
    json!(format!("{ready}/{total}"))
}

fn pod_restarts(obj: &Value) -> Value {
    let n: i64 = ptr(obj, "/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |a| a.iter().map(|c| int(c, "/restartCount")).sum());
    json!(n.to_string())
}

fn condition_status(obj: &Value, ty: &str) -> String {
    ptr(obj, "/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c["type"] == ty)
        .map(|c| text(c, "/status"))
        .unwrap_or_default()
}

fn columns(def: &ResourceDef) -> Vec<Column> {
    use Cell::{Age, Custom, Name, Path};
    let name = || col("Name", "string", 0, Name);
    let age = || col("Age", "string", 0, Age);
    if let Some(printer) = def.printer_columns.as_deref().and_then(Value::as_array)
        && !printer.is_empty()
    {
        let mut cols = vec![name()];
        for p in printer {
            let ty = match p.get("type").and_then(Value::as_str) {
                Some("integer") => "integer",
                Some("number") => "number",
                Some("boolean") => "boolean",
                Some("date") => "date",
                _ => "string",
            };
            let path = p.get("jsonPath").and_then(Value::as_str).unwrap_or("");
            let priority = p.get("priority").and_then(Value::as_u64).unwrap_or(0) as u32;
            let title = p.get("name").and_then(Value::as_str).unwrap_or("");
            let cell = if path == ".metadata.creationTimestamp" && ty == "date" {
                Age
            } else {
                Path(path.to_string())
            };
            cols.push(Column {
                name: title.to_string(),
                ty: if matches!(cell, Age) { "string" } else { ty },
                format: "",
                priority,
                cell,
            });
        }
        return cols;
    }
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Namespace") => vec![
            name(),
            col("Status", "string", 0, Path(".status.phase".into())),
            age(),
        ],
        ("", "ConfigMap") => vec![
            name(),
            col(
                "Data",
                "integer",
                0,
                Custom(|o| json!(count(o, "/data") + count(o, "/binaryData"))),
            ),
            age(),
        ],
        ("", "Secret") => vec![
            name(),
            col("Type", "string", 0, Path(".type".into())),
            col("Data", "integer", 0, Custom(|o| json!(count(o, "/data")))),
            age(),
        ],
        ("", "ServiceAccount") => vec![
            name(),
            col(
                "Secrets",
                "integer",
                0,
                Custom(|o| json!(count(o, "/secrets"))),
            ),
            age(),
        ],
        ("", "Pod") => vec![
            name(),
            col("Ready", "string", 0, Custom(pod_ready)),
            col(
                "Status",
                "string",
                0,
                Custom(|o| or_none(text(o, "/status/phase"))),
            ),
            col("Restarts", "string", 0, Custom(pod_restarts)),
            age(),
            col(
                "IP",
                "string",
                1,
                Custom(|o| or_none(text(o, "/status/podIP"))),
            ),
            col(
                "Node",
                "string",
                1,
                Custom(|o| or_none(text(o, "/spec/nodeName"))),
            ),
        ],
        ("", "Service") => vec![
            name(),
            col("Type", "string", 0, Path(".spec.type".into())),
            col(
                "Cluster-IP",
                "string",
                0,
                Custom(|o| or_none(text(o, "/spec/clusterIP"))),
            ),
            col(
                "External-IP",
                "string",
                0,
                Custom(|o| or_none(text(o, "/spec/externalIPs/0"))),
            ),
            col("Port(s)", "string", 0, Custom(ports)),
            age(),
            col("Selector", "string", 1, Custom(selector)),
        ],
        ("apps", "Deployment") => vec![
            name(),
            col(
                "Ready",
                "string",
                0,
                Custom(|o| {
                    json!(format!(
                        "{}/{}",
                        int(o, "/status/readyReplicas"),
                        int(o, "/spec/replicas")
                    ))
                }),
            ),
            col(
                "Up-to-date",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/updatedReplicas"))),
            ),
            col(
                "Available",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/availableReplicas"))),
            ),
            age(),
            col(
                "Containers",
                "string",
                1,
                Custom(|o| containers(o, "/spec/template/spec/containers", "name")),
            ),
            col(
                "Images",
                "string",
                1,
                Custom(|o| containers(o, "/spec/template/spec/containers", "image")),
            ),
            col("Selector", "string", 1, Custom(selector)),
        ],
        ("apps", "StatefulSet") => vec![
            name(),
            col(
                "Ready",
                "string",
                0,
                Custom(|o| {
                    json!(format!(
                        "{}/{}",
                        int(o, "/status/readyReplicas"),
                        int(o, "/spec/replicas")
                    ))
                }),
            ),
            age(),
        ],
        ("apps", "ReplicaSet") => vec![
            name(),
            col(
                "Desired",
                "integer",
                0,
                Custom(|o| json!(int(o, "/spec/replicas"))),
            ),
            col(
                "Current",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/replicas"))),
            ),
            col(
                "Ready",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/readyReplicas"))),
            ),
            age(),
        ],
        ("apps", "DaemonSet") => vec![
            name(),
            col(
                "Desired",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/desiredNumberScheduled"))),
            ),
            col(
                "Current",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/currentNumberScheduled"))),
            ),
            col(
                "Ready",
                "integer",
                0,
                Custom(|o| json!(int(o, "/status/numberReady"))),
            ),
            age(),
        ],
        ("batch", "Job") => vec![
            name(),
            col(
                "Status",
                "string",
                0,
                Custom(|o| {
                    json!(if condition_status(o, "Complete") == "True" {
                        "Complete"
                    } else if condition_status(o, "Failed") == "True" {
                        "Failed"
                    } else {
                        "Running"
                    })
                }),
            ),
            col(
                "Completions",
                "string",
                0,
                Custom(|o| {
                    json!(format!(
                        "{}/{}",
                        int(o, "/status/succeeded"),
                        int(o, "/spec/completions").max(1)
                    ))
                }),
            ),
            age(),
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => vec![
            name(),
            col(
                "Created At",
                "date",
                0,
                Path(".metadata.creationTimestamp".into()),
            ),
        ],
        _ if def.crd_name.is_some() => vec![
            name(),
            col(
                "Created At",
                "date",
                0,
                Path(".metadata.creationTimestamp".into()),
            ),
        ],
        _ => vec![name(), age()],
    }
}

/// kubectl's human duration (`5s`, `3m20s`, `4h`, `2d3h`, `3y`).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age_of(obj: &Value) -> Value {
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok());
    match created {
        Some(t) => {
            let secs = jiff::Timestamp::now().as_second() - t.as_second();
            json!(human_duration(secs))
        }
        None => json!("<unknown>"),
    }
}

/// A tiny JSONPath for printer columns: `.a.b`, `.a[0]`, `.a[?(@.type=="Ready")].status`.
pub fn json_path(obj: &Value, path: &str) -> Option<Value> {
    let mut current = vec![obj.clone()];
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}');
    rest = rest.strip_prefix('$').unwrap_or(rest);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            current = current.iter().filter_map(|v| v.get(key).cloned()).collect();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, want) = filter.split_once("==")?;
                let want = want.trim().trim_matches('"').trim_matches('\'');
                current = current
                    .iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter(|item| {
                        item.get(field.trim()).is_some_and(|v| match v {
                            Value::String(s) => s == want,
                            other => serde_json::to_string(other).is_ok_and(|s| s == want),
                        })
                    })
                    .cloned()
                    .collect();
            } else if inner == "*" {
                current = current
                    .iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .cloned()
                    .collect();
            } else {
                let idx: usize = inner.parse().ok()?;
                current = current
                    .iter()
                    .filter_map(|v| v.as_array().and_then(|a| a.get(idx)).cloned())
                    .collect();
            }
        } else {
            return None;
        }
    }
    match current.len() {
        0 => None,
        1 => current.pop(),
        _ => Some(json!(
            current
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(",")
        )),
    }
}

fn row(cols: &[Column], obj: &Value, include: IncludeObject, def: &ResourceDef) -> Value {
    let cells: Vec<Value> = cols
        .iter()
        .map(|c| match &c.cell {
            Cell::Name => json!(
                meta(obj)
                    .and_then(|m| m.get("name"))
                    .cloned()
                    .unwrap_or(json!(""))
            ),
            Cell::Age => age_of(obj),
            Cell::Path(p) => json_path(obj, p).unwrap_or(Value::Null),
            Cell::Custom(f) => f(obj),
        })
        .collect();
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells));
    match include {
        IncludeObject::None => {}
        IncludeObject::Object => {
            row.insert("object".into(), obj.clone());
        }
        IncludeObject::Metadata => {
            let _ = def;
            row.insert(
                "object".into(),
                json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
                }),
            );
        }
    }
    Value::Object(row)
}

fn column_definitions(cols: &[Column]) -> Vec<Value> {
    cols.iter()
        .map(|c| {
            json!({"name": c.name, "type": c.ty, "format": c.format,
                   "description": format!("{} of the object", c.name), "priority": c.priority})
        })
        .collect()
}

/// A Table for objects (a list, one object, or one watch event).
pub fn table(
    def: &ResourceDef,
    objects: &[Value],
    list_meta: Value,
    include: IncludeObject,
) -> Value {
    let cols = columns(def);
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| row(&cols, o, include, def))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions(&cols),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(50 * 3600), "2d2h");
    }

    #[test]
    fn printer_column_paths() {
        let obj = json!({"status": {"conditions": [
            {"type": "Other", "status": "False"},
            {"type": "Ready", "status": "True", "message": "ok"}]},
            "spec": {"list": [1, 2]}});
        assert_eq!(
            json_path(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            Some(json!("True"))
        );
        assert_eq!(json_path(&obj, ".spec.list[1]"), Some(json!(2)));
        assert_eq!(json_path(&obj, ".spec.missing"), None);
    }

    #[test]
    fn accept_table() {
        assert!(wants_table(Some(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        )));
        assert!(!wants_table(Some("application/json")));
    }
}
