//! Strategic merge patch (Kubernetes' `application/strategic-merge-patch+json`).
//!
//! [`apply`] follows the behaviour of Kubernetes' `strategicpatch.StrategicMergePatch` as used by
//! `kubectl patch --type=strategic`: maps merge recursively, `null` deletes, lists merge by the
//! schema's merge key (or as sets for primitives) when the field's patch strategy is `merge` and
//! are replaced otherwise, and the directives `$patch` (`replace`, `delete`, `merge`),
//! `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
//! Without a schema (unknown kinds) every list is replaced, as upstream does.
//!
//! [`create_two_way_patch`] and [`create_three_way_patch`] compute patches the way `kubectl apply`
//! does from the last-applied configuration, the new configuration and the live object.
//!

use serde_json::{Map, Value};

use crate::schema::TypeRef;

mod create;
mod order;

pub use create::{
    LAST_APPLIED_ANNOTATION, create_apply_patch, create_three_way_patch, create_two_way_patch,
    with_last_applied,
};

pub(crate) const DIRECTIVE: &str = "$patch";
pub(crate) const RETAIN_KEYS: &str = "$retainKeys";
pub(crate) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
pub(crate) const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Why a strategic merge patch could not be applied. `path` is where in the document the
/// problem is, e.g. `.spec.template.spec.containers[1]`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the document to patch is not a JSON object")]
    OriginalNotObject,
    #[error("the patch is not a JSON object")]
    PatchNotObject,
    #[error("at {path}: unknown patch directive `$patch: {directive}`")]
    UnknownDirective { path: String, directive: String },
    #[error("at {path}: `$patch: merge` in a list is not supported")]
    MergeDirectiveInList { path: String },
    #[error("at {path}: list element {element} has no merge key `{key}`")]
    MissingMergeKey {
        path: String,
        key: String,
        element: String,
    },
    #[error("at {path}: cannot merge a list of objects: the schema names no merge key")]
    NoMergeKeyInSchema { path: String },
    #[error("at {path}: lists of lists cannot be merged")]
    ListOfLists { path: String },
    #[error("at {path}: list elements have different types")]
    MixedListElements { path: String },
    #[error("at {path}: list contains a null element")]
    NullListElement { path: String },
    #[error("at {path}: cannot order an empty list")]
    EmptyList { path: String },
    #[error("at {path}: expected {expected}, found {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("at {path}: `$retainKeys` must be a list naming every field of the patch")]
    BadRetainKeys { path: String },
    #[error("at {path}: malformed `{key}`: expected `{prefix}/<field>`")]
    BadDirectiveKey {
        path: String,
        key: String,
        prefix: &'static str,
    },
    #[error("at {path}: the configuration and the live object changed this field differently")]
    Conflict { path: String },
    #[error("the last-applied-configuration annotation is not valid JSON: {reason}")]
    LastApplied { reason: String },
    #[error("at {path}: the patch list does not follow the order in `$setElementOrder/{field}`")]
    SetElementOrderMismatch { path: String, field: String },
}

/// Apply a strategic merge patch to `original`. `schema` is the type of the whole document
/// (see [`crate::schema::for_kind`]); `None` gives merge-patch semantics for lists (replace).
pub fn apply(original: &Value, patch: &Value, schema: Option<TypeRef<'_>>) -> Result<Value, Error> {
    let Value::Object(original) = original else {
        return Err(Error::OriginalNotObject);
    };
    let Value::Object(patch) = patch else {
        return Err(Error::PatchNotObject);
    };
    let merged = merge_map(original.clone(), patch.clone(), schema, &APPLY, &Path::Root)?;
    Ok(Value::Object(merged))
}

/// Apply a strategic merge patch, looking the schema up from the object's own
/// `apiVersion`/`kind` in the built-in table.
pub fn apply_builtin(original: &Value, patch: &Value) -> Result<Value, Error> {
    apply(
        original,
        patch,
        crate::schema::SchemaSet::builtin().for_object(original),
    )
}

/// How [`merge_map`] treats directives and nulls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MergeOptions {
    /// Apply `$deleteFromPrimitiveList` (applying a patch) rather than carry it (merging patches).
    pub merge_parallel_list: bool,
    /// Drop `null`s that match nothing (applying) rather than keep them (merging patches).
    pub ignore_unmatched_nulls: bool,
}

/// Options for applying a patch to an object.
pub(crate) const APPLY: MergeOptions = MergeOptions {
    merge_parallel_list: true,
    ignore_unmatched_nulls: true,
};

