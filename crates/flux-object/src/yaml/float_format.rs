//! Go's `strconv.FormatFloat(f, 'g', -1, bits)`: the shortest decimal that reads back as
//! the same float, in `%e` form when the exponent is below -4 or at least 6 (shortest mode
//! always decides with precision 6), with a signed exponent of at least two digits.

/// Formats `f` as Go's `FormatFloat(f, 'g', -1, 64)` does, with YAML's spellings of the
/// non-finite values (`.inf`, `-.inf`, `.nan`) as go-yaml writes them.
pub(crate) fn format_go_float64(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s.to_string();
    }
    format_shortest_g(&format!("{f:e}"))
}

/// Formats `f` as Go's `FormatFloat(f, 'g', -1, 32)` does (sigs.k8s.io/yaml uses this for
/// float map keys), with YAML's spellings of the non-finite values.
pub(crate) fn format_go_float32(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s.to_string();
    }
    #[allow(clippy::cast_possible_truncation)]
    let narrow = f as f32;
    if narrow.is_infinite() {
        // Go rounds to float32 first as well, so an out-of-range key reads as infinity.
        return if narrow > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    format_shortest_g(&format!("{narrow:e}"))
}

fn non_finite(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some(".nan")
    } else if f == f64::INFINITY {
        Some(".inf")
    } else if f == f64::NEG_INFINITY {
        Some("-.inf")
    } else {
        None
    }
}

/// Turns Rust's shortest `{:e}` output (`-1.2345e6`, `1e-7`) into Go's `'g'` layout.
fn format_shortest_g(rust_exp: &str) -> String {
    let (mantissa, exponent) = match rust_exp.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (rust_exp, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if digits.bytes().all(|b| b == b'0') {
        out.push('0');
        return out;
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
        return out;
    }
    // Plain form: place the decimal point `exponent + 1` digits from the left.
    let point = exponent + 1;
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..(-point) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_formatfloat_g_shortest() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123_456.0, "123456"),
            (100_000.5, "100000.5"),
            (123_456_789.5, "1.234567895e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e-7, "1e-07"),
            (-2.5e100, "-2.5e+100"),
            (0.0, "0"),
            (-0.0, "-0"),
            (3.0, "3"),
            (f64::INFINITY, ".inf"),
            (f64::NEG_INFINITY, "-.inf"),
            (f64::NAN, ".nan"),
        ];
        for (f, want) in cases {
            assert_eq!(format_go_float64(*f), *want, "formatting {f}");
        }
    }

    #[test]
    fn float32_keys_match_go() {
        assert_eq!(format_go_float32(0.1), "0.1");
        assert_eq!(format_go_float32(1e10), "1e+10");
        assert_eq!(format_go_float32(1.234_567_89), "1.2345679");
        assert_eq!(format_go_float32(1000.0), "1000");
    }
}
