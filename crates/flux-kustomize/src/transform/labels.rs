//! `commonLabels`, `labels` and `commonAnnotations`: set string pairs in the maps the
//! field specs reach.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::field_spec::{FieldSpec, split_path, visit_path};
use crate::resource::Resource;

/// Sets every pair in every map the field specs reach (creating maps where allowed).
pub fn apply(
    resources: &mut [Resource],
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<(), String> {
    if pairs.is_empty() {
        return Ok(());
    }
    let leaf = Value::Object(Map::new());
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        for fs in specs {
            if !gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(
                &mut root,
                &split_path(&fs.path),
                fs.create.then_some(&leaf),
                &mut |n| {
                    if n.is_null() {
                        *n = Value::Object(Map::new());
                    }
                    match n.as_object_mut() {
                        Some(m) => {
                            for (k, v) in pairs {
                                m.insert(k.clone(), Value::String(v.clone()));
                            }
                            Ok(())
                        }
                        None => Err(format!(
                            "field '{}' of {} is not a map",
                            fs.path,
                            gvk.display_string()
                        )),
                    }
                },
            );
            if let Value::Object(m) = root {
                r.obj = m;
            }
            res?;
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
    fn common_labels_reach_selectors_and_templates() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: d}}\n  template: {metadata: {labels: {app: d}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n",
        );
        let c = TransformerConfig::defaults();
        let pairs = BTreeMap::from([("team".to_string(), "a".to_string())]);
        assert!(apply(&mut rs, &pairs, &c.common_labels).is_ok());
        assert_eq!(rs[0].obj["metadata"]["labels"]["team"], "a");
        assert_eq!(rs[0].obj["spec"]["selector"]["matchLabels"]["team"], "a");
        assert_eq!(
            rs[0].obj["spec"]["template"]["metadata"]["labels"]["team"],
            "a"
        );
        assert_eq!(rs[1].obj["spec"]["selector"]["team"], "a");
    }

    #[test]
    fn annotations_reach_pod_templates() {
        let mut rs = resources(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {spec: {}}}}}\n",
        );
        let c = TransformerConfig::defaults();
        let pairs = BTreeMap::from([("note".to_string(), "x".to_string())]);
        assert!(apply(&mut rs, &pairs, &c.common_annotations).is_ok());
        assert_eq!(
            rs[0].obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]["note"],
            "x"
        );
    }
}
