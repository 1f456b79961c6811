//! Versions and version constraints with the grammar of Masterminds/semver v3
//! (what Helm uses for `kubeVersion` and dependency `version` ranges).
//!
//! Versions are lenient (`v1.2`, `1` and `1.2.3-rc.1+meta` are accepted).
//! Constraints: `||` separates alternatives; inside one, comma or whitespace
//! separated terms must all hold. Operators: `=`, `!=`, `>`, `<`, `>=`, `=>`,
//! `<=`, `=<`, `~`, `~>`, `^`, none; `x`, `X` and `*` wildcards; hyphen ranges
//! `1.2 - 1.4`. A version with a prerelease only satisfies a term whose own
//! version has a prerelease (Masterminds v3.3 behaviour, used by Helm 3.17).

use std::cmp::Ordering;

/// A parsed semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Prerelease (without the `-`), empty when none.
    pub pre: String,
    /// Build metadata (without the `+`), empty when none.
    pub metadata: String,
}

/// Why a version or constraint could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    /// The text is not a semantic version.
    #[error("Invalid Semantic Version")]
    InvalidVersion,
    /// The constraint text does not follow the grammar.
    #[error("improper constraint: {0}")]
    InvalidConstraint(String),
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn valid_dotted(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(is_ident_char))
}

