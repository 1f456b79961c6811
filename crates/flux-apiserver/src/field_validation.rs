//! `fieldValidation=Strict`: reject objects with fields their schema does not know (the
//! Kubernetes 1.33 definitions for built-in kinds, the CRD schema for custom resources).

use serde_json::Value;

use crate::openapi;
use crate::resources::ResourceDef;
use crate::status::ApiError;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn resolve(schema: &Value) -> &Value {
    let target = schema.get("$ref").or_else(|| {
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|f| f.get("$ref"))
    });
    target
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(openapi::definition)
        .unwrap_or(schema)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let schema = resolve(schema);
    if schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in map {
                    match props.get(k) {
                        Some(sub) => walk(v, sub, &join(path, k), out),
                        None => out.push(join(path, k)),
                    }
                }
            } else if let Some(add) = schema.get("additionalProperties")
                && add.is_object()
            {
                for (k, v) in map {
                    walk(v, add, &join(path, k), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The unknown fields of `obj` (dotted paths), if `def` has a schema.
pub fn unknown_fields(def: &ResourceDef, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(schema) = def.schema.as_deref() {
        let Some(map) = obj.as_object() else {
            return out;
        };
        let props = schema.get("properties").and_then(Value::as_object);
        let preserve = schema
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true);
        for (k, v) in map {
            match (k.as_str(), props.and_then(|p| p.get(k))) {
                ("apiVersion" | "kind", _) => {}
                ("metadata", _) => {
                    if let Some(meta) = openapi::definition(OBJECT_META) {
                        walk(v, meta, "metadata", &mut out);
                    }
                }
                (_, Some(sub)) => walk(v, sub, k, &mut out),
                (_, None) if !preserve => out.push(k.clone()),
                _ => {}
            }
        }
        return out;
    }
    if let Some(schema) = openapi::builtin_schema(&def.group, &def.version, &def.kind) {
        walk(obj, schema, "", &mut out);
    }
    out
}

/// Apply `fieldValidation` to a request body: Strict rejects unknown fields (400).
pub fn check(def: &ResourceDef, obj: &Value, mode: Option<&str>) -> Result<(), ApiError> {
    match mode {
        Some("Strict") => {
            let unknown = unknown_fields(def, obj);
            if unknown.is_empty() {
                return Ok(());
            }
            let list: Vec<String> = unknown
                .iter()
                .map(|f| format!("unknown field \"{f}\""))
                .collect();
            Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            )))
        }
        None | Some("Ignore" | "Warn" | "") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn builtin_unknown_fields() {
        let reg = Registry::new();
        let def = reg.get("apps", "v1", "deployments").expect("deployments");
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "b"}, "bogus": 1},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "imag": "x"}]}}}});
        assert_eq!(
            unknown_fields(&def, &obj),
            ["metadata.bogus", "spec.template.spec.containers[0].imag"]
        );
        assert!(check(&def, &obj, Some("Strict")).is_err());
        assert!(check(&def, &obj, Some("Ignore")).is_ok());
    }
}
