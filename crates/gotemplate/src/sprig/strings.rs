//! Sprig string functions.

use super::{R, arity, arity_min, i_arg, reg, reg1, s_arg, strval};
use crate::FuncMap;
use crate::error::FuncError;
use crate::format::go_quote;
use crate::value::Value;

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "trim", |n, a| {
        arity(n, a, 1)?;
        Ok(s_arg(a, 0)?.trim_matches(is_go_space).into())
    });
    reg1(m, "upper", |n, a| {
        arity(n, a, 1)?;
        Ok(s_arg(a, 0)?.to_uppercase().into())
    });
    reg1(m, "lower", |n, a| {
        arity(n, a, 1)?;
        Ok(s_arg(a, 0)?.to_lowercase().into())
    });
    reg1(m, "title", |n, a| {
        arity(n, a, 1)?;
        Ok(title(s_arg(a, 0)?).into())
    });
    reg1(m, "untitle", |n, a| {
        arity(n, a, 1)?;
        Ok(untitle(s_arg(a, 0)?).into())
    });
    reg1(m, "abbrev", |n, a| {
        arity(n, a, 2)?;
        let w = i_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        Ok(abbreviate(s, 0, w).into())
    });
    reg1(m, "abbrevboth", |n, a| {
        arity(n, a, 3)?;
        let l = i_arg(a, 0)?;
        let r = i_arg(a, 1)?;
        let s = s_arg(a, 2)?;
        Ok(abbreviate(s, l, r).into())
    });
    reg1(m, "trunc", |n, a| {
        arity(n, a, 2)?;
        let c = i_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        let len = s.len() as i64;
        let out = if c < 0 && len + c > 0 {
            byte_slice(s, (len + c) as usize, s.len())
        } else if c >= 0 && len > c {
            byte_slice(s, 0, c as usize)
        } else {
            s.to_string()
        };
        Ok(out.into())
    });
    reg1(m, "substr", |n, a| {
        arity(n, a, 3)?;
        let start = i_arg(a, 0)?;
        let end = i_arg(a, 1)?;
        let s = s_arg(a, 2)?;
        let len = s.len() as i64;
        let (from, to) = if start < 0 {
            (0, end)
        } else if end < 0 || end > len {
            (start, len)
        } else {
            (start, end)
        };
        if from < 0 || to < 0 || from > len || to > len || from > to {
            return Err(FuncError::msg(format!(
                "runtime error: slice bounds out of range [{from}:{to}]"
            )));
        }
        Ok(byte_slice(s, from as usize, to as usize).into())
    });
    reg(m, "repeat", |ctx, a| {
        arity("repeat", a, 2)?;
        let c = i_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        if c < 0 {
            return Err(FuncError::msg("strings: negative Repeat count"));
        }
        let total = (c as u128) * (s.len() as u128);
        ctx.reserve_output(usize::try_from(total).unwrap_or(usize::MAX))?;
        Ok(s.repeat(c as usize).into())
    });
    reg1(m, "trimAll", trim_all);
    reg1(m, "trimall", trim_all);
    reg1(m, "trimSuffix", |n, a| {
        arity(n, a, 2)?;
        let suf = s_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        Ok(s.strip_suffix(suf).unwrap_or(s).into())
    });
    reg1(m, "trimPrefix", |n, a| {
        arity(n, a, 2)?;
        let pre = s_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        Ok(s.strip_prefix(pre).unwrap_or(s).into())
    });
    reg1(m, "nospace", |n, a| {
        arity(n, a, 1)?;
        Ok(s_arg(a, 0)?
            .chars()
            .filter(|c| !is_go_space(*c))
            .collect::<String>()
            .into())
    });
    reg1(m, "initials", |n, a| {
        arity(n, a, 1)?;
        Ok(s_arg(a, 0)?
            .split(is_go_space)
            .filter_map(|w| w.chars().next())
            .collect::<String>()
            .into())
    });
    reg1(m, "swapcase", |n, a| {
        arity(n, a, 1)?;
        Ok(swapcase(s_arg(a, 0)?).into())
    });
    reg1(m, "snakecase", |n, a| {
        arity(n, a, 1)?;
        Ok(join_words(s_arg(a, 0)?, '_').into())
    });
    reg1(m, "kebabcase", |n, a| {
        arity(n, a, 1)?;
        Ok(join_words(s_arg(a, 0)?, '-').into())
    });
    reg1(m, "camelcase", |n, a| {
        arity(n, a, 1)?;
        Ok(camelcase(s_arg(a, 0)?).into())
    });
    reg1(m, "wrap", |n, a| {
        arity(n, a, 2)?;
        let l = i_arg(a, 0)?;
        Ok(wrap(s_arg(a, 1)?, l, "\n", false).into())
    });
    reg1(m, "wrapWith", |n, a| {
        arity(n, a, 3)?;
        let l = i_arg(a, 0)?;
        let sep = s_arg(a, 1)?;
        Ok(wrap(s_arg(a, 2)?, l, sep, true).into())
    });
    reg1(m, "contains", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Bool(s_arg(a, 1)?.contains(s_arg(a, 0)?)))
    });
    reg1(m, "hasPrefix", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Bool(s_arg(a, 1)?.starts_with(s_arg(a, 0)?)))
    });
    reg1(m, "hasSuffix", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Bool(s_arg(a, 1)?.ends_with(s_arg(a, 0)?)))
    });
    reg1(m, "quote", |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| go_quote(&strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    reg1(m, "squote", |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        Ok(parts.join(" ").into())
    });
    reg1(m, "cat", |_, a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| v.to_go_string())
            .collect();
        Ok(parts.join(" ").into())
    });
    reg(m, "indent", |ctx, a| {
        arity("indent", a, 2)?;
        let w = i_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        ctx.reserve_output(indented_size(w, s))?;
        Ok(indent(w, s)?.into())
    });
    reg(m, "nindent", |ctx, a| {
        arity("nindent", a, 2)?;
        let w = i_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        ctx.reserve_output(indented_size(w, s))?;
        Ok(format!("\n{}", indent(w, s)?).into())
    });
    reg1(m, "replace", |n, a| {
        arity(n, a, 3)?;
        let old = s_arg(a, 0)?;
        let new = s_arg(a, 1)?;
        let src = s_arg(a, 2)?;
        Ok(go_replace_all(src, old, new).into())
    });
    reg1(m, "plural", |n, a| {
        arity(n, a, 3)?;
        let one = s_arg(a, 0)?;
        let many = s_arg(a, 1)?;
        let c = i_arg(a, 2)?;
        Ok(if c == 1 { one } else { many }.into())
    });
    reg1(m, "toString", |n, a| {
        arity(n, a, 1)?;
        Ok(strval(&a[0]).into())
    });
    reg1(m, "hello", |_, _| Ok("Hello!".into()));
    reg1(m, "split", |n, a| {
        arity(n, a, 2)?;
        let sep = s_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        Ok(indexed_map(go_split(s, sep, -1)))
    });
    reg1(m, "splitn", |n, a| {
        arity(n, a, 3)?;
        let sep = s_arg(a, 0)?;
        let c = i_arg(a, 1)?;
        let s = s_arg(a, 2)?;
        Ok(indexed_map(go_split(s, sep, c)))
    });
    reg1(m, "splitList", |n, a| {
        arity(n, a, 2)?;
        let sep = s_arg(a, 0)?;
        let s = s_arg(a, 1)?;
        Ok(Value::list(
            go_split(s, sep, -1).into_iter().map(Value::from).collect(),
        ))
    });
    reg1(m, "shuffle", |n, a| {
        arity(n, a, 1)?;
        let mut chars: Vec<char> = s_arg(a, 0)?.chars().collect();
        let len = chars.len();
        for i in (1..len).rev() {
            let j = super::encoding::random_below((i + 1) as u64) as usize;
            chars.swap(i, j);
        }
        Ok(chars.into_iter().collect::<String>().into())
    });
    let _ = arity_min;
}

