//! Values coalescing exactly as Helm's `chartutil` does it: chart defaults
//! under user values, subchart sections, globals flowing down, `null`
//! deleting a key (when coalescing, not when merging).

use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::error::HelmError;

/// The key holding values shared with every subchart.
pub const GLOBAL_KEY: &str = "global";

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Helm's `CoalesceValues` (`merge = false`) and `MergeValues` (`merge = true`):
/// `vals` over the chart's values, then each subchart's section.
pub fn coalesce_chart_values(
    chart: &Chart,
    vals: &Map<String, Value>,
    merge: bool,
) -> Result<Map<String, Value>, HelmError> {
    let mut dest = vals.clone();
    coalesce(chart, &mut dest, "", merge)?;
    Ok(dest)
}

fn coalesce(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) -> Result<(), HelmError> {
    coalesce_values(chart, dest, prefix, merge);
    coalesce_deps(chart, dest, prefix, merge)
}

fn coalesce_deps(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) -> Result<(), HelmError> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        match dest.get(&name) {
            None => {
                dest.insert(name.clone(), Value::Object(Map::new()));
            }
            Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(HelmError::Values(format!(
                    "type mismatch on {name}: %!t({}={})",
                    go_type_name(other),
                    go_display(other)
                )));
            }
        }
        let mut dv = match dest.remove(&name) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        coalesce_globals(&mut dv, dest, &sub_prefix);
        coalesce(sub, &mut dv, &sub_prefix, merge)?;
        dest.insert(name, Value::Object(dv));
    }
    Ok(())
}

/// Go's type name of a decoded value (for messages).
pub fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A short Go-like `%v` rendering of a value (for messages).
pub fn go_display(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => crate::yaml_values::go_json_number(n),
        Value::Bool(b) => b.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(go_display).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_display(&m[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Copies the globals of `src` into `dest` (parent globals win).
fn coalesce_globals(dest: &mut Map<String, Value>, src: &Map<String, Value>, _prefix: &str) {
    let mut dg = match dest.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        if let Value::Object(vm) = &val {
            let mut vv = vm.clone();
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Object(vv));
                }
                Some(Value::Object(destv)) => {
                    coalesce_tables(&mut vv, destv, true);
                    dg.insert(key, Value::Object(vv));
                }
                Some(_) => {}
            }
        } else if matches!(dg.get(&key), Some(Value::Object(_))) {
            // A table in the subchart's globals is not replaced by a scalar.
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert(GLOBAL_KEY.to_string(), Value::Object(dg));
}

fn coalesce_values(chart: &Chart, v: &mut Map<String, Value>, _prefix: &str, merge: bool) {
    for (key, val) in &chart.values {
        match v.get_mut(key) {
            Some(Value::Null) if !merge => {
                v.remove(key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(src) = val {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                v.insert(key.clone(), val.clone());
            }
        }
    }
}

/// Helm's `coalesceTablesFullKey`: `src` under `dst` (dst wins); with
/// `merge = false` a `null` in dst deletes the key.
pub fn coalesce_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>, merge: bool) {
    for (key, val) in src {
        match dst.get_mut(key) {
            Some(Value::Null) if !merge => {
                dst.remove(key);
            }
            None => {
                dst.insert(key.clone(), val.clone());
            }
            Some(dv) => {
                if let Value::Object(sv) = val
                    && let Value::Object(dm) = dv
                {
                    coalesce_tables(dm, sv, merge);
                }
            }
        }
    }
}

/// Helm's `MergeTables` (nulls kept).
pub fn merge_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    coalesce_tables(dst, src, true);
}

/// The `-f` merge of Helm's CLI: later maps override, maps merge recursively.
pub fn merge_maps(a: &mut Map<String, Value>, b: Map<String, Value>) {
    for (k, v) in b {
        if let Value::Object(vm) = v {
            if let Some(Value::Object(am)) = a.get_mut(&k) {
                merge_maps(am, vm);
                continue;
            }
            a.insert(k, Value::Object(vm));
        } else {
            a.insert(k, v);
        }
    }
}

/// Helm's `Values.Table`: the map at a dotted path, if every step is a map.
pub fn table<'a>(vals: &'a Map<String, Value>, path: &str) -> Option<&'a Map<String, Value>> {
    let mut cur = vals;
    for part in path.split('.') {
        match cur.get(part) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

/// Helm's `Values.PathValue`: a non-table value at a dotted path.
pub fn path_value<'a>(vals: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(vals, p)?, k),
        None => (vals, path),
    };
    match parent.get(key) {
        Some(Value::Object(_)) | None => None,
        Some(v) => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Chart, Metadata};
    use serde_json::json;

    fn chart(name: &str, values: Value, deps: Vec<Chart>) -> Chart {
        Chart {
            metadata: Metadata {
                name: name.into(),
                version: "0.1.0".into(),
                api_version: "v2".into(),
                ..Metadata::default()
            },
            values: values.as_object().cloned().unwrap_or_default(),
            dependencies: deps,
            ..Chart::default()
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn user_values_override_and_null_deletes() {
        let c = chart(
            "top",
            json!({"a": 1, "b": {"c": 2, "d": 3}, "e": "x"}),
            vec![],
        );
        let out = coalesce_chart_values(
            &c,
            &obj(json!({"a": 5, "b": {"d": null}, "e": null})),
            false,
        )
        .expect("ok");
        assert_eq!(Value::Object(out), json!({"a": 5, "b": {"c": 2}}));
    }

    #[test]
    fn merge_keeps_nulls() {
        let c = chart("top", json!({"b": {"c": 2, "d": 3}}), vec![]);
        let out = coalesce_chart_values(&c, &obj(json!({"b": {"d": null}})), true).expect("ok");
        assert_eq!(Value::Object(out), json!({"b": {"c": 2, "d": null}}));
    }

    #[test]
    fn globals_flow_to_subcharts_and_parent_wins() {
        let sub = chart(
            "sub",
            json!({"x": 1, "global": {"g": "sub", "only": "sub"}}),
            vec![],
        );
        let c = chart(
            "top",
            json!({"global": {"g": "top"}, "sub": {"x": 2}}),
            vec![sub],
        );
        let out = coalesce_chart_values(&c, &Map::new(), false).expect("ok");
        assert_eq!(out["sub"]["x"], json!(2));
        assert_eq!(out["sub"]["global"]["g"], json!("top"));
        assert_eq!(out["sub"]["global"]["only"], json!("sub"));
    }

    #[test]
    fn scalar_for_subchart_section_is_a_type_mismatch() {
        let sub = chart("sub", json!({}), vec![]);
        let c = chart("top", json!({}), vec![sub]);
        let err =
            coalesce_chart_values(&c, &obj(json!({"sub": "oops"})), false).expect_err("mismatch");
        assert!(err.to_string().starts_with("type mismatch on sub"), "{err}");
    }

    #[test]
    fn merge_maps_is_recursive() {
        let mut a = obj(json!({"a": {"b": 1, "c": 2}, "d": [1]}));
        merge_maps(&mut a, obj(json!({"a": {"b": 3}, "d": [2]})));
        assert_eq!(Value::Object(a), json!({"a": {"b": 3, "c": 2}, "d": [2]}));
    }

    #[test]
    fn path_value_and_table() {
        let v = obj(json!({"a": {"b": {"c": true}}, "t": {"x": 1}}));
        assert_eq!(path_value(&v, "a.b.c"), Some(&json!(true)));
        assert_eq!(path_value(&v, "a.b"), None);
        assert!(table(&v, "t").is_some());
        assert!(table(&v, "a.b.c").is_none());
    }
}
