//! Validation of object metadata: names, generateName, labels, annotations, finalizers.

use serde_json::{Value, json};

use crate::resources::NameRule;
use crate::status::StatusCause;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// Total size limit of all annotations (256 KiB), as upstream.
pub const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label)
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Problems with a qualified name (`prefix/name` label or annotation key).
fn qualified_name_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else if !is_subdomain(p) {
            errs.push(format!("prefix part {SUBDOMAIN_MSG}"));
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    } else if !is_qualified_name_part(name) {
        errs.push(QUALIFIED_NAME_MSG.to_string());
    }
    if name.contains('/') {
        errs.push(QUALIFIED_NAME_MSG.to_string());
    }
    errs
}

/// Validate an object name under a rule; returns the causes (field `metadata.name`).
pub fn validate_name(name: &str, rule: NameRule, field: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let v = json!(name);
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                causes.push(StatusCause::invalid(
                    field,
                    &v,
                    "must be no more than 253 characters",
                ));
            } else if !is_subdomain(name) {
                causes.push(StatusCause::invalid(field, &v, SUBDOMAIN_MSG));
            }
        }
        NameRule::Label => {
            if name.len() > 63 {
                causes.push(StatusCause::invalid(
                    field,
                    &v,
                    "must be no more than 63 characters",
                ));
            } else if !is_label(name) {
                causes.push(StatusCause::invalid(field, &v, LABEL_MSG));
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                causes.push(StatusCause::invalid(
                    field,
                    &v,
                    &format!("may not be '{name}'"),
                ));
            } else if name.contains('/') || name.contains('%') {
                causes.push(StatusCause::invalid(
                    field,
                    &v,
                    "may not contain '/' or '%'",
                ));
            }
        }
    }
    causes
}

/// Validate `metadata` (labels, annotations, finalizers, ownerReferences shape).
pub fn validate_metadata(meta: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    if let Some(labels) = meta.get("labels") {
        match labels.as_object() {
            Some(map) => {
                for (k, v) in map {
                    for err in qualified_name_errors(k) {
                        causes.push(StatusCause::invalid("metadata.labels", &json!(k), &err));
                    }
                    match v.as_str() {
                        Some(s) => {
                            if s.len() > 63 {
                                causes.push(StatusCause::invalid(
                                    "metadata.labels",
                                    &json!(s),
                                    "must be no more than 63 characters",
                                ));
                            } else if !s.is_empty() && !is_qualified_name_part(s) {
                                causes.push(StatusCause::invalid(
                                    "metadata.labels",
                                    &json!(s),
                                    LABEL_VALUE_MSG,
                                ));
                            }
                        }
                        None if v.is_null() => {}
                        None => causes.push(StatusCause::invalid(
                            format!("metadata.labels.{k}"),
                            v,
                            "must be a string",
                        )),
                    }
                }
            }
            None if labels.is_null() => {}
            None => causes.push(StatusCause::invalid(
                "metadata.labels",
                labels,
                "must be a map of string to string",
            )),
        }
    }
    if let Some(annotations) = meta.get("annotations") {
        match annotations.as_object() {
            Some(map) => {
                let mut total = 0usize;
                for (k, v) in map {
                    for err in qualified_name_errors(&k.to_ascii_lowercase()) {
                        causes.push(StatusCause::invalid(
                            "metadata.annotations",
                            &json!(k),
                            &err,
                        ));
                    }
                    total += k.len() + v.as_str().map_or(0, str::len);
                    if !v.is_string() && !v.is_null() {
                        causes.push(StatusCause::invalid(
                            format!("metadata.annotations.{k}"),
                            v,
                            "must be a string",
                        ));
                    }
                }
                if total > ANNOTATIONS_SIZE_LIMIT {
                    causes.push(StatusCause::too_long(
                        "metadata.annotations",
                        &format!("may not be more than {ANNOTATIONS_SIZE_LIMIT} bytes"),
                    ));
                }
            }
            None if annotations.is_null() => {}
            None => causes.push(StatusCause::invalid(
                "metadata.annotations",
                annotations,
                "must be a map of string to string",
            )),
        }
    }
    if let Some(finalizers) = meta.get("finalizers") {
        match finalizers.as_array() {
            Some(list) => {
                for (i, f) in list.iter().enumerate() {
                    let field = format!("metadata.finalizers[{i}]");
                    match f.as_str() {
                        Some(s) => {
                            for err in qualified_name_errors(s) {
                                causes.push(StatusCause::invalid(field.clone(), f, &err));
                            }
                        }
                        None => causes.push(StatusCause::invalid(field, f, "must be a string")),
                    }
                }
            }
            None if finalizers.is_null() => {}
            None => causes.push(StatusCause::invalid(
                "metadata.finalizers",
                finalizers,
                "must be a list of strings",
            )),
        }
    }
    if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
        for (i, o) in owners.iter().enumerate() {
            for field in ["apiVersion", "kind", "name", "uid"] {
                if o.get(field)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    causes.push(StatusCause::required(
                        format!("metadata.ownerReferences[{i}].{field}"),
                        "",
                    ));
                }
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("a.b-c", NameRule::Subdomain, "metadata.name").is_empty());
        assert_eq!(
            validate_name("Bad_Name", NameRule::Subdomain, "metadata.name").len(),
            1
        );
        assert_eq!(
            validate_name("a.b", NameRule::Label, "metadata.name").len(),
            1
        );
        assert!(validate_name("system:admin", NameRule::PathSegment, "metadata.name").is_empty());
    }

    #[test]
    fn labels_and_annotations() {
        let ok = json!({"labels": {"app.kubernetes.io/name": "web", "x": ""},
                        "annotations": {"Kubectl.io/Note": "anything goes"}});
        assert!(validate_metadata(&ok).is_empty());
        let bad = json!({"labels": {"-bad": "v", "k": "has space"}});
        assert_eq!(validate_metadata(&bad).len(), 2);
    }
}