fn trim_all(n: &'static str, a: &[Value]) -> R {
    arity(n, a, 2)?;
    let cut: Vec<char> = s_arg(a, 0)?.chars().collect();
    let s = s_arg(a, 1)?;
    Ok(s.trim_matches(|c| cut.contains(&c)).into())
}

pub(crate) fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

fn byte_slice(s: &str, from: usize, to: usize) -> String {
    match s.get(from..to) {
        Some(x) => x.to_string(),
        None => String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned(),
    }
}

/// Size of `indent w s`, for the output budget.
fn indented_size(w: i64, s: &str) -> usize {
    let lines = s.bytes().filter(|b| *b == b'\n').count() + 1;
    usize::try_from(w.max(0))
        .unwrap_or(usize::MAX)
        .saturating_mul(lines)
        .saturating_add(s.len())
}

fn indent(w: i64, s: &str) -> Result<String, FuncError> {
    if w < 0 {
        return Err(FuncError::msg("strings: negative Repeat count"));
    }
    let pad = " ".repeat(w as usize);
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

/// Go's `strings.Replace(s, old, new, -1)` (an empty `old` inserts between runes).
fn go_replace_all(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::new();
        out.push_str(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

/// Go's `strings.SplitN` (n < 0: all).
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(|c| c.to_string()).collect();
        if n > 0 && (n as usize) < chars.len() {
            let mut head: Vec<String> = chars[..n as usize - 1].to_vec();
            let rest: String = chars[n as usize - 1..].concat();
            head.push(rest);
            return head;
        }
        return chars;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_string).collect()
    }
}

