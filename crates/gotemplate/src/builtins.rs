//! Go's predefined template functions (`and`, `or`, `not`, `len`, `index`, `slice`,
//! `print*`, `html`, `js`, `urlquery`, comparisons, `call`).

use std::cmp::Ordering;
use std::sync::OnceLock;

use crate::error::FuncError;
use crate::format::{sprint, sprintf, sprintln};
use crate::value::Value;
use crate::{Func, FuncMap, GoCompat, func};

pub(crate) fn builtin(name: &str) -> Option<&'static Func> {
    static MAP: OnceLock<FuncMap> = OnceLock::new();
    MAP.get_or_init(build).get(name)
}

fn want(name: &str, args: &[Value], n: usize) -> Result<(), FuncError> {
    if args.len() != n {
        return Err(FuncError::Usage(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn build() -> FuncMap {
    let mut m = FuncMap::new();
    // and/or are evaluated lazily by the executor; these entries make them known to the
    // parser and serve calls through `call`-like paths.
    m.insert(
        "and".into(),
        func(|_, a| {
            Ok(a.iter()
                .find(|v| !v.is_truthy())
                .or(a.last())
                .cloned()
                .unwrap_or_default())
        }),
    );
    m.insert(
        "or".into(),
        func(|_, a| {
            Ok(a.iter()
                .find(|v| v.is_truthy())
                .or(a.last())
                .cloned()
                .unwrap_or_default())
        }),
    );
    m.insert(
        "not".into(),
        func(|_, a| {
            want("not", a, 1)?;
            Ok(Value::Bool(!a[0].is_truthy()))
        }),
    );
    m.insert(
        "len".into(),
        func(|_, a| {
            want("len", a, 1)?;
            go_len(&a[0]).map(Value::Int)
        }),
    );
    m.insert("index".into(), func(|_, a| index(a)));
    m.insert("slice".into(), func(|_, a| slice(a)));
    m.insert("print".into(), func(|_, a| Ok(Value::from(sprint(a)))));
    m.insert("println".into(), func(|_, a| Ok(Value::from(sprintln(a)))));
    m.insert(
        "printf".into(),
        func(|_, a| {
            let Some(Value::String(f)) = a.first() else {
                return Err(FuncError::Usage(match a.first() {
                    None => "wrong number of args for printf: want at least 1 got 0".into(),
                    Some(v) => format!(
                        "wrong type for value; expected string; got {}",
                        v.type_name()
                    ),
                }));
            };
            Ok(Value::from(sprintf(f, &a[1..])))
        }),
    );
    m.insert(
        "html".into(),
        func(|_, a| Ok(html_escape(&eval_args(a)).into())),
    );
    m.insert(
        "js".into(),
        func(|_, a| Ok(js_escape(&eval_args(a)).into())),
    );
    m.insert(
        "urlquery".into(),
        func(|_, a| Ok(query_escape(&eval_args(a)).into())),
    );
    m.insert(
        "eq".into(),
        func(|ctx, a| eq(a, ctx.templates().go_compat()).map(Value::Bool)),
    );
    m.insert(
        "ne".into(),
        func(|ctx, a| {
            want("ne", a, 2)?;
            eq(a, ctx.templates().go_compat()).map(|b| Value::Bool(!b))
        }),
    );
    type Cmp = fn(Ordering) -> bool;
    let comparisons: [(&'static str, Cmp); 4] = [
        ("lt", |o| o == Ordering::Less),
        ("le", |o| o != Ordering::Greater),
        ("gt", |o| o == Ordering::Greater),
        ("ge", |o| o != Ordering::Less),
    ];
    for (name, test) in comparisons {
        m.insert(
            name.into(),
            func(move |ctx, a| {
                cmp_args(name, a, ctx.templates().go_compat()).map(|o| Value::Bool(test(o)))
            }),
        );
    }
    m.insert(
        "call".into(),
        func(|_, a| match a.first() {
            None => Err(FuncError::Usage(
                "wrong number of args for call: want at least 1 got 0".into(),
            )),
            Some(v) => Err(FuncError::msg(format!(
                "non-function {} of type {}",
                v.to_go_string(),
                v.type_name()
            ))),
        }),
    );
    m
}

/// Go's `evalArgs` for html/js/urlquery: one string as is, else `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    let mut v: Vec<Value> = Vec::with_capacity(a.len());
    for x in a {
        // Go prints a nil argument as "<no value>" in these escapers
        v.push(if x.is_nil() {
            Value::from("<no value>")
        } else {
            x.clone()
        });
    }
    sprint(&v)
}

pub(crate) fn go_len(v: &Value) -> Result<i64, FuncError> {
    Ok(match v {
        Value::String(s) => s.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Object(o) => match o.entries() {
            Some(e) => e.len() as i64,
            None => return Err(FuncError::msg(format!("len of type {}", o.type_name()))),
        },
        Value::Nil => return Err(FuncError::msg("len of nil pointer")),
        other => return Err(FuncError::msg(format!("len of type {}", other.type_name()))),
    })
}

fn index_int(v: &Value, what: &str) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(FuncError::msg(format!("cannot index {what} with nil"))),
        other => Err(FuncError::msg(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        ))),
    }
}

fn index(a: &[Value]) -> Result<Value, FuncError> {
    let Some(item) = a.first() else {
        return Err(FuncError::Usage(
            "wrong number of args for index: want at least 1 got 0".into(),
        ));
    };
    let mut item = item.clone();
    for idx in &a[1..] {
        item = match &item {
            Value::Nil => return Err(FuncError::msg("index of untyped nil")),
            Value::List(l) => {
                let i = index_int(idx, "slice")?;
                if i < 0 || i as usize >= l.len() {
                    return Err(FuncError::msg(format!("index out of range: {i}")));
                }
                l[i as usize].clone()
            }
            Value::Bytes(b) => {
                let i = index_int(idx, "slice")?;
                if i < 0 || i as usize >= b.len() {
                    return Err(FuncError::msg(format!("index out of range: {i}")));
                }
                Value::Int(i64::from(b[i as usize]))
            }
            Value::String(s) => {
                let i = index_int(idx, "string")?;
                if i < 0 || i as usize >= s.len() {
                    return Err(FuncError::msg(format!("index out of range: {i}")));
                }
                Value::Int(i64::from(s.as_bytes()[i as usize]))
            }
            Value::Map(m) => match idx {
                Value::String(k) => m.get(k).unwrap_or(Value::Nil),
                Value::Nil => Value::Nil,
                other => {
                    return Err(FuncError::msg(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            Value::Object(o) => match o.entries() {
                Some(entries) => entries
                    .into_iter()
                    .find(|(k, _)| k == idx)
                    .map(|(_, v)| v)
                    .unwrap_or(Value::Nil),
                None => {
                    return Err(FuncError::msg(format!(
                        "can't index item of type {}",
                        o.type_name()
                    )));
                }
            },
            other => {
                return Err(FuncError::msg(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

fn slice(a: &[Value]) -> Result<Value, FuncError> {
    let Some(item) = a.first() else {
        return Err(FuncError::Usage(
            "wrong number of args for slice: want at least 1 got 0".into(),
        ));
    };
    if a.len() > 4 {
        return Err(FuncError::msg(format!(
            "too many slice indexes: {}",
            a.len() - 1
        )));
    }
    let len = match item {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        Value::Nil => return Err(FuncError::msg("slice of untyped nil")),
        other => {
            return Err(FuncError::msg(format!(
                "can't slice item of type {}",
                other.type_name()
            )));
        }
    };
    if matches!(item, Value::String(_)) && a.len() == 4 {
        return Err(FuncError::msg("cannot 3-index slice a string"));
    }
    let mut idx = [0usize, len, len];
    for (i, v) in a[1..].iter().enumerate() {
        let x = index_int(v, "slice")?;
        if x < 0 || x as usize > len {
            return Err(FuncError::msg(format!("index out of range: {x}")));
        }
        idx[i] = x as usize;
    }
    if a.len() < 4 {
        idx[2] = len;
    }
    if idx[0] > idx[1] {
        return Err(FuncError::msg(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    if idx[1] > idx[2] {
        return Err(FuncError::msg(format!(
            "invalid slice index: {} > {}",
            idx[1], idx[2]
        )));
    }
    Ok(match item {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Value::from(sub),
            None => Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).to_string()),
        },
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        Value::Bytes(b) => Value::Bytes(b[idx[0]..idx[1]].into()),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Nil,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        Value::Nil => Kind::Nil,
        _ => Kind::Other,
    }
}

fn incompatible(a: &Value, b: &Value, compat: GoCompat) -> FuncError {
    match compat {
        GoCompat::Go123 => FuncError::msg("incompatible types for comparison"),
        GoCompat::Go125 => FuncError::msg(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )),
    }
}

/// Go's `eq`: arg1 == arg2 || arg1 == arg3 …, with Go's type rules.
pub(crate) fn eq(a: &[Value], compat: GoCompat) -> Result<bool, FuncError> {
    let Some(a1) = a.first() else {
        return Err(FuncError::Usage(
            "wrong number of args for eq: want at least 1 got 0".into(),
        ));
    };
    if a.len() < 2 {
        return Err(FuncError::msg("missing argument for comparison"));
    }
    let k1 = kind(a1);
    for b in &a[1..] {
        let k2 = kind(b);
        let truth = if k1 != k2 {
            if k1 != Kind::Nil && k2 != Kind::Nil {
                if k1 == Kind::Other && k2 == Kind::Other {
                    return Err(FuncError::msg(format!(
                        "non-comparable types {}: {}, {}: {}",
                        sprintf("%s", std::slice::from_ref(a1)),
                        a1.type_name(),
                        b.type_name(),
                        b.to_go_string()
                    )));
                }
                return Err(incompatible(a1, b, compat));
            }
            false
        } else {
            match (a1, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Nil, Value::Nil) => true,
                _ if a1.type_name() != b.type_name() => {
                    return Err(FuncError::msg(format!(
                        "non-comparable types {}: {}, {}: {}",
                        sprintf("%s", std::slice::from_ref(a1)),
                        a1.type_name(),
                        b.type_name(),
                        b.to_go_string()
                    )));
                }
                _ => {
                    return Err(FuncError::msg(format!(
                        "non-comparable type {}: {}",
                        sprintf("%s", std::slice::from_ref(b)),
                        b.type_name()
                    )));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn cmp_args(name: &str, a: &[Value], compat: GoCompat) -> Result<Ordering, FuncError> {
    want(name, a, 2)?;
    let (x, y) = (&a[0], &a[1]);
    let (k1, k2) = (kind(x), kind(y));
    if matches!(k1, Kind::Nil | Kind::Other) || matches!(k2, Kind::Nil | Kind::Other) {
        return Err(FuncError::msg("invalid type for comparison"));
    }
    if k1 != k2 {
        return Err(incompatible(x, y, compat));
    }
    if k1 == Kind::Bool {
        return Err(FuncError::msg("invalid type for comparison"));
    }
    Ok(match (x, y) {
        (Value::Int(p), Value::Int(q)) => p.cmp(q),
        (Value::Float(p), Value::Float(q)) => p.partial_cmp(q).unwrap_or(Ordering::Equal),
        (Value::String(p), Value::String(q)) => p.cmp(q),
        _ => Ordering::Equal,
    })
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() && crate::format::is_unprintable(c) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
