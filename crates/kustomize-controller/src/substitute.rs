//! Flux's post-build variable substitution (`spec.postBuild`): the `${var}` dialect of
//! fluxcd/pkg/envsubst, pure.
//!
//! * `${var}`: the value, or empty when unset (an error in strict mode);
//! * `${var:=default}` / `${var:-default}`: the default when unset or empty;
//! * `${var=default}` / `${var-default}`: the default only when unset;
//! * `$${var}` is the escape for a literal `${var}`; a bare `$var` is left alone.
//!
//! Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are
//! skipped.

use std::collections::BTreeMap;

use serde_json::Value;

/// The opt-out label/annotation.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// Strict mode and a variable without a value or default.
    #[error("variable not set (strict mode): {0:?}")]
    Undefined(String),
    /// A `${` without its closing `}`.
    #[error("missing closing brace for the variable at byte {0}")]
    Unclosed(usize),
    /// A variable name that is not a shell identifier.
    #[error("'{0}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'")]
    InvalidName(String),
}

/// Whether `name` is a valid variable name.
pub fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Checks that every key of `vars` is a valid variable name.
pub fn check_var_names(vars: &BTreeMap<String, String>) -> Result<(), SubstituteError> {
    match vars.keys().find(|k| !valid_var_name(k)) {
        Some(bad) => Err(SubstituteError::InvalidName(bad.clone())),
        None => Ok(()),
    }
}

/// Substitutes the variables in `input`.
pub fn eval(
    input: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, SubstituteError> {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut plain_start = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'$') && bytes.get(i + 2) == Some(&b'{') {
            // `$${…}` → literal `${…}`.
            out.push_str(&input[plain_start..i]);
            out.push('$');
            i += 2;
            // Copy up to the closing brace literally.
            let end = matching_brace(bytes, i + 1).ok_or(SubstituteError::Unclosed(i))?;
            out.push_str(&input[i..=end]);
            i = end + 1;
            plain_start = i;
            continue;
        }
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            out.push_str(&input[plain_start..i]);
            let end = matching_brace(bytes, i + 2).ok_or(SubstituteError::Unclosed(i))?;
            let expr = &input[i + 2..end];
            out.push_str(&eval_expr(expr, vars, strict)?);
            i = end + 1;
            plain_start = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&input[plain_start..]);
    Ok(out)
}

/// Index of the `}` closing a `${` whose body starts at `from` (nested `${…}` counted).
fn matching_brace(bytes: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn eval_expr(
    expr: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, SubstituteError> {
    let name_len = expr
        .char_indices()
        .find(|(_, c)| !(*c == '_' || c.is_ascii_alphanumeric()))
        .map(|(i, _)| i)
        .unwrap_or(expr.len());
    let (name, rest) = expr.split_at(name_len);
    let value = vars.get(name);
    let default = |op_len: usize| eval(&rest[op_len..], vars, strict);
    if rest.is_empty() {
        return match value {
            Some(v) => Ok(v.clone()),
            None if strict => Err(SubstituteError::Undefined(name.to_string())),
            None => Ok(String::new()),
        };
    }
    if rest.starts_with(":=") || rest.starts_with(":-") {
        return match value {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => default(2),
        };
    }
    if rest.starts_with('=') || rest.starts_with('-') {
        return match value {
            Some(v) => Ok(v.clone()),
            None => default(1),
        };
    }
    // Other shell operators are not part of the dialect we support: the value as is.
    match value {
        Some(v) => Ok(v.clone()),
        None if strict => Err(SubstituteError::Undefined(name.to_string())),
        None => Ok(String::new()),
    }
}

/// Whether substitution is disabled on `object` by label or annotation.
pub fn substitution_disabled(object: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        object
            .pointer(&format!(
                "/metadata/{field}/{}",
                SUBSTITUTE_ANNOTATION.replace('/', "~1")
            ))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("region".to_string(), "eu".to_string()),
            ("empty".to_string(), String::new()),
        ])
    }

    #[test]
    fn forms() {
        let v = vars();
        let cases = [
            ("a: ${region}", "a: eu"),
            ("a: ${missing}", "a: "),
            ("a: ${missing:=x}", "a: x"),
            ("a: ${empty:=x}", "a: x"),
            ("a: ${empty=x}", "a: "),
            ("a: ${missing-y}", "a: y"),
            ("a: ${missing:=${region}}", "a: eu"),
            ("a: $region", "a: $region"),
            ("a: $${region}", "a: ${region}"),
            ("a: $5 ${region}-${region}", "a: $5 eu-eu"),
        ];
        for (input, want) in cases {
            assert_eq!(eval(input, &v, false).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn strict_mode() {
        let v = vars();
        assert_eq!(
            eval("x: ${nope}", &v, true),
            Err(SubstituteError::Undefined("nope".into()))
        );
        assert_eq!(eval("x: ${nope:=d}", &v, true).as_deref(), Ok("x: d"));
        assert_eq!(
            eval("x: ${unclosed", &v, false),
            Err(SubstituteError::Unclosed(3))
        );
    }

    #[test]
    fn names_and_opt_out() {
        assert!(valid_var_name("_a1"));
        assert!(!valid_var_name("1a"));
        assert!(!valid_var_name("a-b"));
        let obj =
            serde_json::json!({"metadata": {"annotations": {SUBSTITUTE_ANNOTATION: "disabled"}}});
        assert!(substitution_disabled(&obj));
        assert!(!substitution_disabled(&serde_json::json!({"metadata": {}})));
    }
}
