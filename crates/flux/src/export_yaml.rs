//! The YAML the CLI prints for `export` and `create --export`, shaped as upstream prints it:
//! Go structs marshalled through JSON, so keys are sorted, empty optional fields are gone and
//! durations read `1m0s`.

use serde_json::{Map, Value};

use crate::kinds::FluxKind;

/// Spec fields that upstream's Go types always print, even when false or empty.
const ALWAYS_PRINTED: [&str; 4] = ["prune", "interval", "sourceRef", "url"];

/// Keys holding a `metav1.Duration`, printed in Go's `1m0s` form.
const DURATION_KEYS: [&str; 4] = ["interval", "timeout", "retryInterval", "fetchTimeout"];

/// The exported form of a stored object: apiVersion, kind, metadata (name, namespace,
/// labels, annotations) and spec; no status, no server-managed metadata.
pub fn export_object(kind: &FluxKind, obj: &Value) -> Value {
    let mut metadata = Map::new();
    for key in ["name", "namespace", "labels", "annotations"] {
        if let Some(v) = obj.pointer(&format!("/metadata/{key}"))
            && !is_empty(v)
        {
            metadata.insert(key.to_owned(), v.clone());
        }
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(kind.api_version()));
    out.insert("kind".into(), Value::String(kind.kind.to_owned()));
    out.insert("metadata".into(), Value::Object(metadata));
    let mut spec = obj
        .get("spec")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    go_shape_spec(&mut spec);
    out.insert("spec".into(), spec);
    Value::Object(out)
}

/// Maps whose entries are user data, never pruned.
const FREE_FORM: [&str; 5] = ["values", "substitute", "labels", "annotations", "data"];

/// Applies Go's `omitempty` (top-level spec fields: empty values; nested fields: `false`
/// and null, the values API-server defaulting adds) and Go's duration formatting.
pub fn go_shape_spec(spec: &mut Value) {
    if let Value::Object(fields) = spec {
        fields.retain(|k, v| ALWAYS_PRINTED.contains(&k.as_str()) || !is_empty(v));
        for (k, v) in fields.iter_mut() {
            if !FREE_FORM.contains(&k.as_str()) {
                prune_false(v);
            }
        }
    }
    normalize_durations(spec);
}

fn prune_false(v: &mut Value) {
    match v {
        Value::Object(fields) => {
            fields.retain(|_, child| !matches!(child, Value::Null | Value::Bool(false)));
            for (k, child) in fields.iter_mut() {
                if !FREE_FORM.contains(&k.as_str()) {
                    prune_false(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(prune_false),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

fn normalize_durations(v: &mut Value) {
    match v {
        Value::Object(fields) => {
            for (k, child) in fields.iter_mut() {
                if DURATION_KEYS.contains(&k.as_str())
                    && let Value::String(text) = child
                    && let Ok(d) = crate::cluster::parse_go_duration(text)
                {
                    *text = crate::cluster::go_duration_string(d);
                } else {
                    normalize_durations(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_durations),
        _ => {}
    }
}

/// A copy with every object's keys in sorted order (as Go's JSON-then-YAML marshalling
/// prints maps and structs).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&fields[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// One exported document as upstream prints it: `---`, the YAML, a newline.
pub fn export_document(v: &Value) -> anyhow::Result<String> {
    let yaml = flux_object::yaml::to_yaml_string(&sorted(v))?;
    Ok(format!("---\n{}\n", yaml.trim()))
}
