//! Go's `fmt` formatting: `%v` printing of values, `Sprintf` verbs, `strconv.Quote`.

use crate::value::Value;

/// Decimal digits and decimal-point position of a float: value = 0.DIGITS × 10^dp.
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` gives the shortest round-trip digits, like Go's strconv with prec -1.
    let s = format!("{:e}", f.abs());
    split_exp(&s)
}

fn digits_with_precision(f: f64, sig: usize) -> (String, i32) {
    let s = format!("{:.*e}", sig.saturating_sub(1), f.abs());
    split_exp(&s)
}

fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.chars().all(|c| c == '0') {
        return ("0".into(), 1);
    }
    (digits, exp + 1)
}

fn exp_form(digits: &str, dp: i32, upper: bool, min_frac: Option<usize>) -> String {
    let mut out = String::new();
    let mut chars = digits.chars();
    out.push(chars.next().unwrap_or('0'));
    let rest: String = chars.collect();
    let frac = match min_frac {
        Some(n) => {
            let mut r = rest.clone();
            while r.len() < n {
                r.push('0');
            }
            r
        }
        None => rest,
    };
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn fixed_form(digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let dp = dp as usize;
        if digits.len() <= dp {
            out.push_str(digits);
            for _ in digits.len()..dp {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

fn special_float(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// Go's `strconv.FormatFloat(f, 'g', prec, 64)`; `prec` None = shortest.
pub(crate) fn format_float_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
    let (digits, dp, eprec) = match prec {
        None => {
            let (d, dp) = shortest_digits(f);
            (d, dp, 6)
        }
        Some(p) => {
            let p = p.max(1);
            let (mut d, dp) = digits_with_precision(f, p);
            // %g drops trailing zeros
            while d.len() > 1 && d.ends_with('0') {
                d.pop();
            }
            let mut eprec = p as i32;
            if eprec > d.len() as i32 && d.len() as i32 >= dp {
                eprec = d.len() as i32;
            }
            (d, dp, eprec)
        }
    };
    let exp = dp - 1;
    let body = if digits != "0" && (exp < -4 || exp >= eprec) {
        exp_form(&digits, dp, upper, None)
    } else {
        fixed_form(&digits, dp)
    };
    if neg { format!("-{body}") } else { body }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn go_shortest_fixed(f: f64) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    let (digits, dp) = shortest_digits(f);
    let body = if digits == "0" {
        "0".to_string()
    } else {
        fixed_form(&digits, dp)
    };
    if f.is_sign_negative() {
        format!("-{body}")
    } else {
        body
    }
}

/// Go's `%v` of a float64.
pub(crate) fn format_float_v(f: f64) -> String {
    format_float_g(f, None, false)
}

/// Go's `%e` with precision.
pub(crate) fn format_float_e(f: f64, prec: usize, upper: bool) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    let (digits, dp) = digits_with_precision(f, prec + 1);
    let body = exp_form(&digits, dp, upper, Some(prec));
    if f.is_sign_negative() {
        format!("-{body}")
    } else {
        body
    }
}

/// Go's `%f` with precision.
pub(crate) fn format_float_f(f: f64, prec: usize) -> String {
    if let Some(s) = special_float(f) {
        return s;
    }
    let s = format!("{:.*}", prec, f);
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') && f == 0.0 {
        return s;
    }
    s
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() || is_unprintable_format(c) => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32))
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32))
            }
        }
        c => out.push(c),
    }
}

/// Go's `!strconv.IsPrint(c)` (approximation: controls, format characters, private use).
pub(crate) fn is_unprintable(c: char) -> bool {
    c.is_control() || is_unprintable_format(c)
}

/// Characters Go's `strconv.IsPrint` rejects beyond controls: format characters,
/// private use and noncharacters.
fn is_unprintable_format(c: char) -> bool {
    matches!(c as u32,
        0x00a0 | 0x1680 | 0x2000..=0x200a | 0x202f | 0x205f | 0x3000
        | 0x00ad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff
        | 0xe000..=0xf8ff | 0xf0000..=0x10ffff | 0xfff9..=0xfffb | 0xfffe | 0xffff)
}

/// Go's `%#U`-style rendering used in lexer errors: `U+0023 '#'`.
pub(crate) fn go_unicode_sharp(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's fmt rejects widths and precisions above 10^6 (`%!(BADWIDTH)`, `%!(BADPREC)`).
const MAX_WIDTH: usize = 1_000_000;

/// Go's `parsenum`: gives up (None) once the number exceeds 10^6 before another digit.
fn go_parsenum(digits: &str) -> Option<usize> {
    let mut n: usize = 0;
    for b in digits.bytes() {
        if n > MAX_WIDTH {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    if digits.is_empty() { None } else { Some(n) }
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut argi = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut fl = Flags::default();
        // flags
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => fl.plus = true,
                '-' => fl.minus = true,
                '#' => fl.sharp = true,
                ' ' => fl.space = true,
                '0' => fl.zero = true,
                _ => break,
            }
            chars.next();
        }
        // width
        if chars.peek().map(|p| p.1) == Some('*') {
            chars.next();
            if let Some(Value::Int(w)) = args.get(argi)
                && w.unsigned_abs() <= MAX_WIDTH as u64
            {
                if *w < 0 {
                    fl.minus = true;
                }
                fl.width = Some(w.unsigned_abs() as usize);
            } else {
                out.push_str("%!(BADWIDTH)");
            }
            argi += 1;
        } else {
            let mut w = String::new();
            while let Some(&(_, d)) = chars.peek() {
                if d.is_ascii_digit() {
                    w.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if !w.is_empty() {
                match go_parsenum(&w) {
                    Some(n) => fl.width = Some(n),
                    None => {
                        // Go gives up on the rest of the format
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        // precision
        if chars.peek().map(|p| p.1) == Some('.') {
            chars.next();
            if chars.peek().map(|p| p.1) == Some('*') {
                chars.next();
                if let Some(Value::Int(p)) = args.get(argi)
                    && p.unsigned_abs() <= MAX_WIDTH as u64
                {
                    fl.prec = if *p < 0 { None } else { Some(*p as usize) };
                } else {
                    out.push_str("%!(BADPREC)");
                }
                argi += 1;
            } else {
                let mut p = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_digit() {
                        p.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                match go_parsenum(&p) {
                    Some(n) => fl.prec = Some(n),
                    None if p.is_empty() => fl.prec = Some(0),
                    None => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        if verb == 'T'
            && let Some(arg) = args.get(argi)
        {
            argi += 1;
            pad(&mut out, &arg.type_name(), fl);
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        format_arg(&mut out, arg, verb, fl);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&a.type_name());
                out.push('=');
                out.push_str(&a.to_go_string());
            }
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, s: &str, fl: Flags) {
    let len = s.chars().count();
    let width = fl.width.unwrap_or(0);
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if fl.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

/// Pads a number, honouring the `0` flag (zeros go after the sign).
fn pad_number(out: &mut String, s: &str, fl: Flags) {
    let width = fl.width.unwrap_or(0);
    let len = s.chars().count();
    if fl.zero && !fl.minus && len < width {
        let (sign, digits) = match s.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', width - len));
        out.push_str(digits);
        return;
    }
    pad(out, s, fl);
}

fn bad_verb(out: &mut String, arg: &Value, verb: char) {
    bad_verb_flags(out, arg, verb, Flags::default())
}

/// Go's `badVerb`: the value is printed with `%v` under the same flags.
fn bad_verb_flags(out: &mut String, arg: &Value, verb: char, fl: Flags) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if arg.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(&arg.type_name());
        out.push('=');
        match arg {
            Value::Int(i) => format_int(out, *i, 'v', fl, arg),
            Value::Float(f) => format_float(out, *f, 'v', fl, arg),
            Value::String(s) => format_str(out, s, 'v', fl, arg),
            other => out.push_str(&other.to_go_string()),
        }
    }
    out.push(')');
}

fn sign_prefix(neg: bool, fl: Flags) -> &'static str {
    if neg {
        "-"
    } else if fl.plus {
        "+"
    } else if fl.space {
        " "
    } else {
        ""
    }
}

fn format_int(out: &mut String, i: i64, verb: char, fl: Flags, arg: &Value) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => u.to_string(),
        'b' => format!("{u:b}"),
        'o' | 'O' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, &c.to_string(), fl);
            return;
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            let mut s = String::from("'");
            push_escaped(&mut s, c, '\'');
            s.push('\'');
            pad(out, &s, fl);
            return;
        }
        'U' => {
            let s = format!("U+{u:04X}");
            pad(out, &s, fl);
            return;
        }
        _ => {
            bad_verb_flags(out, arg, verb, fl);
            return;
        }
    };
    if let Some(p) = fl.prec {
        while digits.len() < p {
            digits.insert(0, '0');
        }
        if p == 0 && u == 0 {
            digits.clear();
        }
    }
    let prefix = if fl.sharp {
        match verb {
            'b' => "0b",
            'o' => "0",
            'x' => "0x",
            'X' => "0X",
            _ => "",
        }
    } else if verb == 'O' {
        "0o"
    } else {
        ""
    };
    let s = format!("{}{}{}", sign_prefix(neg, fl), prefix, digits);
    let mut fl2 = fl;
    if fl.prec.is_some() {
        fl2.zero = false;
    }
    pad_number(out, &s, fl2);
}

fn format_float(out: &mut String, f: f64, verb: char, fl: Flags, arg: &Value) {
    let body = match verb {
        'v' | 'g' => format_float_g(f.abs(), fl.prec, false),
        'G' => format_float_g(f.abs(), fl.prec, true),
        'e' | 'E' => format_float_e(f.abs(), fl.prec.unwrap_or(6), verb == 'E'),
        'f' | 'F' => format_float_f(f.abs(), fl.prec.unwrap_or(6)),
        _ => {
            bad_verb_flags(out, arg, verb, fl);
            return;
        }
    };
    if !f.is_finite() {
        // Go: "+Inf"/"-Inf" always signed, "NaN" signed only with + or space flags
        let s = if f.is_nan() {
            format!(
                "{}NaN",
                if fl.plus {
                    "+"
                } else if fl.space {
                    " "
                } else {
                    ""
                }
            )
        } else if f > 0.0 {
            if fl.space && !fl.plus {
                " Inf".to_string()
            } else {
                "+Inf".to_string()
            }
        } else {
            "-Inf".to_string()
        };
        pad(out, &s, fl);
        return;
    }
    let neg = f.is_sign_negative();
    let s = format!("{}{}", sign_prefix(neg, fl), body);
    pad_number(out, &s, fl);
}

fn format_str(out: &mut String, s: &str, verb: char, fl: Flags, arg: &Value) {
    let truncated: String;
    let s = match fl.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => {
            truncated = s.chars().take(p).collect();
            truncated.as_str()
        }
        _ => s,
    };
    match verb {
        's' | 'v' => pad(out, s, fl),
        'q' => {
            if fl.sharp && !s.contains('`') {
                pad(out, &format!("`{s}`"), fl)
            } else {
                pad(out, &go_quote(s), fl)
            }
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if fl.space && i > 0 {
                    h.push(' ');
                }
                if fl.sharp && (fl.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, fl)
        }
        _ => bad_verb_flags(out, arg, verb, fl),
    }
}

/// Formats one argument with one verb (Go's `printArg`).
fn format_arg(out: &mut String, arg: &Value, verb: char, fl: Flags) {
    format_arg_depth(out, arg, verb, fl, 0)
}

fn format_arg_depth(out: &mut String, arg: &Value, verb: char, fl: Flags, depth: usize) {
    if depth > crate::value::MAX_VALUE_DEPTH || out.len() > crate::value::MAX_FORMATTED_BYTES {
        out.push_str("...");
        return;
    }
    match arg {
        Value::Nil => match verb {
            _ if depth > 0 => pad(out, "<nil>", fl),
            'v' => pad(out, "<nil>", fl),
            _ => bad_verb(out, arg, verb),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, fl),
            _ => bad_verb(out, arg, verb),
        },
        Value::Int(i) => format_int(out, *i, verb, fl, arg),
        Value::Float(f) => format_float(out, *f, verb, fl, arg),
        Value::String(s) => {
            if fl.sharp && verb == 'v' {
                pad(out, &go_quote(s), fl)
            } else {
                format_str(out, s, verb, fl, arg)
            }
        }
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => format_str(out, &String::from_utf8_lossy(b), verb, fl, arg),
            _ => {
                let mut s = String::from("[");
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        s.push(' ');
                    }
                    format_int(&mut s, i64::from(*x), verb, Flags::default(), arg);
                }
                s.push(']');
                pad(out, &s, fl);
            }
        },
        Value::List(l) => {
            if fl.sharp && verb == 'v' {
                out.push_str("[]interface {}{");
                for (i, x) in l.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    format_arg_depth(out, x, 'v', fl, depth + 1);
                }
                out.push('}');
                return;
            }
            let mut s = String::from("[");
            let inner = Flags {
                width: fl.width,
                ..fl
            };
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                format_arg_depth(&mut s, x, verb, inner, depth + 1);
            }
            s.push(']');
            out.push_str(&s);
        }
        Value::Map(m) => {
            if fl.sharp && verb == 'v' {
                out.push_str("map[string]interface {}{");
                for (i, (k, v)) in m.snapshot().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&go_quote(k));
                    out.push(':');
                    format_arg_depth(out, v, 'v', fl, depth + 1);
                }
                out.push('}');
                return;
            }
            let entries = m.snapshot();
            out.push_str("map[");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_str(out, k, verb, fl, &Value::String(k.as_str().into()));
                out.push(':');
                format_arg_depth(out, v, verb, fl, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad(out, &o.display(), fl),
            'q' => pad(out, &go_quote(&o.display()), fl),
            _ => bad_verb(out, arg, verb),
        },
    }
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            let prev_str = matches!(args[i - 1], Value::String(_));
            let this_str = matches!(a, Value::String(_));
            if !prev_str && !this_str {
                out.push(' ');
            }
        }
        a.write_go(&mut out, 0);
    }
    out
}

