//! The dynamic value carried through templates: Go's `interface{}` as Helm sees it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use crate::format::format_float_v;

/// A sorted string-keyed map (Go prints and ranges maps in key order).
pub type Map = BTreeMap<String, Value>;

/// A Go-like dynamic value.
///
/// Numbers keep Go's kinds apart: `Int` is Go's `int`/`int64`, `Float` is `float64`.
/// Values decoded from YAML/JSON by Helm are `float64` in Go, so [`Value::from_json`]
/// makes every JSON number a `Float`; use [`Value::from_json_ints`] where Go keeps ints.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's `nil` (also what a missing map key evaluates to).
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Arc<str>),
    /// Go's `[]byte`.
    Bytes(Arc<[u8]>),
    List(Arc<Vec<Value>>),
    /// A map with Go's reference semantics: `set`, `unset` and `merge` change it in
    /// place, visibly through every copy of this value.
    Map(MapRef),
    /// A host object with fields and methods (Helm's `.Files`, `.Capabilities`, a `time.Time`).
    Object(Arc<dyn Object>),
}

/// A host value with Go-style fields and methods, reachable as `.Obj.Field` or
/// `.Obj.Method arg…` from templates.
pub trait Object: Send + Sync {
    /// Go type name used in error messages and by `typeOf` (e.g. `chartutil.Files`).
    fn type_name(&self) -> &str;
    /// Go kind name used by `kindOf` (e.g. `struct`, `map`, `slice`).
    fn kind(&self) -> &str {
        "struct"
    }
    /// A field or a method without arguments. `None` when the object has no such member.
    fn field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }
    /// A method called with arguments. `None` when the object has no such method.
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// How `{{ . }}` / `%v` prints it.
    fn display(&self) -> String;
    /// Entries for `range`, `len` and `index` when the object is map- or slice-like.
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// Truthiness (`if`); structs are always true in Go.
    fn is_truthy(&self) -> bool {
        true
    }
    /// Conversion for `toJson`/`toYaml` style encoders.
    fn to_value(&self) -> Value {
        Value::String(self.display().into())
    }
    /// Downcasting support for functions that know the concrete type (e.g. dates).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A shared, mutable map (Go's `map[string]interface{}` is a reference type).
#[derive(Clone, Default)]
pub struct MapRef(Arc<RwLock<Map>>);

impl MapRef {
    /// Wraps a map.
    pub fn new(map: Map) -> Self {
        MapRef(Arc::new(RwLock::new(map)))
    }

    /// Runs `f` with read access to the map.
    pub fn with<R>(&self, f: impl FnOnce(&Map) -> R) -> R {
        let guard = self.0.read().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Runs `f` with write access to the map.
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut Map) -> R) -> R {
        let mut guard = self.0.write().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.with(|m| m.get(key).cloned())
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.with(|m| m.contains_key(key))
    }

    /// Inserts (in place).
    pub fn insert(&self, key: String, value: Value) {
        self.with_mut(|m| m.insert(key, value));
    }

    /// Removes (in place).
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.with_mut(|m| m.remove(key))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.with(|m| m.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.with(|m| m.is_empty())
    }

    /// Sorted keys.
    pub fn keys(&self) -> Vec<String> {
        self.with(|m| m.keys().cloned().collect())
    }

    /// A shallow copy of the entries, sorted by key.
    pub fn snapshot(&self) -> Map {
        self.with(|m| m.clone())
    }

    /// True when both refer to the same map.
    pub fn ptr_eq(&self, other: &MapRef) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

thread_local! {
    static DEBUG_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl fmt::Debug for MapRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let depth = DEBUG_DEPTH.with(|d| d.get());
        if depth > MAX_VALUE_DEPTH {
            return f.write_str("{…}");
        }
        DEBUG_DEPTH.with(|d| d.set(depth + 1));
        let r = self.with(|m| f.debug_map().entries(m.iter()).finish());
        DEBUG_DEPTH.with(|d| d.set(depth));
        r
    }
}

impl PartialEq for MapRef {
    fn eq(&self, other: &Self) -> bool {
        Value::deep_eq_maps(self, other, 0)
    }
}

/// Nesting beyond which printing and encoding stop (maps can be made cyclic with `set`).
pub(crate) const MAX_VALUE_DEPTH: usize = 200;

/// Longest text printing or encoding one value may produce (shared maps can form
/// graphs whose printed form grows exponentially).
pub(crate) const MAX_FORMATTED_BYTES: usize = 64 * 1024 * 1024;

impl fmt::Debug for dyn Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Object({}: {})", self.type_name(), self.display())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => write!(f, "{m:?}"),
            Value::Object(o) => write!(f, "{o:?}"),
        }
    }
}

impl PartialEq for Value {
    /// Deep equality (Go's `reflect.DeepEqual` on template values); nesting beyond
    /// 200 levels (cyclic maps) compares unequal instead of recursing forever.
    fn eq(&self, other: &Self) -> bool {
        self.deep_eq(other, 0)
    }
}

