//! `namePrefix` / `nameSuffix`.

use serde_json::Value;

use crate::field_spec::{FieldSpec, split_path, visit_path};
use crate::resource::{Gvk, Resource};

fn skipped(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// Which end of the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affix {
    Prefix,
    Suffix,
}

/// Adds `affix` to the names the field specs reach.
pub fn apply(
    resources: &mut [Resource],
    affix: &str,
    which: Affix,
    specs: &[FieldSpec],
) -> Result<(), String> {
    if affix.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skipped(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                match which {
                    Affix::Prefix => r.prefixes.push(affix.to_string()),
                    Affix::Suffix => r.suffixes.push(affix.to_string()),
                }
                r.store_previous_id();
            }
            let leaf = Value::String(String::new());
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(
                &mut root,
                &split_path(&fs.path),
                fs.create.then_some(&leaf),
                &mut |n| {
                    let cur = crate::resource::scalar_string(n);
                    *n = Value::String(match which {
                        Affix::Prefix => format!("{affix}{cur}"),
                        Affix::Suffix => format!("{cur}{affix}"),
                    });
                    Ok(())
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
    fn prefixes_names_but_not_crds_or_namespaces() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.y.z}\n",
        );
        let c = TransformerConfig::defaults();
        assert!(apply(&mut rs, "p-", Affix::Prefix, &c.name_prefix).is_ok());
        assert!(apply(&mut rs, "-s", Affix::Suffix, &c.name_suffix).is_ok());
        assert_eq!(rs[0].name(), "p-a-s");
        assert_eq!(rs[0].prefixes, vec!["p-"]);
        assert_eq!(rs[0].prev_ids.len(), 2);
        assert_eq!(rs[0].org_id().name, "a");
        assert_eq!(rs[1].name(), "ns");
        assert_eq!(rs[2].name(), "x.y.z");
    }
}
