//! `replacements:`: copy a field of one resource into fields of others.

use serde_json::{Map, Value};

use crate::kustomization::{FieldOptions, Replacement, Selector, SourceSelector};
use crate::resource::{Gvk, ResId, Resource, scalar_string};
use crate::selector::LabelSelector;

/// Splits a field path on `.`, keeping `[...]` parts (which may hold dots) whole.
pub fn split_field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    // `a[b=c]` is the same as `a.[b=c]`.
    let mut split = Vec::new();
    for seg in out {
        if !seg.starts_with('[')
            && let Some(idx) = seg.find('[')
            && seg.ends_with(']')
        {
            split.push(seg[..idx].to_string());
            split.push(seg[idx..].to_string());
        } else {
            split.push(seg);
        }
    }
    split.retain(|s| !s.is_empty());
    split
}

fn id_selected_by(id: &ResId, gvk: &Gvk, name: &str, namespace: &str) -> bool {
    if !name.is_empty() && name != id.name {
        return false;
    }
    if !namespace.is_empty() {
        let sel = ResId {
            gvk: id.gvk.clone(),
            name: String::new(),
            namespace: namespace.to_string(),
        };
        if sel.effective_namespace() != id.effective_namespace() {
            return false;
        }
    }
    id.gvk.is_selected_by(gvk)
}

fn selector_gvk(s: &Selector) -> Gvk {
    Gvk {
        group: s.group.clone(),
        version: s.version.clone(),
        kind: s.kind.clone(),
    }
}

/// Looks a path up without creating anything; `None` when absent.
pub fn lookup<'a>(node: &'a Value, segs: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = segs.split_first() else {
        return Some(node);
    };
    match node {
        Value::Object(m) => lookup(m.get(map_key(first))?, rest),
        Value::Array(items) => {
            let idx = element_index(items, first)?;
            lookup(items.get(idx)?, rest)
        }
        _ => None,
    }
}

/// A path segment used as a map key: `[a.b/c]` (no `=`) names the key `a.b/c`.
fn map_key(seg: &str) -> &str {
    match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(inner) if !inner.contains('=') => inner,
        _ => seg,
    }
}

fn element_index(items: &[Value], seg: &str) -> Option<usize> {
    let inner = seg
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(seg);
    if let Ok(i) = inner.parse::<usize>() {
        return Some(i);
    }
    let (k, v) = inner.split_once('=')?;
    items.iter().position(|it| {
        if k.is_empty() {
            scalar_string(it) == v
        } else {
            it.get(k).is_some_and(|x| scalar_string(x) == v)
        }
    })
}

