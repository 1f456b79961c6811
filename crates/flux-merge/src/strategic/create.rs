//! Creating strategic merge patches: two-way (original → modified) and three-way (what
//! `kubectl apply` sends: from the last-applied configuration, the new configuration and the
//! live object). Follows Kubernetes' `CreateTwoWayMergePatch` / `CreateThreeWayMergePatch`.

use serde_json::{Map, Value};

use super::{
    DELETE_FROM_PRIMITIVE_LIST, DIRECTIVE, Error, Kind, MergeOptions, Path, RETAIN_KEYS,
    SET_ELEMENT_ORDER, kind_of, lookup_slice, lookup_struct, map_merge_key, merge_map, order,
    scalar_eq, slice_element_kind,
};
use crate::schema::TypeRef;

/// The annotation in which `kubectl apply` keeps the configuration it last applied.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `config` as `kubectl apply` sends it: with the last-applied annotation set to the JSON of
/// the configuration itself (Go's encoding: sorted keys, HTML-escaped, a trailing newline, and
/// an `annotations: {}` left behind when the configuration had none).
pub fn with_last_applied(config: &Value) -> Result<Value, Error> {
    let Value::Object(_) = config else {
        return Err(Error::OriginalNotObject);
    };
    let mut modified = config.clone();
    let annotations = annotations_mut(&mut modified)?;
    annotations.shift_remove(LAST_APPLIED_ANNOTATION);
    let mut text = String::new();
    crate::fieldpath::write_go_json(&mut text, &modified);
    text.push('\n');
    annotations_mut(&mut modified)?
        .insert(LAST_APPLIED_ANNOTATION.to_string(), Value::String(text));
    Ok(modified)
}

fn annotations_mut(object: &mut Value) -> Result<&mut Map<String, Value>, Error> {
    let wrong = |found: &Value| Error::WrongType {
        path: ".metadata.annotations".into(),
        expected: "an object",
        found: super::kind_name(found),
    };
    let Some(root) = object.as_object_mut() else {
        return Err(Error::OriginalNotObject);
    };
    let metadata = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if metadata.is_null() {
        *metadata = Value::Object(Map::new());
    }
    let Value::Object(metadata) = metadata else {
        return Err(wrong(metadata));
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if annotations.is_null() {
        *annotations = Value::Object(Map::new());
    }
    match annotations {
        Value::Object(m) => Ok(m),
        other => Err(wrong(other)),
    }
}

/// The patch `kubectl apply` sends to update `live` to `config`: a three-way patch from the
/// configuration recorded in `live`'s last-applied annotation (absent: nothing applied
/// before), the configuration with its new annotation, and `live`.
pub fn create_apply_patch(
    live: &Value,
    config: &Value,
    schema: Option<TypeRef<'_>>,
    overwrite: bool,
) -> Result<Value, Error> {
    let original = match live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
    {
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str(text).map_err(|e| Error::LastApplied {
                reason: e.to_string(),
            })?
        }
        _ => Value::Null,
    };
    let modified = with_last_applied(config)?;
    create_three_way_patch(&original, &modified, live, schema, overwrite)
}

#[derive(Debug, Clone, Copy, Default)]
struct DiffOptions {
    /// Emit `$setElementOrder` lists.
    set_element_order: bool,
    /// Leave additions and changes out (only deletions).
    ignore_changes_and_additions: bool,
    /// Leave deletions out.
    ignore_deletions: bool,
    /// Emit `$retainKeys` for this map (its field has the `retainKeys` strategy).
    build_retain_keys: bool,
}

/// The strategic merge patch that turns `original` into `modified` (both JSON objects).
pub fn create_two_way_patch(
    original: &Value,
    modified: &Value,
    schema: Option<TypeRef<'_>>,
) -> Result<Value, Error> {
    let (Value::Object(original), Value::Object(modified)) = (original, modified) else {
        return Err(Error::OriginalNotObject);
    };
    let opts = DiffOptions {
        set_element_order: true,
        ..DiffOptions::default()
    };
    Ok(Value::Object(diff_maps(
        original,
        modified,
        schema,
        opts,
        &Path::Root,
    )?))
}

