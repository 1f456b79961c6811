//! Drift: whether a server-side dry-run result differs from the object in the cluster.

use serde_json::{Map, Value};

fn metadata_map<'a>(object: &'a Value, field: &str) -> Option<&'a Map<String, Value>> {
    object
        .pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
}

fn without_metadata_and_status(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

/// Whether applying would change the object: it does not exist yet (no resourceVersion in
/// the dry-run result), its labels or annotations differ, or anything outside `metadata`
/// and `status` differs (Flux's `hasDrifted`). Field ownership alone is not drift.
pub fn has_drifted(existing: Option<&Value>, dry_run: &Value) -> bool {
    let Some(existing) = existing else {
        return true;
    };
    let rv = dry_run
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if rv.is_empty() {
        return true;
    }
    if metadata_map(existing, "labels") != metadata_map(dry_run, "labels")
        || metadata_map(existing, "annotations") != metadata_map(dry_run, "annotations")
    {
        return true;
    }
    without_metadata_and_status(existing) != without_metadata_and_status(dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drift_rules() {
        let existing = json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"},
            "managedFields": [{"manager": "x"}]}, "data": {"k": "v"}, "status": {"s": 1}});
        let same = json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"},
            "managedFields": [{"manager": "y"}]}, "data": {"k": "v"}, "status": {"s": 2}});
        assert!(!has_drifted(Some(&existing), &same));
        let data =
            json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"}}, "data": {"k": "w"}});
        assert!(has_drifted(Some(&existing), &data));
        let label =
            json!({"metadata": {"resourceVersion": "5", "labels": {"a": "2"}}, "data": {"k": "v"}});
        assert!(has_drifted(Some(&existing), &label));
        let new = json!({"metadata": {"labels": {"a": "1"}}, "data": {"k": "v"}});
        assert!(has_drifted(Some(&existing), &new));
        assert!(has_drifted(None, &same));
        let empty_annotations = json!({"metadata": {"resourceVersion": "5", "labels": {"a": "1"},
            "annotations": {}}, "data": {"k": "v"}});
        assert!(!has_drifted(Some(&existing), &empty_annotations));
    }
}