/// Collects (creating when asked) every node a path matches and calls `f` on each.
fn visit_matches(
    node: &mut Value,
    segs: &[String],
    create: Option<&Value>,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<usize, String> {
    let Some((first, rest)) = segs.split_first() else {
        f(node)?;
        return Ok(1);
    };
    match node {
        Value::Object(m) => {
            if first == "*" {
                let mut n = 0;
                for v in m.values_mut() {
                    n += visit_matches(v, rest, create, f)?;
                }
                return Ok(n);
            }
            let first = map_key(first);
            if !m.contains_key(first) || m.get(first).is_some_and(Value::is_null) {
                let Some(leaf) = create else {
                    return Ok(0);
                };
                let next_is_element = rest.first().is_some_and(|r| {
                    let inner = r.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
                    inner.is_some_and(|i| i.contains('=') || i.parse::<usize>().is_ok())
                        || r.parse::<usize>().is_ok()
                });
                let new = if rest.is_empty() {
                    leaf.clone()
                } else if next_is_element {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                };
                m.insert(first.to_string(), new);
            }
            match m.get_mut(first) {
                Some(child) => visit_matches(child, rest, create, f),
                None => Ok(0),
            }
        }
        Value::Array(items) => {
            if first == "*" || first == "[*]" || first == "[]" {
                let mut n = 0;
                for it in items.iter_mut() {
                    n += visit_matches(it, rest, create, f)?;
                }
                return Ok(n);
            }
            let inner = first
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or(first);
            if let Ok(i) = inner.parse::<usize>() {
                if i == items.len()
                    && let Some(leaf) = create
                {
                    items.push(if rest.is_empty() {
                        leaf.clone()
                    } else {
                        Value::Object(Map::new())
                    });
                }
                return match items.get_mut(i) {
                    Some(it) => visit_matches(it, rest, create, f),
                    None => Ok(0),
                };
            }
            let Some((k, v)) = inner.split_once('=') else {
                return Ok(0);
            };
            let mut n = 0;
            for it in items.iter_mut() {
                let hit = if k.is_empty() {
                    scalar_string(it) == v
                } else {
                    it.get(k).is_some_and(|x| scalar_string(x) == v)
                };
                if hit {
                    n += visit_matches(it, rest, create, f)?;
                }
            }
            if n == 0 && create.is_some() && !k.is_empty() {
                let mut m = Map::new();
                m.insert(k.to_string(), Value::String(v.to_string()));
                items.push(Value::Object(m));
                if let Some(last) = items.last_mut() {
                    n += visit_matches(last, rest, create, f)?;
                }
            }
            Ok(n)
        }
        _ => Ok(0),
    }
}

fn source_value(resources: &[Resource], src: &SourceSelector) -> Result<Value, String> {
    let gvk = Gvk {
        group: src.group.clone(),
        version: src.version.clone(),
        kind: src.kind.clone(),
    };
    let hits: Vec<&Resource> = resources
        .iter()
        .filter(|r| {
            r.all_ids()
                .iter()
                .any(|id| id_selected_by(id, &gvk, &src.name, &src.namespace))
        })
        .collect();
    let desc = format!(
        "{}.{}.{}/{}.{}",
        src.kind, src.version, src.group, src.name, src.namespace
    );
    let r = match hits.as_slice() {
        [r] => *r,
        [] => return Err(format!("nothing selected by {desc}")),
        _ => return Err(format!("multiple matches for selector {desc}")),
    };
    let fp = if src.field_path.is_empty() {
        "metadata.name"
    } else {
        &src.field_path
    };
    let root = Value::Object(r.obj.clone());
    let v = lookup(&root, &split_field_path(fp))
        .cloned()
        .ok_or_else(|| format!("fieldPath `{fp}` is missing for replacement source {desc}"))?;
    match &src.options {
        Some(o) if !o.delimiter.is_empty() => {
            let s = scalar_string(&v);
            let parts: Vec<&str> = s.split(o.delimiter.as_str()).collect();
            let idx = usize::try_from(o.index).ok().filter(|&i| i < parts.len());
            match idx {
                Some(i) => Ok(Value::String(parts[i].to_string())),
                None => Err(format!(
                    "options.index {} is out of bounds for value {s}",
                    o.index
                )),
            }
        }
        _ => Ok(v),
    }
}

fn set_value(opts: Option<&FieldOptions>, target: &mut Value, value: &Value) -> Result<(), String> {
    let mut value = value.clone();
    if let Some(o) = opts.filter(|o| !o.delimiter.is_empty()) {
        if target.is_object() || target.is_array() {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let cur = scalar_string(target);
        let mut parts: Vec<String> = cur
            .split(o.delimiter.as_str())
            .map(str::to_string)
            .collect();
        let v = scalar_string(&value);
        if o.index < 0 {
            parts.insert(0, v);
        } else if let Some(p) = usize::try_from(o.index).ok().and_then(|i| parts.get_mut(i)) {
            *p = v;
        } else {
            parts.push(v);
        }
        value = Value::String(parts.join(&o.delimiter));
    }
    let scalar = |v: &Value| !(v.is_object() || v.is_array());
    if scalar(target) && scalar(&value) && !target.is_null() {
        // kustomize keeps the target scalar's tag and replaces only its text.
        let text = scalar_string(&value);
        *target = match target {
            Value::String(_) => Value::String(text),
            Value::Bool(_) => match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(text),
            },
            Value::Number(_) => match flux_object::yaml::parse_document(&text) {
                Ok(n @ Value::Number(_)) => n,
                _ => Value::String(text),
            },
            _ => Value::String(text),
        };
    } else {
        *target = value;
    }
    Ok(())
}

/// Applies one replacement.
pub fn apply(resources: &mut [Resource], rep: &Replacement) -> Result<(), String> {
    let Some(src) = &rep.source else {
        return Err("replacement source must be specified".into());
    };
    let value = source_value(resources, src)?;
    for t in &rep.targets {
        let Some(sel) = &t.select else {
            return Err("target must specify resources to select".into());
        };
        let gvk = selector_gvk(sel);
        let labels = if sel.label_selector.is_empty() {
            None
        } else {
            Some(LabelSelector::parse(&sel.label_selector)?)
        };
        let annotations = if sel.annotation_selector.is_empty() {
            None
        } else {
            Some(LabelSelector::parse(&sel.annotation_selector)?)
        };
        let paths: Vec<String> = if t.field_paths.is_empty() {
            vec!["metadata.name".into()]
        } else {
            t.field_paths.clone()
        };
        let create = t.options.as_ref().is_some_and(|o| o.create);
        for r in resources.iter_mut() {
            if labels.as_ref().is_some_and(|l| !l.matches(&r.labels()))
                || annotations
                    .as_ref()
                    .is_some_and(|a| !a.matches(&r.annotations()))
            {
                continue;
            }
            let ids = r.all_ids();
            let selected = ids
                .iter()
                .any(|id| id_selected_by(id, &gvk, &sel.name, &sel.namespace));
            let rejected = t.reject.iter().any(|rj| {
                let rg = selector_gvk(rj);
                let by_id = ids
                    .iter()
                    .any(|id| id_selected_by(id, &rg, &rj.name, &rj.namespace));
                let empty_id = rj.group.is_empty()
                    && rj.version.is_empty()
                    && rj.kind.is_empty()
                    && rj.name.is_empty()
                    && rj.namespace.is_empty();
                let by_labels = !rj.label_selector.is_empty()
                    && LabelSelector::parse(&rj.label_selector)
                        .is_ok_and(|l| l.matches(&r.labels()));
                let by_annotations = !rj.annotation_selector.is_empty()
                    && LabelSelector::parse(&rj.annotation_selector)
                        .is_ok_and(|l| l.matches(&r.annotations()));
                (!empty_id && by_id) || by_labels || by_annotations
            });
            if !selected || rejected {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let mut result = Ok(());
            for fp in &paths {
                let leaf = value.clone();
                let n = visit_matches(
                    &mut root,
                    &split_field_path(fp),
                    create.then_some(&leaf),
                    &mut |node| set_value(t.options.as_ref(), node, &value),
                );
                match n {
                    Ok(0) => {
                        result = Err(if create {
                            format!("unable to find or create field \"{fp}\" in replacement target")
                        } else {
                            format!("unable to find field \"{fp}\" in replacement target")
                        });
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            if let Value::Object(m) = root {
                r.obj = m;
            }
            result?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomization::TargetSelector;
    use crate::transform::test_objects::resources;

    #[test]
    fn splits_paths_with_selectors() {
        assert_eq!(
            split_field_path("spec.template.spec.containers.[name=a.b].image"),
            vec![
                "spec",
                "template",
                "spec",
                "containers",
                "[name=a.b]",
                "image"
            ]
        );
        assert_eq!(split_field_path("a[x=y].b"), vec!["a", "[x=y]", "b"]);
    }

    #[test]
    fn copies_source_into_targets_with_delimiter() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: src}\ndata: {tag: '2.0'}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: 'nginx:1.0'}]\n",
        );
        let rep = Replacement {
            source: Some(SourceSelector {
                kind: "ConfigMap".into(),
                name: "src".into(),
                field_path: "data.tag".into(),
                ..Default::default()
            }),
            targets: vec![TargetSelector {
                select: Some(Selector {
                    kind: "Deployment".into(),
                    ..Default::default()
                }),
                field_paths: vec!["spec.template.spec.containers.[name=app].image".into()],
                options: Some(FieldOptions {
                    delimiter: ":".into(),
                    index: 1,
                    ..Default::default()
                }),
                ..Default::default()
            }],
        };
        let res = apply(&mut rs, &rep);
        assert!(res.is_ok(), "{res:?}");
        assert_eq!(
            rs[1].obj["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:2.0"
        );
    }

    #[test]
    fn missing_target_field_is_an_error_unless_created() {
        let mut rs = resources(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: src}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: t}\n",
        );
        let mut rep = Replacement {
            source: Some(SourceSelector {
                kind: "ConfigMap".into(),
                ..Default::default()
            }),
            targets: vec![TargetSelector {
                select: Some(Selector {
                    kind: "Secret".into(),
                    ..Default::default()
                }),
                field_paths: vec!["metadata.annotations.from".into()],
                ..Default::default()
            }],
        };
        assert!(apply(&mut rs, &rep).is_err());
        rep.targets[0].options = Some(FieldOptions {
            create: true,
            ..Default::default()
        });
        assert!(apply(&mut rs, &rep).is_ok());
        assert_eq!(rs[1].obj["metadata"]["annotations"]["from"], "src");
    }
}
