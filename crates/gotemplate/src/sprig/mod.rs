//! The Sprig v3 function set as Helm registers it (Helm removes `env` and `expandenv`).
//!
//! Argument handling follows Go: a parameter typed `string` or `int` in Sprig rejects
//! other types ("wrong type for value; expected string; got int"); `interface{}`
//! parameters take anything and convert as Sprig does (via `cast`, `strval`).

mod certs;
mod dates;
mod dicts;
mod encoding;
mod general;
mod json;
mod lists;
mod math;
mod regexes;
pub mod semver;
mod strings;

use crate::error::FuncError;
use crate::value::Value;
use crate::{CallContext, FuncMap, func};

pub use json::{to_json_string, to_pretty_json_string};

/// Every Sprig function Helm exposes.
pub fn sprig_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    strings::register(&mut m);
    lists::register(&mut m);
    dicts::register(&mut m);
    math::register(&mut m);
    general::register(&mut m);
    json::register(&mut m);
    encoding::register(&mut m);
    regexes::register(&mut m);
    semver::register(&mut m);
    dates::register(&mut m);
    certs::register(&mut m);
    m
}

pub(crate) type R = Result<Value, FuncError>;

/// Registers a function.
pub(crate) fn reg(
    m: &mut FuncMap,
    name: &str,
    f: impl Fn(&mut CallContext<'_>, &[Value]) -> R + Send + Sync + 'static,
) {
    m.insert(name.to_string(), func(f));
}

/// Registers a function that does not need the context.
pub(crate) fn reg1(m: &mut FuncMap, name: &'static str, f: fn(&'static str, &[Value]) -> R) {
    m.insert(name.to_string(), func(move |_, a| f(name, a)));
}

pub(crate) fn arity(name: &str, a: &[Value], n: usize) -> Result<(), FuncError> {
    if a.len() != n {
        return Err(FuncError::Usage(format!(
            "wrong number of args for {name}: want {n} got {}",
            a.len()
        )));
    }
    Ok(())
}

pub(crate) fn arity_min(name: &str, a: &[Value], n: usize) -> Result<(), FuncError> {
    if a.len() < n {
        return Err(FuncError::Usage(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            a.len()
        )));
    }
    Ok(())
}

/// Go's argument type error. A nil argument is reported as Helm sees it (with
/// `missingkey=zero` a missing value is a nil `interface {}`).
pub(crate) fn wrong_type(index: usize, expected: &str, v: &Value) -> FuncError {
    let got = if v.is_nil() {
        "interface {}".to_string()
    } else {
        v.type_name()
    };
    FuncError::ArgType {
        index,
        expected: expected.to_string(),
        got,
    }
}

/// A Go `string` parameter.
pub(crate) fn s_arg(a: &[Value], i: usize) -> Result<&str, FuncError> {
    match a.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(i, "string", other)),
        None => Err(FuncError::Usage("missing argument".into())),
    }
}

/// A Go `int` parameter.
pub(crate) fn i_arg(a: &[Value], i: usize) -> Result<i64, FuncError> {
    match a.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => Err(wrong_type(i, "int", other)),
        None => Err(FuncError::Usage("missing argument".into())),
    }
}

/// A Go `bool` parameter.
pub(crate) fn b_arg(a: &[Value], i: usize) -> Result<bool, FuncError> {
    match a.get(i) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(wrong_type(i, "bool", other)),
        None => Err(FuncError::Usage("missing argument".into())),
    }
}

/// Sprig's `strval`: strings as is, bytes as text, everything else as `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_go_string(),
    }
}

/// Sprig's `strslice`: a list of strings from a list (nil elements dropped) or a scalar.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn trim_zero_decimal(s: &str) -> &str {
    if let Some((int, frac)) = s.split_once('.')
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0')
        && !int.is_empty()
    {
        return int;
    }
    s
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let s = s.replace('_', "");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, s.strip_prefix('+').unwrap_or(&s).to_string()),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        if lower.is_empty() || !lower.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        lower.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `cast.ToInt64` (errors become 0).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        // Go on amd64: out-of-range and NaN conversions give i64::MIN
        Value::Float(f) => {
            if f.is_nan()
                || *f >= 9_223_372_036_854_775_808.0_f64
                || *f < -9_223_372_036_854_775_808.0_f64
            {
                i64::MIN
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64` (errors become 0).
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(true) => 1.0,
        Value::Bool(false) => 0.0,
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// The elements of a list-like value (`[]interface{}`, `[]string`, …), or an error
/// naming the function as Sprig's `must*` variants do.
pub(crate) fn list_items(name: &str, v: &Value) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.as_ref().clone()),
        Value::Bytes(b) => Ok(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
        other => Err(FuncError::msg(format!(
            "Cannot {name} on type {}",
            other.type_name()
        ))),
    }
}
