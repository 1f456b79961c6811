//! Structured merge for server-side apply: field sets of objects, comparison, merging a
//! configuration into a live object, and field ownership per manager (`managedFields`), after
//! sigs.k8s.io/structured-merge-diff as the Kubernetes API server uses it.
//!
//! Lists merge by their `x-kubernetes-list-type`: `map` lists by `x-kubernetes-list-map-keys`
//! (missing key fields take the schema default, e.g. a port's `protocol: TCP`), `set` lists by
//! value, `atomic` lists as a whole; lists without a list type but with patch strategy `merge`
//! behave as `map` (by the merge key) or `set`, other lists are atomic. Maps are granular unless
//! `x-kubernetes-map-type: atomic`. Values without a schema are deduced: maps granular, lists
//! atomic.
//!
//! Single API version: the conversion between versions that the API server does for managers of
//! other versions is out of scope.

use serde_json::{Map, Value};

use crate::fieldpath::{FieldSet, FieldsV1Error, Path, PathElement};
use crate::schema::{ListType, MapType, Shape, TypeRef};

/// A conflict: `manager` owns `path`, which the apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: Path,
}

/// Why a structured merge operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SsaError {
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<Conflict>),
    #[error("at {path}: {reason}")]
    InvalidListItem { path: String, reason: String },
    #[error("at {path}: duplicate entries for key {key}")]
    DuplicateListItem { path: String, key: String },
    #[error("metadata.managedFields[{index}]: {reason}")]
    ManagedFieldsEntry { index: usize, reason: String },
    #[error("metadata.managedFields[{index}].fieldsV1: {source}")]
    FieldsV1 {
        index: usize,
        #[source]
        source: FieldsV1Error,
    },
    #[error("the {what} is not a JSON object")]
    NotAnObject { what: &'static str },
    #[error("metadata.managedFields must be nil in an apply configuration")]
    ManagedFieldsInConfig,
}

fn conflicts_message(conflicts: &[Conflict]) -> String {
    let mut lines = vec![format!(
        "Apply failed with {} conflict{}:",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" }
    )];
    for c in conflicts {
        lines.push(format!(
            "conflict with \"{}\" using {}: {}",
            c.manager, c.api_version, c.path
        ));
    }
    lines.join(" ")
}

// ------------------------------------------------------------------------------------------
// Schema view

enum ListRel<'s> {
    Atomic,
    Set,
    Map(Vec<&'s str>),
}

enum Atom<'s> {
    Scalar,
    List {
        rel: ListRel<'s>,
        items: Option<TypeRef<'s>>,
    },
    Map {
        atomic: bool,
        schema: Option<TypeRef<'s>>,
    },
}

fn list_relationship<'s>(ty: TypeRef<'s>) -> ListRel<'s> {
    match ty.list_type() {
        Some(ListType::Atomic) => ListRel::Atomic,
        Some(ListType::Set) => ListRel::Set,
        Some(ListType::Map) => {
            let keys = ty.list_map_keys();
            if keys.is_empty() {
                match ty.merge_key() {
                    Some(k) => ListRel::Map(vec![k]),
                    None => ListRel::Atomic,
                }
            } else {
                ListRel::Map(keys)
            }
        }
        None if ty.patch_strategy().merge => match ty.merge_key() {
            Some(k) => ListRel::Map(vec![k]),
            None => ListRel::Set,
        },
        None => ListRel::Atomic,
    }
}

/// How to treat `value` at a position with schema `ty`.
fn atom<'s>(ty: Option<TypeRef<'s>>, value: &Value) -> Atom<'s> {
    let shape = ty.map(|t| t.shape()).unwrap_or(Shape::Untyped);
    match (value, shape) {
        (Value::Object(_), Shape::Object) => {
            let atomic = ty.and_then(|t| t.map_type()) == Some(MapType::Atomic);
            Atom::Map { atomic, schema: ty }
        }
        (Value::Array(_), Shape::List) => match ty {
            Some(t) => Atom::List {
                rel: list_relationship(t),
                items: t.items(),
            },
            None => Atom::List {
                rel: ListRel::Atomic,
                items: None,
            },
        },
        (Value::Object(_), _) => Atom::Map {
            atomic: ty.and_then(|t| t.map_type()) == Some(MapType::Atomic),
            schema: None,
        },
        (Value::Array(_), _) => Atom::List {
            rel: ListRel::Atomic,
            items: None,
        },
        _ => Atom::Scalar,
    }
}

