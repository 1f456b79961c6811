//! Name references: after renames (prefix, suffix, hash, namespace), fields that refer to a
//! renamed object by name are updated, the way kustomize's nameReference step does.

use serde_json::Value;

use crate::field_spec::{NameBackRef, split_path, visit_path};
use crate::resource::{Gvk, ResId, Resource};

/// What the step needs to know of each resource (names do not change while it runs).
struct Snapshot {
    cur: ResId,
    org: ResId,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let diff = long.len() - short.len();
    if short.is_empty() {
        return diff == 0;
    }
    short.iter().enumerate().all(|(i, s)| &long[i + diff] == s)
}

fn affixes_equal(a: &Snapshot, b: &Snapshot, allow_empty: bool) -> bool {
    if allow_empty {
        let pre =
            a.prefixes.is_empty() || b.prefixes.is_empty() || same_ending(&a.prefixes, &b.prefixes);
        let suf =
            a.suffixes.is_empty() || b.suffixes.is_empty() || same_ending(&a.suffixes, &b.suffixes);
        pre && suf
    } else {
        same_ending(&a.prefixes, &b.prefixes) && same_ending(&a.suffixes, &b.suffixes)
    }
}

/// Whether an id is in namespace `ns` (an empty namespace is `default`).
fn same_ns(id: &ResId, ns: &str) -> bool {
    let ns = if ns.is_empty() { "default" } else { ns };
    let have = if id.namespace.is_empty() {
        "default"
    } else {
        id.namespace.as_str()
    };
    have == ns
}

struct Referral<'a> {
    snaps: &'a [Snapshot],
    referrer: usize,
    target: &'a Gvk,
    role_ref: Option<Gvk>,
}

impl Referral<'_> {
    fn select(
        &self,
        old_name: &str,
        candidates: &[usize],
        identical: fn(&[&Snapshot]) -> bool,
    ) -> Result<Option<usize>, String> {
        let me = &self.snaps[self.referrer];
        let mut c: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&j| {
                let s = &self.snaps[j];
                s.prev.iter().any(|id| id.name == old_name)
                    && s.prev.iter().any(|id| id.gvk.is_selected_by(self.target))
                    && self
                        .role_ref
                        .as_ref()
                        .is_none_or(|g| s.prev.iter().any(|id| id.gvk.is_selected_by(g)))
                    && (me.cur.gvk.is_cluster_scoped()
                        || s.cur.gvk.is_cluster_scoped()
                        || s.cur.gvk.kind == "ServiceAccount"
                        || s.cur.effective_namespace() == me.cur.effective_namespace())
            })
            .collect();
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&j| affixes_equal(&self.snaps[j], me, true));
        if c.len() > 1 {
            c.retain(|&j| affixes_equal(&self.snaps[j], me, false));
        }
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ => {
                let list: Vec<&Snapshot> = c.iter().map(|&j| &self.snaps[j]).collect();
                if identical(&list) {
                    Ok(Some(c[0]))
                } else {
                    let ids: Vec<String> = list.iter().map(|s| s.cur.to_string()).collect();
                    Err(format!(
                        "found multiple possible referrals: {} (referrer {})",
                        ids.join(", "),
                        me.cur
                    ))
                }
            }
        }
    }

    fn set_scalar(&self, node: &mut Value, candidates: &[usize]) -> Result<(), String> {
        let Some(old) = node.as_str() else {
            return Ok(());
        };
        let found = self.select(old, candidates, |l| {
            l.iter().all(|s| s.cur.name == l[0].cur.name)
        })?;
        if let Some(j) = found {
            *node = Value::String(self.snaps[j].cur.name.clone());
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value, candidates: &[usize]) -> Result<(), String> {
        let Some(map) = node.as_object_mut() else {
            return Ok(());
        };
        let Some(old) = map.get("name").and_then(Value::as_str).map(str::to_string) else {
            return Err("path config error; no 'name' field in node".into());
        };
        let filtered: Vec<usize> = match map.get("namespace").and_then(Value::as_str) {
            None => candidates.to_vec(),
            Some(ns) => {
                let by_org: Vec<usize> = candidates
                    .iter()
                    .copied()
                    .filter(|&j| same_ns(&self.snaps[j].org, ns))
                    .collect();
                if !by_org.is_empty() {
                    by_org
                } else {
                    candidates
                        .iter()
                        .copied()
                        .filter(|&j| same_ns(&self.snaps[j].cur, ns))
                        .collect()
                }
            }
        };
        let found = self.select(&old, &filtered, |l| {
            l.iter()
                .all(|s| s.cur.name == l[0].cur.name && s.cur.namespace == l[0].cur.namespace)
        })?;
        let Some(j) = found else {
            return Ok(());
        };
        let target = &self.snaps[j].cur;
        if target.name == old && target.namespace.is_empty() {
            return Ok(());
        }
        map.insert("name".into(), Value::String(target.name.clone()));
        if !target.namespace.is_empty() {
            map.insert("namespace".into(), Value::String(target.namespace.clone()));
        }
        Ok(())
    }

    fn set(&self, node: &mut Value, candidates: &[usize]) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::Object(_) => self.set_mapping(node, candidates),
            Value::Array(items) => {
                for item in items {
                    if item.is_object() {
                        self.set_mapping(item, candidates)?;
                    } else {
                        self.set_scalar(item, candidates)?;
                    }
                }
                Ok(())
            }
            _ => self.set_scalar(node, candidates),
        }
    }
}