/// Go's `fmt.Sprintln`: always spaces, trailing newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        a.write_go(&mut out, 0);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_v_matches_go() {
        assert_eq!(format_float_v(3.0), "3");
        assert_eq!(format_float_v(1_000_000.0), "1e+06");
        assert_eq!(format_float_v(123_456.0), "123456");
        assert_eq!(format_float_v(1_234_567.0), "1.234567e+06");
        assert_eq!(format_float_v(0.5), "0.5");
        assert_eq!(format_float_v(0.0001), "0.0001");
        assert_eq!(format_float_v(0.00001), "1e-05");
        assert_eq!(format_float_v(-2.5), "-2.5");
        assert_eq!(format_float_v(0.0), "0");
        assert_eq!(format_float_v(1e21), "1e+21");
    }

    #[test]
    fn sprintf_verbs() {
        let a = |v: Vec<Value>| v;
        assert_eq!(sprintf("%d-%s", &a(vec![5.into(), "x".into()])), "5-x");
        assert_eq!(sprintf("%05.2f", &a(vec![2.5.into()])), "02.50");
        assert_eq!(sprintf("%q", &a(vec!["a\"b".into()])), "\"a\\\"b\"");
        assert_eq!(sprintf("%x", &a(vec![255.into()])), "ff");
        assert_eq!(sprintf("%d", &a(vec!["x".into()])), "%!d(string=x)");
        assert_eq!(sprintf("%d %d", &a(vec![1.into()])), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &a(vec![1.into(), 2.into()])),
            "1%!(EXTRA int=2)"
        );
        assert_eq!(sprintf("%-4s|", &a(vec!["ab".into()])), "ab  |");
        assert_eq!(sprintf("%v", &a(vec![Value::Nil])), "<nil>");
        assert_eq!(sprintf("%s", &a(vec![Value::Nil])), "%!s(<nil>)");
        assert_eq!(sprintf("%e", &a(vec![1234.5678.into()])), "1.234568e+03");
        assert_eq!(sprintf("%g", &a(vec![1e6.into()])), "1e+06");
        assert_eq!(sprintf("%.3g", &a(vec![1234.5678.into()])), "1.23e+03");
        assert_eq!(sprintf("%t", &a(vec![true.into()])), "true");
        assert_eq!(sprintf("%+d", &a(vec![5.into()])), "+5");
        assert_eq!(sprintf("%5.1f%%", &a(vec![99.44.into()])), " 99.4%");
    }
}
