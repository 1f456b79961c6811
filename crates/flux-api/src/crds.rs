//! CustomResourceDefinitions generated from the API types.
//!
//! `kube-derive` builds each CRD from the Rust types (schemars schemas); this module
//! normalises the result to the shape controller-gen gives Flux's own CRDs: no `nullable`
//! markers for optional fields, no `additionalProperties: false` from
//! `deny_unknown_fields`, no `required` at the root, and keys sorted alphabetically.

use kube_core::crd::v1::CustomResourceExt;
use serde_json::{Map, Value};

/// A CRD generation or rendering failure.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// The generated CRD could not be converted to JSON.
    #[error("serialising the {kind} CRD: {source}")]
    Serialize {
        /// The kind whose CRD failed.
        kind: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The CRD could not be written as YAML.
    #[error("writing the {name} CRD as YAML: {source}")]
    Yaml {
        /// CRD name.
        name: String,
        /// The cause.
        #[source]
        source: flux_object::yaml::YamlError,
    },
}

/// Generates the normalised CRD of one kind.
pub fn crd_of<K: CustomResourceExt>(kind: &'static str) -> Result<Value, CrdError> {
    let crd = K::crd();
    let mut value =
        serde_json::to_value(&crd).map_err(|source| CrdError::Serialize { kind, source })?;
    normalize_crd(&mut value);
    Ok(value)
}

/// Every Flux CRD, ordered by name as `flux install --export` prints them.
pub fn all_crds() -> Result<Vec<Value>, CrdError> {
    use crate::source::*;
    let mut crds = vec![
        crd_of::<GitRepository>("GitRepository")?,
        crd_of::<OCIRepository>("OCIRepository")?,
        crd_of::<Bucket>("Bucket")?,
        crd_of::<HelmRepository>("HelmRepository")?,
        crd_of::<HelmChart>("HelmChart")?,
        crd_of::<ExternalArtifact>("ExternalArtifact")?,
        crd_of::<crate::source_extensions::ArtifactGenerator>("ArtifactGenerator")?,
        crd_of::<crate::kustomize::Kustomization>("Kustomization")?,
        crd_of::<crate::helm::HelmRelease>("HelmRelease")?,
        crd_of::<crate::notification::Provider>("Provider")?,
        crd_of::<crate::notification::Alert>("Alert")?,
        crd_of::<crate::notification::Receiver>("Receiver")?,
        crd_of::<crate::image::ImageRepository>("ImageRepository")?,
        crd_of::<crate::image::ImagePolicy>("ImagePolicy")?,
        crd_of::<crate::image::ImageUpdateAutomation>("ImageUpdateAutomation")?,
    ];
    crds.sort_by(|a, b| crd_name(a).cmp(crd_name(b)));
    Ok(crds)
}

/// `metadata.name` of a CRD (`<plural>.<group>`).
pub fn crd_name(crd: &Value) -> &str {
    crd.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The file name the CRD is committed under: `<group>_<plural>.yaml`.
pub fn crd_file_name(crd: &Value) -> String {
    let group = crd
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let plural = crd
        .pointer("/spec/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{group}_{plural}.yaml")
}

/// One CRD as a YAML document starting with `---`, like controller-gen writes them.
pub fn crd_to_yaml(crd: &Value) -> Result<String, CrdError> {
    let body = flux_object::yaml::to_yaml_string(crd).map_err(|source| CrdError::Yaml {
        name: crd_name(crd).to_string(),
        source,
    })?;
    Ok(format!("---\n{body}"))
}

/// All CRDs as one multi-document YAML stream.
pub fn all_crds_yaml() -> Result<String, CrdError> {
    let mut out = String::new();
    for crd in all_crds()? {
        out.push_str(&crd_to_yaml(&crd)?);
    }
    Ok(out)
}

const API_VERSION_DESCRIPTION: &str =
    "The versioned schema of this object (group/version), e.g. source.toolkit.fluxcd.io/v1.";
const KIND_DESCRIPTION: &str = "The REST resource this object represents, in CamelCase.";

fn normalize_crd(crd: &mut Value) {
    let kind = crd
        .pointer("/spec/names/kind")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let (Some(kind), Some(names)) = (
        kind,
        crd.pointer_mut("/spec/names")
            .and_then(Value::as_object_mut),
    ) {
        names.insert("listKind".into(), Value::String(format!("{kind}List")));
    }
    if let Some(versions) = crd
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    {
        for version in versions {
            if let Some(v) = version.as_object_mut() {
                // controller-gen writes an empty map for kinds without a status subresource.
                v.entry("subresources")
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            if let Some(schema) = version.pointer_mut("/schema/openAPIV3Schema") {
                normalize_schema(schema);
                if let Some(root) = schema.as_object_mut() {
                    root.remove("required");
                    root.remove("title");
                    let props = root
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(props) = props.as_object_mut() {
                        props.insert(
                            "apiVersion".into(),
                            serde_json::json!({"description": API_VERSION_DESCRIPTION, "type": "string"}),
                        );
                        props.insert(
                            "kind".into(),
                            serde_json::json!({"description": KIND_DESCRIPTION, "type": "string"}),
                        );
                        props.insert("metadata".into(), serde_json::json!({"type": "object"}));
                    }
                }
            }
        }
    }
    sort_keys(crd);
}

/// Rewrites a schemars/kube schema node (recursively) into controller-gen's shape.
fn normalize_schema(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.remove("nullable");
    if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
        obj.remove("additionalProperties");
    }
    if let Some(Value::Array(types)) = obj.get("type") {
        let non_null: Vec<Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .cloned()
            .collect();
        if non_null.len() == 1 {
            obj.insert("type".into(), non_null[0].clone());
        } else {
            obj.insert("type".into(), Value::Array(non_null));
        }
    }
    for key in ["minimum", "maximum"] {
        // schemars writes ranges as floats; controller-gen writes integers.
        if let Some(f) = obj.get(key).and_then(Value::as_f64)
            && f.fract() == 0.0
            && f.abs() < 9.0e15
        {
            obj.insert(key.into(), Value::from(f as i64));
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = obj.get_mut(key) {
            for (_, prop) in props.iter_mut() {
                normalize_schema(prop);
            }
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = obj.get_mut(key) {
            normalize_schema(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            for sub in subs {
                normalize_schema(sub);
            }
        }
    }
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sorted = Map::new();
            for (k, mut v) in entries {
                sort_keys(&mut v);
                sorted.insert(k, v);
            }
            *map = sorted;
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}