/// A position in the document, rendered only for errors.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

impl Path<'_> {
    pub(crate) fn render(&self) -> String {
        let s = self.to_string();
        if s.is_empty() { ".".to_string() } else { s }
    }
}

/// The JSON type of a value, as Go's decoder would distinguish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool,
    Number,
    String,
    List,
    Map,
}

pub(crate) fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::List,
        Value::Object(_) => Kind::Map,
    }
}

pub(crate) fn kind_name(v: &Value) -> &'static str {
    match kind_of(v) {
        Kind::Null => "null",
        Kind::Bool => "a boolean",
        Kind::Number => "a number",
        Kind::String => "a string",
        Kind::List => "a list",
        Kind::Map => "an object",
    }
}

/// Equality as Go compares decoded JSON scalars: numbers by value (`1 == 1.0`).
pub(crate) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

/// The patch strategy and merge key of a field, and the schema of its items.
pub(crate) struct FieldMeta<'s> {
    pub sub: Option<TypeRef<'s>>,
    pub replace: bool,
    pub merge: bool,
    pub retain_keys: bool,
    pub merge_key: String,
}

pub(crate) fn lookup_struct<'s>(schema: Option<TypeRef<'s>>, key: &str) -> FieldMeta<'s> {
    let field = schema.and_then(|s| s.field(key));
    let strategy = field.map(|f| f.patch_strategy()).unwrap_or_default();
    FieldMeta {
        sub: field,
        replace: strategy.replace,
        merge: strategy.merge,
        retain_keys: strategy.retain_keys,
        merge_key: field.and_then(|f| f.merge_key()).unwrap_or("").to_string(),
    }
}

pub(crate) fn lookup_slice<'s>(schema: Option<TypeRef<'s>>, key: &str) -> FieldMeta<'s> {
    let mut meta = lookup_struct(schema, key);
    // A field whose schema is not a list (upstream: a pointer to a struct) describes its items.
    meta.sub = meta.sub.map(|f| f.items().unwrap_or(f));
    meta
}

pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Option<TypeRef<'_>>,
    opts: &MergeOptions,
    path: &Path<'_>,
) -> Result<Map<String, Value>, Error> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(Error::UnknownDirective {
                path: path.render(),
                directive: directive_text(directive),
            }),
        };
    }

    apply_retain_keys(&mut original, &mut patch, opts, path)?;
    merge_set_element_order(&mut original, &mut patch, schema, opts, path)?;

    for (raw_key, patch_value) in patch {
        let (key, is_delete_list) = if raw_key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            if !opts.merge_parallel_list {
                original.insert(raw_key, patch_value);
                continue;
            }
            (
                extract_key(&raw_key, DELETE_FROM_PRIMITIVE_LIST, path)?,
                true,
            )
        } else {
            (raw_key, false)
        };

        if patch_value.is_null() {
            original.shift_remove(&key);
            if opts.ignore_unmatched_nulls {
                continue;
            }
        }

        let Some(original_value) = original.get_mut(&key) else {
            if !is_delete_list {
                let mut value = patch_value;
                if opts.ignore_unmatched_nulls {
                    discard_nulls(&mut value);
                }
                if let Some(value) = remove_directives(value) {
                    original.insert(key, value);
                }
            }
            continue;
        };

        if kind_of(original_value) != kind_of(&patch_value) {
            if !is_delete_list {
                let mut value = patch_value;
                if opts.ignore_unmatched_nulls {
                    discard_nulls(&mut value);
                }
                match remove_directives(value) {
                    Some(value) => *original_value = value,
                    None => {
                        original.shift_remove(&key);
                    }
                }
            }
            continue;
        }

        let here = Path::Field(path, &key);
        match (original_value, patch_value) {
            (Value::Object(orig), Value::Object(patch_map)) => {
                let meta = lookup_struct(schema, &key);
                if meta.replace {
                    *orig = patch_map;
                } else {
                    *orig = merge_map(std::mem::take(orig), patch_map, meta.sub, opts, &here)?;
                }
            }
            (Value::Array(orig), Value::Array(patch_list)) => {
                let meta = lookup_slice(schema, &key);
                if meta.merge || is_delete_list {
                    *orig = merge_slice(
                        std::mem::take(orig),
                        patch_list,
                        meta.sub,
                        &meta.merge_key,
                        is_delete_list,
                        opts,
                        &here,
                    )?;
                } else {
                    *orig = patch_list;
                }
            }
            (slot, value) => {
                // Scalars: directives cannot hide in them, take the patch value.
                *slot = value;
            }
        }
    }
    Ok(original)
}

