//! The Kustomization (and Component) file, decoded strictly as kustomize decodes it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

/// The file names kustomize recognises, in the order it tries them.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// `kustomize.config.k8s.io/v1beta1` Kustomization or `v1alpha1` Component.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kustomization {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub openapi: BTreeMap<String, String>,
    #[serde(default)]
    pub name_prefix: String,
    #[serde(default)]
    pub name_suffix: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default, alias = "patchesJSON6902", alias = "patchesJson6902")]
    pub patches_json6902: Vec<Patch>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub image_tags: Vec<Image>,
    #[serde(default)]
    pub replacements: Vec<ReplacementField>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    #[serde(default)]
    pub vars: Vec<Var>,
    #[serde(default)]
    pub sort_options: Option<SortOptions>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub crds: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub config_map_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub secret_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub helm_globals: Option<Value>,
    #[serde(default)]
    pub helm_charts: Vec<Value>,
    #[serde(default)]
    pub helm_chart_inflation_generator: Vec<Value>,
    #[serde(default)]
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
}

/// An entry of `labels`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Label {
    #[serde(default)]
    pub pairs: BTreeMap<String, String>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpecArgs>,
}

/// A field spec as written in kustomization/configuration files.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpecArgs {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

/// An entry of `patches` / `patchesJson6902`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Patch {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub patch: String,
    #[serde(default)]
    pub target: Option<Selector>,
    #[serde(default)]
    pub options: BTreeMap<String, bool>,
}

/// A resource selector (patch targets, replacement targets).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Selector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub label_selector: String,
    #[serde(default)]
    pub annotation_selector: String,
}

/// An entry of `images`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub new_name: String,
    #[serde(default)]
    pub tag_suffix: String,
    #[serde(default)]
    pub new_tag: String,
    #[serde(default)]
    pub digest: String,
}

/// An entry of `replicas`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Replica {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub count: i64,
}

/// An entry of `replacements`: inline or `path:` to a file of replacements.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacementField {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub source: Option<SourceSelector>,
    #[serde(default)]
    pub targets: Vec<TargetSelector>,
}

/// A replacement (as found in a replacements file).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Replacement {
    #[serde(default)]
    pub source: Option<SourceSelector>,
    #[serde(default)]
    pub targets: Vec<TargetSelector>,
}

/// `replacements[].source`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceSelector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub field_path: String,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

/// `replacements[].targets[]`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetSelector {
    #[serde(default)]
    pub select: Option<Selector>,
    #[serde(default)]
    pub reject: Vec<Selector>,
    #[serde(default)]
    pub field_paths: Vec<String>,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

/// Options of a replacement source or target.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldOptions {
    #[serde(default)]
    pub delimiter: String,
    #[serde(default)]
    pub index: i64,
    #[serde(default)]
    pub encoding: String,
    #[serde(default)]
    pub create: bool,
}

/// An entry of `vars`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Var {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub objref: VarTarget,
    #[serde(default)]
    pub fieldref: FieldSelector,
}

/// `vars[].objref`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VarTarget {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

/// `vars[].fieldref`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSelector {
    #[serde(default)]
    pub field_path: String,
}

/// `sortOptions`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SortOptions {
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// An entry of `configMapGenerator` / `secretGenerator`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratorArgs {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub behavior: String,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    #[serde(default)]
    pub env: String,
    #[serde(default)]
    pub options: Option<GeneratorOptions>,
    /// Secret type (secretGenerator only).
    #[serde(default, rename = "type")]
    pub type_: String,
}

/// `generatorOptions` (and per-generator `options`).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratorOptions {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub disable_name_suffix_hash: bool,
    #[serde(default)]
    pub immutable: bool,
}

/// Keeps only the last block of each repeated top-level key of a YAML mapping document.
fn last_top_level_keys(text: &str) -> String {
    let mut prefix = String::new();
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let starts_key = line
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
            && line.contains(':');
        if starts_key {
            let key = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\''])
                .to_string();
            blocks.push((key, line.to_string()));
        } else if let Some(last) = blocks.last_mut() {
            last.1.push_str(line);
        } else {
            prefix.push_str(line);
        }
    }
    let mut out = prefix;
    for (i, (key, block)) in blocks.iter().enumerate() {
        if !blocks[i + 1..].iter().any(|(k, _)| k == key) {
            out.push_str(block);
            if !block.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

/// Removes `null` members of objects, recursively: Go's decoder treats them as absent.
pub(crate) fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            for x in m.values_mut() {
                strip_nulls(x);
            }
        }
        Value::Array(a) => {
            for x in a {
                strip_nulls(x);
            }
        }
        _ => {}
    }
}

