//! RFC 6902 JSON patch (via the `json-patch` crate, the version kube uses) and RFC 7386 JSON
//! merge patch.

use serde_json::Value;

pub use ::json_patch::{Patch, PatchOperation};

/// Why a JSON patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the JSON patch is not a list of operations: {0}")]
    ParsePatch(#[source] serde_json::Error),
    #[error("JSON patch operation failed: {0}")]
    ApplyOperation(#[source] ::json_patch::PatchError),
}

/// Parse an RFC 6902 patch document (a JSON list of operations).
pub fn parse_json_patch(patch: &Value) -> Result<Patch, Error> {
    serde_json::from_value(patch.clone()).map_err(Error::ParsePatch)
}

/// Apply an RFC 6902 JSON patch (given as its JSON list of operations) to `doc`. All or
/// nothing: on error `doc` is left as it was (the result is a new value).
pub fn apply_json_patch(doc: &Value, patch: &Value) -> Result<Value, Error> {
    let patch = parse_json_patch(patch)?;
    apply_parsed_json_patch(doc, &patch)
}

/// Apply an already parsed JSON patch.
///
/// Like Kubernetes (evanphx/json-patch v4), a `replace` of a missing key in an existing object
/// adds the key instead of failing; everything else follows RFC 6902.
pub fn apply_parsed_json_patch(doc: &Value, patch: &Patch) -> Result<Value, Error> {
    let mut out = doc.clone();
    for op in &patch.0 {
        let op = match op {
            PatchOperation::Replace(replace) if replaces_missing_key(&out, replace) => {
                PatchOperation::Add(::json_patch::AddOperation {
                    path: replace.path.clone(),
                    value: replace.value.clone(),
                })
            }
            other => other.clone(),
        };
        ::json_patch::patch(&mut out, std::slice::from_ref(&op)).map_err(Error::ApplyOperation)?;
    }
    Ok(out)
}

/// Whether a `replace` targets a key absent from an existing object.
fn replaces_missing_key(doc: &Value, op: &::json_patch::ReplaceOperation) -> bool {
    let Some((parent, last)) = op.path.split_back() else {
        return false;
    };
    match doc.pointer(parent.as_str()) {
        Some(Value::Object(m)) => !m.contains_key(last.decoded().as_ref()),
        _ => false,
    }
}

/// Apply an RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else
/// (lists included) replaces.
pub fn apply_merge_patch(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    ::json_patch::merge(&mut out, patch);
    out
}

/// Create the RFC 7386 merge patch that turns `original` into `modified`.
pub fn create_merge_patch(original: &Value, modified: &Value) -> Value {
    match (original, modified) {
        (Value::Object(o), Value::Object(m)) => {
            let mut patch = serde_json::Map::new();
            for (k, ov) in o {
                match m.get(k) {
                    None => {
                        patch.insert(k.clone(), Value::Null);
                    }
                    Some(mv) if mv != ov => {
                        let sub = match (ov, mv) {
                            (Value::Object(_), Value::Object(_)) => create_merge_patch(ov, mv),
                            _ => mv.clone(),
                        };
                        patch.insert(k.clone(), sub);
                    }
                    Some(_) => {}
                }
            }
            for (k, mv) in m {
                if !o.contains_key(k) {
                    patch.insert(k.clone(), mv.clone());
                }
            }
            Value::Object(patch)
        }
        _ => modified.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_add_test_and_failure() {
        let doc = json!({"a": [1, 2]});
        let out = apply_json_patch(&doc, &json!([{"op": "add", "path": "/a/-", "value": 3}, {"op": "test", "path": "/a/2", "value": 3}])).expect("patch");
        assert_eq!(out, json!({"a": [1, 2, 3]}));
        let err = apply_json_patch(&doc, &json!([{"op": "test", "path": "/a/0", "value": 9}]))
            .expect_err("test fails");
        assert!(matches!(err, Error::ApplyOperation(_)), "{err}");
        let err = apply_json_patch(&doc, &json!({"op": "add"})).expect_err("not a list");
        assert!(matches!(err, Error::ParsePatch(_)), "{err}");
    }

    #[test]
    fn replace_of_missing_key_adds_like_kubernetes() {
        let out = apply_json_patch(
            &json!({"a": {}}),
            &json!([{"op": "replace", "path": "/a/b", "value": 1}]),
        )
        .expect("patch");
        assert_eq!(out, json!({"a": {"b": 1}}));
        let err = apply_json_patch(
            &json!({"a": {}}),
            &json!([{"op": "replace", "path": "/x/b", "value": 1}]),
        );
        assert!(err.is_err());
    }

    #[test]
    fn merge_patch_deletes_and_replaces_lists() {
        let doc = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        let out = apply_merge_patch(&doc, &json!({"a": {"b": null}, "l": [3]}));
        assert_eq!(out, json!({"a": {"c": 2}, "l": [3]}));
        let patch = create_merge_patch(&doc, &out);
        assert_eq!(apply_merge_patch(&doc, &patch), out);
    }
}