fn directive_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Split `$prefix/field` into `field`.
fn extract_key(key: &str, prefix: &'static str, path: &Path<'_>) -> Result<String, Error> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field.to_string()),
        _ => Err(Error::BadDirectiveKey {
            path: path.render(),
            key: key.to_string(),
            prefix,
        }),
    }
}

/// `$retainKeys`: clear the keys of `original` that the list does not name.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    opts: &MergeOptions,
    path: &Path<'_>,
) -> Result<(), Error> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    if !opts.merge_parallel_list {
        // Merging two patches: both must agree on the directive.
        match original.get(RETAIN_KEYS) {
            Some(existing) if existing != &retain => {
                return Err(Error::BadRetainKeys {
                    path: path.render(),
                });
            }
            Some(_) => {}
            None => {
                original.insert(RETAIN_KEYS.to_string(), retain);
            }
        }
        return Ok(());
    }
    let Value::Array(retain) = retain else {
        return Err(Error::BadRetainKeys {
            path: path.render(),
        });
    };
    let named = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !named(k) {
            return Err(Error::BadRetainKeys {
                path: path.render(),
            });
        }
    }
    original.retain(|k, _| named(k));
    Ok(())
}

/// `$setElementOrder/<field>`: merge the named list now and order it as the directive says.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Option<TypeRef<'_>>,
    opts: &MergeOptions,
    path: &Path<'_>,
) -> Result<(), Error> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(Error::WrongType {
                path: Path::Field(path, &key).render(),
                expected: "a list",
                found: kind_name(&order),
            });
        };
        if !opts.merge_parallel_list {
            match original.get(&key) {
                Some(Value::Array(existing)) if existing == &order => {}
                Some(_) => {
                    return Err(Error::SetElementOrderMismatch {
                        path: path.render(),
                        field: key.clone(),
                    });
                }
                None => {
                    original.insert(key.clone(), Value::Array(order.clone()));
                }
            }
        }
        let field = extract_key(&key, SET_ELEMENT_ORDER, path)?;
        let here = Path::Field(path, &field);
        let mut original_list = match original.get(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => {
                return Err(Error::WrongType {
                    path: here.render(),
                    expected: "a list",
                    found: kind_name(other),
                });
            }
        };
        let patch_list = match patch.get(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => {
                return Err(Error::WrongType {
                    path: here.render(),
                    expected: "a list",
                    found: kind_name(other),
                });
            }
        };
        let meta = lookup_slice(schema, &field);
        validate_set_element_order(
            patch_list.as_deref().unwrap_or(&[]),
            &order,
            &meta.merge_key,
            &field,
            path,
        )?;

        let merged = match (&original_list, &patch_list) {
            (Some(orig), None) => orig.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p.clone())) {
                Some(Value::Array(l)) => l,
                _ => continue,
            },
            (Some(orig), Some(p)) => {
                if meta.merge {
                    let mut view = GoSliceView::new(orig);
                    let merged = merge_slice_viewed(
                        orig.clone(),
                        p.clone(),
                        meta.sub,
                        &meta.merge_key,
                        false,
                        opts,
                        &mut view,
                        &here,
                    )?;
                    original_list = Some(view.into_view());
                    merged
                } else {
                    p.clone()
                }
            }
            (None, None) => continue,
        };

        let (patch_items, server_only) = if meta.merge_key.is_empty() {
            order::partition_primitives(merged, &order)
        } else {
            order::partition_maps(merged, &order, &meta.merge_key, &here)?
        };
        let kind = slice_element_kind(
            original_list.as_deref().unwrap_or(&[]),
            patch_list.as_deref().unwrap_or(&[]),
            &here,
        )?;
        let both = order::normalize_element_order(
            patch_items,
            server_only,
            &order,
            original_list.as_deref().unwrap_or(&[]),
            &meta.merge_key,
            kind,
            &here,
        )?;
        original.insert(field.clone(), Value::Array(both));
        patch.shift_remove(&field);
    }
    Ok(())
}

