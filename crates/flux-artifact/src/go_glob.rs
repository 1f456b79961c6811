//! Go's `path/filepath.Match` shell-pattern semantics on Unix, which the go-git gitignore
//! matcher (and so Flux's `.sourceignore`) applies to each path component.
//!
//! Syntax: `*` (any run of non-`/` characters), `?` (one non-`/` character),
//! `[` [`^`] ranges `]` (ranges `a-z`, `\` escapes), `\c` (literal `c`).
//! A malformed pattern never matches (Go returns `ErrBadPattern`, which go-git treats as
//! "no match").

/// Reports whether `name` matches the shell `pattern`; `None` when the pattern is malformed.
#[cfg(test)]
pub fn go_match(pattern: &str, name: &str) -> Option<bool> {
    ShellPattern::new(pattern).matches(name)
}

/// A pattern prepared once for many matches: literals and `*suffix` forms (most ignore
/// patterns) skip the general matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellPattern {
    raw: String,
    kind: PatternKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PatternKind {
    Literal,
    StarSuffix(String),
    General(Vec<char>),
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

impl ShellPattern {
    /// Prepares `raw`.
    pub fn new(raw: &str) -> Self {
        let stripped = raw.trim_start_matches('*');
        let kind = if !has_meta(raw) {
            PatternKind::Literal
        } else if stripped.len() < raw.len() && !has_meta(stripped) {
            PatternKind::StarSuffix(stripped.to_string())
        } else {
            PatternKind::General(raw.chars().collect())
        };
        ShellPattern {
            raw: raw.to_string(),
            kind,
        }
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Go's `filepath.Match(pattern, name)`; `None` when the pattern is malformed.
    pub fn matches(&self, name: &str) -> Option<bool> {
        match &self.kind {
            PatternKind::Literal => Some(self.raw == name),
            PatternKind::StarSuffix(suffix) => Some(
                name.len() >= suffix.len()
                    && name.ends_with(suffix.as_str())
                    && !name[..name.len() - suffix.len()].contains('/'),
            ),
            PatternKind::General(pattern) => {
                let name: Vec<char> = name.chars().collect();
                match_chars(pattern, &name)
            }
        }
    }
}

fn match_chars(mut pattern: &[char], mut name: &[char]) -> Option<bool> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star matches the rest of the name unless it contains a separator.
            return Some(!name.contains(&'/'));
        }
        let attempt = match_chunk(chunk, name);
        if let Ok(Some(t)) = attempt
            && (t.is_empty() || !pattern.is_empty())
        {
            name = t;
            continue;
        }
        if attempt.is_err() {
            return None;
        }
        if star {
            // Retry the chunk after skipping 1..n characters; a star cannot skip '/'.
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                match match_chunk(chunk, &name[i + 1..]) {
                    Ok(Some(t)) => {
                        if pattern.is_empty() && !t.is_empty() {
                            i += 1;
                            continue;
                        }
                        name = t;
                        continue 'pattern;
                    }
                    Ok(None) => {}
                    Err(()) => return None,
                }
                i += 1;
            }
        }
        // No match: still report a malformed remainder as an error, like Go.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if match_chunk(chunk, &[]).is_err() {
                return None;
            }
        }
        return Some(false);
    }
    Some(name.is_empty())
}

/// Splits off leading stars and the following chunk (up to the next star outside a class).
fn scan_chunk(mut pattern: &[char]) -> (bool, &[char], &[char]) {
    let mut star = false;
    while pattern.first() == Some(&'*') {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' if i + 1 < pattern.len() => i += 1,
            '[' => in_range = true,
            ']' => in_range = false,
            '*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

/// Matches one chunk at the start of `s`. `Ok(Some(rest))` on match, `Ok(None)` on no
/// match, `Err(())` on a malformed chunk.
fn match_chunk<'a>(mut chunk: &[char], mut s: &'a [char]) -> Result<Option<&'a [char]>, ()> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            '[' => {
                let mut r = '\0';
                if !failed {
                    r = s[0];
                    s = &s[1..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_escaped(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&'-') {
                        let (h, rest) = get_escaped(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if s[0] == '/' {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                let mut literal = c;
                if c == '\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&e) => literal = e,
                        None => return Err(()),
                    }
                }
                if !failed {
                    if literal != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed { Ok(None) } else { Ok(Some(s)) }
}

/// One possibly escaped character of a class; the class must continue after it.
fn get_escaped(mut chunk: &[char]) -> Result<(char, &[char]), ()> {
    match chunk.first() {
        None | Some('-') | Some(']') => return Err(()),
        Some('\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(());
            }
        }
        Some(_) => {}
    }
    let r = chunk[0];
    let rest = &chunk[1..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::go_match;

    #[test]
    fn go_match_table() {
        // Cases from the behaviour documented for Go's filepath.Match.
        let cases: &[(&str, &str, Option<bool>)] = &[
            ("abc", "abc", Some(true)),
            ("*", "abc", Some(true)),
            ("*c", "abc", Some(true)),
            ("a*", "a", Some(true)),
            ("a*", "abc", Some(true)),
            ("a*", "ab/c", Some(false)),
            ("a*/b", "abc/b", Some(true)),
            ("a*/b", "a/c/b", Some(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
            ("ab[c]", "abc", Some(true)),
            ("ab[b-d]", "abc", Some(true)),
            ("ab[e-g]", "abc", Some(false)),
            ("ab[^c]", "abc", Some(false)),
            ("ab[^b-d]", "abc", Some(false)),
            ("ab[^e-g]", "abc", Some(true)),
            ("a\\*b", "a*b", Some(true)),
            ("a\\*b", "ab", Some(false)),
            ("a?b", "a☺b", Some(true)),
            ("a[^a]b", "a☺b", Some(true)),
            ("a???b", "a☺b", Some(false)),
            ("[a-ζ]*", "α", Some(true)),
            ("*[a-ζ]", "A", Some(false)),
            ("a?b", "a/b", Some(false)),
            ("a*b", "a/b", Some(false)),
            ("[\\]a]", "]", Some(true)),
            ("[\\-]", "-", Some(true)),
            ("[x\\-]", "z", Some(false)),
            ("[]a]", "]", None),
            ("[-]", "-", None),
            ("[x-]", "x", None),
            ("\\", "a", None),
            ("[a-b-c]", "a", None),
            ("[", "a", None),
            ("[^", "a", None),
            ("a[", "a", None),
            ("a[", "ab", None),
            ("a[", "x", None),
            ("a/b[", "x", None),
            ("*x", "xxx", Some(true)),
            ("*.yaml", "a.yaml", Some(true)),
            ("*.tar.gz", "x.tar.gz", Some(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(go_match(pattern, name), *want, "{pattern:?} vs {name:?}");
        }
    }
}
