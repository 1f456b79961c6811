//! Sprig dictionary functions (maps have Go's reference semantics: `set`, `unset`,
//! `merge*` change the destination in place).

use super::lists::is_empty;
use super::{arity, arity_min, reg1, s_arg, strval};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::{Map, MapRef, Value};

fn map_arg<'a>(_name: &str, a: &'a [Value], i: usize) -> Result<&'a MapRef, FuncError> {
    match a.get(i) {
        Some(Value::Map(m)) => Ok(m),
        Some(other) => Err(super::wrong_type(i, "map[string]interface {}", other)),
        None => Err(FuncError::Usage("missing argument".into())),
    }
}

/// mergo's `isEmptyValue` for interface values.
fn mergo_empty(v: &Value) -> bool {
    is_empty(v)
}

/// mergo.Merge(dst, src) / with `WithOverride`, on `map[string]interface{}`.
pub(crate) fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) {
    if depth > 100 || dst.ptr_eq(src) {
        return;
    }
    for (k, sv) in src.snapshot() {
        let dv = dst.get(&k);
        if sv.is_nil() {
            if overwrite {
                dst.insert(k, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_into(dm, sm, overwrite, depth + 1);
        }
        if let Some(d) = &dv
            && !mergo_empty(d)
        {
            if matches!(sv, Value::List(_)) && !overwrite {
                continue;
            }
            if matches!(sv, Value::Map(_)) && matches!(d, Value::Map(_)) {
                continue;
            }
        }
        if overwrite || dv.as_ref().is_none_or(mergo_empty) {
            dst.insert(k, sv);
        }
    }
}

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "dict", |_, a| {
        let mut map = Map::new();
        let mut i = 0;
        while i < a.len() {
            let k = strval(&a[i]);
            let v = a.get(i + 1).cloned().unwrap_or_else(|| Value::from(""));
            map.insert(k, v);
            i += 2;
        }
        Ok(Value::map(map))
    });
    reg1(m, "get", |n, a| {
        arity(n, a, 2)?;
        let d = map_arg(n, a, 0)?;
        let k = s_arg(a, 1)?;
        Ok(d.get(k).unwrap_or_else(|| Value::from("")))
    });
    reg1(m, "set", |n, a| {
        arity(n, a, 3)?;
        let d = map_arg(n, a, 0)?;
        let k = s_arg(a, 1)?;
        d.insert(k.to_string(), a[2].clone());
        Ok(Value::Map(d.clone()))
    });
    reg1(m, "unset", |n, a| {
        arity(n, a, 2)?;
        let d = map_arg(n, a, 0)?;
        let k = s_arg(a, 1)?;
        d.remove(k);
        Ok(Value::Map(d.clone()))
    });
    reg1(m, "hasKey", |n, a| {
        arity(n, a, 2)?;
        let d = map_arg(n, a, 0)?;
        let k = s_arg(a, 1)?;
        Ok(Value::Bool(d.contains_key(k)))
    });
    reg1(m, "pluck", |n, a| {
        arity_min(n, a, 1)?;
        let k = s_arg(a, 0)?;
        let mut out = Vec::new();
        for i in 1..a.len() {
            let d = map_arg(n, a, i)?;
            if let Some(v) = d.get(k) {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    });
    reg1(m, "keys", |n, a| {
        let mut out = Vec::new();
        for i in 0..a.len() {
            let d = map_arg(n, a, i)?;
            out.extend(d.keys().into_iter().map(Value::from));
        }
        Ok(Value::list(out))
    });
    reg1(m, "values", |n, a| {
        arity(n, a, 1)?;
        let d = map_arg(n, a, 0)?;
        Ok(Value::list(d.with(|m| m.values().cloned().collect())))
    });
    reg1(m, "pick", |n, a| {
        arity_min(n, a, 1)?;
        let d = map_arg(n, a, 0)?;
        let mut out = Map::new();
        for i in 1..a.len() {
            let k = s_arg(a, i)?;
            if let Some(v) = d.get(k) {
                out.insert(k.to_string(), v);
            }
        }
        Ok(Value::map(out))
    });
    reg1(m, "omit", |n, a| {
        arity_min(n, a, 1)?;
        let d = map_arg(n, a, 0)?;
        let mut drop = Vec::new();
        for i in 1..a.len() {
            drop.push(s_arg(a, i)?.to_string());
        }
        let mut out = d.snapshot();
        out.retain(|k, _| !drop.contains(k));
        Ok(Value::map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        let f: fn(&'static str, &[Value]) -> super::R = if overwrite {
            |n, a| merge_fn(n, a, true)
        } else {
            |n, a| merge_fn(n, a, false)
        };
        reg1(m, name, f);
    }
    reg1(m, "dig", |n, a| {
        if a.len() < 3 {
            return Err(FuncError::msg("dig needs at least three arguments"));
        }
        let Value::Map(dict) = &a[a.len() - 1] else {
            return Err(FuncError::msg(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                a[a.len() - 1].type_name()
            )));
        };
        let def = &a[a.len() - 2];
        let mut keys = Vec::new();
        for i in 0..a.len() - 2 {
            keys.push(s_arg(a, i).map_err(|_| {
                FuncError::msg(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    a[i].type_name()
                ))
            })?);
        }
        let _ = n;
        let mut cur = dict.clone();
        for (i, k) in keys.iter().enumerate() {
            let Some(step) = cur.get(k) else {
                return Ok(def.clone());
            };
            if i + 1 == keys.len() {
                return Ok(step);
            }
            match step {
                Value::Map(next) => cur = next,
                other => {
                    return Err(FuncError::msg(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        other.type_name()
                    )));
                }
            }
        }
        Ok(def.clone())
    });
}

fn merge_fn(n: &'static str, a: &[Value], overwrite: bool) -> super::R {
    arity_min(n, a, 1)?;
    let dst = map_arg(n, a, 0)?;
    for i in 1..a.len() {
        let src = map_arg(n, a, i)?;
        merge_into(dst, src, overwrite, 0);
    }
    Ok(Value::Map(dst.clone()))
}
