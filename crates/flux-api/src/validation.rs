//! Validation of an object against the value constraints of its CRD schema: patterns,
//! string lengths, item counts and numeric ranges (what serde cannot check). CEL rules
//! (`x-kubernetes-validations`) are left to the API server.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// One violated constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted field path, e.g. `spec.url` or `spec.sources[0].alias`.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// The openAPIV3Schema of every served kind, generated once.
fn schemas() -> &'static HashMap<String, Value> {
    static SCHEMAS: OnceLock<HashMap<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut map = HashMap::new();
        for crd in crate::crds::all_crds().unwrap_or_default() {
            let kind = crd
                .pointer("/spec/names/kind")
                .and_then(Value::as_str)
                .map(str::to_string);
            let schema = crd
                .pointer("/spec/versions/0/schema/openAPIV3Schema")
                .cloned();
            if let (Some(kind), Some(schema)) = (kind, schema) {
                map.insert(kind, schema);
            }
        }
        map
    })
}

/// Checks `object` (a `kind` object) against the value constraints of its CRD schema.
/// Returns every violation found (empty when valid or when the kind is unknown).
pub fn validate_constraints(kind: &str, object: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(schema) = schemas().get(kind) {
        check(schema, object, "", &mut out);
    }
    out
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let mut fail = |reason: String| {
        out.push(Violation {
            path: if path.is_empty() {
                "<root>".into()
            } else {
                path.to_string()
            },
            reason,
        })
    };
    match value {
        Value::String(s) => {
            let chars = s.chars().count();
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && (chars as u64) < min
            {
                fail(format!("must be at least {min} characters long"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && (chars as u64) > max
            {
                fail(format!("must be at most {max} characters long"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pattern) {
                    Ok(re) if !re.is_match(s) => fail(format!("{s:?} does not match {pattern}")),
                    Ok(_) => {}
                    Err(e) => fail(format!("schema pattern {pattern} does not compile: {e}")),
                }
            }
        }
        Value::Number(n) => {
            if let (Some(min), Some(v)) =
                (schema.get("minimum").and_then(Value::as_f64), n.as_f64())
                && v < min
            {
                fail(format!("must be at least {min}"));
            }
            if let (Some(max), Some(v)) =
                (schema.get("maximum").and_then(Value::as_f64), n.as_f64())
                && v > max
            {
                fail(format!("must be at most {max}"));
            }
        }
        Value::Array(items) => {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                fail(format!("must have at least {min} items"));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > max
            {
                fail(format!("must have at most {max} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, v) in map {
                let sub = props.and_then(|p| p.get(key)).or(additional);
                if let Some(sub) = sub {
                    check(sub, v, &join(path, key), out);
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_pattern_length_and_items() {
        let repo =
            serde_json::json!({"spec": {"url": "git@github.com:org/repo.git", "interval": "1m"}});
        let v = validate_constraints("GitRepository", &repo);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].path, "spec.url");
        assert!(
            v[0].reason
                .contains("does not match ^(http|https|ssh)://.*$"),
            "{}",
            v[0].reason
        );

        let ks = serde_json::json!({"spec": {"namePrefix": "", "targetNamespace": "x".repeat(64)}});
        let v = validate_constraints("Kustomization", &ks);
        let paths: Vec<&str> = v.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(paths, ["spec.namePrefix", "spec.targetNamespace"], "{v:?}");

        let ag = serde_json::json!({"spec": {"sources": [], "artifacts": [{"name": "a", "copy": [
            {"from": "repo/x", "to": "@artifact/"}]}]}});
        let v = validate_constraints("ArtifactGenerator", &ag);
        let mut paths: Vec<&str> = v.iter().map(|x| x.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            ["spec.artifacts[0].copy[0].from", "spec.sources"],
            "{v:?}"
        );
    }
}
