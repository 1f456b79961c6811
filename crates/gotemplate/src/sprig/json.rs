//! JSON encoding exactly as Go's `encoding/json` writes it (sorted keys, HTML-safe
//! escaping, Go's float formatting), and Sprig's JSON functions.

use super::{arity, reg1, s_arg};
use crate::FuncMap;
use crate::error::FuncError;
use crate::format::{format_float_g, go_shortest_fixed};
use crate::value::{MAX_VALUE_DEPTH, Value};

fn write_str(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_float(out: &mut String, f: f64) -> Result<(), String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::format::format_float_v(f)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float_g(f, None, false);
        if !s.contains('e') {
            s = go_shortest_fixed(f);
        }
        // e-09 → e-9
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
        out.push_str(&s);
    } else {
        out.push_str(&go_shortest_fixed(f));
    }
    Ok(())
}

fn encode(
    out: &mut String,
    v: &Value,
    escape_html: bool,
    indent: Option<&str>,
    level: usize,
) -> Result<(), String> {
    if level > MAX_VALUE_DEPTH || out.len() > crate::value::MAX_FORMATTED_BYTES {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    let newline = |out: &mut String, lvl: usize| {
        if let Some(ind) = indent {
            out.push('\n');
            for _ in 0..lvl {
                out.push_str(ind);
            }
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => write_float(out, *f)?,
        Value::String(s) => write_str(out, s, escape_html),
        Value::Bytes(b) => {
            use base64::Engine as _;
            write_str(
                out,
                &base64::engine::general_purpose::STANDARD.encode(b),
                escape_html,
            )
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                encode(out, x, escape_html, indent, level + 1)?;
            }
            if !l.is_empty() {
                newline(out, level);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let entries = m.snapshot();
            out.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_str(out, k, escape_html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                encode(out, x, escape_html, indent, level + 1)?;
            }
            if !entries.is_empty() {
                newline(out, level);
            }
            out.push('}');
        }
        Value::Object(o) => encode(out, &o.to_value(), escape_html, indent, level + 1)?,
    }
    Ok(())
}

/// Go's `json.Marshal(v)`.
pub fn to_json_string(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    encode(&mut out, v, true, None, 0)?;
    Ok(out)
}

/// Go's `json.MarshalIndent(v, "", "  ")`.
pub fn to_pretty_json_string(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    encode(&mut out, v, true, Some("  "), 0)?;
    Ok(out)
}

fn to_raw_json_string(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    encode(&mut out, v, false, None, 0)?;
    Ok(out)
}

/// Go's `json.Unmarshal` into `interface{}` (numbers are float64).
pub(crate) fn from_json(s: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(s)
        .map(|j| Value::from_json(&j))
        .map_err(|e| e.to_string())
}

pub(super) fn register(m: &mut FuncMap) {
    type Enc = fn(&Value) -> Result<String, String>;
    let encoders: [(&'static str, &'static str, Enc); 3] = [
        ("toJson", "mustToJson", to_json_string),
        ("toPrettyJson", "mustToPrettyJson", to_pretty_json_string),
        ("toRawJson", "mustToRawJson", to_raw_json_string),
    ];
    for (plain, must, enc) in encoders {
        m.insert(
            plain.into(),
            crate::func(move |_, a| {
                arity(plain, a, 1)?;
                Ok(enc(&a[0]).unwrap_or_default().into())
            }),
        );
        m.insert(
            must.into(),
            crate::func(move |_, a| {
                arity(must, a, 1)?;
                enc(&a[0]).map(Value::from).map_err(FuncError::Message)
            }),
        );
    }
    reg1(m, "fromJson", |n, a| {
        arity(n, a, 1)?;
        Ok(from_json(s_arg(a, 0)?).unwrap_or_default())
    });
    reg1(m, "mustFromJson", |n, a| {
        arity(n, a, 1)?;
        from_json(s_arg(a, 0)?).map_err(FuncError::Message)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_encoding() {
        let v = Value::from_json(
            &serde_json::json!({"b": [1, 2.5, "x<y"], "a": null, "c": 1e21, "d": 1e-7}),
        );
        assert_eq!(
            to_json_string(&v).unwrap_or_default(),
            r#"{"a":null,"b":[1,2.5,"x\u003cy"],"c":1e+21,"d":1e-7}"#
        );
        let p = Value::from_json(&serde_json::json!({"a": {"b": []}}));
        assert_eq!(
            to_pretty_json_string(&p).unwrap_or_default(),
            "{\n  \"a\": {\n    \"b\": []\n  }\n}"
        );
    }
}