fn field_type<'s>(schema: Option<TypeRef<'s>>, key: &str) -> (Option<TypeRef<'s>>, bool) {
    match schema {
        Some(t) => (t.field(key), t.has_named_field(key)),
        None => (None, false),
    }
}

fn render(path: &[PathElement]) -> String {
    let s = Path(path.to_vec()).to_string();
    if s.is_empty() { ".".into() } else { s }
}

/// The path element of a list item.
fn item_element(
    rel: &ListRel<'_>,
    items: Option<TypeRef<'_>>,
    item: &Value,
    index: usize,
    path: &[PathElement],
) -> Result<PathElement, SsaError> {
    let invalid = |reason: &str| SsaError::InvalidListItem {
        path: format!("{}[{index}]", render(path)),
        reason: reason.to_string(),
    };
    match rel {
        ListRel::Atomic => Ok(PathElement::Index(index)),
        ListRel::Set => match item {
            Value::Object(_) => Err(invalid("a set list has a map element")),
            Value::Array(_) => Err(invalid("a set list has a list element")),
            Value::Null => Err(invalid("a set list has a null element")),
            v => Ok(PathElement::Value(v.clone())),
        },
        ListRel::Map(keys) => {
            let Value::Object(m) = item else {
                return Err(invalid("a keyed list has a non-map element"));
            };
            let mut fields = Vec::new();
            for key in keys {
                if let Some(v) = m.get(*key) {
                    fields.push((key.to_string(), v.clone()));
                } else if let Some(d) = items
                    .and_then(|t| t.field(key))
                    .and_then(|f| f.default_value())
                {
                    fields.push((key.to_string(), d.clone()));
                }
            }
            if fields.is_empty() {
                return Err(invalid(&format!(
                    "a keyed list element omits all key fields {keys:?}"
                )));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
    }
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| numbers_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| numbers_equal(v, w))
        }
        _ => a == b,
    }
}

/// The value that decides how a position is walked. A `null` on the right of a map or list
/// on the left walks as that map or list with nothing on the right (upstream's atoms: `null`
/// carries no kind), so a configured `null` keeps the live content of a granular map or list.
fn probe<'v>(lhs: Option<&'v Value>, rhs: Option<&'v Value>) -> Option<&'v Value> {
    match (lhs, rhs) {
        (Some(l @ (Value::Object(_) | Value::Array(_))), Some(Value::Null)) => Some(l),
        _ => rhs.or(lhs),
    }
}

/// Both sides present with different JSON kinds, neither `null`.
fn kinds_differ(lhs: Option<&Value>, rhs: Option<&Value>) -> bool {
    match (lhs, rhs) {
        (Some(Value::Null), _) | (_, Some(Value::Null)) => false,
        (Some(l), Some(r)) => std::mem::discriminant(l) != std::mem::discriminant(r),
        _ => false,
    }
}

// ------------------------------------------------------------------------------------------
// Field sets

/// The set of fields `value` sets (what an applier of `value` owns).
pub fn to_field_set(value: &Value, schema: Option<TypeRef<'_>>) -> Result<FieldSet, SsaError> {
    let mut set = FieldSet::new();
    walk_field_set(value, schema, &mut Vec::new(), &mut set)?;
    Ok(set)
}

