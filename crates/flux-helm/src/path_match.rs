//! Two glob dialects Helm uses: Go's `path/filepath.Match` (for `.helmignore`
//! and `--show-only`) and gobwas/glob with `/` as separator (for `.Files.Glob`).

/// Go's `filepath.Match`: `*` (no `/`), `?`, `[...]` classes with `^`/`!`
/// negation and ranges, `\` escapes. A malformed pattern matches nothing
/// (`Err` is reported by [`validate_go_pattern`]).
pub fn go_path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go_match_at(&p, &n).unwrap_or(false)
}

/// Whether `pattern` is well formed for [`go_path_match`].
pub fn validate_go_pattern(pattern: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    // Go reports ErrBadPattern while scanning; probing against a non-empty
    // name surfaces malformed classes and trailing escapes.
    go_match_at(&p, &['a', 'b', 'c']).is_ok() && check_classes(&p)
}

fn check_classes(p: &[char]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return false;
                }
                i += 2;
            }
            '[' => match parse_class(p, i + 1) {
                Some((_, _, end)) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// Parses a class starting after `[`; returns (negated, ranges, index after `]`).
type CharClass = (bool, Vec<(char, char)>, usize);

fn parse_class(p: &[char], mut i: usize) -> Option<CharClass> {
    let mut negated = false;
    if i < p.len() && (p[i] == '^' || p[i] == '!') {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if i >= p.len() {
            return None;
        }
        if p[i] == ']' && !ranges.is_empty() {
            return Some((negated, ranges, i + 1));
        }
        let lo = class_char(p, &mut i)?;
        let mut hi = lo;
        if i < p.len() && p[i] == '-' {
            i += 1;
            hi = class_char(p, &mut i)?;
        }
        ranges.push((lo, hi));
    }
}

fn class_char(p: &[char], i: &mut usize) -> Option<char> {
    let c = *p.get(*i)?;
    if c == '\\' {
        let e = *p.get(*i + 1)?;
        *i += 2;
        return Some(e);
    }
    if c == '-' || c == ']' {
        return None;
    }
    *i += 1;
    Some(c)
}

fn go_match_at(p: &[char], n: &[char]) -> Result<bool, ()> {
    if p.is_empty() {
        return Ok(n.is_empty());
    }
    match p[0] {
        '*' => {
            // Collapse consecutive stars.
            let mut k = 0;
            while k < p.len() && p[k] == '*' {
                k += 1;
            }
            let rest = &p[k..];
            let mut j = 0;
            loop {
                if go_match_at(rest, &n[j..])? {
                    return Ok(true);
                }
                if j >= n.len() || n[j] == '/' {
                    return Ok(false);
                }
                j += 1;
            }
        }
        '?' => {
            if n.is_empty() || n[0] == '/' {
                return Ok(false);
            }
            go_match_at(&p[1..], &n[1..])
        }
        '[' => {
            let (neg, ranges, end) = parse_class(p, 1).ok_or(())?;
            if n.is_empty() || n[0] == '/' {
                return Ok(false);
            }
            let c = n[0];
            let hit = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
            if hit == neg {
                return Ok(false);
            }
            go_match_at(&p[end..], &n[1..])
        }
        '\\' => {
            let e = *p.get(1).ok_or(())?;
            if n.first() != Some(&e) {
                return Ok(false);
            }
            go_match_at(&p[2..], &n[1..])
        }
        c => {
            if n.first() != Some(&c) {
                return Ok(false);
            }
            go_match_at(&p[1..], &n[1..])
        }
    }
}

/// A compiled gobwas/glob pattern with `/` as separator: `*` (no `/`), `**`
/// (anything), `?`, `[...]`/`[!...]`, `{a,b}` alternatives, `\` escapes.
#[derive(Debug, Clone)]
pub struct FilesGlob {
    tokens: Vec<GlobToken>,
}

#[derive(Debug, Clone)]
enum GlobToken {
    Literal(char),
    Star,
    SuperStar,
    Any,
    Class(bool, Vec<(char, char)>),
    Alternatives(Vec<Vec<GlobToken>>),
}

impl FilesGlob {
    /// Compiles a pattern; `None` when it is malformed (Helm then uses `**`).
    pub fn compile(pattern: &str) -> Option<FilesGlob> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        let tokens = parse_glob(&chars, &mut i, false)?;
        if i != chars.len() {
            return None;
        }
        Some(FilesGlob { tokens })
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let n: Vec<char> = name.chars().collect();
        glob_match(&self.tokens, &n)
    }
}