/// Every field name of the kustomization schema, as written canonically.
const FIELD_NAMES: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
    "pairs",
    "includeSelectors",
    "includeTemplates",
    "fields",
    "group",
    "version",
    "path",
    "create",
    "patch",
    "target",
    "options",
    "name",
    "labelSelector",
    "annotationSelector",
    "newName",
    "tagSuffix",
    "newTag",
    "digest",
    "count",
    "source",
    "targets",
    "fieldPath",
    "select",
    "reject",
    "fieldPaths",
    "delimiter",
    "index",
    "encoding",
    "objref",
    "fieldref",
    "order",
    "legacySortOptions",
    "orderFirst",
    "orderLast",
    "behavior",
    "literals",
    "files",
    "envs",
    "env",
    "type",
    "annotations",
    "disableNameSuffixHash",
    "immutable",
];

/// Go's JSON decoder matches field names case-insensitively (`fieldpath` is `fieldPath`);
/// this renames such keys to their canonical spelling. Free-form maps are left alone.
pub(crate) fn fold_field_names(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if FIELD_NAMES.contains(&k.as_str()) {
                    continue;
                }
                if let Some(canon) = FIELD_NAMES.iter().find(|c| c.eq_ignore_ascii_case(&k))
                    && !m.contains_key(*canon)
                    && let Some(val) = m.remove(&k)
                {
                    m.insert((*canon).to_string(), val);
                }
            }
            for (k, val) in m.iter_mut() {
                let free_form = matches!(
                    k.as_str(),
                    "commonLabels"
                        | "commonAnnotations"
                        | "pairs"
                        | "openapi"
                        | "metadata"
                        | "labels"
                        | "annotations"
                ) && val.is_object();
                if !free_form {
                    fold_field_names(val);
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                fold_field_names(x);
            }
        }
        _ => {}
    }
}

/// Words a decode error as Go's `encoding/json` does (`json: cannot unmarshal string into Go
/// struct field Kustomization.patches of type types.Patch`), keeping serde's detail.
fn go_style_decode_error(path: &str, message: &str) -> String {
    let field: String = path
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && *p != "?")
        .collect::<Vec<_>>()
        .join(".");
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let go_got = if got.starts_with("string") {
            "string"
        } else if got.starts_with("integer") || got.starts_with("floating") {
            "number"
        } else if got.starts_with("boolean") {
            "bool"
        } else if got.starts_with("map") {
            "object"
        } else if got.starts_with("sequence") {
            "array"
        } else {
            got
        };
        let go_type = match expected.strip_prefix("struct ") {
            Some(name) => format!("types.{name}"),
            None if expected.contains("string") => "string".into(),
            None if expected.contains("sequence") => "slice".into(),
            None if expected.contains("map") => "map".into(),
            None if expected.contains("boolean") => "bool".into(),
            None if expected.contains("i64") || expected.contains("integer") => "int".into(),
            None => expected.to_string(),
        };
        return format!(
            "json: cannot unmarshal {go_got} into Go struct field Kustomization.{field} of type {go_type}"
        );
    }
    if field.is_empty() {
        format!("json: {message}")
    } else {
        format!("json: {message} (field {field})")
    }
}

