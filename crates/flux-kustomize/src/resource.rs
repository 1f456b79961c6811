//! Resources as a build carries them: the object plus the history kustomize tracks
//! (previous ids, prefixes/suffixes, generator behaviour).

use std::fmt;

use serde_json::{Map, Value};

/// Group, version, kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` and a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// kustomize's `IsSelected`: empty selector fields are wildcards.
    pub fn is_selected_by(&self, sel: &Gvk) -> bool {
        (sel.group.is_empty() || sel.group == self.group)
            && (sel.version.is_empty() || sel.version == self.version)
            && (sel.kind.is_empty() || sel.kind == self.kind)
    }

    /// Whether kustomize treats this kind as cluster-scoped.
    pub fn is_cluster_scoped(&self) -> bool {
        is_cluster_scoped_kind(&self.group, &self.kind)
    }

    /// `Kind.version.group` with kustomize's placeholders, as in its messages.
    pub fn display_string(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }

    /// kustomize's `Gvk.String()` (kind_version_group).
    pub fn underscore_string(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}_{}_{}",
            or(&self.kind, "~K"),
            or(&self.version, "~V"),
            or(&self.group, "~G")
        )
    }
}

/// Built-in kinds that are cluster-scoped (Kubernetes 1.33 API); unknown kinds are namespaced.
fn is_cluster_scoped_kind(group: &str, kind: &str) -> bool {
    const CLUSTER: &[(&str, &str)] = &[
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
        ),
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
        ),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicyBinding",
        ),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        (
            "admissionregistration.k8s.io",
            "MutatingAdmissionPolicyBinding",
        ),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("resource.k8s.io", "DeviceClass"),
        ("extensions", "PodSecurityPolicy"),
    ];
    CLUSTER.iter().any(|(g, k)| *g == group && *k == kind)
}

/// A resource id: gvk, name, namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// The namespace kustomize compares: `default` for an empty one, none when cluster-scoped.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            "_non_namespaceable_"
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`.
    pub fn equals(&self, o: &ResId) -> bool {
        self.gvk == o.gvk
            && self.name == o.name
            && self.effective_namespace() == o.effective_namespace()
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(f, "{}/{}.{}", self.gvk.display_string(), self.name, ns)
    }
}

/// What a generator asked of the resources it produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratedInfo {
    /// `create`, `merge` or `replace`.
    pub behavior: String,
    /// Whether the name gets the content-hash suffix.
    pub hash_suffix: bool,
}

/// One resource in a build.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The object.
    pub obj: Map<String, Value>,
    /// Earlier ids, oldest first (the current one is not included).
    pub prev_ids: Vec<ResId>,
    /// Name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Set for generated ConfigMaps/Secrets.
    pub generated: Option<GeneratedInfo>,
    /// Names of the `vars` that read a field of this resource.
    pub ref_var_names: Vec<String>,
    /// `buildMetadata: [originAnnotations]`: the origin, as the annotation's YAML text.
    pub origin: Option<String>,
    /// `buildMetadata: [transformerAnnotations]`: (kustomization path, transformer kind).
    pub transformations: Vec<(String, String)>,
}

impl Resource {
    /// Wraps an object.
    pub fn new(obj: Map<String, Value>) -> Self {
        Resource {
            obj,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            generated: None,
            ref_var_names: Vec::new(),
            origin: None,
            transformations: Vec::new(),
        }
    }

    fn meta_str(&self, key: &str) -> &str {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.meta_str("name")
    }
    pub fn namespace(&self) -> &str {
        self.meta_str("namespace")
    }
    pub fn kind(&self) -> &str {
        self.obj.get("kind").and_then(Value::as_str).unwrap_or("")
    }
    pub fn api_version(&self) -> &str {
        self.obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// The current id.
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }

    /// The original id (before any rename).
    pub fn org_id(&self) -> ResId {
        self.prev_ids
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Previous ids followed by the current one.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev_ids.clone();
        v.push(self.cur_id());
        v
    }

    /// Records the current id as a previous one (before a rename).
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev_ids.push(id);
    }

    /// `metadata`, created (or replaced, when not a mapping) as needed.
    pub fn metadata_mut(&mut self) -> Option<&mut Map<String, Value>> {
        let entry = self
            .obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        entry.as_object_mut()
    }

    pub fn set_name(&mut self, name: &str) {
        if let Some(md) = self.metadata_mut() {
            md.insert("name".into(), Value::String(name.into()));
        }
    }

    pub fn set_namespace(&mut self, ns: &str) {
        if let Some(md) = self.metadata_mut() {
            if ns.is_empty() {
                md.remove("namespace");
            } else {
                md.insert("namespace".into(), Value::String(ns.into()));
            }
        }
    }

    /// The string map at `metadata.<field>` (labels or annotations).
    pub fn string_map(&self, field: &str) -> Vec<(String, String)> {
        match self.obj.get("metadata").and_then(|m| m.get(field)) {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), scalar_string(v)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `metadata.labels` as pairs.
    pub fn labels(&self) -> Vec<(String, String)> {
        self.string_map("labels")
    }

    /// `metadata.annotations` as pairs.
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.string_map("annotations")
    }

    /// Whether the metadata annotation `key` is set to `value`.
    pub fn has_annotation(&self, key: &str, value: &str) -> bool {
        self.obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(key))
            .is_some_and(|v| scalar_string(v) == value)
    }

    /// Whether the resource has no content left (deleted by a patch).
    pub fn is_empty(&self) -> bool {
        self.obj.is_empty()
    }
}

/// A scalar as the string kustomize would see (`true`, `3`, text).
pub fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gvk_splits_api_version() {
        let g = Gvk::from_api_version("apps/v1", "Deployment");
        assert_eq!(g.group, "apps");
        assert_eq!(g.version, "v1");
        let g = Gvk::from_api_version("v1", "ConfigMap");
        assert_eq!(g.group, "");
    }

    #[test]
    fn empty_namespace_equals_default() {
        let a = ResId {
            gvk: Gvk::from_api_version("v1", "ConfigMap"),
            name: "x".into(),
            namespace: String::new(),
        };
        let mut b = a.clone();
        b.namespace = "default".into();
        assert!(a.equals(&b));
        b.namespace = "other".into();
        assert!(!a.equals(&b));
    }

    #[test]
    fn id_display_matches_kustomize() {
        let a = ResId {
            gvk: Gvk::from_api_version("apps/v1", "Deployment"),
            name: "web".into(),
            namespace: String::new(),
        };
        assert_eq!(a.to_string(), "Deployment.v1.apps/web.[noNs]");
    }
}