impl Value {
    fn deep_eq(&self, other: &Value, depth: usize) -> bool {
        if depth > MAX_VALUE_DEPTH {
            return false;
        }
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.len() == b.len()
                        && a.iter().zip(b.iter()).all(|(x, y)| x.deep_eq(y, depth + 1)))
            }
            (Value::Map(a), Value::Map(b)) => Value::deep_eq_maps(a, b, depth),
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn deep_eq_maps(a: &MapRef, b: &MapRef, depth: usize) -> bool {
        if a.ptr_eq(b) {
            return true;
        }
        if depth > MAX_VALUE_DEPTH {
            return false;
        }
        let (x, y) = (a.snapshot(), b.snapshot());
        x.len() == y.len()
            && x.iter()
                .zip(y.iter())
                .all(|((k1, v1), (k2, v2))| k1 == k2 && v1.deep_eq(v2, depth + 1))
    }
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// A fresh deep copy (Sprig's `deepCopy`): maps are new, not shared.
    pub fn deep_copy(&self) -> Value {
        let mut budget = 10_000_000usize;
        self.deep_copy_depth(0, &mut budget)
    }

    fn deep_copy_depth(&self, depth: usize, budget: &mut usize) -> Value {
        if depth > MAX_VALUE_DEPTH || *budget == 0 {
            return Value::Nil;
        }
        *budget -= 1;
        match self {
            Value::List(l) => Value::list(
                l.iter()
                    .map(|v| v.deep_copy_depth(depth + 1, budget))
                    .collect(),
            ),
            Value::Map(m) => Value::map(m.with(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy_depth(depth + 1, budget)))
                    .collect()
            })),
            other => other.clone(),
        }
    }

    /// A map value.
    pub fn map(map: Map) -> Value {
        Value::Map(MapRef::new(map))
    }

    /// An object value.
    pub fn object(obj: impl Object + 'static) -> Value {
        Value::Object(Arc::new(obj))
    }

    /// Converts JSON the way Go's `encoding/json` decodes into `interface{}`: every
    /// number becomes `float64` (this is what Helm values are).
    pub fn from_json(json: &serde_json::Value) -> Value {
        Self::convert_json(json, false)
    }

    /// Converts JSON keeping integral numbers as `Int` (for data Go holds as ints,
    /// such as chart metadata built from typed structs).
    pub fn from_json_ints(json: &serde_json::Value) -> Value {
        Self::convert_json(json, true)
    }

    fn convert_json(json: &serde_json::Value, ints: bool) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if ints && let Some(i) = n.as_i64() {
                    return Value::Int(i);
                }
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
            serde_json::Value::String(s) => Value::String(s.as_str().into()),
            serde_json::Value::Array(a) => {
                Value::list(a.iter().map(|v| Self::convert_json(v, ints)).collect())
            }
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Self::convert_json(v, ints)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON as Go's `encoding/json` would marshal it: floats that are
    /// integral (and below 1e21) become integers, non-finite floats become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut budget = 10_000_000usize;
        self.to_json_depth(0, &mut budget)
    }

    fn to_json_depth(&self, depth: usize, budget: &mut usize) -> serde_json::Value {
        if depth > MAX_VALUE_DEPTH || *budget == 0 {
            return serde_json::Value::Null;
        }
        *budget -= 1;
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => float_to_json(*f),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Bytes(b) => {
                use base64::Engine as _;
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::List(l) => serde_json::Value::Array(
                l.iter()
                    .map(|v| v.to_json_depth(depth + 1, budget))
                    .collect(),
            ),
            Value::Map(m) => m.with(|m| {
                serde_json::Value::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.to_json_depth(depth + 1, budget)))
                        .collect(),
                )
            }),
            Value::Object(o) => o.to_value().to_json_depth(depth + 1, budget),
        }
    }

    /// Go's template truthiness (`if`, `with`, `and`, `or`, `not`).
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.is_truthy(),
        }
    }

    /// Go's type name (`reflect.Type.String()`), as `typeOf` prints it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().into(),
        }
    }

    /// Go's kind name (`reflect.Kind.String()`), as `kindOf` prints it.
    pub fn kind_name(&self) -> String {
        match self {
            Value::Nil => "invalid".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) | Value::List(_) => "slice".into(),
            Value::Map(_) => "map".into(),
            Value::Object(o) => o.kind().into(),
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// True for `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's `fmt.Sprint(v)` (`%v`).
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, 0);
        out
    }

    /// Writes Go's `%v` form at nesting `depth`.
    pub(crate) fn write_go(&self, out: &mut String, depth: usize) {
        if depth > MAX_VALUE_DEPTH || out.len() > MAX_FORMATTED_BYTES {
            out.push_str("...");
            return;
        }
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format_float_v(*f)),
            Value::String(s) => out.push_str(s),
            Value::Bytes(b) => {
                out.push('[');
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(&x.to_string());
                }
                out.push(']');
            }
            Value::List(l) => {
                out.push('[');
                for (i, x) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    x.write_go(out, depth + 1);
                }
                out.push(']');
            }
            Value::Map(m) => m.with(|m| {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, depth + 1);
                }
                out.push(']');
            }),
            Value::Object(o) => out.push_str(&o.display()),
        }
    }
}

fn float_to_json(f: f64) -> serde_json::Value {
    if !f.is_finite() {
        return serde_json::Value::Null;
    }
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        return serde_json::Value::from(f as i64);
    }
    if f.fract() == 0.0 && (0.0..1.8e19).contains(&f) {
        return serde_json::Value::from(f as u64);
    }
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_go_string())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::list(v)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::map(m)
    }
}
impl From<&serde_json::Value> for Value {
    /// Same as [`Value::from_json`]: JSON numbers become `Float` (Go's `float64`).
    fn from(j: &serde_json::Value) -> Self {
        Value::from_json(j)
    }
}
impl From<serde_json::Value> for Value {
    fn from(j: serde_json::Value) -> Self {
        Value::from_json(&j)
    }
}
