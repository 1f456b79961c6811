//! Field paths and field sets for server-side apply, with the `managedFields` `fieldsV1`
//! encoding (`f:<field>`, `k:{<key fields>}`, `v:<value>`, `i:<index>`, `.` for "this node
//! too"). Ordering and encoding follow sigs.k8s.io/structured-merge-diff, so a set written here
//! is byte-identical to the one Kubernetes writes.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// Why a `fieldsV1` document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FieldsV1Error {
    #[error("fieldsV1 is not valid JSON: {0}")]
    ParseJson(#[source] serde_json::Error),
    #[error("fieldsV1 at {path}: expected an object")]
    NotAnObject { path: String },
    #[error("fieldsV1 at {path}: bad path element `{element}`: {reason}")]
    BadElement {
        path: String,
        element: String,
        reason: String,
    },
}

/// One step of a path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of an object (`f:name`).
    Field(String),
    /// An item of a list of maps, by its key fields sorted by name (`k:{"name":"app"}`).
    Key(Vec<(String, Value)>),
    /// An item of a set (`v:"value"`).
    Value(Value),
    /// An item of a list by position (`i:0`).
    Index(usize),
}

/// Total order over JSON values as structured-merge-diff defines it: numbers (ints and floats
/// compared numerically) < strings < booleans < lists < maps < null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
            Value::Null => 5,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => {
                let (f, g) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                f.partial_cmp(&g).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (v, w) in x.iter().zip(y) {
                let c = compare_values(v, w);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<(&String, &Value)> = x.iter().collect();
            let mut ys: Vec<(&String, &Value)> = y.iter().collect();
            xs.sort_by(|a, b| a.0.cmp(b.0));
            ys.sort_by(|a, b| a.0.cmp(b.0));
            for ((k, v), (l, w)) in xs.iter().zip(&ys) {
                let c = k.cmp(l).then_with(|| compare_values(v, w));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_keys(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((k, v), (l, w)) in a.iter().zip(b) {
        let c = k.cmp(l).then_with(|| compare_values(v, w));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        use PathElement::*;
        match (self, other) {
            (Field(a), Field(b)) => a.cmp(b),
            (Field(_), _) => Ordering::Less,
            (_, Field(_)) => Ordering::Greater,
            (Key(a), Key(b)) => compare_keys(a, b),
            (Key(_), _) => Ordering::Less,
            (_, Key(_)) => Ordering::Greater,
            (Value(a), Value(b)) => compare_values(a, b),
            (Value(_), _) => Ordering::Less,
            (_, Value(_)) => Ordering::Greater,
            (Index(a), Index(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// Write a JSON string the way Go's encoding/json does (HTML characters escaped).
fn write_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Write a JSON value as Go's encoding/json would (object keys sorted, HTML escaped).
pub(crate) fn write_go_json(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => write_go_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, item);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(out, k);
                out.push(':');
                write_go_json(out, &m[k.as_str()]);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl PathElement {
    /// The `fieldsV1` key for this element (`f:…`, `k:…`, `v:…`, `i:…`).
    pub fn to_fields_v1_key(&self) -> String {
        let mut out = String::new();
        match self {
            PathElement::Field(name) => {
                out.push_str("f:");
                out.push_str(name);
            }
            PathElement::Key(fields) => {
                out.push_str("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_go_json_string(&mut out, name);
                    out.push(':');
                    write_go_json(&mut out, value);
                }
                out.push('}');
            }
            PathElement::Value(v) => {
                out.push_str("v:");
                write_go_json(&mut out, v);
            }
            PathElement::Index(i) => {
                out.push_str("i:");
                out.push_str(&i.to_string());
            }
        }
        out
    }

    /// Parse a `fieldsV1` key.
    pub fn from_fields_v1_key(s: &str) -> Result<PathElement, String> {
        let Some((kind, rest)) = s.split_at_checked(2) else {
            return Err("shorter than 2 characters".into());
        };
        match kind {
            "f:" => Ok(PathElement::Field(rest.to_string())),
            "v:" => serde_json::from_str(rest)
                .map(PathElement::Value)
                .map_err(|e| e.to_string()),
            "k:" => {
                let v: Value = serde_json::from_str(rest).map_err(|e| e.to_string())?;
                let Value::Object(m) = v else {
                    return Err("key is not a JSON object".into());
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(PathElement::Key(fields))
            }
            "i:" => rest
                .parse()
                .map(PathElement::Index)
                .map_err(|e| format!("{e}")),
            _ => Err("unknown path element type (want f:, k:, v: or i:)".into()),
        }
    }
}

impl fmt::Display for PathElement {
    /// structured-merge-diff's path notation: `.field`, `[name="app"]`, `[="value"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                f.write_str("[")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    let mut v = String::new();
                    write_go_json(&mut v, value);
                    write!(f, "{name}={v}")?;
                }
                f.write_str("]")
            }
            PathElement::Value(v) => {
                let mut s = String::new();
                write_go_json(&mut s, v);
                write!(f, "[={s}]")
            }
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path from the root of an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Path(pub Vec<PathElement>);

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

impl Path {
    /// A path of field names, e.g. `Path::fields(&["spec", "replicas"])`.
    pub fn fields(names: &[&str]) -> Path {
        Path(
            names
                .iter()
                .map(|n| PathElement::Field(n.to_string()))
                .collect(),
        )
    }
}

/// A set of paths, stored as a tree: `members` are paths ending here, `children` continue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub(crate) members: BTreeSet<PathElement>,
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Add a path (the empty path is ignored, as upstream does).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((last, init)) = path.split_last() else {
            return;
        };
        let mut node = self;
        for pe in init {
            node = node.children.entry(pe.clone()).or_default();
        }
        node.members.insert(last.clone());
    }

    /// Whether the set holds exactly this path.
    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((last, init)) = path.split_last() else {
            return false;
        };
        let mut node = self;
        for pe in init {
            match node.children.get(pe) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.members.contains(last)
    }

    /// The paths below `pe`, with `pe` stripped.
    pub fn with_prefix(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe).filter(|c| !c.is_empty())
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths in `self` but not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                children.insert(pe.clone(), rest);
            }
        }
        FieldSet { members, children }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    children.insert(pe.clone(), both);
                }
            }
        }
        FieldSet { members, children }
    }

    /// Every path in the set, members of a node before its children (upstream's order).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(Path(p));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Number of paths.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.values().map(FieldSet::len).sum::<usize>()
    }

    /// The `fieldsV1` JSON text, byte-identical to Kubernetes'.
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::from("{");
        self.emit(false, &mut out);
        out.push('}');
        out
    }

    /// The `fieldsV1` JSON value (keys in Kubernetes' order).
    pub fn to_fields_v1(&self) -> Value {
        // The text is produced by us and always parses.
        serde_json::from_str(&self.to_fields_v1_string()).unwrap_or(Value::Object(Map::new()))
    }

    fn emit(&self, include_self: bool, out: &mut String) {
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
        };
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            sep(out);
            out.push_str("\".\":{}");
        }
        let mut members = self.members.iter().peekable();
        let mut children = self
            .children
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .peekable();
        loop {
            let next = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(_), None) => (members.next(), None),
                (None, Some(_)) => (None, children.next()),
                (Some(m), Some((c, _))) => match (*m).cmp(c) {
                    Ordering::Less => (members.next(), None),
                    Ordering::Greater => (None, children.next()),
                    Ordering::Equal => (members.next(), children.next()),
                },
            };
            sep(out);
            match next {
                (Some(pe), None) => {
                    write_go_json_string(out, &pe.to_fields_v1_key());
                    out.push_str(":{}");
                }
                (member, Some((pe, child))) => {
                    write_go_json_string(out, &pe.to_fields_v1_key());
                    out.push_str(":{");
                    child.emit(member.is_some(), out);
                    out.push('}');
                }
                (None, None) => {}
            }
        }
    }

    /// Read a `fieldsV1` JSON value.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, FieldsV1Error> {
        let (set, _) = Self::read(v, &mut Vec::new())?;
        Ok(set)
    }

    /// Read `fieldsV1` JSON text.
    pub fn from_fields_v1_str(s: &str) -> Result<FieldSet, FieldsV1Error> {
        let v: Value = serde_json::from_str(s).map_err(FieldsV1Error::ParseJson)?;
        Self::from_fields_v1(&v)
    }

    /// (children as a set, whether this node itself is a member).
    fn read(v: &Value, path: &mut Vec<String>) -> Result<(FieldSet, bool), FieldsV1Error> {
        let Value::Object(m) = v else {
            return Err(FieldsV1Error::NotAnObject {
                path: path.join(""),
            });
        };
        let mut set = FieldSet::new();
        let mut is_member = m.is_empty();
        for (k, child) in m {
            if k == "." {
                is_member = true;
                continue;
            }
            let pe =
                PathElement::from_fields_v1_key(k).map_err(|reason| FieldsV1Error::BadElement {
                    path: path.join(""),
                    element: k.clone(),
                    reason,
                })?;
            path.push(pe.to_string());
            let (sub, member) = Self::read(child, path)?;
            path.pop();
            if member {
                set.members.insert(pe.clone());
            }
            if !sub.is_empty() {
                set.children.insert(pe, sub);
            }
        }
        Ok((set, is_member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A managedFields entry as the Kubernetes API server writes it for
    /// `kubectl apply --server-side` of a Deployment.
    const KUBERNETES_FIELDS_V1: &str = r#"{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#;

    #[test]
    fn fields_v1_round_trips_byte_for_byte() {
        let set = FieldSet::from_fields_v1_str(KUBERNETES_FIELDS_V1).expect("parse");
        assert_eq!(set.to_fields_v1_string(), KUBERNETES_FIELDS_V1);
        assert!(set.has(&Path::fields(&["spec", "replicas"]).0));
        let mut p = Path::fields(&["spec", "template", "spec", "containers"]).0;
        p.push(PathElement::Key(vec![(
            "name".into(),
            Value::from("nginx"),
        )]));
        assert!(set.has(&p), "list item is a member (`.`)");
        assert_eq!(
            Path(p).to_string(),
            r#".spec.template.spec.containers[name="nginx"]"#
        );
    }

    #[test]
    fn members_and_children_are_ordered_like_upstream() {
        let mut set = FieldSet::new();
        set.insert(&[PathElement::Field("b".into())]);
        set.insert(&[
            PathElement::Field("a".into()),
            PathElement::Field("x".into()),
        ]);
        set.insert(&[PathElement::Field("a".into())]);
        set.insert(&[
            PathElement::Field("l".into()),
            PathElement::Value(Value::from("q")),
        ]);
        set.insert(&[
            PathElement::Field("l".into()),
            PathElement::Value(Value::from(3)),
        ]);
        set.insert(&[PathElement::Field("i".into()), PathElement::Index(2)]);
        assert_eq!(
            set.to_fields_v1_string(),
            r#"{"f:a":{".":{},"f:x":{}},"f:b":{},"f:i":{"i:2":{}},"f:l":{"v:3":{},"v:\"q\"":{}}}"#
        );
    }

    #[test]
    fn set_algebra() {
        let a = FieldSet::from_fields_v1_str(r#"{"f:a":{},"f:b":{"f:c":{},"f:d":{}}}"#).expect("a");
        let b = FieldSet::from_fields_v1_str(r#"{"f:b":{"f:c":{}},"f:e":{}}"#).expect("b");
        assert_eq!(
            a.difference(&b).to_fields_v1_string(),
            r#"{"f:a":{},"f:b":{"f:d":{}}}"#
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1_string(),
            r#"{"f:b":{"f:c":{}}}"#
        );
        assert_eq!(a.union(&b).len(), 4);
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn bad_fields_v1_is_an_error() {
        assert!(FieldSet::from_fields_v1_str(r#"{"x:a":{}}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"f:a":1}"#).is_err());
        assert!(FieldSet::from_fields_v1_str(r#"{"k:[1]":{}}"#).is_err());
    }
}