/// The patch list must list its items in the relative order of `$setElementOrder`.
fn validate_set_element_order(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
    field: &str,
    path: &Path<'_>,
) -> Result<(), Error> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let here = Path::Field(path, field);
    let non_delete: Vec<&Value> = if merge_key.is_empty() {
        patch_list.iter().collect()
    } else {
        let mut kept = Vec::new();
        for v in patch_list {
            let Value::Object(m) = v else {
                return Err(Error::WrongType {
                    path: here.render(),
                    expected: "a list of objects",
                    found: kind_name(v),
                });
            };
            if m.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
                kept.push(v);
            }
        }
        kept
    };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < order.len() {
        if non_delete[pi].get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[pi], &order[si], merge_key, &here)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= order.len() {
        return Err(Error::SetElementOrderMismatch {
            path: path.render(),
            field: field.to_string(),
        });
    }
    Ok(())
}

fn merge_key_value_equal(
    left: &Value,
    right: &Value,
    merge_key: &str,
    path: &Path<'_>,
) -> Result<bool, Error> {
    if merge_key.is_empty() {
        return Ok(scalar_eq(left, right));
    }
    let l = map_merge_key(left, merge_key, path)?;
    let r = map_merge_key(right, merge_key, path)?;
    Ok(scalar_eq(l, r))
}

/// The merge key value of a list element, which must be an object carrying it.
pub(crate) fn map_merge_key<'v>(
    v: &'v Value,
    merge_key: &str,
    path: &Path<'_>,
) -> Result<&'v Value, Error> {
    let Value::Object(m) = v else {
        return Err(Error::WrongType {
            path: path.render(),
            expected: "an object",
            found: kind_name(v),
        });
    };
    m.get(merge_key).ok_or_else(|| Error::MissingMergeKey {
        path: path.render(),
        key: merge_key.to_string(),
        element: v.to_string(),
    })
}

/// Remove `null` values from maps, recursively (through lists too).
pub(crate) fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            for v in m.values_mut() {
                discard_nulls(v);
            }
        }
        Value::Array(l) => l.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Drop maps carrying `$patch` (and list items that are such maps). `None`: drop the value.
pub(crate) fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                if let Some(v) = remove_directives(v) {
                    out.insert(k, v);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(l) => Some(Value::Array(
            l.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// The common element type of two lists (all elements must share one).
pub(crate) fn slice_element_kind(a: &[Value], b: &[Value], path: &Path<'_>) -> Result<Kind, Error> {
    let mut kind = None;
    for v in a.iter().chain(b) {
        let k = kind_of(v);
        match kind {
            None => {
                if k == Kind::List {
                    return Err(Error::ListOfLists {
                        path: path.render(),
                    });
                }
                if k == Kind::Null {
                    return Err(Error::NullListElement {
                        path: path.render(),
                    });
                }
                kind = Some(k);
            }
            Some(prev) if prev != k => {
                return Err(Error::MixedListElements {
                    path: path.render(),
                });
            }
            Some(_) => {}
        }
    }
    kind.ok_or_else(|| Error::EmptyList {
        path: path.render(),
    })
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: Option<TypeRef<'_>>,
    merge_key: &str,
    is_delete_list: bool,
    opts: &MergeOptions,
    path: &Path<'_>,
) -> Result<Vec<Value>, Error> {
    let mut view = GoSliceView::new(&original);
    merge_slice_viewed(
        original,
        patch,
        items,
        merge_key,
        is_delete_list,
        opts,
        &mut view,
        path,
    )
}

/// Upstream merges a list of maps in place in the Go slice it decoded: deleting an item shifts
/// the later items left within the same backing array, and appending reuses the room that
/// deletions left. Callers that later read the original list (the `$setElementOrder` path
/// orders server-only items by it) therefore see the shifted and appended items. This keeps
/// that view so the resulting order matches kubectl's.
pub(crate) struct GoSliceView {
    backing: Vec<Value>,
    len: usize,
    connected: bool,
}

impl GoSliceView {
    fn new(original: &[Value]) -> Self {
        GoSliceView {
            backing: original.to_vec(),
            len: original.len(),
            connected: true,
        }
    }

    fn delete_matching(&mut self, merge_key: &str, key_value: &Value) {
        if !self.connected {
            return;
        }
        loop {
            let visible = self.len.min(self.backing.len());
            let Some(k) = self.backing[..visible]
                .iter()
                .position(|o| o.get(merge_key).is_some_and(|k| scalar_eq(k, key_value)))
            else {
                return;
            };
            for i in k..visible - 1 {
                self.backing[i] = self.backing[i + 1].clone();
            }
            self.len -= 1;
        }
    }

    fn append(&mut self, v: &Value) {
        if self.connected && self.len < self.backing.len() {
            self.backing[self.len] = v.clone();
        }
        self.len += 1;
    }

    /// The original list as upstream reads it back afterwards.
    fn into_view(self) -> Vec<Value> {
        self.backing
    }
}

#[allow(clippy::too_many_arguments)]
fn merge_slice_viewed(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: Option<TypeRef<'_>>,
    merge_key: &str,
    is_delete_list: bool,
    opts: &MergeOptions,
    view: &mut GoSliceView,
    path: &Path<'_>,
) -> Result<Vec<Value>, Error> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = slice_element_kind(&original, &patch, path)?;
    if kind != Kind::Map {
        if is_delete_list && opts.merge_parallel_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.iter().any(|d| scalar_eq(v, d)))
                .collect());
        }
        let mut both = original.clone();
        both.extend(patch.iter().cloned());
        order::deduplicate_scalars(&mut both);
        let (patch_items, server_only) = order::partition_primitives(both, &patch);
        return order::normalize_element_order(
            patch_items,
            server_only,
            &patch,
            &original,
            merge_key,
            kind,
            path,
        );
    }
    if merge_key.is_empty() {
        return Err(Error::NoMergeKeyInSchema {
            path: path.render(),
        });
    }
    let (original, patch) = merge_slice_special_elements(original, patch, merge_key, view, path)?;
    let merged =
        merge_slice_elements(original.clone(), &patch, items, merge_key, opts, view, path)?;
    let (patch_items, server_only) = order::partition_maps(merged, &patch, merge_key, path)?;
    order::normalize_element_order(
        patch_items,
        server_only,
        &patch,
        &original,
        merge_key,
        kind,
        path,
    )
}

