//! Sprig list functions.

use super::{arity, arity_min, i_arg, list_items, reg1, s_arg, strslice, to_int64};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::Value;

/// Go's `reflect.DeepEqual` on template values (types must match exactly).
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Map(x), Value::Map(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Float(x), Value::Float(y)) => x == y,
        _ => a == b,
    }
}

/// Sprig's `empty`.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(_) => false,
        other => !other.is_truthy(),
    }
}

fn nil_type_error() -> FuncError {
    FuncError::msg("runtime error: invalid memory address or nil pointer dereference")
}

fn items_of(what: &str, v: &Value) -> Result<Vec<Value>, FuncError> {
    if v.is_nil() {
        return Err(nil_type_error());
    }
    list_items(what, v)
}

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "list", |_, a| Ok(Value::list(a.to_vec())));
    reg1(m, "tuple", |_, a| Ok(Value::list(a.to_vec())));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        reg1(m, name, |n, a| {
            arity(n, a, 2)?;
            let mut l = items_of("push", &a[0])?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        reg1(m, name, |n, a| {
            arity(n, a, 2)?;
            let mut l = items_of("prepend", &a[0])?;
            l.insert(0, a[1].clone());
            Ok(Value::list(l))
        });
    }
    for name in ["first", "mustFirst"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let l = items_of("find first", &a[0])?;
            Ok(l.first().cloned().unwrap_or_default())
        });
    }
    for name in ["last", "mustLast"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let l = items_of("find last", &a[0])?;
            Ok(l.last().cloned().unwrap_or_default())
        });
    }
    for name in ["rest", "mustRest"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let l = items_of("find rest", &a[0])?;
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            Ok(Value::list(l[1..].to_vec()))
        });
    }
    for name in ["initial", "mustInitial"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let l = items_of("find initial", &a[0])?;
            if l.is_empty() {
                return Ok(Value::Nil);
            }
            Ok(Value::list(l[..l.len() - 1].to_vec()))
        });
    }
    for name in ["reverse", "mustReverse"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let mut l = items_of("find reverse", &a[0])?;
            l.reverse();
            Ok(Value::list(l))
        });
    }
    for name in ["uniq", "mustUniq"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let l = items_of("find uniq", &a[0])?;
            let mut out: Vec<Value> = Vec::new();
            for x in l {
                if !out.iter().any(|y| deep_equal(y, &x)) {
                    out.push(x);
                }
            }
            Ok(Value::list(out))
        });
    }
    for name in ["without", "mustWithout"] {
        reg1(m, name, |n, a| {
            arity_min(n, a, 1)?;
            let l = items_of("find without", &a[0])?;
            let omit = &a[1..];
            Ok(Value::list(
                l.into_iter()
                    .filter(|x| !omit.iter().any(|o| deep_equal(o, x)))
                    .collect(),
            ))
        });
    }
    for name in ["has", "mustHas"] {
        reg1(m, name, |n, a| {
            arity(n, a, 2)?;
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let l = list_items("find has", &a[1])?;
            Ok(Value::Bool(l.iter().any(|x| deep_equal(x, &a[0]))))
        });
    }
    for name in ["compact", "mustCompact"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            let l = items_of("compact", &a[0])?;
            Ok(Value::list(
                l.into_iter().filter(|x| !is_empty(x)).collect(),
            ))
        });
    }
    for name in ["slice", "mustSlice"] {
        reg1(m, name, |n, a| {
            arity_min(n, a, 1)?;
            let l = match &a[0] {
                Value::List(l) => l.as_ref().clone(),
                other => {
                    return Err(FuncError::msg(format!(
                        "list should be type of slice or array but {}",
                        other.kind_name()
                    )));
                }
            };
            let idx: Vec<i64> = a[1..].iter().map(to_int64).collect();
            let len = l.len() as i64;
            let (from, to) = match idx.as_slice() {
                [] => (0, len),
                [i] => (*i, len),
                [i, j] | [i, j, _] => (*i, *j),
                _ => (0, len),
            };
            if from < 0 || to > len || from > to {
                return Err(FuncError::msg(format!(
                    "runtime error: slice bounds out of range [{from}:{to}] with capacity {len}"
                )));
            }
            Ok(Value::list(l[from as usize..to as usize].to_vec()))
        });
    }
    reg1(m, "concat", |_, a| {
        let mut out = Vec::new();
        for v in a {
            match v {
                Value::List(l) => out.extend(l.iter().cloned()),
                other => {
                    return Err(FuncError::msg(format!(
                        "Cannot concat type {} as list",
                        other.type_name()
                    )));
                }
            }
        }
        Ok(Value::list(out))
    });
    for name in ["chunk", "mustChunk"] {
        reg1(m, name, |n, a| {
            arity(n, a, 2)?;
            let size = i_arg(a, 0)?;
            let l = items_of("chunk", &a[1])?;
            if size <= 0 {
                return Err(FuncError::msg("runtime error: integer divide by zero"));
            }
            Ok(Value::list(
                l.chunks(size as usize)
                    .map(|c| Value::list(c.to_vec()))
                    .collect(),
            ))
        });
    }
    reg1(m, "join", |n, a| {
        arity(n, a, 2)?;
        let sep = s_arg(a, 0)?;
        Ok(strslice(&a[1]).join(sep).into())
    });
    reg1(m, "sortAlpha", |n, a| {
        arity(n, a, 1)?;
        let mut l = match &a[0] {
            Value::List(_) => strslice(&a[0]),
            other => vec![super::strval(other)],
        };
        l.sort();
        Ok(Value::list(l.into_iter().map(Value::from).collect()))
    });
    reg1(m, "toStrings", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::from).collect(),
        ))
    });
    reg1(m, "until", |n, a| {
        arity(n, a, 1)?;
        let c = i_arg(a, 0)?;
        let step = if c < 0 { -1 } else { 1 };
        Ok(int_list(until_step(0, c, step)?))
    });
    reg1(m, "untilStep", |n, a| {
        arity(n, a, 3)?;
        Ok(int_list(until_step(
            i_arg(a, 0)?,
            i_arg(a, 1)?,
            i_arg(a, 2)?,
        )?))
    });
    reg1(m, "seq", |_, a| {
        let mut p = Vec::new();
        for i in 0..a.len() {
            p.push(i_arg(a, i)?);
        }
        let nums = match p.as_slice() {
            [end] => {
                let start = 1;
                let inc = if *end < start { -1 } else { 1 };
                until_step(start, end + inc, inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(*start, end + step, step)?
            }
            [start, step, end] => {
                let mut inc = 1;
                if end < start {
                    inc = -1;
                    if *step > 0 {
                        return Ok("".into());
                    }
                }
                until_step(*start, end + inc, *step)?
            }
            _ => return Ok("".into()),
        };
        Ok(nums
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(" ")
            .into())
    });
}

/// Largest list `until`/`untilStep`/`seq` will build.
const MAX_GENERATED: i64 = 10_000_000;

fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let mut v = Vec::new();
    let count = if step == 0 {
        0
    } else {
        ((stop as i128 - start as i128) / step as i128).max(0)
    };
    if count > MAX_GENERATED as i128 {
        return Err(FuncError::msg(format!(
            "list of {count} elements exceeds the limit of {MAX_GENERATED}"
        )));
    }
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        let mut i = start;
        while i > stop {
            v.push(i);
            i += step;
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    let mut i = start;
    while i < stop {
        v.push(i);
        i += step;
    }
    Ok(v)
}

fn int_list(v: Vec<i64>) -> Value {
    Value::list(v.into_iter().map(Value::Int).collect())
}
