//! Field specs (which fields of which kinds a transformer touches), the transformer
//! configuration kustomize builds from its defaults plus `configurations:` files, and
//! the path walker every transformer uses.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::kustomization::FieldSpecArgs;
use crate::resource::Gvk;

/// Which field of which kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
}

impl From<&FieldSpecArgs> for FieldSpec {
    fn from(a: &FieldSpecArgs) -> Self {
        FieldSpec {
            gvk: Gvk {
                group: a.group.clone(),
                version: a.version.clone(),
                kind: a.kind.clone(),
            },
            path: a.path.clone(),
            create: a.create,
        }
    }
}

/// A kind whose name other kinds refer to, and where they do.
#[derive(Debug, Clone, PartialEq)]
pub struct NameBackRef {
    pub gvk: Gvk,
    pub referrers: Vec<FieldSpec>,
}

/// kustomize's TransformerConfig.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const DEFAULT_FIELD_SPECS: &str = include_str!("data/default_field_specs.txt");

fn parse_gvk(s: &str) -> Gvk {
    let mut parts = s.split('|').map(|p| if p == "*" { "" } else { p });
    Gvk {
        group: parts.next().unwrap_or("").to_string(),
        version: parts.next().unwrap_or("").to_string(),
        kind: parts.next().unwrap_or("").to_string(),
    }
}

/// Merges field specs into a list, skipping those already there (same gvk and path).
pub fn merge_all(list: &mut Vec<FieldSpec>, more: &[FieldSpec]) {
    let mut seen: std::collections::HashSet<(Gvk, String)> = list
        .iter()
        .map(|f| (f.gvk.clone(), f.path.clone()))
        .collect();
    for fs in more {
        if seen.insert((fs.gvk.clone(), fs.path.clone())) {
            list.push(fs.clone());
        }
    }
}

/// Merges a field spec into a list unless an equal one is there.
pub fn merge_one(list: &mut Vec<FieldSpec>, fs: FieldSpec) {
    if !list.iter().any(|x| x.gvk == fs.gvk && x.path == fs.path) {
        list.push(fs);
    }
}

impl TransformerConfig {
    /// kustomize's built-in configuration (parsed once).
    pub fn defaults() -> Self {
        static DEFAULTS: std::sync::LazyLock<TransformerConfig> =
            std::sync::LazyLock::new(TransformerConfig::parse_defaults);
        DEFAULTS.clone()
    }

    fn parse_defaults() -> Self {
        let mut c = TransformerConfig::default();
        for line in DEFAULT_FIELD_SPECS.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() == Some(&"nameReference") && words.len() >= 5 {
                let target = parse_gvk(words[1]);
                let fs = FieldSpec {
                    gvk: parse_gvk(words[3]),
                    path: words[4].to_string(),
                    create: false,
                };
                c.add_back_ref(target, vec![fs]);
                continue;
            }
            if words.len() < 3 {
                continue;
            }
            let fs = FieldSpec {
                gvk: parse_gvk(words[1]),
                path: words[2].to_string(),
                create: words.get(3) == Some(&"create"),
            };
            if let Some(list) = c.section_mut(words[0]) {
                merge_one(list, fs);
            }
        }
        c
    }

    fn section_mut(&mut self, name: &str) -> Option<&mut Vec<FieldSpec>> {
        Some(match name {
            "namePrefix" => &mut self.name_prefix,
            "nameSuffix" => &mut self.name_suffix,
            "namespace" => &mut self.namespace,
            "commonLabels" => &mut self.common_labels,
            "templateLabels" => &mut self.template_labels,
            "labels" => &mut self.labels,
            "commonAnnotations" => &mut self.common_annotations,
            "varReference" => &mut self.var_reference,
            "images" => &mut self.images,
            "replicas" => &mut self.replicas,
            _ => return None,
        })
    }

    fn add_back_ref(&mut self, gvk: Gvk, referrers: Vec<FieldSpec>) {
        if let Some(br) = self.name_reference.iter_mut().find(|b| b.gvk == gvk) {
            merge_all(&mut br.referrers, &referrers);
        } else {
            self.name_reference.push(NameBackRef { gvk, referrers });
        }
    }

    /// Merges another configuration into this one.
    pub fn merge(&mut self, other: &TransformerConfig) {
        for (mine, theirs) in [
            (&mut self.name_prefix, &other.name_prefix),
            (&mut self.name_suffix, &other.name_suffix),
            (&mut self.namespace, &other.namespace),
            (&mut self.common_labels, &other.common_labels),
            (&mut self.template_labels, &other.template_labels),
            (&mut self.labels, &other.labels),
            (&mut self.common_annotations, &other.common_annotations),
            (&mut self.var_reference, &other.var_reference),
            (&mut self.images, &other.images),
            (&mut self.replicas, &other.replicas),
        ] {
            merge_all(mine, theirs);
        }
        for br in &other.name_reference {
            self.add_back_ref(br.gvk.clone(), br.referrers.clone());
        }
    }

    /// Parses a `configurations:` file (kustomize's TransformerConfig YAML).
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct BackRefArgs {
            #[serde(default)]
            group: String,
            #[serde(default)]
            version: String,
            #[serde(default)]
            kind: String,
            #[serde(default)]
            field_specs: Vec<FieldSpecArgs>,
        }
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct ConfigArgs {
            #[serde(default)]
            name_prefix: Vec<FieldSpecArgs>,
            #[serde(default)]
            name_suffix: Vec<FieldSpecArgs>,
            #[serde(default)]
            namespace: Vec<FieldSpecArgs>,
            #[serde(default)]
            common_labels: Vec<FieldSpecArgs>,
            #[serde(default)]
            template_labels: Vec<FieldSpecArgs>,
            #[serde(default)]
            labels: Vec<FieldSpecArgs>,
            #[serde(default)]
            common_annotations: Vec<FieldSpecArgs>,
            #[serde(default)]
            name_reference: Vec<BackRefArgs>,
            #[serde(default)]
            var_reference: Vec<FieldSpecArgs>,
            #[serde(default)]
            images: Vec<FieldSpecArgs>,
            #[serde(default)]
            replicas: Vec<FieldSpecArgs>,
        }
        let mut v = flux_object::yaml::parse_document(text).map_err(|e| e.to_string())?;
        if v.is_null() {
            return Ok(TransformerConfig::default());
        }
        crate::kustomization::strip_nulls(&mut v);
        let a: ConfigArgs = serde_json::from_value(v).map_err(|e| e.to_string())?;
        let conv = |l: &Vec<FieldSpecArgs>| l.iter().map(FieldSpec::from).collect::<Vec<_>>();
        let mut c = TransformerConfig {
            name_prefix: conv(&a.name_prefix),
            name_suffix: conv(&a.name_suffix),
            namespace: conv(&a.namespace),
            common_labels: conv(&a.common_labels),
            template_labels: conv(&a.template_labels),
            labels: conv(&a.labels),
            common_annotations: conv(&a.common_annotations),
            name_reference: Vec::new(),
            var_reference: conv(&a.var_reference),
            images: conv(&a.images),
            replicas: conv(&a.replicas),
        };
        for br in &a.name_reference {
            c.add_back_ref(
                Gvk {
                    group: br.group.clone(),
                    version: br.version.clone(),
                    kind: br.kind.clone(),
                },
                conv(&br.field_specs),
            );
        }
        Ok(c)
    }
}

