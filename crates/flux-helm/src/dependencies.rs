//! Dependency processing as Helm does before rendering: presence check,
//! aliases, `condition` and `tags` enabling, and `import-values` / `exports`.

use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::error::HelmError;
use crate::semver_range::is_compatible_range;
use crate::values::{coalesce_chart_values, merge_tables, path_value, table};

/// Helm's `CheckDependencies`: every declared dependency must be loaded.
pub fn check_dependencies(chart: &Chart) -> Result<(), HelmError> {
    let missing: Vec<String> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(HelmError::MissingDependencies(missing))
    }
}

/// Helm's `ProcessDependenciesWithMerge`.
pub fn process_dependencies(chart: &mut Chart, vals: &Map<String, Value>) -> Result<(), HelmError> {
    process_dependency_enabled(chart, vals, "")?;
    process_dependency_import_values(chart)
}

fn process_dependency_enabled(
    c: &mut Chart,
    v: &Map<String, Value>,
    path: &str,
) -> Result<(), HelmError> {
    if !c.metadata.has_dependencies {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut chart_dependencies: Vec<Chart> = Vec::new();
    for e in &existing {
        let declared = c.metadata.dependencies.iter().any(|req| {
            e.name() == req.name && is_compatible_range(&req.version, &e.metadata.version)
        });
        if !declared {
            chart_dependencies.push(e.clone());
        }
    }
    for req in &mut c.metadata.dependencies {
        if let Some(found) = existing.iter().find(|ch| {
            ch.name() == req.name && is_compatible_range(&req.version, &ch.metadata.version)
        }) {
            let mut copy = found.clone();
            if !req.alias.is_empty() {
                copy.metadata.name = req.alias.clone();
            }
            chart_dependencies.push(copy);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_dependencies;
    for r in &mut c.metadata.dependencies {
        r.enabled = true;
    }
    let cvals = coalesce_chart_values(c, v, false)?;
    process_dependency_tags(c, &cvals);
    process_dependency_conditions(c, &cvals, path);
    let removed: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !removed.contains(&d.metadata.name));
    c.metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for t in &mut c.dependencies {
        let sub_path = format!("{path}{}.", t.metadata.name);
        process_dependency_enabled(t, &cvals, &sub_path)?;
    }
    // Helm sets the slice to nil and appends: empty means "none".
    c.metadata.has_dependencies = !c.metadata.dependencies.is_empty();
    Ok(())
}

fn process_dependency_tags(c: &mut Chart, cvals: &Map<String, Value>) {
    let Some(Value::Object(tags)) = cvals.get("tags") else {
        return;
    };
    for r in &mut c.metadata.dependencies {
        let mut has_true = false;
        let mut has_false = false;
        for k in &r.tags {
            if let Some(Value::Bool(b)) = tags.get(k) {
                if *b {
                    has_true = true;
                } else {
                    has_false = true;
                }
            }
        }
        r.enabled = has_true || !has_false;
    }
}

fn process_dependency_conditions(c: &mut Chart, cvals: &Map<String, Value>, path: &str) {
    for r in &mut c.metadata.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                r.enabled = *b;
                break;
            }
        }
    }
}

fn process_dependency_import_values(c: &mut Chart) -> Result<(), HelmError> {
    for d in &mut c.dependencies {
        process_dependency_import_values(d)?;
    }
    process_import_values(c)
}

/// Nested map `{a: {b: data}}` for the dotted path `a.b` (`.` is the root).
fn path_to_map(path: &str, data: Map<String, Value>) -> Map<String, Value> {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), Value::Object(cur));
        cur = m;
    }
    cur
}