fn walk_field_set(
    value: &Value,
    ty: Option<TypeRef<'_>>,
    path: &mut Vec<PathElement>,
    set: &mut FieldSet,
) -> Result<(), SsaError> {
    match (atom(ty, value), value) {
        (Atom::Scalar, _) => set.insert(path),
        (Atom::Map { atomic: true, .. }, _)
        | (
            Atom::List {
                rel: ListRel::Atomic,
                ..
            },
            _,
        ) => set.insert(path),
        (Atom::Map { schema, .. }, Value::Object(m)) => {
            for (key, child) in m {
                let (child_ty, named) = field_type(schema, key);
                path.push(PathElement::Field(key.clone()));
                walk_field_set(child, child_ty, path, set)?;
                let empty_map = matches!(child, Value::Object(c) if c.is_empty());
                if child.is_null() || empty_map || !named {
                    set.insert(path);
                }
                path.pop();
            }
        }
        (Atom::List { rel, items }, Value::Array(list)) => {
            let mut elements = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                elements.push(item_element(&rel, items, item, i, path)?);
            }
            let mut duplicates = Vec::new();
            for (i, pe) in elements.iter().enumerate() {
                if elements[..i].contains(pe) && !duplicates.contains(pe) {
                    duplicates.push(pe.clone());
                    path.push(pe.clone());
                    set.insert(path);
                    path.pop();
                }
            }
            for (item, pe) in list.iter().zip(elements) {
                if duplicates.contains(&pe) {
                    continue;
                }
                path.push(pe);
                walk_field_set(item, items, path, set)?;
                set.insert(path);
                path.pop();
            }
        }
        _ => set.insert(path),
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Comparison

/// Fields added, modified and removed going from one object to another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

/// Compare two objects (`None` for an absent one).
pub fn compare(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    schema: Option<TypeRef<'_>>,
) -> Result<Comparison, SsaError> {
    let mut cmp = Comparison::default();
    if lhs.is_some() || rhs.is_some() {
        compare_at(lhs, rhs, schema, &mut Vec::new(), &mut cmp)?;
    }
    Ok(cmp)
}

fn compare_leaf(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &[PathElement],
    cmp: &mut Comparison,
) {
    match (lhs, rhs) {
        (None, _) => cmp.added.insert(path),
        (_, None) => cmp.removed.insert(path),
        (Some(l), Some(r)) => {
            if !numbers_equal(l, r) {
                cmp.modified.insert(path)
            }
        }
    }
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: Option<TypeRef<'_>>,
    path: &mut Vec<PathElement>,
    cmp: &mut Comparison,
) -> Result<(), SsaError> {
    let Some(probe) = probe(lhs, rhs) else {
        return Ok(());
    };
    // Different kinds on both sides: the value changed as a whole.
    if kinds_differ(lhs, rhs) {
        compare_leaf(lhs, rhs, path, cmp);
        return Ok(());
    }
    let in_leaf = match atom(ty, probe) {
        Atom::Scalar
        | Atom::Map { atomic: true, .. }
        | Atom::List {
            rel: ListRel::Atomic,
            ..
        } => {
            compare_leaf(lhs, rhs, path, cmp);
            true
        }
        Atom::Map { schema, .. } => {
            let (l, r) = (
                lhs.and_then(Value::as_object),
                rhs.and_then(Value::as_object),
            );
            if l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty) {
                compare_leaf(lhs, rhs, path, cmp);
                true
            } else {
                let empty = Map::new();
                let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
                for key in l.keys().chain(r.keys().filter(|k| !l.contains_key(*k))) {
                    let (child_ty, _) = field_type(schema, key);
                    path.push(PathElement::Field(key.clone()));
                    compare_at(l.get(key), r.get(key), child_ty, path, cmp)?;
                    path.pop();
                }
                false
            }
        }
        Atom::List { rel, items } => {
            let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
            if l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty) {
                compare_leaf(lhs, rhs, path, cmp);
                true
            } else {
                compare_list(
                    l.map(Vec::as_slice).unwrap_or(&[]),
                    r.map(Vec::as_slice).unwrap_or(&[]),
                    &rel,
                    items,
                    path,
                    cmp,
                )?;
                false
            }
        }
    };
    if !in_leaf {
        if lhs.is_none() {
            cmp.added.insert(path);
        } else if rhs.is_none() {
            cmp.removed.insert(path);
        }
    }
    Ok(())
}

type Grouped<'v> = Vec<(PathElement, Vec<&'v Value>)>;

fn group_items<'v>(
    list: &'v [Value],
    rel: &ListRel<'_>,
    items: Option<TypeRef<'_>>,
    path: &[PathElement],
) -> Result<Grouped<'v>, SsaError> {
    let mut groups: Grouped<'v> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let pe = item_element(rel, items, item, i, path)?;
        match groups.iter_mut().find(|(p, _)| *p == pe) {
            Some((_, vs)) => vs.push(item),
            None => groups.push((pe, vec![item])),
        }
    }
    Ok(groups)
}

