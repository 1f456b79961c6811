//! Plain-scalar resolution as go-yaml v2 does it (the decoder under sigs.k8s.io/yaml):
//! YAML 1.1 booleans and nulls, Go `strconv` integer syntax (`0x`, `0o`, `0b`, leading-zero
//! octal, `_` separators), floats, and the fall-back to strings.

/// What a scalar resolved to, before it becomes JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
    /// The `<<` merge key.
    Merge,
}

/// Resolves an untagged plain scalar the way go-yaml v2's `resolve("", in)` does.
pub(crate) fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    let hint = match first {
        b'+' | b'-' => Hint::Sign,
        b'0'..=b'9' => Hint::Digit,
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => Hint::Word,
        b'.' => Hint::Dot,
        b'<' => Hint::Word,
        _ => return Resolved::Str,
    };
    if let Some(known) = lookup_word(text) {
        return known;
    }
    match hint {
        Hint::Word => Resolved::Str,
        Hint::Dot => parse_dot_float(text).map_or(Resolved::Str, Resolved::Float),
        Hint::Digit | Hint::Sign => resolve_number(text),
    }
}

enum Hint {
    Sign,
    Digit,
    Word,
    Dot,
}

/// go-yaml v2's table of fixed spellings.
fn lookup_word(text: &str) -> Option<Resolved> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Resolved::Bool(false)
        }
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Merge,
        _ => return None,
    })
}

/// Go's `strconv.ParseFloat` on text starting with `.`: `.digits([eE][+-]?digits)?`.
fn parse_dot_float(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('.')?;
    let (fraction, exponent) = split_exponent(rest);
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(exp) = exponent
        && !is_signed_digits(exp)
    {
        return None;
    }
    parse_finite(text)
}

fn split_exponent(text: &str) -> (&str, Option<&str>) {
    match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    }
}