fn indexed_map(parts: Vec<String>) -> Value {
    Value::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::from(p)))
            .collect(),
    )
}

/// Go's deprecated `strings.Title`: upper-case the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = is_title_separator(c);
    }
    out
}

fn is_title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// goutils `Uncapitalize`: lower-case the first letter of each whitespace-separated word.
fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_space = true;
    for c in s.chars() {
        if prev_space {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn swapcase(s: &str) -> String {
    // goutils.SwapCase: upper→lower, title→lower, lower→upper; whitespace resets words.
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let titlecase = !c.is_uppercase()
            && !c.is_lowercase()
            && c.to_lowercase().ne(std::iter::once(c))
            && c.to_uppercase().ne(std::iter::once(c));
        if c.is_uppercase() || titlecase {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// goutils `AbbreviateFull` as Sprig uses it (`abbrev` = offset 0).
fn abbreviate(s: &str, offset: i64, max_width: i64) -> String {
    if s.is_empty() || max_width < 4 {
        return s.to_string();
    }
    let len = s.len() as i64;
    if len <= max_width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return format!("{}...", byte_slice(s, 0, (max_width - 3) as usize));
    }
    if max_width < 7 {
        return s.to_string();
    }
    if offset + max_width - 3 < len {
        let rest = byte_slice(s, offset as usize, s.len());
        return format!("...{}", abbreviate(&rest, 0, max_width - 3));
    }
    format!(
        "...{}",
        byte_slice(s, (len - (max_width - 3)) as usize, s.len())
    )
}

/// Splits into words the way xstrings does for snake/kebab case.
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn join_words(s: &str, sep: char) -> String {
    words(s)
        .into_iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings `ToCamelCase`: words separated by space, `_` or `-` become `TitleCase`
/// (`HTTP_server` → `HttpServer`); leading connectors stay, doubled ones keep one.
fn camelcase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(c.to_uppercase().next().unwrap_or(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            r0 = r0.to_lowercase().next().unwrap_or(r0);
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

/// goutils `WrapCustom`.
fn wrap(s: &str, width: i64, sep: &str, wrap_long: bool) -> String {
    let width = width.max(1) as usize;
    let mut out_lines: Vec<String> = Vec::new();
    for line in s.split('\n') {
        let mut cur = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            let mut word = word.to_string();
            loop {
                if cur.is_empty() {
                    if wrap_long && word.len() > width {
                        let head = byte_slice(&word, 0, width);
                        out_lines.push(head);
                        word = byte_slice(&word, width, word.len());
                        continue;
                    }
                    cur = word;
                    break;
                }
                if cur.len() + 1 + word.len() <= width {
                    cur.push(' ');
                    cur.push_str(&word);
                    break;
                }
                out_lines.push(std::mem::take(&mut cur));
            }
        }
        out_lines.push(cur);
    }
    out_lines.join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_helpers() {
        assert_eq!(join_words("FirstName", '_'), "first_name");
        assert_eq!(join_words("HTTPServer", '_'), "http_server");
        assert_eq!(join_words("firstName", '-'), "first-name");
        assert_eq!(camelcase("http_server"), "HttpServer");
        assert_eq!(camelcase("_complex__case_"), "_Complex_Case_");
        assert_eq!(camelcase("GOLANG_IS_GREAT"), "GolangIsGreat");
        assert_eq!(title("hello world-foo"), "Hello World-Foo");
        assert_eq!(abbreviate("hello world", 0, 5), "he...");
        assert_eq!(abbreviate("1234 5678 9123", 5, 10), "...5678...");
        assert_eq!(
            wrap("This is a long line", 6, "\n", false),
            "This\nis a\nlong\nline"
        );
    }
}
