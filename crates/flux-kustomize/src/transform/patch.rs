//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: strategic merge patches and
//! RFC 6902 JSON patches, by the patch's own id or by a target selector.
//! The merge semantics come from `flux-merge`.

use std::collections::BTreeMap;

use flux_merge::schema::{SchemaSet, TypeRef};
use serde_json::{Map, Value};

use crate::kustomization::Selector;
use crate::resource::Resource;
use crate::selector::{find_by_any_id, select};

/// A parsed patch.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchDoc {
    /// One or more strategic merge patches.
    Strategic(Vec<Map<String, Value>>),
    /// An RFC 6902 operation list.
    Json(Value),
}

/// Decides, as kustomize does, whether a patch text is a strategic merge patch or a JSON patch.
/// The text is used as given (kustomize trims inline `patch:` text, not files).
pub fn parse_patch(text: &str) -> Result<PatchDoc, String> {
    if text.trim().is_empty() {
        return Err("empty patch".into());
    }
    let json_ops: Option<Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text)
            .ok()
            .or_else(|| flux_object::yaml::parse_document(text).ok())
    } else {
        flux_object::yaml::parse_document(text).ok()
    }
    .filter(|v| {
        v.as_array()
            .is_some_and(|ops| ops.iter().all(|op| op.get("op").is_some()))
    });
    if let Some(ops) = json_ops {
        return Ok(PatchDoc::Json(ops));
    }
    let docs = flux_object::yaml::parse_documents(&crate::yaml_words::protect(text))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for d in docs {
        match d {
            Value::Object(m) => {
                let has = |f: Option<&Value>| f.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
                if !has(m.get("kind")) || !has(m.get("metadata").and_then(|md| md.get("name"))) {
                    return Err("unable to parse SM or JSON patch: a strategic merge patch needs `kind` and `metadata.name`".into());
                }
                out.push(m);
            }
            Value::Null => {}
            _ => return Err("unable to parse SM or JSON patch: a document is neither a mapping nor a list of operations".into()),
        }
    }
    if out.is_empty() {
        return Err("unable to parse SM or JSON patch: no documents".into());
    }
    Ok(PatchDoc::Strategic(out))
}

/// Options of a `patches` entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatchOptions {
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

impl PatchOptions {
    /// From the `options:` map of a `patches` entry.
    pub fn from_map(m: &BTreeMap<String, bool>) -> Self {
        PatchOptions {
            allow_name_change: m.get("allowNameChange").copied().unwrap_or(false),
            allow_kind_change: m.get("allowKindChange").copied().unwrap_or(false),
        }
    }
}

fn is_delete(patch: &Map<String, Value>) -> bool {
    patch.get("$patch").and_then(Value::as_str) == Some("delete")
}

/// Applies a strategic merge patch to one resource (the resource becomes empty when the
/// patch says `$patch: delete`).
pub fn apply_smp(
    r: &mut Resource,
    patch: &Map<String, Value>,
    opts: PatchOptions,
    schemas: &SchemaSet,
) -> Result<(), String> {
    if is_delete(patch) {
        r.obj.clear();
        return Ok(());
    }
    let (name, ns, kind) = (
        r.name().to_string(),
        r.namespace().to_string(),
        r.kind().to_string(),
    );
    if opts.allow_name_change || opts.allow_kind_change {
        r.store_previous_id();
    }
    let schema = schemas.for_kind(r.api_version(), r.kind());
    let original = Value::Object(std::mem::take(&mut r.obj));
    let merged = flux_merge::strategic::apply(&original, &Value::Object(patch.clone()), schema);
    match merged {
        Ok(mut v @ Value::Object(_)) => {
            let patch_value = Value::Object(patch.clone());
            kyaml_list_order(&mut v, &patch_value, schema);
            drop_null_fields(&mut v, schema);
            if let Value::Object(m) = v {
                r.obj = m;
            }
        }
        Ok(_) => {
            if let Value::Object(m) = original {
                r.obj = m;
            }
            return Err("strategic merge patch did not produce an object".into());
        }
        Err(e) => {
            if let Value::Object(m) = original {
                r.obj = m;
            }
            return Err(e.to_string());
        }
    }
    if !opts.allow_kind_change {
        r.obj.insert("kind".into(), Value::String(kind));
    }
    if !opts.allow_name_change {
        r.set_name(&name);
    }
    r.set_namespace(&ns);
    Ok(())
}

