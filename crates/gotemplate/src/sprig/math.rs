//! Sprig math functions (integer ones go through `cast.ToInt64`, float ones through
//! `cast.ToFloat64`, as Sprig does).

use super::{arity, arity_min, i_arg, reg1, s_arg, to_float64, to_int64};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::Value;

/// Sprig's float arithmetic goes through shopspring/decimal; rounding the binary result
/// to 15 significant digits reproduces it for ordinary inputs (0.1 + 0.2 = 0.3).
fn decimalish(f: f64) -> f64 {
    if !f.is_finite() || f == 0.0 {
        return f;
    }
    let s = format!("{:.14e}", f);
    s.parse().unwrap_or(f)
}

fn int_divide(a: i64, b: i64, rem: bool) -> Result<Value, FuncError> {
    if b == 0 {
        return Err(FuncError::msg("runtime error: integer divide by zero"));
    }
    Ok(Value::Int(if rem {
        a.wrapping_rem(b)
    } else {
        a.wrapping_div(b)
    }))
}

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "add1", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Int(to_int64(&a[0]).wrapping_add(1)))
    });
    reg1(m, "add", |_, a| {
        Ok(Value::Int(
            a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
        ))
    });
    reg1(m, "sub", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    reg1(m, "mul", |n, a| {
        arity_min(n, a, 1)?;
        Ok(Value::Int(
            a.iter().fold(1i64, |acc, v| acc.wrapping_mul(to_int64(v))),
        ))
    });
    reg1(m, "div", |n, a| {
        arity(n, a, 2)?;
        int_divide(to_int64(&a[0]), to_int64(&a[1]), false)
    });
    reg1(m, "mod", |n, a| {
        arity(n, a, 2)?;
        int_divide(to_int64(&a[0]), to_int64(&a[1]), true)
    });
    reg1(m, "add1f", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Float(decimalish(to_float64(&a[0]) + 1.0)))
    });
    reg1(m, "addf", |_, a| {
        Ok(Value::Float(decimalish(
            a.iter().map(to_float64).sum::<f64>(),
        )))
    });
    reg1(m, "subf", |n, a| {
        arity_min(n, a, 1)?;
        let first = to_float64(&a[0]);
        Ok(Value::Float(decimalish(
            a[1..].iter().fold(first, |acc, v| acc - to_float64(v)),
        )))
    });
    reg1(m, "mulf", |n, a| {
        arity_min(n, a, 1)?;
        let first = to_float64(&a[0]);
        Ok(Value::Float(decimalish(
            a[1..].iter().fold(first, |acc, v| acc * to_float64(v)),
        )))
    });
    reg1(m, "divf", |n, a| {
        arity_min(n, a, 1)?;
        let mut acc = to_float64(&a[0]);
        for v in &a[1..] {
            let d = to_float64(v);
            if d == 0.0 {
                return Err(FuncError::msg("decimal division by 0"));
            }
            acc /= d;
        }
        Ok(Value::Float(decimalish(acc)))
    });
    for name in ["max", "biggest"] {
        reg1(m, name, |n, a| {
            arity_min(n, a, 1)?;
            Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
        });
    }
    reg1(m, "min", |n, a| {
        arity_min(n, a, 1)?;
        Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    reg1(m, "maxf", |n, a| {
        arity_min(n, a, 1)?;
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    reg1(m, "minf", |n, a| {
        arity_min(n, a, 1)?;
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    });
    reg1(m, "ceil", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    reg1(m, "floor", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    reg1(m, "round", |n, a| {
        arity_min(n, a, 2)?;
        let val = to_float64(&a[0]);
        let places = i_arg(a, 1)? as f64;
        let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
        let pow = 10f64.powf(places);
        let digit = pow * val;
        let frac = digit.fract();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    reg1(m, "int64", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Int(to_int64(&a[0])))
    });
    reg1(m, "int", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Int(to_int64(&a[0])))
    });
    reg1(m, "float64", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Float(to_float64(&a[0])))
    });
    reg1(m, "atoi", |n, a| {
        arity(n, a, 1)?;
        let s = s_arg(a, 0)?;
        let t = s.strip_prefix('+').unwrap_or(s);
        let ok = !t.is_empty()
            && t.strip_prefix('-')
                .unwrap_or(t)
                .bytes()
                .all(|b| b.is_ascii_digit());
        Ok(Value::Int(if ok { s.parse().unwrap_or(0) } else { 0 }))
    });
    reg1(m, "toDecimal", |n, a| {
        arity(n, a, 1)?;
        let s = super::strval(&a[0]);
        Ok(Value::Int(i64::from_str_radix(&s, 8).unwrap_or(0)))
    });
    reg1(m, "randInt", |n, a| {
        arity(n, a, 2)?;
        let lo = i_arg(a, 0)?;
        let hi = i_arg(a, 1)?;
        if hi <= lo {
            return Err(FuncError::msg("invalid argument to Intn"));
        }
        let span = (hi - lo) as u64;
        Ok(Value::Int(lo + super::encoding::random_below(span) as i64))
    });
}
