//! Sprig math functions (integer ones go through `cast.ToInt64`, float ones through
//! `cast.ToFloat64` and decimal arithmetic, as Sprig does).

use super::{arity, arity_min, i_arg, reg1, s_arg, to_float64, to_int64};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::Value;

/// A decimal `m × 10^e`, as shopspring/decimal (Sprig's float arithmetic) holds it.
#[derive(Clone, Copy, Debug)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        if f == 0.0 {
            return Some(Dec { m: 0, e: 0 });
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let frac_len = mant.split_once('.').map_or(0, |(_, fr)| fr.len()) as i32;
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let m: i128 = digits.parse().ok()?;
        Some(
            Dec {
                m: if mant.starts_with('-') { -m } else { m },
                e: exp - frac_len,
            }
            .normalized(),
        )
    }

    fn normalized(mut self) -> Dec {
        if self.m == 0 {
            return Dec { m: 0, e: 0 };
        }
        while self.m % 10 == 0 {
            self.m /= 10;
            self.e += 1;
        }
        self
    }

    fn scaled(self, to_e: i32) -> Option<i128> {
        let d = u32::try_from(self.e - to_e).ok()?;
        self.m.checked_mul(10i128.checked_pow(d)?)
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let e = self.e.min(o.e);
        let m = self.scaled(e)?.checked_add(o.scaled(e)?)?;
        Some(Dec { m, e }.normalized())
    }

    fn neg(self) -> Dec {
        Dec {
            m: -self.m,
            e: self.e,
        }
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(
            Dec {
                m: self.m.checked_mul(o.m)?,
                e: self.e.checked_add(o.e)?,
            }
            .normalized(),
        )
    }

    /// `DivRound(o, 16)`: 16 decimal places, halves rounded away from zero.
    fn div(self, o: Dec) -> Option<Dec> {
        if o.m == 0 {
            return None;
        }
        let k = self.e - o.e + 16;
        let (num, den) = if k >= 0 {
            (self.m.checked_mul(10i128.checked_pow(k as u32)?)?, o.m)
        } else {
            (self.m, o.m.checked_mul(10i128.checked_pow((-k) as u32)?)?)
        };
        let mut q = num / den;
        let rem = num % den;
        if rem.checked_mul(2)?.abs() >= den.abs() {
            q += if (num < 0) == (den < 0) { 1 } else { -1 };
        }
        Some(Dec { m: q, e: -16 }.normalized())
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }
}

#[derive(Clone, Copy)]
enum DecOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// Sprig's `execDecimalOp`: folds the operands in decimal, converts once at the end.
/// Falls back to binary floating point where the decimals would not fit.
fn decimal_fold(first: f64, rest: &[f64], op: DecOp) -> Result<f64, FuncError> {
    let float = |acc: f64, x: f64| match op {
        DecOp::Add => acc + x,
        DecOp::Sub => acc - x,
        DecOp::Mul => acc * x,
        DecOp::Div => acc / x,
    };
    let mut dec = Dec::from_f64(first);
    let mut flt = first;
    for &x in rest {
        if matches!(op, DecOp::Div) && x == 0.0 {
            return Err(FuncError::msg("decimal division by 0"));
        }
        flt = float(flt, x);
        dec = match (dec, Dec::from_f64(x)) {
            (Some(a), Some(b)) => match op {
                DecOp::Add => a.add(b),
                DecOp::Sub => a.add(b.neg()),
                DecOp::Mul => a.mul(b),
                DecOp::Div => a.div(b),
            },
            _ => None,
        };
        if dec.is_none() {
            dec = None;
        }
    }
    Ok(dec.map_or(flt, Dec::to_f64))
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
        decimal_fold(to_float64(&a[0]), &[1.0], DecOp::Add).map(Value::Float)
    });
    reg1(m, "addf", |_, a| {
        let rest: Vec<f64> = a.iter().map(to_float64).collect();
        decimal_fold(0.0, &rest, DecOp::Add).map(Value::Float)
    });
    for (name, op) in [
        ("subf", DecOp::Sub),
        ("mulf", DecOp::Mul),
        ("divf", DecOp::Div),
    ] {
        m.insert(
            name.into(),
            crate::func(move |_, a| {
                arity_min(name, a, 1)?;
                let rest: Vec<f64> = a[1..].iter().map(to_float64).collect();
                decimal_fold(to_float64(&a[0]), &rest, op).map(Value::Float)
            }),
        );
    }
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
