//! Sprig defaults, flow control, reflection, paths, URLs and network functions.

use super::lists::{deep_equal, is_empty};
use super::{arity, arity_min, b_arg, reg1, s_arg};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::{Map, Value};

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "default", |n, a| {
        arity_min(n, a, 1)?;
        let d = &a[0];
        match a.get(1) {
            Some(given) if !is_empty(given) => Ok(given.clone()),
            _ => Ok(d.clone()),
        }
    });
    reg1(m, "empty", |n, a| {
        arity(n, a, 1)?;
        Ok(Value::Bool(is_empty(&a[0])))
    });
    reg1(m, "coalesce", |_, a| {
        Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or_default())
    });
    reg1(m, "all", |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    reg1(m, "any", |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    reg1(m, "ternary", |n, a| {
        arity(n, a, 3)?;
        Ok(if b_arg(a, 2)? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    for name in ["deepCopy", "mustDeepCopy"] {
        reg1(m, name, |n, a| {
            arity(n, a, 1)?;
            Ok(a[0].deep_copy())
        });
    }
    reg1(m, "typeOf", |n, a| {
        arity(n, a, 1)?;
        Ok(a[0].type_name().into())
    });
    reg1(m, "typeIs", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Bool(s_arg(a, 0)? == a[1].type_name()))
    });
    reg1(m, "typeIsLike", |n, a| {
        arity(n, a, 2)?;
        let t = s_arg(a, 0)?;
        let actual = a[1].type_name();
        Ok(Value::Bool(actual == t || actual == format!("*{t}")))
    });
    reg1(m, "kindOf", |n, a| {
        arity(n, a, 1)?;
        Ok(go_kind(&a[0]).into())
    });
    reg1(m, "kindIs", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Bool(s_arg(a, 0)? == go_kind(&a[1])))
    });
    reg1(m, "deepEqual", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
    reg1(m, "fail", |n, a| {
        arity(n, a, 1)?;
        Err(FuncError::Message(s_arg(a, 0)?.to_string()))
    });
    reg1(m, "getHostByName", |n, a| {
        arity(n, a, 1)?;
        let host = s_arg(a, 0)?;
        use std::net::ToSocketAddrs as _;
        let addr = (host, 0)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .map(|sa| sa.ip().to_string())
            .unwrap_or_default();
        Ok(addr.into())
    });
    for (name, op) in [
        ("base", PathOp::Base),
        ("osBase", PathOp::Base),
        ("dir", PathOp::Dir),
        ("osDir", PathOp::Dir),
        ("clean", PathOp::Clean),
        ("osClean", PathOp::Clean),
        ("ext", PathOp::Ext),
        ("osExt", PathOp::Ext),
        ("isAbs", PathOp::IsAbs),
        ("osIsAbs", PathOp::IsAbs),
    ] {
        m.insert(
            name.into(),
            crate::func(move |_, a| {
                arity(name, a, 1)?;
                let p = s_arg(a, 0)?;
                Ok(match op {
                    PathOp::Base => path_base(p).into(),
                    PathOp::Dir => path_dir(p).into(),
                    PathOp::Clean => path_clean(p).into(),
                    PathOp::Ext => path_ext(p).into(),
                    PathOp::IsAbs => Value::Bool(p.starts_with('/')),
                })
            }),
        );
    }
    reg1(m, "urlParse", |n, a| {
        arity(n, a, 1)?;
        url_parse(s_arg(a, 0)?)
    });
    reg1(m, "urlJoin", |n, a| {
        arity(n, a, 1)?;
        let Value::Map(d) = &a[0] else {
            return Err(FuncError::Usage(format!(
                "wrong type for value; expected map[string]interface {{}}; got {}",
                a[0].type_name()
            )));
        };
        Ok(url_join(&d.snapshot()).into())
    });
}

fn go_kind(v: &Value) -> String {
    match v {
        Value::Nil => "invalid".into(),
        other => other.kind_name(),
    }
}

#[derive(Clone, Copy)]
enum PathOp {
    Base,
    Dir,
    Clean,
    Ext,
    IsAbs,
}

/// Go's `path.Clean`.
pub(crate) fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

fn url_parse(s: &str) -> Result<Value, FuncError> {
    let (rest, fragment) = match s.split_once('#') {
        Some((r, f)) => (r, f),
        None => (s, ""),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let mut scheme = "";
    let mut after = rest;
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if !cand.is_empty()
            && cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand;
            after = &rest[i + 1..];
        }
    }
    let (mut userinfo, mut host, mut path, mut opaque) = ("", "", after, "");
    if let Some(auth_rest) = after.strip_prefix("//") {
        let (auth, p) = match auth_rest.find('/') {
            Some(i) => (&auth_rest[..i], &auth_rest[i..]),
            None => (auth_rest, ""),
        };
        path = p;
        match auth.rsplit_once('@') {
            Some((u, h)) => {
                userinfo = u;
                host = h;
            }
            None => host = auth,
        }
    } else if !scheme.is_empty() && !after.starts_with('/') {
        opaque = after;
        path = "";
    }
    let hostname = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    let mut m = Map::new();
    m.insert("scheme".into(), scheme.into());
    m.insert("host".into(), host.into());
    m.insert("hostname".into(), hostname.into());
    m.insert("path".into(), path.into());
    m.insert("query".into(), query.into());
    m.insert("opaque".into(), opaque.into());
    m.insert("fragment".into(), fragment.into());
    m.insert("userinfo".into(), userinfo.into());
    Ok(Value::map(m))
}

fn url_join(d: &Map) -> String {
    let get = |k: &str| d.get(k).map(super::strval).unwrap_or_default();
    let mut out = String::new();
    let scheme = get("scheme");
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    let opaque = get("opaque");
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        let host = get("host");
        let userinfo = get("userinfo");
        if !host.is_empty() || !scheme.is_empty() || !userinfo.is_empty() {
            out.push_str("//");
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        let path = get("path");
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    let query = get("query");
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    let fragment = get("fragment");
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_paths() {
        assert_eq!(path_clean("a/../b/./c/"), "b/c");
        assert_eq!(path_clean("/../a"), "/a");
        assert_eq!(path_base("/a/b.txt"), "b.txt");
        assert_eq!(path_dir("/a/b.txt"), "/a");
        assert_eq!(path_dir("b.txt"), ".");
        assert_eq!(path_ext("a/b.tar.gz"), ".gz");
    }
}