fn is_signed_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Go's `ParseFloat` fails (range error) where Rust returns infinity.
fn parse_finite(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The digit/sign branch of go-yaml v2: `ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`,
/// then a YAML-style float, all on the text with `_` removed.
fn resolve_number(text: &str) -> Resolved {
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(parsed) = parse_go_int(&plain) {
        return parsed;
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = parse_finite(&plain)
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

/// `strconv.ParseInt(s, 0, 64)` falling back to `strconv.ParseUint(s, 0, 64)` (which takes
/// no sign): base prefixes `0x`, `0o`, `0b` (either case), a leading `0` means octal.
fn parse_go_int(text: &str) -> Option<Resolved> {
    let (negative, signed, body) = match text.as_bytes().first() {
        Some(b'-') => (true, true, &text[1..]),
        Some(b'+') => (false, true, &text[1..]),
        _ => (false, false, text),
    };
    let (radix, digits) = split_radix(body);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok()?;
    if negative {
        let limit = u128::from(i64::MAX.unsigned_abs()) + 1;
        if magnitude <= limit {
            let value = i128::try_from(magnitude).ok().map(|m| -m)?;
            return i64::try_from(value).ok().map(Resolved::Int);
        }
        return None;
    }
    if let Ok(value) = i64::try_from(magnitude) {
        return Some(Resolved::Int(value));
    }
    if signed {
        // ParseUint rejects a sign.
        return None;
    }
    u64::try_from(magnitude).ok().map(Resolved::Uint)
}

fn split_radix(body: &str) -> (u32, &str) {
    let bytes = body.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'0' {
        match bytes[1] {
            b'x' | b'X' => return (16, &body[2..]),
            b'o' | b'O' => return (8, &body[2..]),
            b'b' | b'B' => return (2, &body[2..]),
            _ => return (8, &body[1..]),
        }
    }
    (10, body)
}

/// go-yaml v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (number, exponent) = split_exponent(unsigned);
    if let Some(exp) = exponent
        && !is_signed_digits(exp)
    {
        return false;
    }
    match number.split_once('.') {
        Some(("", fraction)) => {
            !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        Some((whole, fraction)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Whether `text`, written as a plain scalar, would be read as something other than a
/// string by go-yaml v2/v3 (YAML 1.1 + Go number syntax), by a YAML 1.2 core-schema reader,
/// or by PyYAML (YAML 1.1: base-60 numbers, timestamps, `=`): such strings must be quoted.
pub(crate) fn plain_reads_as_non_string(text: &str) -> bool {
    if resolve_plain(text) != Resolved::Str {
        return true;
    }
    looks_like_base60(text) || looks_like_timestamp(text) || is_yaml11_extra(text)
}

/// Base-60 numbers (`1:20`, `-1:30.5`), which YAML 1.1 readers turn into numbers.
fn looks_like_base60(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, _fraction) = match unsigned.split_once('.') {
        Some((w, f)) if f.bytes().all(|b| b.is_ascii_digit() || b == b'_') => (w, f),
        Some(_) => return false,
        None => (unsigned, ""),
    };
    let mut parts = whole.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    let mut saw_colon = false;
    if head.is_empty()
        || !head.as_bytes()[0].is_ascii_digit()
        || !head.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    for sexagesimal in parts {
        saw_colon = true;
        let ok = match sexagesimal.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    saw_colon
}

/// YAML 1.1 timestamps (`2001-12-14`, `2001-12-14t21:59:43.10-05:00`, …): a conservative
/// match (four digits, `-`, then only timestamp characters) so they are always quoted.
fn looks_like_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 8
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5].is_ascii_digit()
        && bytes[5..]
            .iter()
            .all(|&b| b.is_ascii_digit() || b"-:.+ \tTtZ".contains(&b))
}

/// Spellings YAML 1.1 (PyYAML) or YAML 1.2 readers resolve that go-yaml v2 leaves as strings.
fn is_yaml11_extra(text: &str) -> bool {
    // `=` is the YAML 1.1 value key; PyYAML refuses to construct it.
    if text == "=" {
        return true;
    }
    // YAML 1.2 core and PyYAML floats not matched above: `1.`, `+.5`, `1_000.5`, `.5_0`.
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        return true;
    }
    let body = unsigned.replace('_', "");
    !body.is_empty()
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && is_yaml_style_float(&body)
        && body.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_yaml_v2_bools_and_nulls() {
        for t in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(resolve_plain(t), Resolved::Bool(true), "{t}");
        }
        for t in [
            "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(resolve_plain(t), Resolved::Bool(false), "{t}");
        }
        for t in ["yEs", "oN", "tRUE", "nO"] {
            assert_eq!(resolve_plain(t), Resolved::Str, "{t}");
        }
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve_plain(t), Resolved::Null, "{t}");
        }
        assert_eq!(resolve_plain("nULL"), Resolved::Str);
    }

    #[test]
    fn go_integer_syntax() {
        let cases: &[(&str, Resolved)] = &[
            ("0755", Resolved::Int(493)),
            ("0x1F", Resolved::Int(31)),
            ("0X1f", Resolved::Int(31)),
            ("0o17", Resolved::Int(15)),
            ("0b101", Resolved::Int(5)),
            ("-0b101", Resolved::Int(-5)),
            ("1_000", Resolved::Int(1000)),
            ("+12", Resolved::Int(12)),
            ("-12", Resolved::Int(-12)),
            ("0", Resolved::Int(0)),
            ("-0", Resolved::Int(0)),
            ("9223372036854775807", Resolved::Int(i64::MAX)),
            ("-9223372036854775808", Resolved::Int(i64::MIN)),
            (
                "9223372036854775808",
                Resolved::Uint(9_223_372_036_854_775_808),
            ),
            ("18446744073709551615", Resolved::Uint(u64::MAX)),
            (
                "18446744073709551616",
                Resolved::Float(18_446_744_073_709_551_616.0),
            ),
            ("08", Resolved::Float(8.0)),
            ("0x", Resolved::Str),
            ("0xFFFFFFFFFFFFFFFFFF", Resolved::Str),
            ("1.2.3", Resolved::Str),
            ("12:30", Resolved::Str),
        ];
        for (text, want) in cases {
            assert_eq!(&resolve_plain(text), want, "{text}");
        }
    }

    #[test]
    fn go_float_syntax() {
        let cases: &[(&str, f64)] = &[
            ("1.5", 1.5),
            ("1e3", 1000.0),
            ("1E3", 1000.0),
            ("-1.5e-3", -0.0015),
            (".5", 0.5),
            ("1.", 1.0),
            ("1_000.5", 1000.5),
            ("+.5", 0.5),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_plain(text), Resolved::Float(*want), "{text}");
        }
        assert!(matches!(resolve_plain(".nan"), Resolved::Float(f) if f.is_nan()));
        assert_eq!(resolve_plain("-.Inf"), Resolved::Float(f64::NEG_INFINITY));
        assert_eq!(resolve_plain("+.INF"), Resolved::Float(f64::INFINITY));
        // Go's ParseFloat reports a range error: the scalar stays a string.
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(resolve_plain(".e5"), Resolved::Str);
        assert_eq!(resolve_plain("._5"), Resolved::Str);
    }

    #[test]
    fn quoting_needed_for_other_readers() {
        for t in [
            "yes",
            "on",
            "0755",
            "1e3",
            "null",
            "",
            "1:20",
            "2001-12-14",
            "=",
            "<<",
            "1.",
            "1_0",
            ".5",
            "-.inf",
        ] {
            assert!(plain_reads_as_non_string(t), "{t} must be quoted");
        }
        for t in ["1.2.3", "v1", "hello", "yess", "a-b", "2001"] {
            let is_number = t == "2001";
            assert_eq!(plain_reads_as_non_string(t), is_number, "{t}");
        }
    }
}