/// The patch `kubectl apply` sends: changes from `current` (the live object) to `modified` (the
/// new configuration) without deletions, plus the deletions from `original` (the
/// last-applied configuration) to `modified`. Fields others set on the live object and the
/// configuration never named survive; fields removed from the configuration are removed.
///
/// With `overwrite = false`, a patch that changes a field differently from how the live object
/// changed it since `original` is refused with [`Error::Conflict`].
pub fn create_three_way_patch(
    original: &Value,
    modified: &Value,
    current: &Value,
    schema: Option<TypeRef<'_>>,
    overwrite: bool,
) -> Result<Value, Error> {
    let empty = Map::new();
    let as_map = |v: &'_ Value| -> Result<Map<String, Value>, Error> {
        match v {
            Value::Object(m) => Ok(m.clone()),
            Value::Null => Ok(empty.clone()),
            _ => Err(Error::OriginalNotObject),
        }
    };
    let (original, modified, current) = (as_map(original)?, as_map(modified)?, as_map(current)?);
    let delta = diff_maps(
        &current,
        &modified,
        schema,
        DiffOptions {
            ignore_deletions: true,
            set_element_order: true,
            ..DiffOptions::default()
        },
        &Path::Root,
    )?;
    let deletions = diff_maps(
        &original,
        &modified,
        schema,
        DiffOptions {
            set_element_order: true,
            ignore_changes_and_additions: true,
            ..DiffOptions::default()
        },
        &Path::Root,
    )?;
    let merge_patches = MergeOptions {
        merge_parallel_list: false,
        ignore_unmatched_nulls: false,
    };
    let patch = merge_map(deletions, delta, schema, &merge_patches, &Path::Root)?;
    if !overwrite {
        let changed = diff_maps(
            &original,
            &current,
            schema,
            DiffOptions::default(),
            &Path::Root,
        )?;
        if let Some(path) = conflict(
            &Value::Object(patch.clone()),
            &Value::Object(changed),
            schema,
            false,
            "",
            &Path::Root,
        )? {
            return Err(Error::Conflict { path });
        }
    }
    Ok(Value::Object(patch))
}

/// Deep equality with Go's number comparison.
fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_eq(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| deep_eq(v, w))
        }
        _ => scalar_eq(a, b),
    }
}