fn compare_list(
    lhs: &[Value],
    rhs: &[Value],
    rel: &ListRel<'_>,
    items: Option<TypeRef<'_>>,
    path: &mut Vec<PathElement>,
    cmp: &mut Comparison,
) -> Result<(), SsaError> {
    let l = group_items(lhs, rel, items, path)?;
    let r = group_items(rhs, rel, items, path)?;
    let mut all: Vec<&PathElement> = l.iter().map(|(pe, _)| pe).collect();
    for (pe, _) in &r {
        if !all.contains(&pe) {
            all.push(pe);
        }
    }
    for pe in all {
        let lv = l
            .iter()
            .find(|(p, _)| p == pe)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[]);
        let rv = r
            .iter()
            .find(|(p, _)| p == pe)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[]);
        path.push(pe.clone());
        match (lv.len(), rv.len()) {
            (0, 0) => {}
            (a, b) if a <= 1 && b <= 1 => {
                compare_at(lv.first().copied(), rv.first().copied(), items, path, cmp)?;
            }
            (a, b) if a >= 2 && b >= 2 => {
                let equal = a == b && lv.iter().zip(rv).all(|(x, y)| numbers_equal(x, y));
                if !equal {
                    cmp.modified.insert(path);
                }
            }
            (a, _) if a >= 2 => {
                if let Some(first) = rv.first() {
                    compare_at(None, Some(first), items, path, cmp)?;
                }
                cmp.removed.insert(path);
            }
            _ => {
                if let Some(first) = lv.first() {
                    compare_at(Some(first), None, items, path, cmp)?;
                }
                cmp.added.insert(path);
            }
        }
        path.pop();
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Merge

/// Merge `rhs` (a configuration) into `lhs` (a live object): `rhs` wins at every leaf; maps and
/// keyed/set lists merge item by item, keeping the live order with the configuration's items
/// in the configuration's order.
pub fn merge(lhs: &Value, rhs: &Value, schema: Option<TypeRef<'_>>) -> Result<Value, SsaError> {
    Ok(merge_at(Some(lhs), Some(rhs), schema, &mut Vec::new())?.unwrap_or(Value::Null))
}

fn merge_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: Option<TypeRef<'_>>,
    path: &mut Vec<PathElement>,
) -> Result<Option<Value>, SsaError> {
    let Some(probe) = probe(lhs, rhs) else {
        return Ok(None);
    };
    let leaf = || Ok(rhs.or(lhs).cloned());
    if kinds_differ(lhs, rhs) {
        return leaf();
    }
    match atom(ty, probe) {
        Atom::Scalar
        | Atom::Map { atomic: true, .. }
        | Atom::List {
            rel: ListRel::Atomic,
            ..
        } => leaf(),
        Atom::Map { schema, .. } => {
            let (l, r) = (
                lhs.and_then(Value::as_object),
                rhs.and_then(Value::as_object),
            );
            if l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty) {
                return leaf();
            }
            let empty = Map::new();
            let (l, r) = (l.unwrap_or(&empty), r.unwrap_or(&empty));
            let mut out = Map::new();
            for key in l.keys().chain(r.keys().filter(|k| !l.contains_key(*k))) {
                let (child_ty, _) = field_type(schema, key);
                path.push(PathElement::Field(key.clone()));
                if let Some(v) = merge_at(l.get(key), r.get(key), child_ty, path)? {
                    out.insert(key.clone(), v);
                }
                path.pop();
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        Atom::List { rel, items } => {
            let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
            if l.is_none_or(Vec::is_empty) && r.is_none_or(Vec::is_empty) {
                return leaf();
            }
            let out = merge_list(
                l.map(Vec::as_slice).unwrap_or(&[]),
                r.map(Vec::as_slice).unwrap_or(&[]),
                &rel,
                items,
                path,
            )?;
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
    }
}

/// List items by path element; `None` marks a duplicated element.
type Observed<'v> = Vec<(PathElement, Option<&'v Value>)>;

/// Index list items: path elements in order and the value per element (a duplicate in `lhs`
/// maps to `null`; duplicates in `rhs` are an error).
fn index_items<'v>(
    list: &'v [Value],
    rel: &ListRel<'_>,
    items: Option<TypeRef<'_>>,
    allow_duplicates: bool,
    path: &[PathElement],
) -> Result<(Vec<PathElement>, Observed<'v>), SsaError> {
    let mut pes = Vec::with_capacity(list.len());
    let mut observed: Vec<(PathElement, Option<&'v Value>)> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let pe = item_element(rel, items, item, i, path)?;
        match observed.iter_mut().find(|(p, _)| *p == pe) {
            Some(slot) => {
                if !allow_duplicates {
                    return Err(SsaError::DuplicateListItem {
                        path: render(path),
                        key: pe.to_string(),
                    });
                }
                slot.1 = None;
            }
            None => observed.push((pe.clone(), Some(item))),
        }
        pes.push(pe);
    }
    Ok((pes, observed))
}

