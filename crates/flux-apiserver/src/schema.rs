//! Structural schemas of CustomResourceDefinitions: pruning, defaulting and validation
//! of custom resources (written here; upstream's are Go).
//!
//! Order on every write, as upstream: prune unknown fields, apply defaults, validate.

use serde_json::{Map, Value};

use crate::status::{StatusCause, render_value};

fn is_true(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn props(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// Remove fields the schema does not know (`x-kubernetes-preserve-unknown-fields` keeps
/// them). At the root, `apiVersion`, `kind` and `metadata` are always kept.
pub fn prune_root(obj: &mut Value, schema: &Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let preserve = is_true(schema, "x-kubernetes-preserve-unknown-fields");
    let known = props(schema);
    map.retain(|k, _| {
        matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
            || preserve
            || known.is_some_and(|p| p.contains_key(k))
    });
    for (k, v) in map.iter_mut() {
        if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(sub) = known.and_then(|p| p.get(k)) {
            prune(v, sub);
        }
    }
}

fn prune(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            if is_true(schema, "x-kubernetes-embedded-resource") {
                let mut inner = Value::Object(std::mem::take(map));
                prune_root(&mut inner, schema);
                if let Value::Object(m) = inner {
                    *map = m;
                }
                return;
            }
            let preserve = is_true(schema, "x-kubernetes-preserve-unknown-fields");
            if let Some(known) = props(schema) {
                if !preserve {
                    map.retain(|k, _| known.contains_key(k));
                }
                for (k, v) in map.iter_mut() {
                    if let Some(sub) = known.get(k) {
                        prune(v, sub);
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties") {
                if additional.is_object() {
                    for v in map.values_mut() {
                        prune(v, additional);
                    }
                }
            } else if !preserve {
                map.clear();
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    prune(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Fill in `default`s of absent (or null, non-nullable) fields, recursively.
pub fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(known) = props(schema) {
                for (k, sub) in known {
                    if let Some(default) = sub.get("default") {
                        let absent = match map.get(k) {
                            None => true,
                            Some(Value::Null) => !is_true(sub, "nullable"),
                            Some(_) => false,
                        };
                        if absent {
                            map.insert(k.clone(), default.clone());
                        }
                    }
                }
                for (k, v) in map.iter_mut() {
                    if k == "metadata" || k == "apiVersion" || k == "kind" {
                        continue;
                    }
                    if let Some(sub) = known.get(k) {
                        apply_defaults(v, sub);
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties")
                && additional.is_object()
            {
                for v in map.values_mut() {
                    apply_defaults(v, additional);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => match v {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        "number" => v.is_number(),
        _ => true,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A type (or format) error: upstream's `field.TypeInvalid`.
fn type_invalid(path: &str, value: &Value, detail: String) -> StatusCause {
    StatusCause {
        reason: "FieldValueTypeInvalid".into(),
        ..StatusCause::invalid(path, value, &detail)
    }
}

fn invalid(path: &str, value: &Value, detail: String, causes: &mut Vec<StatusCause>) {
    causes.push(StatusCause::invalid(path, value, &detail));
}

/// Validate a custom resource against its schema; every failure is one cause with a
/// field path (`spec.replicas`). `metadata` is validated elsewhere.
pub fn validate_root(obj: &Value, schema: &Value) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let Some(map) = obj.as_object() else {
        return causes;
    };
    if let Some(known) = props(schema) {
        for (k, sub) in known {
            if matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                continue;
            }
            if let Some(v) = map.get(k) {
                validate(v, sub, k, &mut causes);
            }
        }
    }
    check_required(map, schema, "", &mut causes);
    causes
}

fn check_required(
    map: &Map<String, Value>,
    schema: &Value,
    path: &str,
    causes: &mut Vec<StatusCause>,
) {
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if matches!(map.get(r), None | Some(Value::Null)) {
                causes.push(StatusCause::required(join(path, r), ""));
            }
        }
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn validate(value: &Value, schema: &Value, path: &str, causes: &mut Vec<StatusCause>) {
    if value.is_null() {
        if is_true(schema, "nullable") {
            return;
        }
        // A null for a field with a type is a type error, as upstream.
        if let Some(ty) = schema.get("type").and_then(Value::as_str) {
            causes.push(type_invalid(
                path,
                &Value::String("null".into()),
                format!("{path} in body must be of type {ty}: \"null\""),
            ));
        }
        return;
    }
    if is_true(schema, "x-kubernetes-int-or-string") {
        if !(value.is_string() || type_matches(value, "integer")) {
            causes.push(type_invalid(
                path,
                value,
                format!(
                    "{path} in body must be of type integer,string: \"{}\"",
                    type_name(value)
                ),
            ));
            return;
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str)
        && !type_matches(value, ty)
    {
        let actual = type_name(value);
        causes.push(type_invalid(
            path,
            &Value::String(actual.into()),
            format!("{path} in body must be of type {ty}: \"{actual}\""),
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        causes.push(StatusCause::not_supported(path, value, allowed));
    }
    match value {
        Value::Object(map) => {
            if is_true(schema, "x-kubernetes-embedded-resource") {
                for field in ["apiVersion", "kind"] {
                    if map
                        .get(field)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        causes.push(StatusCause::required(
                            join(path, field),
                            "must not be empty",
                        ));
                    }
                }
            }
            if let Some(known) = props(schema) {
                for (k, v) in map {
                    if let Some(sub) = known.get(k) {
                        validate(v, sub, &join(path, k), causes);
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties")
                && additional.is_object()
            {
                for (k, v) in map {
                    validate(v, additional, &join(path, k), causes);
                }
            }
            check_required(map, schema, path, causes);
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                && map.len() as u64 > max
            {
                causes.push(StatusCause {
                    reason: "FieldValueTooMany".into(),
                    message: format!("Too many: {}: must have at most {max} items", map.len()),
                    field: path.to_string(),
                });
            }
            if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
                && (map.len() as u64) < min
            {
                invalid(
                    path,
                    &Value::from(map.len()),
                    format!("{path} in body should have at least {min} properties"),
                    causes,
                );
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item, item_schema, &format!("{path}[{i}]"), causes);
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                causes.push(StatusCause {
                    reason: "FieldValueTooMany".into(),
                    message: format!("Too many: {}: must have at most {max} items", items.len()),
                    field: path.to_string(),
                });
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                invalid(
                    path,
                    value,
                    format!("{path} in body should have at least {min} items"),
                    causes,
                );
            }
            check_list_type(items, schema, path, causes);
        }
        Value::String(s) => {
            if let Some(format) = schema.get("format").and_then(Value::as_str)
                && !is_true(schema, "x-kubernetes-int-or-string")
                && crate::formats::check(format, s) == Some(false)
            {
                causes.push(type_invalid(
                    path,
                    value,
                    format!(
                        "{path} in body must be of type {format}: {}",
                        render_value(value)
                    ),
                ));
            }
            let len = s.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                causes.push(StatusCause::too_long(
                    path,
                    &format!("may not be more than {max} bytes"),
                ));
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                invalid(
                    path,
                    value,
                    format!("{path} in body should be at least {min} chars long"),
                    causes,
                );
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pattern) {
                    Ok(re) if !re.is_match(s) => invalid(
                        path,
                        value,
                        format!("{path} in body should match '{pattern}'"),
                        causes,
                    ),
                    Ok(_) => {}
                    Err(_) => invalid(
                        path,
                        value,
                        format!("the schema pattern '{pattern}' does not compile"),
                        causes,
                    ),
                }
            }
        }
        Value::Number(_) => {
            let Some(n) = number(value) else {
                return;
            };
            if let Some(min) = schema.get("minimum").and_then(number) {
                let exclusive = is_true(schema, "exclusiveMinimum");
                if (exclusive && n <= min) || (!exclusive && n < min) {
                    let op = if exclusive {
                        "greater than"
                    } else {
                        "greater than or equal to"
                    };
                    invalid(
                        path,
                        value,
                        format!(
                            "{path} in body should be {op} {}",
                            render_value(&schema["minimum"])
                        ),
                        causes,
                    );
                }
            }
            if let Some(max) = schema.get("maximum").and_then(number) {
                let exclusive = is_true(schema, "exclusiveMaximum");
                if (exclusive && n >= max) || (!exclusive && n > max) {
                    let op = if exclusive {
                        "less than"
                    } else {
                        "less than or equal to"
                    };
                    invalid(
                        path,
                        value,
                        format!(
                            "{path} in body should be {op} {}",
                            render_value(&schema["maximum"])
                        ),
                        causes,
                    );
                }
            }
            if let Some(m) = schema.get("multipleOf").and_then(number)
                && m != 0.0
                && (n / m).fract() != 0.0
            {
                invalid(
                    path,
                    value,
                    format!(
                        "{path} in body should be a multiple of {}",
                        render_value(&schema["multipleOf"])
                    ),
                    causes,
                );
            }
        }
        _ => {}
    }
}

/// How Go's `%#v` prints a decoded JSON value (for Duplicate causes of map lists).
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| format!("{k:?}:{}", go_value(&m[k.as_str()])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// `x-kubernetes-list-type: set` items and `map` keys must be unique (upstream's
/// `ValidateListSetsAndMaps`): each repeat is a `Duplicate value` cause at its index.
fn check_list_type(items: &[Value], schema: &Value, path: &str, causes: &mut Vec<StatusCause>) {
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    causes.push(StatusCause {
                        reason: "FieldValueDuplicate".into(),
                        message: format!("Duplicate value: {}", go_value(item)),
                        field: format!("{path}[{i}]"),
                    });
                }
            }
        }
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |item: &Value| -> Value {
                let mut m = Map::new();
                for k in &keys {
                    if let Some(v) = item.get(*k) {
                        m.insert((*k).to_string(), v.clone());
                    }
                }
                Value::Object(m)
            };
            let seen: Vec<Value> = items.iter().map(key_of).collect();
            for (i, key) in seen.iter().enumerate() {
                if seen[..i].contains(key) {
                    causes.push(StatusCause {
                        reason: "FieldValueDuplicate".into(),
                        message: format!("Duplicate value: {}", go_value(key)),
                        field: format!("{path}[{i}]"),
                    });
                }
            }
        }
        _ => {}
    }
}

/// Is `schema` structural enough to serve? Returns causes under `field`.
pub fn check_structural(schema: &Value, field: &str) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {}
        Some(other) => causes.push(StatusCause::invalid(
            format!("{field}.type"),
            &Value::String(other.into()),
            "must be object at the root",
        )),
        None => causes.push(StatusCause::required(
            format!("{field}.type"),
            "must not be empty at the root",
        )),
    }
    check_node(schema, field, &mut causes);
    causes
}

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

fn check_node(schema: &Value, field: &str, causes: &mut Vec<StatusCause>) {
    let Some(map) = schema.as_object() else {
        causes.push(StatusCause::invalid(
            field,
            schema,
            "must be a schema object",
        ));
        return;
    };
    match map.get("type") {
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {}
        Some(other) => causes.push(StatusCause::not_supported(
            format!("{field}.type"),
            other,
            &TYPES
                .iter()
                .map(|t| Value::String((*t).into()))
                .collect::<Vec<_>>(),
        )),
        None => {
            if !is_true(schema, "x-kubernetes-int-or-string")
                && !is_true(schema, "x-kubernetes-preserve-unknown-fields")
                && field.contains(".properties")
            {
                causes.push(StatusCause::required(
                    format!("{field}.type"),
                    "must not be empty for specified object fields",
                ));
            }
        }
    }
    if let Some(p) = map.get("properties").and_then(Value::as_object) {
        for (k, sub) in p {
            check_node(sub, &format!("{field}.properties[{k}]"), causes);
        }
    }
    if let Some(items) = map.get("items") {
        check_node(items, &format!("{field}.items"), causes);
    }
    if let Some(add) = map.get("additionalProperties")
        && add.is_object()
    {
        check_node(add, &format!("{field}.additionalProperties"), causes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["url"], "properties": {
                "url": {"type": "string", "pattern": "^https?://"},
                "interval": {"type": "string", "default": "5m"},
                "replicas": {"type": "integer", "minimum": 1},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": true},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "list": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "weight": {"type": "integer", "default": 1}}}}
            }},
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }})
    }

    #[test]
    fn prune_default_validate() {
        let mut obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"},
            "junk": 1,
            "spec": {"url": "http://x", "unknown": true, "extra": {"keep": {"deep": 1}},
                     "list": [{"name": "n", "drop": 1}], "port": "http"}});
        let s = schema();
        prune_root(&mut obj, &s);
        apply_defaults(&mut obj, &s);
        assert!(obj.get("junk").is_none());
        assert!(obj["spec"].get("unknown").is_none());
        assert_eq!(obj["spec"]["extra"]["keep"]["deep"], 1);
        assert_eq!(obj["spec"]["interval"], "5m");
        assert_eq!(obj["spec"]["list"][0], json!({"name": "n", "weight": 1}));
        assert!(validate_root(&obj, &s).is_empty());
    }

    #[test]
    fn list_types_refuse_duplicates() {
        let s = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name", "port"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}}}}});
        let obj = json!({"spec": {"tags": ["a", "b", "a"],
            "ports": [{"name": "h", "port": 80}, {"name": "h", "port": 81}, {"port": 80, "name": "h"}]}});
        let got: Vec<(String, String, String)> = validate_root(&obj, &s)
            .into_iter()
            .map(|c| (c.field, c.reason, c.message))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "spec.tags[2]".to_string(),
                    "FieldValueDuplicate".to_string(),
                    "Duplicate value: \"a\"".to_string()
                ),
                (
                    "spec.ports[2]".to_string(),
                    "FieldValueDuplicate".to_string(),
                    "Duplicate value: map[string]interface {}{\"name\":\"h\", \"port\":80}"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn validation_paths() {
        let obj = json!({"spec": {"url": "ftp://x", "replicas": 0, "mode": "c", "port": 1.5,
                                  "list": [{"name": 3}]}});
        let causes = validate_root(&obj, &schema());
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.url",
                "spec.replicas",
                "spec.mode",
                "spec.port",
                "spec.list[0].name"
            ]
        );
        let missing = validate_root(&json!({"spec": {}}), &schema());
        assert_eq!(missing[0].field, "spec.url");
        assert_eq!(missing[0].reason, "FieldValueRequired");
    }
}
