//! A YAML emitter in the style of Go's `sigs.k8s.io/yaml` (go-yaml v2) as
//! used by Helm's `toYaml`: block style, sorted keys, sequences under a key
//! not indented, two-space indentation, multi-line strings as literal
//! blocks, and strings quoted whenever a YAML 1.1 reader could take them for
//! another type.

use serde_json::Value;

/// Emits `v` as a YAML document with a trailing newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => emit_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => emit_list(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other, 2, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn sorted_keys(m: &serde_json::Map<String, Value>) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by(|a, b| {
        if key_less(a, b) {
            std::cmp::Ordering::Less
        } else if key_less(b, a) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    keys
}

/// go-yaml v2's key order (`keyList.Less`): digit runs compare numerically
/// and non-letters sort before letters.
fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let mut an: i128 = 0;
        let mut bn: i128 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .saturating_mul(10)
                .saturating_add(i128::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .saturating_mul(10)
                .saturating_add(i128::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Maximum line width before plain and single-quoted scalars fold (libyaml's best_width).
const BEST_WIDTH: usize = 80;

fn emit_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for k in sorted_keys(m) {
        let v = &m[k];
        pad(out, indent);
        let key = key_text(k);
        let col = indent + key.chars().count() + 2;
        out.push_str(&key);
        out.push(':');
        emit_value_after_key(v, indent, col, out);
    }
}

fn emit_value_after_key(v: &Value, indent: usize, col: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_list(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, indent + 2, col));
            out.push('\n');
        }
    }
}