/// kustomize merges with kyaml, which lists a merged list's patch elements first (in patch
/// order), then the original's other elements. flux-merge keeps Kubernetes' order; this
/// reorders lists the patch merged by key.
fn kyaml_list_order(result: &mut Value, patch: &Value, schema: Option<TypeRef<'_>>) {
    match (result, patch) {
        (Value::Object(rm), Value::Object(pm)) => {
            for (k, pv) in pm {
                if k.starts_with('$') {
                    continue;
                }
                if let Some(rv) = rm.get_mut(k) {
                    kyaml_list_order(rv, pv, schema.and_then(|s| s.field(k)));
                }
            }
        }
        (Value::Array(items), Value::Array(patch_items)) => {
            let Some(t) = schema else {
                return;
            };
            if !t.patch_strategy().merge {
                return;
            }
            let key = t.merge_key();
            let item_schema = t.items();
            let same = |a: &Value, b: &Value| match key {
                Some(k) => {
                    a.is_object() && b.is_object() && a.get(k).is_some() && a.get(k) == b.get(k)
                }
                None => !a.is_object() && a == b,
            };
            let mut front = Vec::new();
            let mut rest: Vec<Value> = std::mem::take(items);
            for p in patch_items {
                if let Some(pos) = rest.iter().position(|x| same(x, p)) {
                    let mut el = rest.remove(pos);
                    kyaml_list_order(&mut el, p, item_schema);
                    front.push(el);
                }
            }
            front.extend(rest);
            *items = front;
        }
        _ => {}
    }
}

/// kyaml's merge drops a field left empty (`key:` with no value) and keeps an explicit
/// `null`. The parsed object no longer tells them apart, so this drops null fields whose
/// schema is a map or a list (where empty values come from templating) and keeps scalar
/// ones (`creationTimestamp: null`). Documented as a deviation.
fn drop_null_fields(v: &mut Value, schema: Option<TypeRef<'_>>) {
    use flux_merge::schema::Shape;
    match v {
        Value::Object(m) => {
            m.retain(|k, x| {
                !(x.is_null()
                    && schema
                        .and_then(|s| s.field(k))
                        .is_some_and(|f| matches!(f.shape(), Shape::Object | Shape::List)))
            });
            for (k, x) in m.iter_mut() {
                drop_null_fields(x, schema.and_then(|s| s.field(k)));
            }
        }
        Value::Array(a) => {
            for x in a {
                drop_null_fields(x, schema.and_then(|s| s.items()));
            }
        }
        _ => {}
    }
}

