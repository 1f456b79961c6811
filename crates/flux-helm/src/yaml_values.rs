//! YAML and JSON as Helm reads them: through `sigs.k8s.io/yaml`, i.e. YAML
//! converted to JSON and decoded into Go `interface{}` values. Every number
//! therefore becomes a Go `float64`; we mark that by storing it as an `f64`
//! `serde_json::Number`. Integers that Helm produces itself (`--set a=1`)
//! stay `i64`.

use serde_json::{Map, Number, Value};

/// Converts every number in `v` to an `f64` number (Go `float64`).
pub fn numbers_to_float(v: Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64().and_then(Number::from_f64) {
            Some(f) => Value::Number(f),
            None => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_to_float).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, numbers_to_float(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Parses a YAML stream as Helm's go-yaml v2 reader does. Duplicate keys
/// are allowed there (the last one wins), while `flux_object::yaml` rejects
/// them; such input is read again with serde-saphyr's last-wins policy
/// (its scalar rules are YAML 1.2, which only matters for that input).
pub fn parse_go_documents(text: &str) -> Result<Vec<Value>, String> {
    match flux_object::yaml::parse_documents(text) {
        Ok(docs) => Ok(docs),
        Err(e) => {
            let msg = e.to_string();
            if !msg.contains("already set in map") {
                return Err(msg);
            }
            let options = serde_saphyr::options! {
                duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
            };
            let docs: Vec<Value> =
                serde_saphyr::from_multiple_with_options(text, options).map_err(|_| msg.clone())?;
            Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
        }
    }
}

/// Parses the first YAML document of `data` as Helm reads a values file.
/// An empty document gives an empty map; a non-map document is an error.
pub fn parse_values_yaml(data: &[u8]) -> Result<Map<String, Value>, String> {
    let text = String::from_utf8_lossy(data);
    let docs = parse_go_documents(&text)?;
    match docs.into_iter().next() {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => match numbers_to_float(Value::Object(m)) {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        },
        Some(other) => Err(format!(
            "error unmarshaling JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            go_json_kind(&other)
        )),
    }
}

/// Parses one YAML document into a value with Go number semantics.
pub fn parse_yaml_value(text: &str) -> Result<Value, String> {
    let docs = parse_go_documents(text)?;
    Ok(numbers_to_float(
        docs.into_iter().next().unwrap_or(Value::Null),
    ))
}

/// Go's name for a JSON value kind in unmarshal errors.
pub fn go_json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Formats a number as Go's `encoding/json` does (`float64`: shortest
/// representation, exponent form outside [1e-6, 1e21)).
pub fn go_json_number(n: &Number) -> String {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or(0.0);
        return go_format_float_json(f);
    }
    n.to_string()
}

/// Go's `strconv.FormatFloat(f, 'f' or 'e', -1, 64)` as `encoding/json` picks it.
pub fn go_format_float_json(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let abs = f.abs();
    if (1e-6..1e21).contains(&abs) {
        // Shortest round-trip representation in plain notation.
        let s = format!("{f}");
        s
    } else {
        // Rust's `{:e}` gives e.g. `1e21` / `1.5e-7`; Go writes `1e+21`, `1.5e-07`.
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let digits = if digits.len() < 2 {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        format!("{mant}e{sign}{digits}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_go_floats() {
        let m = parse_values_yaml(b"a: 3\nb: [1, 2.5]\n").expect("parses");
        assert!(m["a"].as_number().is_some_and(Number::is_f64));
        assert_eq!(go_json_number(m["a"].as_number().expect("number")), "3");
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_format_float_json(3.0), "3");
        assert_eq!(go_format_float_json(2.5), "2.5");
        assert_eq!(go_format_float_json(1e21), "1e+21");
        assert_eq!(go_format_float_json(1e-7), "1e-07");
        assert_eq!(go_format_float_json(123456789.0), "123456789");
    }

    #[test]
    fn duplicate_keys_last_one_wins_as_in_go_yaml_v2() {
        let m = parse_values_yaml(b"a: 1\nb: x\na: 2\n").expect("duplicates are allowed");
        assert_eq!(m["a"].as_f64(), Some(2.0));
        assert_eq!(m["b"], Value::String("x".into()));
    }

    #[test]
    fn non_map_values_are_an_error() {
        let err = parse_values_yaml(b"- a\n- b\n").expect_err("a list is not values");
        assert!(err.contains("cannot unmarshal array"), "{err}");
        assert!(parse_values_yaml(b"").expect("empty").is_empty());
    }
}