/// Splits a field-spec path on `/`, honouring `\/` escapes.
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            cur.push('/');
            chars.next();
        } else if c == '/' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    out
}

/// Calls `f` on every node the path reaches. Sequences met on the way are walked element by
/// element. With `create`, missing fields are created (the last one as `leaf`).
pub fn visit_path(
    node: &mut Value,
    segs: &[String],
    create: Option<&Value>,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        return f(node);
    };
    match node {
        Value::Array(items) => {
            for item in items {
                visit_path(item, segs, create, f)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            // `[name=value]` element selectors (used in some custom configurations).
            if first.starts_with('[') && first.ends_with(']') {
                return Ok(());
            }
            let (name, want_seq) = match first.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (first.as_str(), false),
            };
            let present = map.get(name).is_some_and(|v| !v.is_null());
            if present {
                if let Some(child) = map.get_mut(name) {
                    return visit_path(child, rest, create, f);
                }
                return Ok(());
            }
            let Some(leaf) = create else {
                return Ok(());
            };
            if want_seq {
                // Creating an empty sequence reaches nothing.
                return Ok(());
            }
            let new = if rest.is_empty() {
                leaf.clone()
            } else {
                Value::Object(Map::new())
            };
            map.insert(name.to_string(), new);
            match map.get_mut(name) {
                Some(child) => visit_path(child, rest, create, f),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_have_every_section() {
        let c = TransformerConfig::defaults();
        assert!(
            c.common_labels
                .iter()
                .any(|f| f.path == "spec/selector/matchLabels")
        );
        assert!(c.name_reference.iter().any(|b| b.gvk.kind == "ConfigMap"));
        assert_eq!(c.name_prefix.len(), 1);
        assert!(c.images.len() >= 4);
    }

    #[test]
    fn split_path_honours_escapes() {
        assert_eq!(
            split_path("metadata/annotations/a.io\\/b"),
            vec!["metadata", "annotations", "a.io/b"]
        );
    }

    #[test]
    fn visit_walks_sequences_and_creates() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let mut seen = Vec::new();
        visit_path(
            &mut v,
            &split_path("spec/containers[]/image"),
            None,
            &mut |n| {
                seen.push(n.as_str().unwrap_or("").to_string());
                Ok(())
            },
        )
        .ok();
        assert_eq!(seen, vec!["a", "b"]);
        let mut v = json!({"kind": "Service"});
        visit_path(
            &mut v,
            &split_path("spec/selector"),
            Some(&json!({})),
            &mut |n| {
                if let Some(m) = n.as_object_mut() {
                    m.insert("app".into(), json!("x"));
                }
                Ok(())
            },
        )
        .ok();
        assert_eq!(
            v,
            json!({"kind": "Service", "spec": {"selector": {"app": "x"}}})
        );
    }

    #[test]
    fn parse_custom_configuration() {
        let c = TransformerConfig::parse(
            "nameReference:\n- kind: Secret\n  fieldSpecs:\n  - kind: MyKind\n    path: spec/secretRef/name\ncommonLabels:\n- kind: MyKind\n  path: spec/selector\n  create: true\n",
        );
        let c = c.unwrap_or_default();
        assert_eq!(c.common_labels.len(), 1);
        assert_eq!(c.name_reference[0].referrers[0].path, "spec/secretRef/name");
    }
}
