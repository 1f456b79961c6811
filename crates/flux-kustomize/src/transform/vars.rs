//! `vars:` (deprecated in kustomize, still honoured): `$(NAME)` in the configured fields is
//! replaced by a field of a named resource.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::field_spec::{FieldSpec, split_path, visit_path};
use crate::kustomization::Var;
use crate::resource::{Gvk, ResId, Resource};

/// The gvk a var's `objref` names.
pub fn objref_gvk(v: &Var) -> Gvk {
    let mut g = if v.objref.api_version.is_empty() {
        Gvk {
            group: v.objref.group.clone(),
            version: v.objref.version.clone(),
            kind: String::new(),
        }
    } else {
        Gvk::from_api_version(&v.objref.api_version, "")
    };
    g.kind = v.objref.kind.clone();
    g
}

/// Binds a var to the resource it names (kustomize's MergeVars, run where the var is declared).
pub fn bind(resources: &mut [Resource], v: &Var) -> Result<(), String> {
    let target = ResId {
        gvk: objref_gvk(v),
        name: v.objref.name.clone(),
        namespace: v.objref.namespace.clone(),
    };
    let strict_ns = !target.namespace.is_empty() || target.gvk.is_cluster_scoped();
    let hits: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.all_ids().iter().any(|id| {
                if strict_ns {
                    id.equals(&target)
                } else {
                    id.gvk == target.gvk && id.name == target.name
                }
            })
        })
        .map(|(i, _)| i)
        .collect();
    if hits.len() > 1 {
        return Err(format!(
            "found {} resId matches for var {} (unable to disambiguate)",
            hits.len(),
            v.name
        ));
    }
    if let Some(&i) = hits.first() {
        resources[i].ref_var_names.push(v.name.clone());
    }
    Ok(())
}

/// Reads a field by a kustomize field path (`spec.containers[0].image`).
fn field_value(obj: &Value, path: &str) -> Option<Value> {
    let mut cur = obj;
    for part in path.split('.') {
        let (name, idx) = match part.find('[') {
            Some(i) if part.ends_with(']') => (
                &part[..i],
                part[i + 1..part.len() - 1].parse::<usize>().ok(),
            ),
            _ => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(i) = idx {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

/// Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown names stay as written.
pub fn expand(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            if b[i + 1] == b'$' {
                out.push_str(&s[last..i]);
                out.push('$');
                i += 2;
                last = i;
                continue;
            }
            if b[i + 1] == b'('
                && let Some(close) = s[i + 2..].find(')')
            {
                {
                    let name = &s[i + 2..i + 2 + close];
                    out.push_str(&s[last..i]);
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    i = i + 2 + close + 1;
                    last = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    out
}

fn replace_in(node: &mut Value, values: &BTreeMap<String, Value>) {
    match node {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
                && let Some(v) = values.get(name)
                && !v.is_string()
            {
                *node = v.clone();
                return;
            }
            let lookup = |n: &str| values.get(n).map(crate::resource::scalar_string);
            *s = expand(s, &lookup);
        }
        Value::Array(items) => {
            for it in items {
                if it.is_string() {
                    replace_in(it, values);
                }
            }
        }
        Value::Object(m) => {
            for v in m.values_mut() {
                if v.is_string() {
                    replace_in(v, values);
                }
            }
        }
        _ => {}
    }
}

/// Resolves every var and substitutes it in the var-reference fields.
pub fn resolve(
    resources: &mut [Resource],
    vars: &[Var],
    specs: &[FieldSpec],
) -> Result<(), String> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values = BTreeMap::new();
    for v in vars {
        let holder = resources.iter().find(|r| r.ref_var_names.contains(&v.name));
        let Some(r) = holder else {
            return Err(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.name
            ));
        };
        let fp = if v.fieldref.field_path.is_empty() {
            "metadata.name"
        } else {
            &v.fieldref.field_path
        };
        let obj = Value::Object(r.obj.clone());
        let value = field_value(&obj, fp)
            .ok_or_else(|| format!("var '{}': field '{fp}' not found in {}", v.name, r.cur_id()))?;
        if value.is_object() || value.is_array() {
            return Err(format!(
                "var '{}': field '{fp}' of {} is not a scalar",
                v.name,
                r.cur_id()
            ));
        }
        values.insert(v.name.clone(), value);
    }
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        let mut root = Value::Object(std::mem::take(&mut r.obj));
        for fs in specs {
            if !gvk.is_selected_by(&fs.gvk) {
                continue;
            }
            let _ = visit_path(&mut root, &split_path(&fs.path), None, &mut |n| {
                replace_in(n, &values);
                Ok(())
            });
        }
        if let Value::Object(m) = root {
            r.obj = m;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_spec::TransformerConfig;
    use crate::kustomization::{FieldSelector, VarTarget};
    use crate::transform::test_objects::resources;

    #[test]
    fn expansion_rules() {
        let l = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand("a-$(A)-$(B)-$$(A)", &l), "a-x-$(B)-$(A)");
    }

    #[test]
    fn substitutes_service_name_in_container_args() {
        let mut rs = resources(
            "apiVersion: v1\nkind: Service\nmetadata: {name: db}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: c, args: ['--db=$(DB)'], command: [run]}]\n",
        );
        let v = Var {
            name: "DB".into(),
            objref: VarTarget {
                api_version: "v1".into(),
                kind: "Service".into(),
                name: "db".into(),
                ..Default::default()
            },
            fieldref: FieldSelector::default(),
        };
        assert!(bind(&mut rs, &v).is_ok());
        let c = TransformerConfig::defaults();
        assert!(resolve(&mut rs, &[v], &c.var_reference).is_ok());
        assert_eq!(
            rs[1].obj["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "--db=db"
        );
    }
}
