//! Masterminds/semver v3 versions and constraints (what Sprig's `semver` and
//! `semverCompare`, and Helm's dependency ranges, use).

use std::cmp::Ordering;

use super::{arity, reg1, s_arg};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::{Object, Value};

/// A semantic version, parsed leniently as Masterminds' `NewVersion` does
/// (optional `v`, missing minor/patch = 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: String,
    pub metadata: String,
    pub original: String,
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Version {
    /// Parses a version; the error text is Masterminds' ("Invalid Semantic Version").
    pub fn parse(s: &str) -> Result<Version, String> {
        let invalid = || "Invalid Semantic Version".to_string();
        let body = s.strip_prefix('v').unwrap_or(s);
        let (body, metadata) = match body.split_once('+') {
            Some((b, m)) => {
                if !ident_ok(m) {
                    return Err(invalid());
                }
                (b, m.to_string())
            }
            None => (body, String::new()),
        };
        let (core, pre) = match body.split_once('-') {
            Some((c, p)) => {
                if !ident_ok(p) {
                    return Err(invalid());
                }
                (c, p.to_string())
            }
            None => (body, String::new()),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(invalid());
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            nums[i] = p.parse().map_err(|_| invalid())?;
        }
        for id in pre.split('.').filter(|_| !pre.is_empty()) {
            if id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Version segment starts with 0".into());
            }
        }
        Ok(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            prerelease: pre,
            metadata,
            original: s.to_string(),
        })
    }

    /// Masterminds' `Compare` (metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| compare_prerelease(&self.prerelease, &o.prerelease))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.prerelease.is_empty() {
            write!(f, "-{}", self.prerelease)?;
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
    let pa: Vec<&str> = a.split('.').collect();
    let pb: Vec<&str> = b.split('.').collect();
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = match (pa.get(i), pb.get(i)) {
            (Some(x), Some(y)) => (*x, *y),
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => break,
        };
        let xn = x
            .parse::<u64>()
            .ok()
            .filter(|_| x.bytes().all(|c| c.is_ascii_digit()));
        let yn = y
            .parse::<u64>()
            .ok()
            .filter(|_| y.bytes().all(|c| c.is_ascii_digit()));
        let o = match (xn, yn) {
            (Some(p), Some(q)) => p.cmp(&q),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Single {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: OR of AND groups.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Single>>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_single(op: &str, ver: &str) -> Result<Single, String> {
    let op = match op {
        "" | "=" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        "<" => Op::Lt,
        ">=" | "=>" => Op::Ge,
        "<=" | "=<" => Op::Le,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        other => return Err(format!("improper constraint: {other}{ver}")),
    };
    let body = ver.strip_prefix('v').unwrap_or(ver);
    let (core, suffix) = match body.find(['-', '+']) {
        Some(i) => (&body[..i], &body[i..]),
        None => (body, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("improper constraint: {ver}"));
    }
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let normalized = if parts.is_empty() || is_x(parts[0]) {
        dirty = true;
        format!("0.0.0{suffix}")
    } else if parts.len() < 2 || is_x(parts[1]) {
        dirty = true;
        minor_dirty = true;
        format!("{}.0.0{suffix}", parts[0])
    } else if parts.len() < 3 || is_x(parts[2]) {
        dirty = true;
        patch_dirty = true;
        format!("{}.{}.0{suffix}", parts[0], parts[1])
    } else {
        format!("{core}{suffix}")
    };
    let con = Version::parse(&normalized).map_err(|_| format!("improper constraint: {ver}"))?;
    Ok(Single {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Constraints {
    /// Parses a Masterminds constraint string (`,` or space = AND, `||` = OR,
    /// hyphen ranges, wildcards, `~`, `^`).
    pub fn parse(s: &str) -> Result<Constraints, String> {
        let mut groups = Vec::new();
        for or_part in s.split("||") {
            let tokens = tokenize(or_part)?;
            let mut group = Vec::new();
            let mut i = 0;
            while i < tokens.len() {
                // hyphen range: A - B
                if i + 2 < tokens.len() && tokens[i + 1] == "-" {
                    group.push(parse_single(">=", &tokens[i])?);
                    group.push(parse_single("<=", &tokens[i + 2])?);
                    i += 3;
                    continue;
                }
                let t = &tokens[i];
                let split = t
                    .find(|c: char| !matches!(c, '=' | '!' | '<' | '>' | '~' | '^'))
                    .unwrap_or(t.len());
                let (op, ver) = t.split_at(split);
                if ver.is_empty() {
                    // operator separated from its version by spaces
                    let Some(next) = tokens.get(i + 1) else {
                        return Err(format!("improper constraint: {s}"));
                    };
                    group.push(parse_single(op, next)?);
                    i += 2;
                    continue;
                }
                group.push(parse_single(op, ver)?);
                i += 1;
            }
            if group.is_empty() {
                return Err(format!("improper constraint: {s}"));
            }
            groups.push(group);
        }
        Ok(Constraints { groups })
    }

    /// True when `v` satisfies any AND group.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|c| check_single(c, v)))
    }
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    Ok(s.split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect())
}

fn check_single(c: &Single, v: &Version) -> bool {
    let pre_blocked = !v.prerelease.is_empty() && c.con.prerelease.is_empty();
    let cmp = v.compare(&c.con);
    match c.op {
        Op::Eq => {
            if pre_blocked {
                return false;
            }
            if c.dirty {
                return tilde(c, v);
            }
            cmp == Ordering::Equal
        }
        Op::Ne => {
            if c.dirty {
                if pre_blocked {
                    return false;
                }
                if c.con.major != v.major {
                    return true;
                }
                if c.minor_dirty {
                    return false;
                }
                if c.con.minor != v.minor {
                    return true;
                }
                if c.patch_dirty {
                    if !v.prerelease.is_empty() || !c.con.prerelease.is_empty() {
                        return compare_prerelease(&v.prerelease, &c.con.prerelease)
                            != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        Op::Gt => {
            if pre_blocked {
                return false;
            }
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major != c.con.major {
                return v.major > c.con.major;
            }
            if c.minor_dirty {
                return false;
            }
            if c.patch_dirty {
                return v.minor > c.con.minor;
            }
            cmp == Ordering::Greater
        }
        Op::Lt => !pre_blocked && cmp == Ordering::Less,
        Op::Ge => !pre_blocked && cmp != Ordering::Less,
        Op::Le => {
            if pre_blocked {
                return false;
            }
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            if v.major > c.con.major {
                return false;
            }
            if v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty {
                return false;
            }
            true
        }
        Op::Tilde => !pre_blocked && tilde(c, v),
        Op::Caret => {
            if pre_blocked || cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.major == 0 && v.minor == c.con.minor;
            }
            v.major == 0 && v.minor == 0 && v.patch == c.con.patch
        }
    }
}

fn tilde(c: &Single, v: &Version) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    if v.minor != c.con.minor && !c.minor_dirty {
        return false;
    }
    true
}

/// The template object `semver` returns (`.Major`, `.Minor`, `.Patch`, `.Prerelease`,
/// `.Metadata`, `.Original`, `.String`, `.Compare`, `.GreaterThan`, `.LessThan`, `.Equal`).
#[derive(Debug)]
struct SemverObject(Version);

impl Object for SemverObject {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn kind(&self) -> &str {
        "ptr"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let v = &self.0;
        Some(match name {
            "Major" => Value::Int(v.major as i64),
            "Minor" => Value::Int(v.minor as i64),
            "Patch" => Value::Int(v.patch as i64),
            "Prerelease" => v.prerelease.as_str().into(),
            "Metadata" => v.metadata.as_str().into(),
            "Original" => v.original.as_str().into(),
            "String" => v.to_string().into(),
            _ => return None,
        })
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let other = match args.first() {
            Some(Value::Object(o)) => o.as_any().downcast_ref::<SemverObject>().map(|s| &s.0),
            _ => None,
        };
        let cmp = |f: fn(Ordering) -> Value| match other {
            Some(o) => Ok(f(self.0.compare(o))),
            None => Err("wrong type for value; expected *semver.Version".to_string()),
        };
        Some(match name {
            "Compare" => cmp(|o| Value::Int(o as i64)),
            "GreaterThan" => cmp(|o| Value::Bool(o == Ordering::Greater)),
            "LessThan" => cmp(|o| Value::Bool(o == Ordering::Less)),
            "Equal" => cmp(|o| Value::Bool(o == Ordering::Equal)),
            _ => return None,
        })
    }
    fn display(&self) -> String {
        self.0.to_string()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub(super) fn register(m: &mut crate::FuncMap) {
    reg1(m, "semver", |n, a| {
        arity(n, a, 1)?;
        let v = Version::parse(s_arg(a, 0)?).map_err(FuncError::Message)?;
        Ok(Value::object(SemverObject(v)))
    });
    reg1(m, "semverCompare", |n, a| {
        arity(n, a, 2)?;
        let c = Constraints::parse(s_arg(a, 0)?).map_err(FuncError::Message)?;
        let v = Version::parse(s_arg(a, 1)?).map_err(FuncError::Message)?;
        Ok(Value::Bool(c.check(&v)))
    });
    let _: Option<&FuncMap> = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sat(c: &str, v: &str) -> bool {
        let c = Constraints::parse(c).unwrap_or(Constraints { groups: vec![] });
        Version::parse(v).map(|v| c.check(&v)).unwrap_or(false)
    }

    #[test]
    fn masterminds_constraints() {
        assert!(sat(">=1.2, <2", "1.5.0"));
        assert!(sat(">=1.2 <2", "1.5.0"));
        assert!(!sat(">=1.2 <2", "2.0.0"));
        assert!(sat("<1 || >=3", "3.1.0"));
        assert!(sat("1.2 - 1.4.5", "1.4.5"));
        assert!(!sat("1.2 - 1.4.5", "1.4.6"));
        assert!(sat("~1.2.3", "1.2.9"));
        assert!(!sat("~1.2.3", "1.3.0"));
        assert!(sat("^1.2.3", "1.9.0"));
        assert!(!sat("^0.2.3", "0.3.0"));
        assert!(sat("1.2.x", "1.2.7"));
        assert!(sat("*", "4.0.0"));
        assert!(sat(">=1.21-0", "v1.33.0-gke.100"));
        assert!(!sat(">=1.21", "1.33.0-gke.100"));
        assert!(sat(">= 1.19", "v1.33.0"));
        assert!(sat("!=1.2.3", "1.2.4"));
        assert!(!sat(">1.21", "1.21.5"));
    }
}