fn emit_list(a: &[Value], indent: usize, out: &mut String) {
    for item in a {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => {
                // First key on the dash line, the rest aligned under it.
                let mut first = true;
                for k in sorted_keys(m) {
                    if !first {
                        pad(out, indent + 2);
                    }
                    first = false;
                    let key = key_text(k);
                    let col = indent + 2 + key.chars().count() + 2;
                    out.push_str(&key);
                    out.push(':');
                    emit_value_after_key(&m[k], indent + 2, col, out);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                // Nested sequence: first item on the dash line.
                let mut sub = String::new();
                emit_list(inner, indent + 2, &mut sub);
                out.push_str(sub.trim_start_matches(' '));
            }
            other => {
                out.push_str(&scalar(other, indent + 2, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` as go-yaml v2 writes floats.
pub fn go_format_float_g(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Shortest 'g': exponent form when exp < -4 or exp >= 6.
    if !(-4..6).contains(&exp) {
        return go_exp(mant, exp);
    }
    format!("{f}")
}

fn go_exp(mant: &str, exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    let a = exp.unsigned_abs();
    if a < 10 {
        format!("{mant}e{sign}0{a}")
    } else {
        format!("{mant}e{sign}{a}")
    }
}

fn scalar(v: &Value, indent: usize, col: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if n.is_f64() {
                go_format_float_g(n.as_f64().unwrap_or(0.0))
            } else {
                n.to_string()
            }
        }
        Value::String(s) => string_scalar(s, indent, col, true),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn key_text(k: &str) -> String {
    string_scalar(k, 0, 0, false)
}

/// libyaml's analysis of a scalar, for block context.
struct Analysis {
    block_plain: bool,
    single_quoted: bool,
    block_allowed: bool,
    multiline: bool,
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
        || (0x10000..=0x10FFFF).contains(&u)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn analyze(s: &str) -> Analysis {
    let chars: Vec<char> = s.chars().collect();
    let mut a = Analysis {
        block_plain: true,
        single_quoted: true,
        block_allowed: true,
        multiline: false,
    };
    if chars.is_empty() {
        a.block_plain = false;
        a.block_allowed = false;
        return a;
    }
    let blankz =
        |i: usize| i >= chars.len() || chars[i] == ' ' || chars[i] == '\t' || is_break(chars[i]);
    let mut block_indicators = false;
    let mut special = false;
    let mut line_breaks = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    if (s.starts_with("---") || s.starts_with("...")) && blankz(3) {
        block_indicators = true;
    }
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = blankz(i + 1);
        let indicator = if i == 0 {
            matches!(
                c,
                '#' | ','
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '&'
                    | '*'
                    | '!'
                    | '|'
                    | '>'
                    | '\''
                    | '"'
                    | '%'
                    | '@'
                    | '`'
            ) || (matches!(c, '?' | ':' | '-') && followed_by_ws)
        } else {
            (c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws)
        };
        if indicator {
            block_indicators = true;
        }
        if !is_printable(c) || c == '\u{feff}' {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == chars.len() {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == chars.len() {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    a.multiline = line_breaks;
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single_quoted = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.block_plain = false;
    }
    if block_indicators {
        a.block_plain = false;
    }
    a
}

/// Whether go-yaml v2 would resolve the plain scalar `s` to a non-string.
fn resolves_non_string(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    if matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "~"
            | "null"
            | "Null"
            | "NULL"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | "<<"
    ) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return false;
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if go_parse_int_base0(&plain) || yaml_style_float(&plain) {
        return true;
    }
    if let Some(b) = plain
        .strip_prefix("0b")
        .or_else(|| plain.strip_prefix("-0b"))
        && !b.is_empty()
        && b.chars().all(|c| c == '0' || c == '1')
    {
        return true;
    }
    is_timestamp(s) || is_base60_float(s)
}

fn go_parse_int_base0(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let (digits, radix) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (h, 16)
        } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (o, 8)
        } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (b, 2)
        } else if body.len() > 1 && body.starts_with('0') {
            (&body[1..], 8)
        } else {
            (body, 10)
        };
    !digits.is_empty() && u128::from_str_radix(digits, radix).is_ok()
}

fn yaml_style_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    // YYYY-M-D with one or two digit month and day, optionally followed by a time.
    let rest = &s[5..];
    let mut parts = rest.splitn(2, '-');
    let m = parts.next().unwrap_or("");
    let d_and_time = parts.next().unwrap_or("");
    let d: String = d_and_time
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let ok_num = |x: &str| (1..=2).contains(&x.len()) && x.chars().all(|c| c.is_ascii_digit());
    if !ok_num(m) || !ok_num(&d) {
        return false;
    }
    let after = &d_and_time[d.len()..];
    after.is_empty() || after.starts_with(['T', 't', ' '])
}

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if frac.is_some_and(|f| !f.chars().all(|c| c.is_ascii_digit() || c == '_')) {
        return false;
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    if head.is_empty()
        || !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.len() {
            1 => p.chars().all(|c| c.is_ascii_digit()),
            2 => {
                let c: Vec<char> = p.chars().collect();
                ('0'..='5').contains(&c[0]) && c[1].is_ascii_digit()
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

fn string_scalar(s: &str, indent: usize, col: usize, allow_breaks: bool) -> String {
    let a = analyze(s);
    if s.contains('\n') {
        if a.block_allowed
            && allow_breaks
            && let Some(block) = literal_block(s, indent)
        {
            return block;
        }
        return double_quoted(s);
    }
    if resolves_non_string(s) || is_base60_float(s) {
        return double_quoted(s);
    }
    if a.block_plain && (allow_breaks || !a.multiline) {
        return fold(s, indent, col, allow_breaks, false);
    }
    if a.single_quoted {
        return fold(&s.replace('\'', "''"), indent, col, allow_breaks, true);
    }
    double_quoted(s)
}

/// Writes a plain or single-quoted scalar, breaking at a space once the
/// column passes the best width (libyaml's folding of long scalars).
fn fold(s: &str, indent: usize, col: usize, allow_breaks: bool, quoted: bool) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut column = col;
    if quoted {
        out.push('\'');
        column += 1;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next_is_space = chars.get(i + 1).is_some_and(|n| *n == ' ');
            let inner = !quoted || (i != 0 && i + 1 != chars.len());
            if allow_breaks && !spaces && column > BEST_WIDTH && !next_is_space && inner {
                out.push('\n');
                for _ in 0..indent {
                    out.push(' ');
                }
                column = indent;
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    if quoted {
        out.push('\'');
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) || c == '\u{feff}' => {
                let u = c as u32;
                if u <= 0xFF {
                    out.push_str(&format!("\\x{u:02X}"));
                } else if u <= 0xFFFF {
                    out.push_str(&format!("\\u{u:04X}"));
                } else {
                    out.push_str(&format!("\\U{u:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn literal_block(s: &str, indent: usize) -> Option<String> {
    if s.starts_with([' ', '\n']) {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    let mut lines: Vec<&str> = body.split('\n').collect();
    if trailing > 1 {
        lines.extend(std::iter::repeat_n("", trailing - 1));
    }
    for line in lines {
        out.push('\n');
        if !line.is_empty() {
            for _ in 0..indent.max(2) {
                out.push(' ');
            }
            out.push_str(line);
        }
    }
    Some(out)
}

/// `s` as go-yaml v2 writes a string in block context (plain, single- or
/// double-quoted), without folding.
pub fn quote_string(s: &str, is_key: bool) -> String {
    string_scalar(s, 0, 0, !is_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_like_go_yaml_v2() {
        let v = json!({"b": [1, "x"], "a": {"c": true, "d": null}, "e": [], "f": {}, "g": [{"k": 1, "j": 2}]});
        assert_eq!(
            to_yaml(&v),
            "a:\n  c: true\n  d: null\nb:\n- 1\n- x\ne: []\nf: {}\ng:\n- j: 2\n  k: 1\n"
        );
    }

    #[test]
    fn strings_that_look_typed_are_quoted() {
        for s in [
            "yes",
            "on",
            "1.0",
            "0777",
            "",
            "true",
            "null",
            "-1",
            ".5",
            "1e3",
            "2001-12-14",
            "1:20",
            "0x1F",
        ] {
            let out = to_yaml(&json!({ "k": s }));
            assert_eq!(out, format!("k: \"{s}\"\n"), "{s:?}");
        }
        for s in ["a: b", "-", "--- x", "a #b", " x", "*x", "%x", "- x"] {
            let out = to_yaml(&json!({ "k": s }));
            assert_eq!(out, format!("k: '{s}'\n"), "{s:?}");
        }
        for s in [
            "plain text",
            "5m",
            "10s",
            "?x",
            "it's",
            "h\u{e9}llo",
            "1.10.3",
        ] {
            assert_eq!(to_yaml(&json!({ "k": s })), format!("k: {s}\n"), "{s:?}");
        }
        assert_eq!(to_yaml(&json!({"k": "a\tb"})), "k: \"a\\tb\"\n");
        assert_eq!(to_yaml(&json!({"k": "line2 \nx"})), "k: \"line2 \\nx\"\n");
    }

    #[test]
    fn multiline_strings_are_literal_blocks() {
        assert_eq!(to_yaml(&json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
        assert_eq!(to_yaml(&json!({"k": "a\nb"})), "k: |-\n  a\n  b\n");
        assert_eq!(to_yaml(&json!({"k": " lead\nx"})), "k: \" lead\\nx\"\n");
        assert_eq!(to_yaml(&json!({"k": "line2 \nx"})), "k: \"line2 \\nx\"\n");
    }

    #[test]
    fn natural_key_order() {
        let v = json!({"a10": 1, "a2": 2, "b": 3, "_x": 4});
        assert_eq!(to_yaml(&v), "_x: 4\na2: 2\na10: 1\nb: 3\n");
    }

    #[test]
    fn long_plain_strings_fold_past_column_80() {
        let long = "word ".repeat(20) + "end";
        let v = json!({"m": {"long": long}});
        assert_eq!(
            to_yaml(&v),
            "m:\n  long: word word word word word word word word word word word word word word word\n    word word word word word end\n"
        );
    }

    #[test]
    fn floats_as_go_g_format() {
        assert_eq!(go_format_float_g(1.5), "1.5");
        assert_eq!(go_format_float_g(1234567.5), "1.2345675e+06");
        assert_eq!(go_format_float_g(0.00001), "1e-05");
        assert_eq!(go_format_float_g(0.0001), "0.0001");
    }
}
