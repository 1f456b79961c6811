//! Metadata clean-up before apply, as Flux does it to take over objects edited with
//! `kubectl`: drop annotations and labels (e.g. `kubectl.kubernetes.io/last-applied-
//! configuration`) and hand the fields of listed field managers (`kubectl…` Update/Apply,
//! `before-first-apply`, the controller's old Update manager) to Flux's own Apply manager,
//! merging their field sets. Fields Flux then stops applying are removed by the next apply,
//! which is how drift made with `kubectl edit` is corrected.
//!
//! Pure: [`cleanup_patch`] computes the JSON patch; the resource manager sends it.

use std::collections::BTreeMap;

use flux_merge::fieldpath::FieldSet;
use serde_json::{Value, json};

/// The managedFields operation a manager used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// A field manager whose entries Flux takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldManager {
    /// Manager name, or name prefix unless `exact_match`.
    pub name: String,
    /// Compare the whole name instead of a prefix.
    pub exact_match: bool,
    /// Operation of the entries to take over.
    pub operation: Operation,
}

impl FieldManager {
    /// Managers whose name starts with `prefix`.
    pub fn prefix(prefix: &str, operation: Operation) -> FieldManager {
        FieldManager {
            name: prefix.to_string(),
            exact_match: false,
            operation,
        }
    }

    fn matches(&self, entry: &Value) -> bool {
        let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
        let operation = entry.get("operation").and_then(Value::as_str).unwrap_or("");
        let subresource = entry
            .get("subresource")
            .and_then(Value::as_str)
            .unwrap_or("");
        if operation != self.operation.as_str() || !subresource.is_empty() {
            return false;
        }
        if self.exact_match {
            manager == self.name
        } else {
            manager.starts_with(&self.name)
        }
    }
}

/// What to clean up before applying (Flux's `ApplyCleanupOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupOptions {
    /// Annotation keys to remove from in-cluster objects.
    pub annotations: Vec<String>,
    /// Label keys to remove from in-cluster objects.
    pub labels: Vec<String>,
    /// Managers whose fields are handed to the applier's manager.
    pub field_managers: Vec<FieldManager>,
    /// Objects (desired or in-cluster) carrying any of these annotations or labels are not
    /// cleaned up (Flux: `kustomize.toolkit.fluxcd.io/ssa: Merge`).
    pub exclusions: BTreeMap<String, String>,
}

/// A managedFields entry could not be read.
#[derive(Debug, thiserror::Error)]
#[error("metadata.managedFields[{index}].fieldsV1 ({manager}): {message}")]
pub struct CleanupError {
    /// Position of the entry.
    pub index: usize,
    /// Its manager.
    pub manager: String,
    /// Why it is unreadable.
    pub message: String,
}

/// Whether any of `selector`'s key/value pairs is among the object's annotations or labels.
pub fn any_in_metadata(object: &Value, selector: &BTreeMap<String, String>) -> bool {
    if selector.is_empty() {
        return false;
    }
    ["annotations", "labels"].iter().any(|field| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
            .is_some_and(|map| {
                selector
                    .iter()
                    .any(|(k, v)| map.get(k).and_then(Value::as_str) == Some(v.as_str()))
            })
    })
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON patch operations (RFC 6902, as JSON) that clean up `existing` for `manager`, or
/// None when nothing needs cleaning.
pub fn cleanup_patch(
    desired: &Value,
    existing: &Value,
    options: &CleanupOptions,
    manager: &str,
) -> Result<Option<Value>, CleanupError> {
    if any_in_metadata(desired, &options.exclusions)
        || any_in_metadata(existing, &options.exclusions)
    {
        return Ok(None);
    }
    let mut ops = Vec::new();
    for (field, keys) in [
        ("annotations", &options.annotations),
        ("labels", &options.labels),
    ] {
        let present = existing
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object);
        for key in keys {
            if present.is_some_and(|m| m.contains_key(key)) {
                ops.push(json!({"op": "remove", "path": format!("/metadata/{field}/{}", escape_pointer(key))}));
            }
        }
    }
    if let Some(entries) = replace_field_managers(existing, &options.field_managers, manager)? {
        ops.push(json!({"op": "replace", "path": "/metadata/managedFields", "value": entries}));
    }
    if ops.is_empty() {
        Ok(None)
    } else {
        Ok(Some(Value::Array(ops)))
    }
}

