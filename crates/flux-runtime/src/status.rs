//! The status patcher: one JSON merge patch of the status subresource per reconcile,
//! holding only what changed (removed fields become `null`).

use kube::Api;
use kube::api::{Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why patching the status failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusPatchError {
    /// The status could not be serialised.
    #[error("serialising the status of {name}")]
    Serialize {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    /// The API server refused the patch.
    #[error("patching the status of {name}")]
    Patch {
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// The JSON merge patch (RFC 7386) that turns `old` into `new`; `None` when equal.
/// Objects are diffed key by key; arrays and scalars are replaced whole.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ => Some(new.clone()),
    }
}

/// Patches `status` of `name` from `old` to `new` (one merge patch on the status
/// subresource); does nothing when they are equal. Returns whether a patch was sent.
pub async fn patch_status<K, S>(
    api: &Api<K>,
    name: &str,
    old: &S,
    new: &S,
    field_manager: &str,
) -> Result<bool, StatusPatchError>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let ser = |s: &S| {
        serde_json::to_value(s).map_err(|source| StatusPatchError::Serialize {
            name: name.to_string(),
            source,
        })
    };
    let (old, new) = (ser(old)?, ser(new)?);
    patch_status_value(api, name, &old, &new, field_manager).await
}

/// [`patch_status`] on statuses already serialised to JSON: one merge patch of the status
/// subresource holding what changed from `old` to `new`; nothing when equal. Returns
/// whether a patch was sent.
pub async fn patch_status_value<K>(
    api: &Api<K>,
    name: &str,
    old: &Value,
    new: &Value,
    field_manager: &str,
) -> Result<bool, StatusPatchError>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let Some(diff) = merge_diff(old, new) else {
        return Ok(false);
    };
    let body = serde_json::json!({ "status": diff });
    api.patch_status(
        name,
        &PatchParams {
            field_manager: Some(field_manager.to_string()),
            ..PatchParams::default()
        },
        &Patch::Merge(&body),
    )
    .await
    .map_err(|source| StatusPatchError::Patch {
        name: name.to_string(),
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_nulls_removed_keys_and_replaces_arrays() {
        let old = json!({"a": 1, "b": {"c": 1, "d": 2}, "l": [1, 2]});
        let new = json!({"b": {"c": 1, "d": 3}, "l": [1], "e": "x"});
        assert_eq!(
            merge_diff(&old, &new),
            Some(json!({"a": null, "b": {"d": 3}, "l": [1], "e": "x"}))
        );
        assert_eq!(merge_diff(&old, &old), None);
    }
}