impl Kustomization {
    /// Decodes a kustomization file's text, as kustomize does (unknown fields are errors).
    pub fn parse(file: &Path, text: &str) -> Result<Self, Error> {
        let parsed = match flux_object::yaml::parse_document(text) {
            // kustomize decodes kustomization files with sigs.k8s.io/yaml, where a repeated
            // key overrides the earlier one; resource files keep rejecting duplicates.
            Err(e) if e.to_string().contains("already") => {
                flux_object::yaml::parse_document(&last_top_level_keys(text))
            }
            other => other,
        };
        let mut value = parsed.map_err(|e| Error::InvalidKustomization {
            file: file.to_path_buf(),
            reason: e.to_string(),
        })?;
        if value.is_null() {
            value = Value::Object(Default::default());
        }
        if !value.is_object() {
            return Err(Error::InvalidKustomization {
                file: file.to_path_buf(),
                reason: "the document is not a mapping".into(),
            });
        }
        strip_nulls(&mut value);
        fold_field_names(&mut value);
        let mut k: Kustomization =
            serde_path_to_error::deserialize(value).map_err(|e| Error::InvalidKustomization {
                file: file.to_path_buf(),
                reason: go_style_decode_error(&e.path().to_string(), &e.inner().to_string()),
            })?;
        let empty = Kustomization {
            api_version: k.api_version.clone(),
            kind: k.kind.clone(),
            ..Default::default()
        };
        if k == empty {
            return Err(Error::EmptyKustomization {
                file: file.to_path_buf(),
            });
        }
        if k.kind.is_empty() {
            k.kind = "Kustomization".into();
        }
        let required = if k.kind == "Component" {
            "kustomize.config.k8s.io/v1alpha1"
        } else {
            "kustomize.config.k8s.io/v1beta1"
        };
        if k.kind != "Kustomization" && k.kind != "Component" {
            return Err(Error::InvalidKustomization {
                file: file.to_path_buf(),
                reason: "field 'kind': kind should be Kustomization or Component".into(),
            });
        }
        if !k.api_version.is_empty() && k.api_version != required {
            return Err(Error::InvalidKustomization {
                file: file.to_path_buf(),
                reason: format!(
                    "field 'apiVersion': apiVersion for {} should be {required}",
                    k.kind
                ),
            });
        }
        // kustomize's FixKustomization: legacy fields folded into their successors.
        let bases = std::mem::take(&mut k.bases);
        k.resources.extend(bases);
        let tags = std::mem::take(&mut k.image_tags);
        k.images.extend(tags);
        for g in k
            .config_map_generator
            .iter_mut()
            .chain(k.secret_generator.iter_mut())
        {
            if !g.env.is_empty() {
                let env = std::mem::take(&mut g.env);
                g.envs.push(env);
            }
        }
        Ok(k)
    }

    /// Whether this is a `Component`.
    pub fn is_component(&self) -> bool {
        self.kind == "Component"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_an_error() {
        let err = Kustomization::parse(Path::new("k.yaml"), "resourcez: [a.yaml]\n");
        assert!(matches!(err, Err(Error::InvalidKustomization { .. })));
    }

    #[test]
    fn empty_is_an_error() {
        let err = Kustomization::parse(
            Path::new("k.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        );
        assert!(matches!(err, Err(Error::EmptyKustomization { .. })));
    }

    #[test]
    fn bases_fold_into_resources() {
        let k = Kustomization::parse(Path::new("k.yaml"), "resources: [a.yaml]\nbases: [../b]\n")
            .map_err(|e| e.to_string());
        assert_eq!(
            k.map(|k| k.resources),
            Ok(vec!["a.yaml".to_string(), "../b".to_string()])
        );
    }

    #[test]
    fn field_names_fold_case_as_go_does() {
        let k = Kustomization::parse(
            Path::new("k.yaml"),
            "vars:\n- name: X\n  objref: {kind: Service, name: s, apiVersion: v1}\n  fieldref: {fieldpath: metadata.name}\ncommonLabels: {Name: keep}\n",
        );
        let k = k.unwrap_or_default();
        assert_eq!(k.vars[0].fieldref.field_path, "metadata.name");
        assert!(k.common_labels.contains_key("Name"));
    }

    #[test]
    fn repeated_top_level_key_keeps_the_last() {
        let k = Kustomization::parse(
            Path::new("k.yaml"),
            "namePrefix: a-\nresources: [x.yaml]\nnamePrefix: b-\n",
        );
        let k = k.unwrap_or_default();
        assert_eq!(k.name_prefix, "b-");
        assert_eq!(k.resources, vec!["x.yaml"]);
    }

    #[test]
    fn string_patch_entry_is_an_error() {
        let err = Kustomization::parse(Path::new("k.yaml"), "patches:\n- p.yaml\n");
        assert!(matches!(err, Err(Error::InvalidKustomization { .. })));
    }
}
