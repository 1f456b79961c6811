//! `replicas:`: sets the replica count of workloads by name.

use serde_json::Value;

use crate::field_spec::{FieldSpec, split_path, visit_path};
use crate::kustomization::Replica;
use crate::resource::Resource;

/// Applies one `replicas` entry.
pub fn apply(
    resources: &mut [Resource],
    spec: &Replica,
    specs: &[FieldSpec],
) -> Result<(), String> {
    let mut found = false;
    let leaf = Value::from(0);
    for fs in specs {
        for r in resources.iter_mut() {
            let hit = r
                .all_ids()
                .iter()
                .any(|id| id.name == spec.name && id.gvk.is_selected_by(&fs.gvk));
            if !hit {
                continue;
            }
            found = true;
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(
                &mut root,
                &split_path(&fs.path),
                fs.create.then_some(&leaf),
                &mut |n| {
                    *n = Value::from(spec.count);
                    Ok(())
                },
            );
            if let Value::Object(m) = root {
                r.obj = m;
            }
            res?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|f| f.gvk.display_string()).collect();
        return Err(format!(
            "resource with name {} does not match a config with the following GVK {:?}",
            spec.name, gvks
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_spec::TransformerConfig;
    use crate::transform::test_objects::resources;

    #[test]
    fn sets_count_and_errors_on_unknown_name() {
        let mut rs =
            resources("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n");
        let c = TransformerConfig::defaults();
        let spec = Replica {
            name: "d".into(),
            count: 3,
        };
        assert!(apply(&mut rs, &spec, &c.replicas).is_ok());
        assert_eq!(rs[0].obj["spec"]["replicas"], 3);
        let missing = Replica {
            name: "zzz".into(),
            count: 1,
        };
        assert!(apply(&mut rs, &missing, &c.replicas).is_err());
    }
}