fn process_import_values(c: &mut Chart) -> Result<(), HelmError> {
    if !c.metadata.has_dependencies {
        return Ok(());
    }
    let cvals = coalesce_chart_values(c, &Map::new(), true)?;
    let mut b = Map::new();
    for r in &mut c.metadata.dependencies {
        let mut outiv = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Object(iv) => {
                    let child = match iv.get("child") {
                        Some(Value::String(s)) => s.clone(),
                        _ => {
                            return Err(HelmError::Values(format!(
                                "import-values of dependency {}: child must be a string",
                                r.name
                            )));
                        }
                    };
                    let parent = match iv.get("parent") {
                        Some(Value::String(s)) => s.clone(),
                        _ => {
                            return Err(HelmError::Values(format!(
                                "import-values of dependency {}: parent must be a string",
                                r.name
                            )));
                        }
                    };
                    let mut entry = Map::new();
                    entry.insert("child".into(), Value::String(child.clone()));
                    entry.insert("parent".into(), Value::String(parent.clone()));
                    outiv.push(Value::Object(entry));
                    if let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) {
                        merge_tables(&mut b, &path_to_map(&parent, vv.clone()));
                    }
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    let mut entry = Map::new();
                    entry.insert("child".into(), Value::String(child.clone()));
                    entry.insert("parent".into(), Value::String(".".into()));
                    outiv.push(Value::Object(entry));
                    if let Some(vm) = table(&cvals, &format!("{}.{child}", r.name)) {
                        merge_tables(&mut b, vm);
                    }
                }
                _ => {}
            }
        }
        r.import_values = outiv;
    }
    let mut merged = cvals;
    merge_tables(&mut merged, &b);
    c.values = merged;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Dependency, Metadata};
    use serde_json::json;

    fn chart(name: &str, values: Value) -> Chart {
        Chart {
            metadata: Metadata {
                name: name.into(),
                version: "1.0.0".into(),
                api_version: "v2".into(),
                ..Metadata::default()
            },
            values: values.as_object().cloned().unwrap_or_default(),
            ..Chart::default()
        }
    }

    fn dep(name: &str) -> Dependency {
        Dependency {
            name: name.into(),
            version: "1.x".into(),
            ..Dependency::default()
        }
    }

    #[test]
    fn missing_dependencies_are_listed() {
        let mut c = chart("top", json!({}));
        c.metadata.dependencies = vec![dep("a"), dep("b")];
        c.metadata.has_dependencies = true;
        c.dependencies = vec![chart("a", json!({}))];
        let err = check_dependencies(&c).expect_err("b is missing");
        assert!(
            err.to_string().ends_with("missing in charts/ directory: b"),
            "{err}"
        );
    }

    #[test]
    fn conditions_tags_and_aliases() {
        let mut c = chart(
            "top",
            json!({"a": {"enabled": false}, "tags": {"t": false}}),
        );
        let mut da = dep("a");
        da.condition = "a.enabled".into();
        let mut db = dep("b");
        db.tags = vec!["t".into()];
        let mut dc = dep("c");
        dc.alias = "cc".into();
        c.metadata.dependencies = vec![da, db, dc];
        c.metadata.has_dependencies = true;
        c.dependencies = vec![
            chart("a", json!({})),
            chart("b", json!({})),
            chart("c", json!({})),
        ];
        process_dependencies(&mut c, &Map::new()).expect("ok");
        let names: Vec<&str> = c.dependencies.iter().map(Chart::name).collect();
        assert_eq!(names, vec!["cc"]);
        // User values can re-enable by condition.
        let mut c2 = chart("top", json!({"a": {"enabled": false}}));
        let mut da = dep("a");
        da.condition = "a.enabled".into();
        c2.metadata.dependencies = vec![da];
        c2.metadata.has_dependencies = true;
        c2.dependencies = vec![chart("a", json!({}))];
        let user = json!({"a": {"enabled": true}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        process_dependencies(&mut c2, &user).expect("ok");
        assert_eq!(c2.dependencies.len(), 1);
    }

    #[test]
    fn import_values_and_exports() {
        let mut c = chart("top", json!({"mine": 1}));
        let mut d = dep("sub");
        d.import_values = vec![
            json!("data"),
            json!({"child": "deep.x", "parent": "fromchild"}),
        ];
        c.metadata.dependencies = vec![d];
        c.metadata.has_dependencies = true;
        c.dependencies = vec![chart(
            "sub",
            json!({"exports": {"data": {"exported": "yes"}}, "deep": {"x": {"k": "v"}}}),
        )];
        process_dependencies(&mut c, &Map::new()).expect("ok");
        assert_eq!(c.values["exported"], json!("yes"));
        assert_eq!(c.values["fromchild"], json!({"k": "v"}));
        assert_eq!(c.values["mine"], json!(1));
    }
}
