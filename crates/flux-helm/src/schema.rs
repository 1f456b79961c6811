//! `values.schema.json` validation with Helm 3's error format
//! (gojsonschema's messages: `- field: description`).

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::error::HelmError;
use crate::yaml_values::go_json_number;

/// Validates `values` against the schemas of `chart` and its subcharts
/// (each subchart against its own section). Helm's `ValidateAgainstSchema`.
pub fn validate_against_schema(
    chart: &Chart,
    values: &Map<String, Value>,
) -> Result<(), HelmError> {
    let mut out = String::new();
    collect(chart, values, &mut out)?;
    if out.is_empty() {
        Ok(())
    } else {
        Err(HelmError::Schema(out))
    }
}

fn collect(chart: &Chart, values: &Map<String, Value>, out: &mut String) -> Result<(), HelmError> {
    if let Some(schema) = &chart.schema {
        let errs = validate_single(chart.name(), values, schema)?;
        if !errs.is_empty() {
            out.push_str(&format!("{}:\n", chart.name()));
            out.push_str(&errs);
        }
    }
    for sub in &chart.dependencies {
        let empty = Map::new();
        let sv = match values.get(sub.name()) {
            Some(Value::Object(m)) => m,
            _ => &empty,
        };
        collect(sub, sv, out)?;
    }
    Ok(())
}

/// Numbers as they reach gojsonschema after Helm's YAML round trip:
/// integral floats become integers.
pub fn go_normalize_numbers(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                Value::from(f as i64)
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(go_normalize_numbers).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), go_normalize_numbers(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn validate_single(
    chart: &str,
    values: &Map<String, Value>,
    schema: &[u8],
) -> Result<String, HelmError> {
    let schema: Value = serde_json::from_slice(schema).map_err(|e| HelmError::InvalidSchema {
        chart: chart.to_string(),
        reason: e.to_string(),
    })?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| HelmError::InvalidSchema {
        chart: chart.to_string(),
        reason: e.to_string(),
    })?;
    let instance = go_normalize_numbers(&Value::Object(values.clone()));
    let mut out = String::new();
    for err in validator.iter_errors(&instance) {
        let field = field_name(err.instance_path().as_str());
        for desc in describe(err.kind(), err.instance(), &field) {
            out.push_str(&format!("- {field}: {desc}\n"));
        }
    }
    Ok(out)
}

/// gojsonschema's field: `(root)` or the dotted path below it.
fn field_name(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(root)".into();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
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

fn json_text(v: &Value) -> String {
    match v {
        Value::Number(n) => go_json_number(n),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn describe(kind: &ValidationErrorKind, instance: &Value, field: &str) -> Vec<String> {
    let one = |s: String| vec![s];
    match kind {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => {
                    let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
                    format!("[{}]", names.join(","))
                }
            };
            one(format!(
                "Invalid type. Expected: {expected}, given: {}",
                type_name(instance)
            ))
        }
        ValidationErrorKind::Required { property } => {
            let p = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| json_text(property));
            one(format!("{p} is required"))
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|p| format!("Additional property {p} is not allowed"))
            .collect(),
        ValidationErrorKind::Enum { options } => {
            let allowed = match options.as_ref() {
                Value::Array(a) => a.iter().map(json_text).collect::<Vec<_>>().join(", "),
                other => json_text(other),
            };
            one(format!("{field} must be one of the following: {allowed}"))
        }
        ValidationErrorKind::Constant { expected_value } => one(format!(
            "{field} does not match: {}",
            json_text(expected_value)
        )),
        ValidationErrorKind::AnyOf { .. } => {
            one("Must validate at least one schema (anyOf)".into())
        }
        ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => {
            one("Must validate one and only one schema (oneOf)".into())
        }
        ValidationErrorKind::Not { .. } => one("Must not validate the schema (not)".into()),
        ValidationErrorKind::MinItems { limit } => {
            one(format!("Array must have at least {limit} items"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            one(format!("Array must have at most {limit} items"))
        }
        ValidationErrorKind::MinLength { limit } => one(format!(
            "String length must be greater than or equal to {limit}"
        )),
        ValidationErrorKind::MaxLength { limit } => one(format!(
            "String length must be less than or equal to {limit}"
        )),
        ValidationErrorKind::Pattern { pattern } => {
            one(format!("Does not match pattern '{pattern}'"))
        }
        ValidationErrorKind::Format { format } => one(format!("Does not match format '{format}'")),
        ValidationErrorKind::Minimum { limit } => one(format!(
            "Must be greater than or equal to {}",
            json_text(limit)
        )),
        ValidationErrorKind::Maximum { limit } => one(format!(
            "Must be less than or equal to {}",
            json_text(limit)
        )),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            one(format!("Must be greater than {}", json_text(limit)))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            one(format!("Must be less than {}", json_text(limit)))
        }
        ValidationErrorKind::MinProperties { limit } => {
            one(format!("Must have at least {limit} properties"))
        }
        ValidationErrorKind::MaxProperties { limit } => {
            one(format!("Must have at most {limit} properties"))
        }
        ValidationErrorKind::UniqueItems => {
            one(format!("{} items must be unique", type_name(instance)))
        }
        ValidationErrorKind::Contains => one("At least one of the items must match".into()),
        ValidationErrorKind::FalseSchema => one("False always fails validation".into()),
        other => one(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Metadata;
    use serde_json::json;

    fn chart_with_schema(schema: Value) -> Chart {
        Chart {
            metadata: Metadata {
                name: "demo".into(),
                version: "1.0.0".into(),
                api_version: "v2".into(),
                ..Metadata::default()
            },
            schema: Some(serde_json::to_vec(&schema).unwrap_or_default()),
            ..Chart::default()
        }
    }

    #[test]
    fn type_errors_read_like_helm() {
        let c = chart_with_schema(
            json!({"type": "object", "properties": {"policy": {"type": "string"}}}),
        );
        let vals = json!({"policy": null})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let err = validate_against_schema(&c, &vals).expect_err("null is not a string");
        assert_eq!(
            err.to_string(),
            "values don't meet the specifications of the schema(s) in the following chart(s):\ndemo:\n- policy: Invalid type. Expected: string, given: null\n"
        );
    }

    #[test]
    fn integral_floats_are_integers_and_required_is_reported() {
        let c = chart_with_schema(json!({
            "type": "object",
            "required": ["image"],
            "properties": {"replicas": {"type": "integer"}}
        }));
        let vals = json!({"replicas": 3.0})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let err = validate_against_schema(&c, &vals).expect_err("image missing");
        assert!(
            err.to_string().contains("- (root): image is required"),
            "{err}"
        );
        assert!(!err.to_string().contains("replicas"), "{err}");
    }

    #[test]
    fn invalid_schema_is_a_clear_error() {
        let mut c = chart_with_schema(json!({}));
        c.schema = Some(b"{not json".to_vec());
        let err = validate_against_schema(&c, &Map::new()).expect_err("bad schema");
        assert!(
            err.to_string()
                .starts_with("demo: invalid values.schema.json"),
            "{err}"
        );
    }
}