impl Version {
    /// Parses a version as Masterminds `NewVersion` does (lenient).
    pub fn parse(s: &str) -> Result<Version, SemverError> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, metadata) = match body.split_once('+') {
            Some((b, m)) => (b, m.to_string()),
            None => (body, String::new()),
        };
        let (nums, pre) = match body.split_once('-') {
            Some((n, p)) => (n, p.to_string()),
            None => (body, String::new()),
        };
        if (!metadata.is_empty() || s.contains('+')) && !valid_dotted(&metadata) {
            return Err(SemverError::InvalidVersion);
        }
        if !pre.is_empty() || body.contains('-') {
            if !valid_dotted(&pre) {
                return Err(SemverError::InvalidVersion);
            }
            // Numeric prerelease identifiers must not have leading zeros.
            for p in pre.split('.') {
                if p.len() > 1 && p.starts_with('0') && p.chars().all(|c| c.is_ascii_digit()) {
                    return Err(SemverError::InvalidVersion);
                }
            }
        }
        let parts: Vec<&str> = nums.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(SemverError::InvalidVersion);
        }
        let mut out = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return Err(SemverError::InvalidVersion);
            }
            out[i] = p.parse().map_err(|_| SemverError::InvalidVersion)?;
        }
        Ok(Version {
            major: out[0],
            minor: out[1],
            patch: out[2],
            pre,
            metadata,
        })
    }

    /// Compares two versions by precedence (metadata ignored).
    pub fn compare(&self, other: &Version) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| compare_prerelease(&self.pre, &other.pre))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(n), Ok(m)) => n.cmp(&m),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Term {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: alternatives of conjunctions.
#[derive(Debug, Clone)]
pub struct Constraint {
    alternatives: Vec<Vec<Term>>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

const OPS: [(&str, Op); 12] = [
    ("!=", Op::NotEqual),
    (">=", Op::GreaterEqual),
    ("=>", Op::GreaterEqual),
    ("<=", Op::LessEqual),
    ("=<", Op::LessEqual),
    ("~>", Op::Tilde),
    (">", Op::Greater),
    ("<", Op::Less),
    ("=", Op::TildeOrEqual),
    ("~", Op::Tilde),
    ("^", Op::Caret),
    ("", Op::TildeOrEqual),
];

/// Splits a constraint version like `1.2.x-rc.1` into its pieces.
fn parse_term(op: Op, ver: &str, whole: &str) -> Result<Term, SemverError> {
    let bad = || SemverError::InvalidConstraint(format!("{whole:?}"));
    let v = ver.strip_prefix('v').unwrap_or(ver);
    let (v, meta) = match v.split_once('+') {
        Some((a, m)) => (a, Some(m)),
        None => (v, None),
    };
    let (nums, pre) = match v.split_once('-') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad());
    }
    for p in &parts {
        if p.is_empty() || !(is_x(p) || p.chars().all(|c| c.is_ascii_digit())) {
            return Err(bad());
        }
    }
    let pre_s = pre.map(|p| format!("-{p}")).unwrap_or_default();
    let meta_s = meta.map(|m| format!("+{m}")).unwrap_or_default();
    let (text, dirty, minor_dirty, patch_dirty) = if is_x(parts[0]) {
        (format!("0.0.0{pre_s}{meta_s}"), true, false, false)
    } else if parts.len() < 2 || is_x(parts[1]) {
        (
            format!("{}.0.0{pre_s}{meta_s}", parts[0]),
            true,
            true,
            false,
        )
    } else if parts.len() < 3 || is_x(parts[2]) {
        (
            format!("{}.{}.0{pre_s}{meta_s}", parts[0], parts[1]),
            true,
            false,
            true,
        )
    } else {
        (ver.to_string(), false, false, false)
    };
    let con = Version::parse(&text).map_err(|_| bad())?;
    Ok(Term {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '*')
}

/// Rewrites `a - b` hyphen ranges into `>= a, <= b`.
fn rewrite_hyphen_ranges(s: &str) -> String {
    let toks: Vec<&str> = s.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if i + 2 < toks.len()
            && toks[i + 1] == "-"
            && toks[i].chars().all(is_version_char)
            && toks[i + 2].chars().all(is_version_char)
            && toks[i]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == 'v' || is_x(&c.to_string()))
        {
            out.push(format!(">= {}, <= {}", toks[i], toks[i + 2]));
            i += 3;
        } else {
            out.push(toks[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

impl Constraint {
    /// Parses a constraint string.
    pub fn parse(s: &str) -> Result<Constraint, SemverError> {
        let rewritten = rewrite_hyphen_ranges(s);
        let mut alternatives = Vec::new();
        for alt in rewritten.split("||") {
            let mut terms = Vec::new();
            // Tokenise: operator then version, separated by commas/whitespace.
            let chars: Vec<char> = alt.chars().collect();
            let mut i = 0;
            let mut expect_sep = false;
            while i < chars.len() {
                let c = chars[i];
                if c.is_whitespace() {
                    i += 1;
                    expect_sep = false;
                    continue;
                }
                if c == ',' {
                    if !expect_sep && terms.is_empty() {
                        return Err(SemverError::InvalidConstraint(format!("{alt:?}")));
                    }
                    i += 1;
                    expect_sep = false;
                    continue;
                }
                if expect_sep {
                    return Err(SemverError::InvalidConstraint(format!("{alt:?}")));
                }
                let rest: String = chars[i..].iter().collect();
                let (op_text, op) = OPS
                    .iter()
                    .find(|(t, _)| rest.starts_with(t))
                    .map(|(t, o)| (*t, *o))
                    .unwrap_or(("", Op::TildeOrEqual));
                i += op_text.chars().count();
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let start = i;
                while i < chars.len() && is_version_char(chars[i]) {
                    i += 1;
                }
                let ver: String = chars[start..i].iter().collect();
                if ver.is_empty() {
                    return Err(SemverError::InvalidConstraint(format!("{alt:?}")));
                }
                terms.push(parse_term(op, &ver, alt)?);
                expect_sep = true;
            }
            if terms.is_empty() {
                return Err(SemverError::InvalidConstraint(format!("{alt:?}")));
            }
            alternatives.push(terms);
        }
        Ok(Constraint { alternatives })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|terms| terms.iter().all(|t| t.check(v)))
    }
}

impl Term {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            // Masterminds 3.3: `!=` only rejects prereleases when dirty.
            if self.op != Op::NotEqual || self.dirty {
                return false;
            }
        }
        match self.op {
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v),
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Constraint::parse(constraint), Version::parse(version)) {
        (Ok(c), Ok(v)) => c.matches(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_match_as_masterminds() {
        let cases = [
            (">=1.25.0-0", "1.33.0", true),
            (">=1.25.0-0", "v1.33.0", true),
            (">=1.25.0", "1.24.9", false),
            (">=1.19.0-0", "v1.20.0", true),
            ("1.42.*", "1.42.0", true),
            ("1.42.*", "1.43.0", false),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            (">=1.2, <2", "1.5.0", true),
            (">=1.2 <2", "2.0.0", false),
            ("<1.0 || >=3", "3.1.0", true),
            ("1.2 - 1.4", "1.4.0", true),
            ("1.2 - 1.4", "1.5.0", false),
            ("*", "9.9.9", true),
            (">=1.0.0", "1.2.0-rc.1", false),
            ("!=1.2.3", "1.2.4", true),
            ("=1.2.3", "1.2.3", true),
        ];
        for (c, v, want) in cases {
            assert_eq!(is_compatible_range(c, v), want, "{c} vs {v}");
        }
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(Constraint::parse(">=").is_err());
        assert!(Constraint::parse("foo").is_err());
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("").is_err());
        assert!(!is_compatible_range(">=1", "abc"));
    }
}
