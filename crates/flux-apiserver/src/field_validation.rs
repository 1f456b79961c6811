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

/// The duplicate keys of a JSON document, as dotted paths in the order found (upstream's
/// strict decoder reports `duplicate field "metadata.name"`). Not JSON: none.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    use serde::de::DeserializeSeed;
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = DuplicateScan {
        path: String::new(),
        out: &mut out,
    }
    .deserialize(&mut de);
    out
}

/// Walks any JSON value, noting repeated keys.
struct DuplicateScan<'a> {
    path: String,
    out: &'a mut Vec<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for DuplicateScan<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DuplicateScan<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let seed = DuplicateScan {
                path: format!("{}[{i}]", self.path),
                out: &mut *self.out,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key) {
                self.out.push(path.clone());
            }
            map.next_value_seed(DuplicateScan {
                path,
                out: &mut *self.out,
            })?;
        }
        Ok(())
    }
}

/// What `fieldValidation` makes of a body's problems: Strict fails with all of them in
/// upstream's order (duplicates, then unknown fields); Warn (the default, as upstream)
/// returns them as warning texts; Ignore drops them.
pub fn judge(
    mode: Option<&str>,
    duplicates: &[String],
    unknown: &[String],
) -> Result<Vec<String>, ApiError> {
    let texts: Vec<String> = duplicates
        .iter()
        .map(|f| format!("duplicate field \"{f}\""))
        .chain(unknown.iter().map(|f| format!("unknown field \"{f}\"")))
        .collect();
    match mode {
        Some("Strict") if !texts.is_empty() => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            texts.join(", ")
        ))),
        Some("Strict" | "Ignore") => Ok(Vec::new()),
        None | Some("Warn" | "") => Ok(texts),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", got {other:?}"
        ))),
    }
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

    #[test]
    fn duplicate_keys_are_found_with_their_paths() {
        let body = br#"{"metadata": {"name": "a", "name": "b"}, "data": {"x": "1"},
            "list": [{"k": 1, "k": 2}], "data": {}}"#;
        assert_eq!(
            duplicate_fields(body),
            ["metadata.name", "list[0].k", "data"]
        );
        assert!(duplicate_fields(b"{not json").is_empty());
        let err = judge(
            Some("Strict"),
            &["metadata.name".into()],
            &["spec.x".into()],
        )
        .err()
        .map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some(
                "strict decoding error: duplicate field \"metadata.name\", unknown field \"spec.x\""
            )
        );
        assert_eq!(
            judge(None, &[], &["spec.x".into()]).ok(),
            Some(vec!["unknown field \"spec.x\"".to_string()])
        );
        assert_eq!(judge(Some("Ignore"), &["a".into()], &[]).ok(), Some(vec![]));
    }
}