fn parse_glob(p: &[char], i: &mut usize, in_alt: bool) -> Option<Vec<GlobToken>> {
    let mut out = Vec::new();
    while *i < p.len() {
        let c = p[*i];
        match c {
            '*' => {
                if *i + 1 < p.len() && p[*i + 1] == '*' {
                    *i += 2;
                    out.push(GlobToken::SuperStar);
                } else {
                    *i += 1;
                    out.push(GlobToken::Star);
                }
            }
            '?' => {
                *i += 1;
                out.push(GlobToken::Any);
            }
            '[' => {
                let mut j = *i + 1;
                let mut neg = false;
                if j < p.len() && p[j] == '!' {
                    neg = true;
                    j += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    let lo = *p.get(j)?;
                    if lo == ']' {
                        j += 1;
                        break;
                    }
                    j += 1;
                    if j + 1 < p.len() && p[j] == '-' && p[j + 1] != ']' {
                        ranges.push((lo, p[j + 1]));
                        j += 2;
                    } else {
                        ranges.push((lo, lo));
                    }
                }
                *i = j;
                out.push(GlobToken::Class(neg, ranges));
            }
            '{' => {
                *i += 1;
                let mut alts = Vec::new();
                loop {
                    let alt = parse_glob(p, i, true)?;
                    alts.push(alt);
                    match p.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                out.push(GlobToken::Alternatives(alts));
            }
            ',' | '}' if in_alt => return Some(out),
            '\\' => {
                let e = *p.get(*i + 1)?;
                *i += 2;
                out.push(GlobToken::Literal(e));
            }
            _ => {
                *i += 1;
                out.push(GlobToken::Literal(c));
            }
        }
    }
    if in_alt {
        return None;
    }
    Some(out)
}

fn glob_match(t: &[GlobToken], n: &[char]) -> bool {
    let Some(first) = t.first() else {
        return n.is_empty();
    };
    match first {
        GlobToken::Literal(c) => n.first() == Some(c) && glob_match(&t[1..], &n[1..]),
        GlobToken::Any => n.first().is_some_and(|c| *c != '/') && glob_match(&t[1..], &n[1..]),
        GlobToken::Class(neg, ranges) => match n.first() {
            Some(c) if *c != '/' => {
                let hit = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                hit != *neg && glob_match(&t[1..], &n[1..])
            }
            _ => false,
        },
        GlobToken::Star | GlobToken::SuperStar => {
            let cross = matches!(first, GlobToken::SuperStar);
            let mut j = 0;
            loop {
                if glob_match(&t[1..], &n[j..]) {
                    return true;
                }
                if j >= n.len() || (!cross && n[j] == '/') {
                    return false;
                }
                j += 1;
            }
        }
        GlobToken::Alternatives(alts) => alts.iter().any(|alt| {
            let mut joined = alt.clone();
            joined.extend_from_slice(&t[1..]);
            glob_match(&joined, n)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_semantics() {
        assert!(go_path_match("*.yaml", "a.yaml"));
        assert!(!go_path_match("*.yaml", "dir/a.yaml"));
        assert!(go_path_match("templates/*.yaml", "templates/a.yaml"));
        assert!(go_path_match("a?c", "abc"));
        assert!(go_path_match("[a-c]x", "bx"));
        assert!(!go_path_match("[^a-c]x", "bx"));
        assert!(go_path_match("\\*", "*"));
        assert!(go_path_match(".*", ".git"));
        assert!(!validate_go_pattern("[a-"));
        assert!(validate_go_pattern("*.tgz"));
    }

    #[test]
    fn files_glob_semantics() {
        let g = FilesGlob::compile("files/*").expect("valid");
        assert!(g.matches("files/a.conf"));
        assert!(!g.matches("files/sub/a.conf"));
        let g = FilesGlob::compile("files/**").expect("valid");
        assert!(g.matches("files/sub/a.conf"));
        let g = FilesGlob::compile("{a,b}/*.json").expect("valid");
        assert!(g.matches("b/x.json"));
        assert!(!g.matches("c/x.json"));
        assert!(FilesGlob::compile("{a,b").is_none());
    }
}