fn role_binding_namespaces(r: &Resource) -> Vec<String> {
    if r.kind() != "RoleBinding" {
        return Vec::new();
    }
    match r.obj.get("subjects") {
        Some(Value::Array(subjects)) => subjects
            .iter()
            .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
            .filter_map(|s| {
                s.get("namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Updates name references in every resource.
pub fn apply(resources: &mut [Resource], back_refs: &[NameBackRef]) -> Result<(), String> {
    let snaps: Vec<Snapshot> = resources
        .iter()
        .map(|r| Snapshot {
            cur: r.cur_id(),
            org: r.org_id(),
            prev: r.prev_ids.clone(),
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        })
        .collect();
    for i in 0..resources.len() {
        let org_gvk = snaps[i].org.gvk.clone();
        let me = &snaps[i];
        let rb_ns = role_binding_namespaces(&resources[i]);
        let candidates: Vec<usize> = (0..snaps.len())
            .filter(|&j| {
                let t = &snaps[j].cur;
                me.cur.gvk.is_cluster_scoped()
                    || t.gvk.is_cluster_scoped()
                    || t.effective_namespace() == me.cur.effective_namespace()
                    || rb_ns.contains(&t.namespace)
            })
            .collect();
        for br in back_refs {
            for fs in &br.referrers {
                if !org_gvk.is_selected_by(&fs.gvk) {
                    continue;
                }
                let role_ref = if fs.path.ends_with("roleRef/name") {
                    let rr = resources[i].obj.get("roleRef");
                    match (
                        rr.and_then(|x| x.get("apiGroup")).and_then(Value::as_str),
                        rr.and_then(|x| x.get("kind")).and_then(Value::as_str),
                    ) {
                        (Some(g), Some(k)) => Some(Gvk {
                            group: g.to_string(),
                            version: String::new(),
                            kind: k.to_string(),
                        }),
                        _ => None,
                    }
                } else {
                    None
                };
                let referral = Referral {
                    snaps: &snaps,
                    referrer: i,
                    target: &br.gvk,
                    role_ref,
                };
                let mut root = Value::Object(std::mem::take(&mut resources[i].obj));
                let res = visit_path(&mut root, &split_path(&fs.path), None, &mut |n| {
                    referral.set(n, &candidates)
                });
                if let Value::Object(m) = root {
                    resources[i].obj = m;
                }
                res.map_err(|e| {
                    format!(
                        "updating name reference in '{}' field of '{}': {e}",
                        fs.path, snaps[i].cur
                    )
                })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_spec::TransformerConfig;
    use crate::transform::name_affix::{self, Affix};
    use crate::transform::test_objects::resources;

    #[test]
    fn follows_prefixed_config_map_and_service_account() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      serviceAccountName: sa\n      volumes: [{name: v, configMap: {name: cfg}}]\n      containers: [{name: c, envFrom: [{configMapRef: {name: cfg}}, {configMapRef: {name: other}}]}]\n",
        );
        let c = TransformerConfig::defaults();
        assert!(name_affix::apply(&mut rs, "p-", Affix::Prefix, &c.name_prefix).is_ok());
        assert!(apply(&mut rs, &c.name_reference).is_ok());
        let spec = &rs[2].obj["spec"]["template"]["spec"];
        assert_eq!(spec["serviceAccountName"], "p-sa");
        assert_eq!(spec["volumes"][0]["configMap"]["name"], "p-cfg");
        assert_eq!(
            spec["containers"][0]["envFrom"][0]["configMapRef"]["name"],
            "p-cfg"
        );
        assert_eq!(
            spec["containers"][0]["envFrom"][1]["configMapRef"]["name"],
            "other"
        );
    }

    #[test]
    fn role_binding_subject_gets_new_namespace() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: old}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\nsubjects:\n- {kind: ServiceAccount, name: sa, namespace: old}\n",
        );
        let c = TransformerConfig::defaults();
        assert!(crate::transform::namespace::apply(&mut rs, "new", &c.namespace).is_ok());
        assert!(apply(&mut rs, &c.name_reference).is_ok());
        assert_eq!(rs[1].obj["subjects"][0]["namespace"], "new");
    }
}