/// The new managedFields list in which every entry matching `managers` is merged into
/// `manager`'s Apply entry (renaming the first match when there is none), or None when no
/// entry matches.
pub fn replace_field_managers(
    existing: &Value,
    managers: &[FieldManager],
    manager: &str,
) -> Result<Option<Vec<Value>>, CleanupError> {
    let Some(entries) = existing
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Ok(None);
    };
    let is_own = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
            && e.get("subresource")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
    };
    let read = |index: usize, entry: &Value| -> Result<FieldSet, CleanupError> {
        match entry.get("fieldsV1") {
            None | Some(Value::Null) => Ok(FieldSet::new()),
            Some(fields) => FieldSet::from_fields_v1(fields).map_err(|e| CleanupError {
                index,
                manager: entry
                    .get("manager")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                message: e.to_string(),
            }),
        }
    };
    let mut own: Option<(Value, FieldSet)> = None;
    for (index, entry) in entries.iter().enumerate() {
        if is_own(entry) {
            own = Some((entry.clone(), read(index, entry)?));
        }
    }
    let mut kept = Vec::with_capacity(entries.len());
    let mut edited = false;
    for (index, entry) in entries.iter().enumerate() {
        if is_own(entry) {
            continue;
        }
        if !managers.iter().any(|m| m.matches(entry)) {
            kept.push(entry.clone());
            continue;
        }
        edited = true;
        let fields = read(index, entry)?;
        own = Some(match own.take() {
            None => {
                let mut renamed = entry.clone();
                if let Some(map) = renamed.as_object_mut() {
                    map.insert("manager".into(), Value::from(manager));
                    map.insert("operation".into(), Value::from("Apply"));
                }
                (renamed, fields)
            }
            Some((own_entry, own_fields)) => (own_entry, own_fields.union(&fields)),
        });
    }
    if !edited {
        return Ok(None);
    }
    if let Some((mut entry, fields)) = own {
        if let Some(map) = entry.as_object_mut() {
            map.insert("fieldsType".into(), Value::from("FieldsV1"));
            map.insert("fieldsV1".into(), fields.to_fields_v1());
        }
        kept.push(entry);
    }
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubectl_edited() -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": "settings", "namespace": "default",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "x"},
                "managedFields": [
                    {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "v1",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
                    {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:extra": {}}}},
                    {"manager": "other", "operation": "Update", "apiVersion": "v1",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}}
                ]
            },
            "data": {"a": "1", "b": "2", "extra": "3"}
        })
    }

    fn options() -> CleanupOptions {
        CleanupOptions {
            annotations: vec!["kubectl.kubernetes.io/last-applied-configuration".into()],
            labels: vec![],
            field_managers: vec![FieldManager::prefix("kubectl", Operation::Update)],
            exclusions: BTreeMap::from([(
                "kustomize.toolkit.fluxcd.io/ssa".to_string(),
                "Merge".to_string(),
            )]),
        }
    }

    #[test]
    fn kubectl_fields_move_to_the_applier() {
        let existing = kubectl_edited();
        let desired = json!({"metadata": {"name": "settings"}});
        let patch = cleanup_patch(&desired, &existing, &options(), "kustomize-controller")
            .expect("readable")
            .expect("something to clean");
        let ops = patch.as_array().expect("array");
        assert_eq!(ops.len(), 2);
        assert_eq!(
            ops[0]["path"],
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"
        );
        let entries = ops[1]["value"].as_array().expect("entries");
        let managers: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(managers, ["other", "kustomize-controller"]);
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({"f:data": {"f:a": {}, "f:extra": {}}})
        );
    }

    #[test]
    fn merge_annotation_and_clean_objects_are_left_alone() {
        let existing = kubectl_edited();
        let desired = json!({"metadata": {"name": "settings",
            "annotations": {"kustomize.toolkit.fluxcd.io/ssa": "Merge"}}});
        assert!(
            cleanup_patch(&desired, &existing, &options(), "kustomize-controller")
                .expect("ok")
                .is_none()
        );
        let clean = json!({"metadata": {"managedFields": [
            {"manager": "kustomize-controller", "operation": "Apply", "fieldsV1": {"f:data": {}}}]}});
        assert!(
            cleanup_patch(&json!({}), &clean, &options(), "kustomize-controller")
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn first_match_is_renamed_when_the_applier_has_no_entry() {
        let existing = json!({"metadata": {"managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsV1": {"f:data": {"f:x": {}}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:y": {}}}}]}});
        let entries = replace_field_managers(
            &existing,
            &[FieldManager::prefix("kubectl", Operation::Update)],
            "flux",
        )
        .expect("ok")
        .expect("edited");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["manager"], "flux");
        assert_eq!(entries[0]["operation"], "Apply");
        assert_eq!(
            entries[0]["fieldsV1"],
            json!({"f:data": {"f:x": {}, "f:y": {}}})
        );
    }
}