fn merge_list(
    lhs: &[Value],
    rhs: &[Value],
    rel: &ListRel<'_>,
    items: Option<TypeRef<'_>>,
    path: &mut Vec<PathElement>,
) -> Result<Vec<Value>, SsaError> {
    let (rhs_pes, observed_rhs) = index_items(rhs, rel, items, false, path)?;
    let (lhs_pes, observed_lhs) = index_items(lhs, rel, items, true, path)?;
    let get = |obs: &[(PathElement, Option<&Value>)], pe: &PathElement| -> Option<Option<Value>> {
        obs.iter()
            .find(|(p, _)| p == pe)
            .map(|(_, v)| Some(v.cloned().unwrap_or(Value::Null)))
    };
    let in_lhs = |pe: &PathElement| observed_lhs.iter().any(|(p, _)| p == pe);
    let in_rhs = |pe: &PathElement| observed_rhs.iter().any(|(p, _)| p == pe);

    let mut shared: std::collections::VecDeque<&PathElement> =
        rhs_pes.iter().filter(|pe| in_lhs(pe)).collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: Vec<PathElement> = Vec::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (mut li, mut ri) = (0, 0);
    let merge_item = |pe: &PathElement,
                      l: Option<Value>,
                      r: Option<Value>,
                      path: &mut Vec<PathElement>,
                      out: &mut Vec<Value>|
     -> Result<(), SsaError> {
        path.push(pe.clone());
        let merged = merge_at(l.as_ref(), r.as_ref(), items, path)?;
        path.pop();
        if let Some(v) = merged {
            out.push(v);
        }
        Ok(())
    };
    while li < lhs_pes.len() || ri < rhs_pes.len() {
        if li < lhs_pes.len() && ri < rhs_pes.len() {
            let pe = &lhs_pes[li];
            if *pe == rhs_pes[ri] {
                merged_rhs.push(pe.clone());
                let l = get(&observed_lhs, pe).flatten();
                let r = get(&observed_rhs, pe).flatten();
                merge_item(pe, l, r, path, &mut out)?;
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            if in_rhs(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs_pes.len() {
            let pe = &lhs_pes[li];
            if !in_rhs(pe) {
                merge_item(pe, Some(lhs[li].clone()), None, path, &mut out)?;
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rhs_pes.len() {
            let pe = &rhs_pes[ri];
            merged_rhs.push(pe.clone());
            let l = get(&observed_lhs, pe).flatten();
            let r = get(&observed_rhs, pe).flatten();
            merge_item(pe, l, r, path, &mut out)?;
            ri += 1;
            if next_shared.is_some_and(|n| n == pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------------
// Removal

/// Remove the fields in `set` from `value` (a removed path takes its whole subtree).
/// Objects or lists left empty by the removal are dropped.
pub fn remove_items(
    value: &Value,
    set: &FieldSet,
    schema: Option<TypeRef<'_>>,
) -> Result<Option<Value>, SsaError> {
    remove_at(value, set, schema, &mut Vec::new())
}

fn remove_at(
    value: &Value,
    set: &FieldSet,
    ty: Option<TypeRef<'_>>,
    path: &mut Vec<PathElement>,
) -> Result<Option<Value>, SsaError> {
    match (atom(ty, value), value) {
        (
            Atom::Map {
                atomic: false,
                schema,
            },
            Value::Object(m),
        ) if !m.is_empty() => {
            let mut out = Map::new();
            for (k, v) in m {
                let pe = PathElement::Field(k.clone());
                if set.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match set.with_prefix(&pe) {
                    Some(sub) => {
                        let (child_ty, _) = field_type(schema, k);
                        path.push(pe.clone());
                        let kept = remove_at(v, sub, child_ty, path)?;
                        path.pop();
                        if let Some(kept) = kept {
                            out.insert(k.clone(), kept);
                        }
                    }
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        (Atom::List { rel, items }, Value::Array(list))
            if !list.is_empty() && !matches!(rel, ListRel::Atomic) =>
        {
            let mut out = Vec::new();
            for (i, item) in list.iter().enumerate() {
                let pe = item_element(&rel, items, item, i, path)?;
                if set.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match set.with_prefix(&pe) {
                    Some(sub) => {
                        path.push(pe.clone());
                        let kept = remove_at(item, sub, items, path)?;
                        path.pop();
                        if let Some(kept) = kept {
                            out.push(kept);
                        }
                    }
                    None => out.push(item.clone()),
                }
            }
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
        _ => Ok(Some(value.clone())),
    }
}

/// Make named struct fields that appear only as parents in `set` members too, so removing
/// them removes the whole struct (upstream's `EnsureNamedFieldsAreMembers`).
fn ensure_named_fields_are_members(set: &FieldSet, schema: Option<TypeRef<'_>>) -> FieldSet {
    let mut out = set.clone();
    ensure_named(&mut out, schema);
    out
}

fn ensure_named(set: &mut FieldSet, ty: Option<TypeRef<'_>>) {
    let is_struct = ty.is_some_and(|t| t.shape() == Shape::Object);
    let mut named = Vec::new();
    for (pe, child) in set.children.iter_mut() {
        let child_ty = match pe {
            PathElement::Field(name) => {
                if is_struct && ty.is_some_and(|t| t.has_named_field(name)) {
                    named.push(pe.clone());
                }
                ty.and_then(|t| t.field(name))
            }
            _ => ty.and_then(|t| t.items()),
        };
        ensure_named(child, child_ty);
    }
    set.members.extend(named);
}

// ------------------------------------------------------------------------------------------
// Managers

/// `managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    /// RFC 3339 time of the last change, as given by the caller.
    pub time: Option<String>,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

impl ManagedFieldsEntry {
    fn same_manager(
        &self,
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// The entry in Kubernetes' JSON form.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), Value::from(self.manager.clone()));
        m.insert("operation".into(), Value::from(self.operation.as_str()));
        m.insert("apiVersion".into(), Value::from(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::from(t.clone()));
        }
        m.insert("fieldsType".into(), Value::from("FieldsV1"));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), Value::from(s.clone()));
        }
        Value::Object(m)
    }
}

/// The `metadata.managedFields` of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedFields {
    pub entries: Vec<ManagedFieldsEntry>,
}

impl ManagedFields {
    /// Read `metadata.managedFields` of an object (absent: empty).
    pub fn from_object(object: &Value) -> Result<ManagedFields, SsaError> {
        match object.pointer("/metadata/managedFields") {
            None | Some(Value::Null) => Ok(ManagedFields::default()),
            Some(list) => ManagedFields::from_json(list),
        }
    }

    /// Read a `managedFields` list in Kubernetes' JSON form.
    pub fn from_json(list: &Value) -> Result<ManagedFields, SsaError> {
        let Value::Array(items) = list else {
            return Err(SsaError::ManagedFieldsEntry {
                index: 0,
                reason: "managedFields is not a list".into(),
            });
        };
        let mut entries = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let bad = |reason: &str| SsaError::ManagedFieldsEntry {
                index,
                reason: reason.to_string(),
            };
            let text = |field: &str| item.get(field).and_then(Value::as_str).map(str::to_string);
            let operation = match item.get("operation").and_then(Value::as_str) {
                Some("Apply") => Operation::Apply,
                Some("Update") => Operation::Update,
                Some(other) => return Err(bad(&format!("unknown operation {other:?}"))),
                None => return Err(bad("operation is missing")),
            };
            match item.get("fieldsType").and_then(Value::as_str) {
                Some("FieldsV1") | None => {}
                Some(other) => return Err(bad(&format!("unsupported fieldsType {other:?}"))),
            }
            let fields = match item.get("fieldsV1") {
                None | Some(Value::Null) => FieldSet::new(),
                Some(v) => FieldSet::from_fields_v1(v)
                    .map_err(|source| SsaError::FieldsV1 { index, source })?,
            };
            entries.push(ManagedFieldsEntry {
                manager: text("manager").unwrap_or_default(),
                operation,
                api_version: text("apiVersion").unwrap_or_default(),
                time: text("time"),
                subresource: text("subresource").filter(|s| !s.is_empty()),
                fields,
            });
        }
        Ok(ManagedFields { entries })
    }

    /// The list in Kubernetes' JSON form.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.entries
                .iter()
                .map(ManagedFieldsEntry::to_json)
                .collect(),
        )
    }

    /// Store as `metadata.managedFields` of `object` (removed when empty).
    pub fn write_to(&self, object: &mut Value) {
        let Some(obj) = object.as_object_mut() else {
            return;
        };
        let metadata = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = metadata.as_object_mut() {
            if self.entries.is_empty() {
                meta.shift_remove("managedFields");
            } else {
                meta.insert("managedFields".into(), self.to_json());
            }
        }
    }

    /// Order the entries as the API server stores them: by operation (`Apply` before
    /// `Update`), time, manager, apiVersion, subresource. Times compare as RFC 3339 UTC text
    /// (the form the API server writes).
    pub fn sort(&mut self) {
        self.entries.sort_by(|p, q| {
            p.operation
                .as_str()
                .cmp(q.operation.as_str())
                .then_with(|| {
                    p.time
                        .as_deref()
                        .unwrap_or("")
                        .cmp(q.time.as_deref().unwrap_or(""))
                })
                .then_with(|| p.manager.cmp(&q.manager))
                .then_with(|| p.api_version.cmp(&q.api_version))
                .then_with(|| {
                    p.subresource
                        .as_deref()
                        .unwrap_or("")
                        .cmp(q.subresource.as_deref().unwrap_or(""))
                })
        });
    }

    /// The entry of a manager, if any.
    pub fn get(&self, manager: &str, operation: Operation) -> Option<&ManagedFieldsEntry> {
        self.entries
            .iter()
            .find(|e| e.manager == manager && e.operation == operation)
    }
}

/// Who is writing and how.
#[derive(Debug, Clone)]
pub struct FieldManager<'a> {
    pub manager: &'a str,
    /// apiVersion of the object being written.
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    /// Time to stamp on the manager's entry.
    pub time: Option<&'a str>,
}

/// The result of [`apply`] and [`update`].
#[derive(Debug, Clone)]
pub struct Applied {
    /// The new object, without `metadata.managedFields` (write [`Applied::managed`] into it).
    pub object: Value,
    pub managed: ManagedFields,
}

/// Paths the API server never records ownership of.
fn strip_meta(set: &FieldSet) -> FieldSet {
    let mut strip = FieldSet::new();
    for p in [
        &["apiVersion"][..],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ] {
        strip.insert(&Path::fields(p).0);
    }
    set.difference(&strip)
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("managedFields");
    }
    v
}

/// Hand the changes between `live` and `new` to `manager` (an Update operation, e.g. a PUT or
/// PATCH): other managers lose the fields it changed or removed.
pub fn update(
    live: &Value,
    new: &Value,
    managed: &ManagedFields,
    who: &FieldManager<'_>,
    schema: Option<TypeRef<'_>>,
) -> Result<Applied, SsaError> {
    let (live, new) = (without_managed_fields(live), without_managed_fields(new));
    let mut entries = managed.entries.clone();
    let compare = take_from_others(
        &live,
        &new,
        &mut entries,
        who,
        Operation::Update,
        true,
        schema,
    )?;
    let position = entries.iter().position(|e| {
        e.same_manager(
            who.manager,
            Operation::Update,
            who.api_version,
            who.subresource,
        )
    });
    let previous = position
        .map(|i| entries[i].fields.clone())
        .unwrap_or_default();
    let set = strip_meta(
        &previous
            .difference(&compare.removed)
            .union(&compare.modified)
            .union(&compare.added),
    );
    let changed =
        !compare.added.is_empty() || !compare.modified.is_empty() || !compare.removed.is_empty();
    let entry = ManagedFieldsEntry {
        manager: who.manager.to_string(),
        operation: Operation::Update,
        api_version: who.api_version.to_string(),
        time: match position {
            Some(i) if !changed => entries[i].time.clone(),
            _ => who.time.map(str::to_string),
        },
        subresource: who.subresource.map(str::to_string),
        fields: set,
    };
    match position {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    entries.retain(|e| !e.fields.is_empty());
    let mut managed = ManagedFields { entries };
    managed.sort();
    Ok(Applied {
        object: new,
        managed,
    })
}

/// Server-side apply `config` to `live` as `who`: merge, take ownership of the configured
/// fields, remove fields `who` applied before and no longer applies (unless another manager
/// owns them), and refuse to change fields other managers own unless `force` (which moves their
/// ownership to `who`).
pub fn apply(
    live: &Value,
    config: &Value,
    managed: &ManagedFields,
    who: &FieldManager<'_>,
    force: bool,
    schema: Option<TypeRef<'_>>,
) -> Result<Applied, SsaError> {
    if !config.is_object() {
        return Err(SsaError::NotAnObject {
            what: "configuration",
        });
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return Err(SsaError::ManagedFieldsInConfig);
    }
    let live_is_empty = live.is_null() || live.as_object().is_some_and(Map::is_empty);
    let (live, config) = (without_managed_fields(live), without_managed_fields(config));
    let merged = if live_is_empty {
        merge_at(None, Some(&config), schema, &mut Vec::new())?
            .unwrap_or_else(|| Value::Object(Map::new()))
    } else {
        merge(&live, &config, schema)?
    };
    let mut entries = managed.entries.clone();
    let position = entries.iter().position(|e| {
        e.same_manager(
            who.manager,
            Operation::Apply,
            who.api_version,
            who.subresource,
        )
    });
    let last = position.map(|i| entries[i].fields.clone());
    let last_time = position.and_then(|i| entries[i].time.clone());
    let set = strip_meta(&to_field_set(&config, schema)?);
    let entry = ManagedFieldsEntry {
        manager: who.manager.to_string(),
        operation: Operation::Apply,
        api_version: who.api_version.to_string(),
        time: who.time.map(str::to_string),
        subresource: who.subresource.map(str::to_string),
        fields: set,
    };
    let position = match position {
        Some(i) => {
            entries[i] = entry;
            i
        }
        None => {
            entries.push(entry);
            entries.len() - 1
        }
    };

    // Prune what `who` applied last time and nobody owns now.
    let mut object = merged;
    if let Some(last) = last.filter(|l| !l.is_empty()) {
        let owned = entries
            .iter()
            .fold(FieldSet::new(), |acc, e| acc.union(&e.fields));
        let last = ensure_named_fields_are_members(&last, schema);
        let owned = ensure_named_fields_are_members(&owned, schema);
        let to_remove = last.difference(&owned);
        if !to_remove.is_empty() {
            object = remove_items(&object, &to_remove, schema)?
                .unwrap_or_else(|| Value::Object(Map::new()));
        }
    }

    let base = if live_is_empty { Value::Null } else { live };
    take_from_others(
        &base,
        &object,
        &mut entries,
        who,
        Operation::Apply,
        force,
        schema,
    )?;
    // As the API server: an apply that leaves the object unchanged keeps the entry's time.
    if base == object
        && let Some(entry) = entries.get_mut(position)
    {
        entry.time = last_time;
    }
    if entries.get(position).is_some_and(|e| e.fields.is_empty()) {
        entries.remove(position);
    }
    entries.retain(|e| !e.fields.is_empty());
    let mut managed = ManagedFields { entries };
    managed.sort();
    Ok(Applied { object, managed })
}

/// Compare `old` with `new`; other managers lose fields `new` changed (conflicts unless
/// `force`) or removed.
fn take_from_others(
    old: &Value,
    new: &Value,
    entries: &mut [ManagedFieldsEntry],
    who: &FieldManager<'_>,
    operation: Operation,
    force: bool,
    schema: Option<TypeRef<'_>>,
) -> Result<Comparison, SsaError> {
    let old = (!old.is_null()).then_some(old);
    let compare = compare(old, Some(new), schema)?;
    let changed = compare.modified.union(&compare.added);
    let mut conflicts = Vec::new();
    let mut taken = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.same_manager(who.manager, operation, who.api_version, who.subresource) {
            continue;
        }
        let conflict = entry.fields.intersection(&changed);
        if !conflict.is_empty() {
            for path in conflict.paths() {
                conflicts.push(Conflict {
                    manager: entry.manager.clone(),
                    api_version: entry.api_version.clone(),
                    path,
                });
            }
            taken.push((i, conflict));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(SsaError::Conflicts(conflicts));
    }
    for (i, conflict) in taken {
        entries[i].fields = entries[i].fields.difference(&conflict);
    }
    if !compare.removed.is_empty() {
        for entry in entries.iter_mut() {
            if !entry.same_manager(who.manager, operation, who.api_version, who.subresource) {
                entry.fields = entry.fields.difference(&compare.removed);
            }
        }
    }
    Ok(compare)
}

#[cfg(test)]
mod tests;