/// Go's `fmt.Sprintf("%v", v)` for the scalars upstream sorts by.
fn go_format(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

fn sort_scalars(list: &mut [Value]) {
    list.sort_by_cached_key(|v| go_format(Some(v)));
}

fn diff_maps(
    original: &Map<String, Value>,
    modified: &Map<String, Value>,
    schema: Option<TypeRef<'_>>,
    opts: DiffOptions,
    path: &Path<'_>,
) -> Result<Map<String, Value>, Error> {
    let mut patch = Map::new();
    let mut retain_keys = Vec::new();
    for (key, modified_value) in modified {
        if opts.build_retain_keys && !modified_value.is_null() {
            retain_keys.push(Value::String(key.clone()));
        }
        let Some(original_value) = original.get(key) else {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_value.clone());
            }
            continue;
        };
        if key == DIRECTIVE {
            match (original_value, modified_value) {
                (Value::String(o), Value::String(m)) => {
                    if o != m {
                        patch.insert(key.clone(), modified_value.clone());
                    }
                }
                _ => {
                    return Err(Error::UnknownDirective {
                        path: path.render(),
                        directive: modified_value.to_string(),
                    });
                }
            }
            continue;
        }
        if kind_of(original_value) != kind_of(modified_value) {
            if !opts.ignore_changes_and_additions {
                patch.insert(key.clone(), modified_value.clone());
            }
            continue;
        }
        let here = Path::Field(path, key);
        match (original_value, modified_value) {
            (Value::Object(o), Value::Object(m)) => {
                let meta = lookup_struct(schema, key);
                if meta.replace {
                    if !opts.ignore_changes_and_additions {
                        patch.insert(key.clone(), modified_value.clone());
                    }
                } else {
                    let sub_opts = DiffOptions {
                        build_retain_keys: meta.retain_keys,
                        ..opts
                    };
                    let sub = diff_maps(o, m, meta.sub, sub_opts, &here)?;
                    if !sub.is_empty() {
                        patch.insert(key.clone(), Value::Object(sub));
                    }
                }
            }
            (Value::Array(o), Value::Array(m)) => {
                let meta = lookup_slice(schema, key);
                if meta.merge {
                    let sub_opts = DiffOptions {
                        build_retain_keys: meta.retain_keys,
                        ..opts
                    };
                    let (add, delete, set_order) =
                        diff_lists(o, m, meta.sub, &meta.merge_key, sub_opts, &here)?;
                    if !add.is_empty() {
                        patch.insert(key.clone(), Value::Array(add));
                    }
                    if !delete.is_empty() {
                        patch.insert(
                            format!("{DELETE_FROM_PRIMITIVE_LIST}/{key}"),
                            Value::Array(delete),
                        );
                    }
                    if !set_order.is_empty() {
                        patch.insert(
                            format!("{SET_ELEMENT_ORDER}/{key}"),
                            Value::Array(set_order),
                        );
                    }
                } else if !opts.ignore_changes_and_additions
                    && !deep_eq(original_value, modified_value)
                {
                    patch.insert(key.clone(), modified_value.clone());
                }
            }
            _ => {
                if !opts.ignore_changes_and_additions && !deep_eq(original_value, modified_value) {
                    patch.insert(key.clone(), modified_value.clone());
                }
            }
        }
    }
    if !opts.ignore_deletions {
        for key in original.keys() {
            if !modified.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    let has_additional = original
        .iter()
        .any(|(k, v)| !v.is_null() && !modified.contains_key(k));
    if !retain_keys.is_empty() && (!patch.is_empty() || has_additional) {
        sort_scalars(&mut retain_keys);
        patch.insert(RETAIN_KEYS.to_string(), Value::Array(retain_keys));
    }
    Ok(patch)
}

type ListDiff = (Vec<Value>, Vec<Value>, Vec<Value>);

/// (patch list, parallel deletion list, `$setElementOrder` list) for a merging list.
fn diff_lists(
    original: &[Value],
    modified: &[Value],
    items: Option<TypeRef<'_>>,
    merge_key: &str,
    opts: DiffOptions,
    path: &Path<'_>,
) -> Result<ListDiff, Error> {
    if original.is_empty() {
        if modified.is_empty() || opts.ignore_changes_and_additions {
            return Ok((Vec::new(), Vec::new(), Vec::new()));
        }
        return Ok((modified.to_vec(), Vec::new(), Vec::new()));
    }
    let kind = slice_element_kind(original, modified, path)?;
    if kind == Kind::Map {
        let (patch_list, delete_list) =
            diff_lists_of_maps(original, modified, items, merge_key, opts, path)?;
        let mut patch_list = order::normalize_element_order(
            patch_list,
            Vec::new(),
            modified,
            &[],
            merge_key,
            kind,
            path,
        )?;
        let order_same = is_order_same(original, modified, merge_key, path)?;
        patch_list.extend(delete_list);
        let mut set_order = Vec::new();
        if opts.set_element_order
            && ((!opts.ignore_changes_and_additions && (!patch_list.is_empty() || !order_same))
                || (!opts.ignore_deletions && !patch_list.is_empty()))
        {
            for v in modified {
                let mut m = Map::new();
                m.insert(
                    merge_key.to_string(),
                    v.get(merge_key).cloned().unwrap_or(Value::Null),
                );
                set_order.push(Value::Object(m));
            }
        }
        return Ok((patch_list, Vec::new(), set_order));
    }
    // Lists of scalars. Upstream sorts `original` in place while diffing and then compares the
    // *sorted* original with `modified` to decide on `$setElementOrder`, so a pure reorder into
    // sorted order is lost. We compare the list as given (see README, differences).
    let mut sorted_original = original.to_vec();
    sort_scalars(&mut sorted_original);
    let (add, delete) = diff_lists_of_scalars(&sorted_original, modified, opts);
    let add =
        order::normalize_element_order(add, Vec::new(), modified, &[], merge_key, kind, path)?;
    let mut set_order = Vec::new();
    if opts.set_element_order
        && ((!opts.ignore_deletions && !delete.is_empty())
            || (!opts.ignore_changes_and_additions
                && !deep_eq(
                    &Value::Array(original.to_vec()),
                    &Value::Array(modified.to_vec()),
                )))
    {
        set_order = modified.to_vec();
    }
    Ok((add, delete, set_order))
}

fn is_order_same(
    original: &[Value],
    modified: &[Value],
    merge_key: &str,
    path: &Path<'_>,
) -> Result<bool, Error> {
    if original.len() != modified.len() {
        return Ok(false);
    }
    for (o, m) in original.iter().zip(modified) {
        let (ok, mk) = (
            map_merge_key(o, merge_key, path)?,
            map_merge_key(m, merge_key, path)?,
        );
        if !scalar_eq(ok, mk) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Walk both lists sorted by their printed form: (additions, deletions).
fn diff_lists_of_scalars(
    sorted_original: &[Value],
    modified: &[Value],
    opts: DiffOptions,
) -> (Vec<Value>, Vec<Value>) {
    let mut sorted_modified = modified.to_vec();
    sort_scalars(&mut sorted_modified);
    let (mut oi, mut mi) = (0, 0);
    let (mut add, mut delete) = (Vec::new(), Vec::new());
    loop {
        let (o, m) = (sorted_original.get(oi), sorted_modified.get(mi));
        match (o, m) {
            (None, None) => break,
            (Some(o), Some(m)) if go_format(Some(o)) == go_format(Some(m)) => {
                oi += 1;
                mi += 1;
            }
            (None, Some(m)) => {
                if !opts.ignore_changes_and_additions {
                    add.push(m.clone());
                }
                mi += 1;
            }
            (Some(o), Some(m)) if go_format(Some(o)) > go_format(Some(m)) => {
                if !opts.ignore_changes_and_additions {
                    add.push(m.clone());
                }
                mi += 1;
            }
            (Some(o), _) => {
                if !opts.ignore_deletions {
                    delete.push(o.clone());
                }
                oi += 1;
            }
        }
    }
    order::deduplicate_scalars(&mut delete);
    (add, delete)
}

fn diff_lists_of_maps(
    original: &[Value],
    modified: &[Value],
    items: Option<TypeRef<'_>>,
    merge_key: &str,
    opts: DiffOptions,
    path: &Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let sort = |list: &[Value]| -> Vec<Value> {
        let mut l = list.to_vec();
        l.sort_by_cached_key(|v| go_format(v.get(merge_key)));
        l
    };
    let (original, modified) = (sort(original), sort(modified));
    let (mut oi, mut mi) = (0, 0);
    let (mut patch, mut delete) = (Vec::new(), Vec::new());
    loop {
        let o = match original.get(oi) {
            Some(v) => Some((v, map_merge_key(v, merge_key, path)?)),
            None => None,
        };
        let m = match modified.get(mi) {
            Some(v) => Some((v, map_merge_key(v, merge_key, path)?)),
            None => None,
        };
        match (o, m) {
            (None, None) => break,
            (Some((ov, ok)), Some((mv, mk))) if go_format(Some(ok)) == go_format(Some(mk)) => {
                if let (Value::Object(om), Value::Object(mm)) = (ov, mv) {
                    let mut sub = diff_maps(om, mm, items, opts, path)?;
                    if !sub.is_empty() {
                        sub.insert(merge_key.to_string(), mk.clone());
                        patch.push(Value::Object(sub));
                    }
                }
                oi += 1;
                mi += 1;
            }
            (None, Some((mv, _))) => {
                if !opts.ignore_changes_and_additions {
                    patch.push(mv.clone());
                }
                mi += 1;
            }
            (Some((_, ok)), Some((mv, mk))) if go_format(Some(ok)) > go_format(Some(mk)) => {
                if !opts.ignore_changes_and_additions {
                    patch.push(mv.clone());
                }
                mi += 1;
            }
            (Some((_, ok)), _) => {
                if !opts.ignore_deletions {
                    let mut d = Map::new();
                    d.insert(merge_key.to_string(), ok.clone());
                    d.insert(DIRECTIVE.to_string(), Value::String("delete".into()));
                    delete.push(Value::Object(d));
                }
                oi += 1;
            }
        }
    }
    Ok((patch, delete))
}

/// Whether `left` and `right` (two patches) change some field differently; the path of the
/// first such field.
fn conflict(
    left: &Value,
    right: &Value,
    schema: Option<TypeRef<'_>>,
    replace: bool,
    merge_key: &str,
    path: &Path<'_>,
) -> Result<Option<String>, Error> {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let (lm, rm) = (l.get(DIRECTIVE), r.get(DIRECTIVE));
            if (lm.is_some() || rm.is_some()) && lm != rm {
                return Ok(Some(path.render()));
            }
            if replace {
                return Ok(None);
            }
            for (key, lv) in l {
                if key == DIRECTIVE || key == RETAIN_KEYS {
                    continue;
                }
                let Some(rv) = r.get(key) else { continue };
                let here = Path::Field(path, key);
                let (sub, sub_replace, sub_key) = match lv {
                    Value::Array(_) => {
                        let meta = lookup_slice(schema, key);
                        (meta.sub, meta.replace, meta.merge_key.clone())
                    }
                    Value::Object(_) => {
                        let meta = lookup_struct(schema, key);
                        (meta.sub, meta.replace, meta.merge_key.clone())
                    }
                    _ => (None, false, String::new()),
                };
                let merge = matches!(lv, Value::Array(_)) && lookup_slice(schema, key).merge;
                let found = if merge {
                    list_conflict_merging(lv, rv, sub, &sub_key, &here)?
                } else {
                    conflict(lv, rv, sub, sub_replace, &sub_key, &here)?
                };
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None)
        }
        (Value::Object(_), _) => Ok(Some(path.render())),
        (Value::Array(l), Value::Array(r)) => {
            let _ = merge_key;
            let kind = slice_element_kind(l, r, path)?;
            if l.len() != r.len() {
                return Ok(Some(path.render()));
            }
            let (mut l, mut r) = (l.clone(), r.clone());
            if kind != Kind::Map {
                order::deduplicate_scalars(&mut l);
                order::deduplicate_scalars(&mut r);
                sort_scalars(&mut l);
                sort_scalars(&mut r);
            }
            for (i, (lv, rv)) in l.iter().zip(&r).enumerate() {
                let found = conflict(lv, rv, schema, false, "", &Path::Index(path, i))?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None)
        }
        (Value::Array(_), _) => Ok(Some(path.render())),
        _ => Ok((!deep_eq(left, right)).then(|| path.render())),
    }
}

/// Conflicts between two merging lists: only maps with the same merge key value can conflict.
fn list_conflict_merging(
    left: &Value,
    right: &Value,
    items: Option<TypeRef<'_>>,
    merge_key: &str,
    path: &Path<'_>,
) -> Result<Option<String>, Error> {
    let (Value::Array(l), Value::Array(r)) = (left, right) else {
        return Ok(Some(path.render()));
    };
    let kind = slice_element_kind(l, r, path)?;
    if kind != Kind::Map {
        return Ok(None);
    }
    for lv in l {
        let lk = go_format(Some(map_merge_key(lv, merge_key, path)?));
        for rv in r {
            if go_format(Some(map_merge_key(rv, merge_key, path)?)) == lk {
                let here = Path::Field(path, merge_key);
                if let Some(found) = conflict(lv, rv, items, false, "", &here)? {
                    return Ok(Some(found));
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::for_kind;
    use crate::strategic::apply;

    fn deployment(containers: Value, extra_labels: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": extra_labels},
            "spec": {"replicas": 2, "template": {"spec": {"containers": containers}}}
        })
    }

    #[test]
    fn two_way_patch_round_trips() {
        let schema = for_kind("apps/v1", "Deployment");
        let a = deployment(
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]),
            json!({"x": "1"}),
        );
        let b = deployment(
            json!([{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]),
            json!({"y": "2"}),
        );
        let patch = create_two_way_patch(&a, &b, schema).expect("diff");
        assert_eq!(apply(&a, &patch, schema).expect("apply"), b);
        let containers = &patch["spec"]["template"]["spec"];
        assert_eq!(
            containers["$setElementOrder/containers"],
            json!([{"name": "b"}, {"name": "c"}])
        );
    }

    #[test]
    fn two_way_patch_uses_parallel_deletion_list_for_primitives() {
        let schema = for_kind("v1", "ConfigMap");
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a", "b"]}});
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["b", "c"]}});
        let patch = create_two_way_patch(&a, &b, schema).expect("diff");
        assert_eq!(
            patch["metadata"]["$deleteFromPrimitiveList/finalizers"],
            json!(["a"])
        );
        assert_eq!(patch["metadata"]["finalizers"], json!(["c"]));
        assert_eq!(apply(&a, &patch, schema).expect("apply"), b);
    }

    #[test]
    fn retain_keys_strategy_emits_directive() {
        let schema = for_kind("apps/v1", "Deployment");
        let a = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let b = json!({"spec": {"strategy": {"type": "Recreate"}}});
        let patch = create_two_way_patch(&a, &b, schema).expect("diff");
        assert_eq!(patch["spec"]["strategy"]["$retainKeys"], json!(["type"]));
        assert_eq!(apply(&a, &patch, schema).expect("apply"), b);
    }

    /// `kubectl apply` re-apply: a field dropped from the file is removed; fields another
    /// writer set (and the file never named) survive; changed fields take the file's value.
    #[test]
    fn three_way_patch_mirrors_kubectl_reapply() {
        let schema = for_kind("apps/v1", "Deployment");
        let last_applied = deployment(
            json!([{"name": "app", "image": "app:1", "args": ["--v=1"]}, {"name": "old", "image": "o:1"}]),
            json!({"team": "a", "drop": "me"}),
        );
        let mut live = apply(
            &last_applied,
            &json!({"metadata": {"labels": {"by-other": "x"}},
                    "spec": {"template": {"spec": {"containers": [{"name": "injected", "image": "i:1"}]}}}}),
            schema,
        )
        .expect("other writer");
        live["status"] = json!({"replicas": 2});
        let new_config = deployment(
            json!([{"name": "app", "image": "app:2"}]),
            json!({"team": "b"}),
        );
        let patch =
            create_three_way_patch(&last_applied, &new_config, &live, schema, true).expect("3-way");
        let result = apply(&live, &patch, schema).expect("apply");
        assert_eq!(
            result["metadata"]["labels"],
            json!({"team": "b", "by-other": "x"})
        );
        let names: Vec<&str> = result["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        // Upstream puts patch items not yet in the live list first, so the live order is
        // [injected, app, old]; re-apply keeps it and drops `old`.
        assert_eq!(
            names,
            ["injected", "app"],
            "dropped container removed, injected kept"
        );
        assert_eq!(
            result["spec"]["template"]["spec"]["containers"][1],
            json!({"name": "app", "image": "app:2"})
        );
        assert_eq!(result["status"], json!({"replicas": 2}));
        // Re-applying the same configuration again changes nothing.
        let again =
            create_three_way_patch(&new_config, &new_config, &result, schema, true).expect("3-way");
        assert_eq!(apply(&result, &again, schema).expect("apply"), result);
    }

    #[test]
    fn kubectl_apply_flow_with_last_applied_annotation() {
        let schema = for_kind("v1", "ConfigMap");
        let v1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
                        "data": {"a": "1", "b": "<2>"}});
        // First apply creates the object with the annotation.
        let created = with_last_applied(&v1).expect("annotate");
        assert_eq!(
            created["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
            "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\",\"b\":\"\\u003c2\\u003e\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"c\",\"namespace\":\"default\"}}\n"
        );
        // Someone else adds a key; the next apply drops `b` and changes `a`.
        let mut live = created.clone();
        live["data"]["other"] = json!("x");
        let v2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
                        "data": {"a": "10"}});
        let patch = create_apply_patch(&live, &v2, schema, true).expect("patch");
        let result = apply(&live, &patch, schema).expect("apply");
        assert_eq!(result["data"], json!({"a": "10", "other": "x"}));
        assert_eq!(
            result["metadata"]["annotations"][LAST_APPLIED_ANNOTATION],
            with_last_applied(&v2).expect("annotate")["metadata"]["annotations"]
                [LAST_APPLIED_ANNOTATION]
        );
        // Re-applying the same file is a no-op patch apart from nothing at all.
        let again = create_apply_patch(&result, &v2, schema, true).expect("patch");
        assert_eq!(again, json!({}));
        let err = create_apply_patch(
            &json!({"metadata": {"annotations": {LAST_APPLIED_ANNOTATION: "{not json"}}}),
            &v2,
            schema,
            true,
        )
        .expect_err("bad annotation");
        assert!(matches!(err, Error::LastApplied { .. }), "{err}");
    }

    #[test]
    fn three_way_patch_without_overwrite_reports_conflict() {
        let schema = for_kind("apps/v1", "Deployment");
        let original = deployment(json!([{"name": "app", "image": "app:1"}]), json!({}));
        let current = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {}},
            "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}});
        let mut modified = original.clone();
        modified["spec"]["replicas"] = json!(3);
        let err = create_three_way_patch(&original, &modified, &current, schema, false)
            .expect_err("conflict");
        assert!(
            matches!(&err, Error::Conflict { path } if path == ".spec.replicas"),
            "{err}"
        );
        assert!(create_three_way_patch(&original, &modified, &current, schema, true).is_ok());
    }
}