/// Applies a JSON patch to one resource.
pub fn apply_json(r: &mut Resource, ops: &Value) -> Result<(), String> {
    r.store_previous_id();
    let doc = Value::Object(r.obj.clone());
    match flux_merge::json_patch::apply_json_patch(&doc, ops) {
        Ok(Value::Object(m)) => {
            r.obj = m;
            Ok(())
        }
        Ok(_) => Err("JSON patch did not produce an object".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Applies a parsed patch: with a target to every selected resource, without one to the
/// resource each strategic merge patch names.
pub fn apply(
    resources: &mut Vec<Resource>,
    doc: &PatchDoc,
    target: Option<&Selector>,
    opts: PatchOptions,
    schemas: &SchemaSet,
) -> Result<(), String> {
    match (doc, target) {
        (PatchDoc::Json(_), None) => {
            return Err("must specify a target for JSON patch".into());
        }
        (PatchDoc::Json(ops), Some(t)) => {
            for i in select(resources, t)? {
                apply_json(&mut resources[i], ops)?;
            }
        }
        (PatchDoc::Strategic(patches), Some(t)) => {
            if patches.len() > 1 {
                return Err("Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field".into());
            }
            for i in select(resources, t)? {
                let mut p = patches[0].clone();
                let api_version = resources[i].api_version().to_string();
                p.insert("apiVersion".into(), Value::String(api_version));
                if !p.contains_key("kind") {
                    p.insert(
                        "kind".into(),
                        Value::String(resources[i].kind().to_string()),
                    );
                }
                apply_smp(&mut resources[i], &p, opts, schemas)?;
            }
        }
        (PatchDoc::Strategic(patches), None) => {
            for p in patches {
                let id = Resource::new(p.clone()).cur_id();
                let found = find_by_any_id(resources, &id);
                match found.len() {
                    1 => apply_smp(&mut resources[found[0]], p, opts, schemas)?,
                    0 => {
                        return Err(format!(
                            "no matches for Id {id}; failed to find unique target for patch {id}"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "multiple matches for Id {id}; failed to find unique target for patch {id}"
                        ));
                    }
                }
            }
        }
    }
    resources.retain(|r| !r.is_empty());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::test_objects::resources;

    #[test]
    fn detects_patch_kinds() {
        assert!(matches!(
            parse_patch("- op: replace\n  path: /spec/replicas\n  value: 3\n"),
            Ok(PatchDoc::Json(_))
        ));
        assert!(matches!(
            parse_patch("[{\"op\": \"remove\", \"path\": \"/a\"}]"),
            Ok(PatchDoc::Json(_))
        ));
        assert!(matches!(
            parse_patch("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"),
            Ok(PatchDoc::Strategic(_))
        ));
        assert!(parse_patch("  ").is_err());
    }

    #[test]
    fn strategic_patch_by_own_id_merges_containers() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x}, {name: b, image: y}]\n",
        );
        let doc = parse_patch(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: b, image: z}]\n",
        );
        let doc = doc.unwrap_or(PatchDoc::Json(Value::Null));
        let res = apply(
            &mut rs,
            &doc,
            None,
            PatchOptions::default(),
            SchemaSet::builtin(),
        );
        assert!(res.is_ok(), "{res:?}");
        // kyaml order: the patched element first, then the others.
        let c = &rs[0].obj["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["name"], "b");
        assert_eq!(c[0]["image"], "z");
        assert_eq!(c[1]["image"], "x");
    }

    #[test]
    fn merged_list_puts_patch_elements_first_and_drops_nulls() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, creationTimestamp: null}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: [{name: X, value: '1'}, {name: YY, value: '2'}]\n",
        );
        let doc = parse_patch(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: [{name: YY, value: '3'}, {name: Z, value: '4'}]\n",
        )
        .unwrap_or(PatchDoc::Json(Value::Null));
        assert!(
            apply(
                &mut rs,
                &doc,
                None,
                PatchOptions::default(),
                SchemaSet::builtin()
            )
            .is_ok()
        );
        let env = &rs[0].obj["spec"]["template"]["spec"]["containers"][0]["env"];
        let names: Vec<&str> = env
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, vec!["YY", "Z", "X"]);
        assert_eq!(env[0]["value"], "3");
        assert!(rs[0].obj["metadata"].get("creationTimestamp").is_some());
    }

    #[test]
    fn patch_without_target_match_is_an_error() {
        let mut rs = resources("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
        let doc =
            parse_patch("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: y}\n")
                .unwrap_or(PatchDoc::Json(Value::Null));
        let err = apply(
            &mut rs,
            &doc,
            None,
            PatchOptions::default(),
            SchemaSet::builtin(),
        );
        assert!(err.is_err_and(|e| e.contains("no matches for Id ConfigMap.v1.[noGrp]/b.[noNs]")));
    }

    #[test]
    fn json_patch_with_target_and_delete_directive() {
        let mut rs = resources(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n",
        );
        let sel = Selector {
            kind: "Deployment".into(),
            ..Default::default()
        };
        let doc = parse_patch("- {op: replace, path: /spec/replicas, value: 5}")
            .unwrap_or(PatchDoc::Json(Value::Null));
        assert!(
            apply(
                &mut rs,
                &doc,
                Some(&sel),
                PatchOptions::default(),
                SchemaSet::builtin()
            )
            .is_ok()
        );
        assert_eq!(rs[0].obj["spec"]["replicas"], 5);
        let del = parse_patch(
            "$patch: delete\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n",
        )
        .unwrap_or(PatchDoc::Json(Value::Null));
        assert!(
            apply(
                &mut rs,
                &del,
                None,
                PatchOptions::default(),
                SchemaSet::builtin()
            )
            .is_ok()
        );
        assert_eq!(rs.len(), 1);
    }
}
