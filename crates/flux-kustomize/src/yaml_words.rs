//! kustomize reads resources and patches with yaml.v3, where the YAML 1.1 words `yes`, `no`,
//! `on`, `off`, `y`, `n` are strings; flux-object's reader follows go-yaml v2 (as
//! sigs.k8s.io/yaml does, right for kustomization files), where they are booleans. Before a
//! resource or patch is parsed, such plain words in block mappings and sequences (as keys or
//! values) are quoted so they stay strings. Block scalars, flow collections and quoted
//! text are left alone.

use std::borrow::Cow;

const WORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

fn is_word(s: &str) -> bool {
    WORDS.contains(&s)
}

/// yaml.v3 reads a plain `YYYY-M-D` as a timestamp, which kustomize writes back through JSON
/// as RFC 3339 (`2001-12-14T00:00:00Z`). Returns that text for a valid date.
fn date_as_rfc3339(s: &str) -> Option<String> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
        || ![y, m, d]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (year, month, day): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days)
        .contains(&day)
        .then(|| format!("{year:04}-{month:02}-{day:02}T00:00:00Z"))
}

/// Splits `text` into (value, rest) where rest is a trailing ` #comment` (if any).
fn split_comment(text: &str) -> (&str, &str) {
    match text.find(" #") {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    }
}

/// Quotes YAML 1.1 boolean words used as plain keys or values.
pub fn protect(text: &str) -> Cow<'_, str> {
    if !WORDS.iter().any(|w| text.contains(w)) && !text.contains('-') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    // Indentation of the line that opened a block scalar; lines deeper than it are content.
    let mut block_indent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let indent = body.len() - body.trim_start().len();
        if let Some(bi) = block_indent {
            if body.trim().is_empty() || indent > bi {
                out.push_str(line);
                continue;
            }
            block_indent = None;
        }
        let (rewritten, opens_block) = rewrite_line(body, indent);
        if let Some(r) = &rewritten {
            changed = true;
            out.push_str(r);
            out.push_str(eol);
        } else {
            out.push_str(line);
        }
        if opens_block {
            block_indent = Some(indent);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Returns the rewritten line (if anything changed) and whether it opens a block scalar.
fn rewrite_line(body: &str, indent: usize) -> (Option<String>, bool) {
    let mut rest = &body[indent..];
    let mut prefix = String::from(&body[..indent]);
    if rest.starts_with('#') || rest.starts_with("---") || rest.starts_with("...") {
        return (None, false);
    }
    // Sequence entries: `- `, possibly several.
    while let Some(r) = rest.strip_prefix("- ") {
        prefix.push_str("- ");
        rest = r;
        let spaces = rest.len() - rest.trim_start().len();
        prefix.push_str(&rest[..spaces]);
        rest = &rest[spaces..];
    }
    let mut changed = false;
    // A key: plain text (or a quoted key) up to `: ` or a trailing `:`.
    let key_end = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..]
            .find(q)
            .map(|i| i + 2)
            .filter(|&e| rest[e..].starts_with(": ") || &rest[e..] == ":"),
        Some('{' | '[' | '&' | '*' | '!' | '|' | '>' | '?') | None => None,
        Some(_) => rest
            .find(": ")
            .or_else(|| rest.strip_suffix(':').map(|k| k.len())),
    };
    let value = if let Some(k) = key_end {
        let key = &rest[..k];
        if is_word(key) {
            prefix.push('"');
            prefix.push_str(key);
            prefix.push('"');
            changed = true;
        } else {
            prefix.push_str(key);
        }
        prefix.push(':');
        let after = &rest[k + 1..];
        let spaces = after.len() - after.trim_start().len();
        prefix.push_str(&after[..spaces]);
        &after[spaces..]
    } else {
        rest
    };
    let (v, comment) = split_comment(value);
    let v_trim = v.trim_end();
    let opens_block = v_trim.starts_with('|') || v_trim.starts_with('>');
    if is_word(v_trim) {
        prefix.push('"');
        prefix.push_str(v_trim);
        prefix.push('"');
        prefix.push_str(&v[v_trim.len()..]);
        prefix.push_str(comment);
        changed = true;
    } else if let Some(ts) = date_as_rfc3339(v_trim) {
        prefix.push('"');
        prefix.push_str(&ts);
        prefix.push('"');
        prefix.push_str(&v[v_trim.len()..]);
        prefix.push_str(comment);
        changed = true;
    } else {
        prefix.push_str(value);
    }
    (changed.then_some(prefix), opens_block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_words_as_values_keys_and_items() {
        let src = "data:\n  'on': off\n  a: yes\n  on: x\n  b: \"no\"\n  list:\n  - off\n  - keep\n  c: yes # comment\n";
        let want = "data:\n  'on': \"off\"\n  a: \"yes\"\n  \"on\": x\n  b: \"no\"\n  list:\n  - \"off\"\n  - keep\n  c: \"yes\" # comment\n";
        assert_eq!(protect(src), want);
    }

    #[test]
    fn plain_dates_become_rfc3339() {
        assert_eq!(
            protect("d: 2001-2-3\ne: 2001-02-30\n"),
            "d: \"2001-02-03T00:00:00Z\"\ne: 2001-02-30\n"
        );
    }

    #[test]
    fn block_scalars_are_untouched() {
        let src = "data:\n  script: |\n    on: yes\n    - no\n  after: on\n";
        let want = "data:\n  script: |\n    on: yes\n    - no\n  after: \"on\"\n";
        assert_eq!(protect(src), want);
    }

    #[test]
    fn parsed_values_stay_strings() {
        let fixed = protect("a: yes\nb: true\n");
        let v = flux_object::yaml::parse_document(&fixed).unwrap_or_default();
        assert_eq!(v["a"], "yes");
        assert_eq!(v["b"], true);
    }
}