/// Handle list items carrying `$patch`: `delete` removes matching items from the original,
/// `replace` makes the other patch items the whole list.
fn merge_slice_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
    view: &mut GoSliceView,
    path: &Path<'_>,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for (i, v) in patch.into_iter().enumerate() {
        let here = Path::Index(path, i);
        let Some(directive) = v.get(DIRECTIVE) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let key_value = map_merge_key(&v, merge_key, &here)?.clone();
                let mut kept = Vec::with_capacity(original.len());
                for o in original {
                    if find_key(&o, merge_key, &here)?.is_some_and(|k| scalar_eq(k, &key_value)) {
                        continue;
                    }
                    kept.push(o);
                }
                original = kept;
                view.delete_matching(merge_key, &key_value);
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(Error::MergeDirectiveInList {
                    path: here.render(),
                });
            }
            _ => {
                return Err(Error::UnknownDirective {
                    path: here.render(),
                    directive: directive_text(directive),
                });
            }
        }
    }
    if replace {
        view.connected = false;
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

/// The merge key value of an original list item (which must be an object), if present.
fn find_key<'v>(
    v: &'v Value,
    merge_key: &str,
    path: &Path<'_>,
) -> Result<Option<&'v Value>, Error> {
    match v {
        Value::Object(m) => Ok(m.get(merge_key)),
        other => Err(Error::WrongType {
            path: path.render(),
            expected: "an object",
            found: kind_name(other),
        }),
    }
}

fn merge_slice_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    items: Option<TypeRef<'_>>,
    merge_key: &str,
    opts: &MergeOptions,
    view: &mut GoSliceView,
    path: &Path<'_>,
) -> Result<Vec<Value>, Error> {
    for (i, v) in patch.iter().enumerate() {
        let here = Path::Index(path, i);
        let key_value = map_merge_key(v, merge_key, &here)?;
        let mut found = None;
        for (j, o) in original.iter().enumerate() {
            if find_key(o, merge_key, &here)?.is_some_and(|k| scalar_eq(k, key_value)) {
                found = Some(j);
                break;
            }
        }
        match (found, v) {
            (Some(j), Value::Object(patch_map)) => {
                let slot = &mut original[j];
                if let Value::Object(orig_map) = slot {
                    let merged = merge_map(
                        std::mem::take(orig_map),
                        patch_map.clone(),
                        items,
                        opts,
                        &here,
                    )?;
                    *slot = Value::Object(merged);
                }
            }
            _ => {
                view.append(v);
                original.push(v.clone());
            }
        }
    }
    Ok(original)
}

#[cfg(test)]
mod tests;
