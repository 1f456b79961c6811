//! `namespace:`: sets the namespace of namespaced objects, renames `Namespace` objects,
//! and updates the other namespace fields kustomize knows.

use serde_json::Value;

use crate::field_spec::{FieldSpec, split_path, visit_path};
use crate::resource::Resource;

/// Applies `namespace: ns` with the configured field specs.
pub fn apply(resources: &mut [Resource], ns: &str, specs: &[FieldSpec]) -> Result<(), String> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        if r.is_empty() {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        if !gvk.is_cluster_scoped() {
            r.set_namespace(ns);
        }
        if (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
        {
            for s in subjects {
                if s.get("name").and_then(Value::as_str) == Some("default")
                    && let Some(m) = s.as_object_mut()
                {
                    m.insert("namespace".into(), Value::String(ns.into()));
                }
            }
        }
        let api_version = r.api_version().to_string();
        let leaf = Value::String(String::new());
        for fs in specs {
            if fs.path == "metadata/namespace" {
                continue;
            }
            if fs.path == "metadata/name" && api_version != "v1" {
                continue;
            }
            if (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
                && fs.path.starts_with("subjects")
            {
                continue;
            }
            if !gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(
                &mut root,
                &split_path(&fs.path),
                fs.create.then_some(&leaf),
                &mut |n| {
                    *n = Value::String(ns.into());
                    Ok(())
                },
            );
            if let Value::Object(m) = root {
                r.obj = m;
            }
            res?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in resources.iter().filter(|r| !r.is_empty()) {
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.clone(),
            id.effective_namespace().to_string(),
        );
        if !seen.insert(key) {
            return Err(format!(
                "namespace transformation produces ID conflict: {id}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_spec::TransformerConfig;
    use crate::transform::test_objects::resources;

    #[test]
    fn conflicting_ids_are_an_error() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: y}\n",
        );
        let c = TransformerConfig::defaults();
        assert!(apply(&mut rs, "z", &c.namespace).is_err_and(|e| e.contains("ID conflict")));
    }

    #[test]
    fn sets_namespaced_objects_only_and_renames_namespaces() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: old}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb}\nsubjects:\n- {kind: ServiceAccount, name: default, namespace: x}\n- {kind: ServiceAccount, name: other, namespace: x}\n",
        );
        let c = TransformerConfig::defaults();
        assert!(apply(&mut rs, "prod", &c.namespace).is_ok());
        assert_eq!(rs[0].namespace(), "prod");
        assert_eq!(rs[1].namespace(), "");
        assert_eq!(rs[2].name(), "prod");
        let subjects = &rs[3].obj["subjects"];
        assert_eq!(subjects[0]["namespace"], "prod");
        assert_eq!(subjects[1]["namespace"], "x");
        assert_eq!(rs[0].prev_ids.len(), 1);
    }
}
