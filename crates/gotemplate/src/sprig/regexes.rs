//! Sprig regular-expression functions (RE2 syntax via the `regex` crate).

use regex::Regex;

use super::{arity, i_arg, reg1, s_arg};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::Value;

fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("error parsing regexp: {e}"))
}

/// Go's `Regexp.ReplaceAllString` template expansion (`$1`, `${name}`).
fn expand_go(re: &Regex, src: &str, repl: &str) -> String {
    // Go treats `$name` greedily as the longest identifier; the regex crate does too,
    // but Go's unknown groups expand to "" just like regex's.
    re.replace_all(src, repl).into_owned()
}

fn find_all(re: &Regex, s: &str, n: i64) -> Vec<Value> {
    let it = re.find_iter(s).map(|m| Value::from(m.as_str()));
    if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }
}

fn split(re: &Regex, s: &str, n: i64) -> Vec<Value> {
    if n == 0 {
        return Vec::new();
    }
    if re.as_str().is_empty() && !s.is_empty() {
        // Go splits into characters for an empty expression.
        let chars: Vec<String> = s.chars().map(|c| c.to_string()).collect();
        return chars.into_iter().map(Value::from).collect();
    }
    let parts: Vec<Value> = if n < 0 {
        re.split(s).map(Value::from).collect()
    } else {
        re.splitn(s, n as usize).map(Value::from).collect()
    };
    parts
}

type Op = fn(&Regex, &[Value]) -> Result<Value, FuncError>;

fn register_pair(
    m: &mut FuncMap,
    plain: &'static str,
    must: &'static str,
    argc: usize,
    op: Op,
    fallback: Option<fn() -> Value>,
) {
    m.insert(
        plain.into(),
        crate::func(move |_, a| {
            arity(plain, a, argc)?;
            match (compile(s_arg(a, 0)?), fallback) {
                (Ok(re), _) => op(&re, a),
                (Err(_), Some(f)) => Ok(f()),
                (Err(e), None) => Err(FuncError::Message(e)),
            }
        }),
    );
    m.insert(
        must.into(),
        crate::func(move |_, a| {
            arity(must, a, argc)?;
            let re = compile(s_arg(a, 0)?).map_err(FuncError::Message)?;
            op(&re, a)
        }),
    );
}

pub(super) fn register(m: &mut FuncMap) {
    register_pair(
        m,
        "regexMatch",
        "mustRegexMatch",
        2,
        |re, a| Ok(Value::Bool(re.is_match(s_arg(a, 1)?))),
        Some(|| Value::Bool(false)),
    );
    register_pair(
        m,
        "regexFind",
        "mustRegexFind",
        2,
        |re, a| {
            Ok(re
                .find(s_arg(a, 1)?)
                .map(|m| m.as_str())
                .unwrap_or("")
                .into())
        },
        None,
    );
    register_pair(
        m,
        "regexFindAll",
        "mustRegexFindAll",
        3,
        |re, a| Ok(Value::list(find_all(re, s_arg(a, 1)?, i_arg(a, 2)?))),
        None,
    );
    register_pair(
        m,
        "regexReplaceAll",
        "mustRegexReplaceAll",
        3,
        |re, a| Ok(expand_go(re, s_arg(a, 1)?, s_arg(a, 2)?).into()),
        None,
    );
    register_pair(
        m,
        "regexReplaceAllLiteral",
        "mustRegexReplaceAllLiteral",
        3,
        |re, a| {
            Ok(re
                .replace_all(s_arg(a, 1)?, regex::NoExpand(s_arg(a, 2)?))
                .into_owned()
                .into())
        },
        None,
    );
    register_pair(
        m,
        "regexSplit",
        "mustRegexSplit",
        3,
        |re, a| Ok(Value::list(split(re, s_arg(a, 1)?, i_arg(a, 2)?))),
        None,
    );
    reg1(m, "regexQuoteMeta", |n, a| {
        arity(n, a, 1)?;
        let mut out = String::new();
        for c in s_arg(a, 0)?.chars() {
            if "\\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        Ok(out.into())
    });
}
