//! The resource table: which group/version/resources the server serves, built-in and CRD.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

/// How object names of a resource are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most resources).
    Subdomain,
    /// RFC 1123 label (namespaces, services).
    Label,
    /// Any name usable as a path segment (RBAC roles, bindings).
    PathSegment,
}

/// One served resource in one group version.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    pub scale_subresource: bool,
    /// Objects carry `metadata.generation` (kinds with a spec, every custom resource).
    pub has_generation: bool,
    pub name_rule: NameRule,
    /// Only `create` is served (reviews).
    pub create_only: bool,
    /// The version's openAPIV3Schema for custom resources.
    pub schema: Option<Arc<Value>>,
    /// Set for resources defined by a CustomResourceDefinition.
    pub crd_name: Option<String>,
    /// Storage version of a custom resource (objects are stored at it).
    pub storage_version: String,
    /// Structural types for server-side apply of a custom resource (built-ins use
    /// flux-merge's table).
    pub ssa_schema: Option<Arc<flux_merge::schema::SchemaSet>>,
    /// A CRD version's `additionalPrinterColumns` (Table output).
    pub printer_columns: Option<Arc<Value>>,
    /// Compiled `x-kubernetes-validations` of a CRD version (None when it has none).
    pub cel_rules: Option<Arc<crate::cel_rules::CompiledRules>>,
    /// A CRD version's scale subresource paths (built-ins use `.spec.replicas`,
    /// `.status.replicas` and `.spec.selector`).
    pub scale_paths: Option<Arc<ScalePaths>>,
}

/// `subresources.scale` of a CRD version: JSON paths (`.spec.replicas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

impl ScalePaths {
    /// Read the paths of a CRD version's `subresources.scale`.
    pub fn from_crd_scale(scale: &Value) -> Self {
        let path = |key: &str, default: &str| {
            scale
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        Self {
            spec_replicas: path("specReplicasPath", ".spec.replicas"),
            status_replicas: path("statusReplicasPath", ".status.replicas"),
            label_selector: scale
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

/// A simple JSON path (`.spec.replicas`) as a JSON pointer (`/spec/replicas`).
pub fn json_path_pointer(path: &str) -> String {
    path.trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_version(&self) -> String {
        self.api_version()
    }

    /// The storage key prefix: one key space per group/resource (all versions share it).
    pub fn storage_resource(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.create_only {
            return vec!["create"];
        }
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

struct Builtin {
    gv: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    scale: bool,
    generation: bool,
    name_rule: NameRule,
    create_only: bool,
}

const fn b(
    gv: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
) -> Builtin {
    Builtin {
        gv,
        kind,
        plural,
        namespaced,
        short,
        categories,
        status,
        scale: false,
        generation: false,
        name_rule: NameRule::Subdomain,
        create_only: false,
    }
}

const fn spec(mut r: Builtin) -> Builtin {
    r.generation = true;
    r
}
const fn scale(mut r: Builtin) -> Builtin {
    r.scale = true;
    r
}
const fn label_name(mut r: Builtin) -> Builtin {
    r.name_rule = NameRule::Label;
    r
}
const fn segment_name(mut r: Builtin) -> Builtin {
    r.name_rule = NameRule::PathSegment;
    r
}
const fn review(mut r: Builtin) -> Builtin {
    r.create_only = true;
    r
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// The built-in resources (Kubernetes 1.33 names, short names and categories).
const BUILTINS: &[Builtin] = &[
    // core/v1
    b("v1", "ConfigMap", "configmaps", true, &["cm"], NONE, false),
    b("v1", "Endpoints", "endpoints", true, &["ep"], NONE, false),
    b("v1", "Event", "events", true, &["ev"], NONE, false),
    b(
        "v1",
        "LimitRange",
        "limitranges",
        true,
        &["limits"],
        NONE,
        false,
    ),
    label_name(spec(b(
        "v1",
        "Namespace",
        "namespaces",
        false,
        &["ns"],
        NONE,
        true,
    ))),
    spec(b("v1", "Node", "nodes", false, &["no"], NONE, true)),
    spec(b(
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        NONE,
        true,
    )),
    spec(b(
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
        NONE,
        true,
    )),
    spec(b("v1", "Pod", "pods", true, &["po"], ALL, true)),
    spec(b(
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
        &["rc"],
        ALL,
        true,
    )),
    spec(b(
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
        NONE,
        true,
    )),
    b("v1", "Secret", "secrets", true, NONE, NONE, false),
    b(
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        NONE,
        false,
    ),
    label_name(spec(b(
        "v1",
        "Service",
        "services",
        true,
        &["svc"],
        ALL,
        true,
    ))),
    // admissionregistration.k8s.io/v1 (stored only)
    b(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        NONE,
        &["api-extensions"],
        false,
    ),
    b(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        NONE,
        &["api-extensions"],
        false,
    ),
    // apiextensions.k8s.io/v1
    spec(b(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        &["api-extensions"],
        true,
    )),
    // apps/v1
    scale(spec(b(
        "apps/v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        ALL,
        true,
    ))),
    scale(spec(b(
        "apps/v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["rs"],
        ALL,
        true,
    ))),
    scale(spec(b(
        "apps/v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        ALL,
        true,
    ))),
    spec(b(
        "apps/v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["ds"],
        ALL,
        true,
    )),
    b(
        "apps/v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        NONE,
        NONE,
        false,
    ),
    // authentication.k8s.io/v1
    review(b(
        "authentication.k8s.io/v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        false,
        NONE,
        NONE,
        false,
    )),
    review(b(
        "authentication.k8s.io/v1",
        "TokenReview",
        "tokenreviews",
        false,
        NONE,
        NONE,
        false,
    )),
    // authorization.k8s.io/v1
    review(b(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
        NONE,
        NONE,
        false,
    )),
    review(b(
        "authorization.k8s.io/v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        false,
        NONE,
        NONE,
        false,
    )),
    review(b(
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
        NONE,
        NONE,
        false,
    )),
    // autoscaling/v2
    spec(b(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
        ALL,
        true,
    )),
    // batch/v1
    spec(b(
        "batch/v1",
        "CronJob",
        "cronjobs",
        true,
        &["cj"],
        ALL,
        true,
    )),
    spec(b("batch/v1", "Job", "jobs", true, NONE, ALL, true)),
    // coordination.k8s.io/v1
    b(
        "coordination.k8s.io/v1",
        "Lease",
        "leases",
        true,
        NONE,
        NONE,
        false,
    ),
    // events.k8s.io/v1
    b(
        "events.k8s.io/v1",
        "Event",
        "events",
        true,
        &["ev"],
        NONE,
        false,
    ),
    // networking.k8s.io/v1
    spec(b(
        "networking.k8s.io/v1",
        "IngressClass",
        "ingressclasses",
        false,
        NONE,
        NONE,
        false,
    )),
    spec(b(
        "networking.k8s.io/v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
        NONE,
        true,
    )),
    spec(b(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        NONE,
        false,
    )),
    // policy/v1
    spec(b(
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        NONE,
        true,
    )),
    // rbac.authorization.k8s.io/v1
    segment_name(b(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        NONE,
        NONE,
        false,
    )),
    segment_name(b(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
        NONE,
        NONE,
        false,
    )),
    segment_name(b(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
        NONE,
        NONE,
        false,
    )),
    segment_name(b(
        "rbac.authorization.k8s.io/v1",
        "Role",
        "roles",
        true,
        NONE,
        NONE,
        false,
    )),
    // scheduling.k8s.io/v1
    b(
        "scheduling.k8s.io/v1",
        "PriorityClass",
        "priorityclasses",
        false,
        &["pc"],
        NONE,
        false,
    ),
    // storage.k8s.io/v1
    b(
        "storage.k8s.io/v1",
        "CSIDriver",
        "csidrivers",
        false,
        NONE,
        NONE,
        false,
    ),
    b(
        "storage.k8s.io/v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
        NONE,
        false,
    ),
    spec(b(
        "storage.k8s.io/v1",
        "VolumeAttachment",
        "volumeattachments",
        false,
        NONE,
        NONE,
        true,
    )),
];

fn singular_of(kind: &str) -> String {
    kind.to_ascii_lowercase()
}

fn builtin_defs() -> Vec<Arc<ResourceDef>> {
    BUILTINS
        .iter()
        .map(|r| {
            let (group, version) = match r.gv.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), r.gv.to_string()),
            };
            Arc::new(ResourceDef {
                storage_version: version.clone(),
                group,
                version,
                kind: r.kind.to_string(),
                plural: r.plural.to_string(),
                singular: singular_of(r.kind),
                namespaced: r.namespaced,
                short_names: r.short.iter().map(|s| s.to_string()).collect(),
                categories: r.categories.iter().map(|s| s.to_string()).collect(),
                status_subresource: r.status,
                scale_subresource: r.scale,
                has_generation: r.generation,
                name_rule: r.name_rule,
                create_only: r.create_only,
                schema: None,
                crd_name: None,
                ssa_schema: None,
                printer_columns: None,
                cel_rules: None,
                scale_paths: None,
            })
        })
        .collect()
}

/// A group's versions in preference order, for discovery.
#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub name: String,
    pub versions: Vec<String>,
}

/// Every served resource, keyed by (group, version, plural). CRD types come and go at runtime.
pub struct Registry {
    inner: RwLock<RegistryInner>,
    /// Bumped whenever the served set changes (CRDs), for caches.
    generation: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct RegistryInner {
    by_gvr: BTreeMap<(String, String, String), Arc<ResourceDef>>,
    /// CRD name → the (group, version, plural) keys it serves.
    crd_keys: BTreeMap<String, Vec<(String, String, String)>>,
    /// group → versions in preference order (CRDs: their order in the CRD).
    group_versions: BTreeMap<String, Vec<String>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    pub fn new() -> Self {
        let mut inner = RegistryInner::default();
        for def in builtin_defs() {
            let versions = inner.group_versions.entry(def.group.clone()).or_default();
            if !versions.contains(&def.version) {
                versions.push(def.version.clone());
            }
            inner.by_gvr.insert(
                (def.group.clone(), def.version.clone(), def.plural.clone()),
                def,
            );
        }
        Self {
            inner: RwLock::new(inner),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Changes whenever a CRD is served or unserved.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.inner
            .read()
            .by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// The definition of a kind, preferring its group's first version.
    pub fn by_group_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceDef>> {
        let inner = self.inner.read();
        let versions = inner.group_versions.get(group)?;
        versions.iter().find_map(|v| {
            inner
                .by_gvr
                .values()
                .find(|d| d.group == group && &d.version == v && d.kind == kind)
                .cloned()
        })
    }

    pub fn has_group_version(&self, group: &str, version: &str) -> bool {
        self.inner
            .read()
            .group_versions
            .get(group)
            .is_some_and(|v| v.iter().any(|x| x == version))
    }

    /// All groups in discovery order: core first, then the others alphabetically.
    pub fn groups(&self) -> Vec<GroupEntry> {
        let inner = self.inner.read();
        inner
            .group_versions
            .iter()
            .map(|(name, versions)| GroupEntry {
                name: name.clone(),
                versions: versions.clone(),
            })
            .collect()
    }

    pub fn resources_in(&self, group: &str, version: &str) -> Vec<Arc<ResourceDef>> {
        self.inner
            .read()
            .by_gvr
            .values()
            .filter(|d| d.group == group && d.version == version)
            .cloned()
            .collect()
    }

    /// Every (group, plural) a CRD could collide with: the group's plurals and kinds
    /// served by anything other than `crd_name`.
    pub fn names_taken(&self, group: &str, plural: &str, kind: &str, crd_name: &str) -> bool {
        self.inner.read().by_gvr.values().any(|d| {
            d.group == group
                && d.crd_name.as_deref() != Some(crd_name)
                && (d.plural == plural || d.kind == kind)
        })
    }

    /// Serve a CRD's versions (replacing what it served before).
    pub fn register_crd(&self, crd_name: &str, group: &str, defs: Vec<Arc<ResourceDef>>) {
        let mut inner = self.inner.write();
        remove_crd(&mut inner, crd_name);
        let mut keys = Vec::new();
        let mut versions = Vec::new();
        for def in defs {
            let key = (def.group.clone(), def.version.clone(), def.plural.clone());
            versions.push(def.version.clone());
            inner.by_gvr.insert(key.clone(), def);
            keys.push(key);
        }
        let entry = inner.group_versions.entry(group.to_string()).or_default();
        for v in versions {
            if !entry.contains(&v) {
                entry.push(v);
            }
        }
        sort_versions(entry);
        inner.crd_keys.insert(crd_name.to_string(), keys);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn unregister_crd(&self, crd_name: &str) {
        let mut inner = self.inner.write();
        remove_crd(&mut inner, crd_name);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn remove_crd(inner: &mut RegistryInner, crd_name: &str) {
    let Some(keys) = inner.crd_keys.remove(crd_name) else {
        return;
    };
    for key in keys {
        inner.by_gvr.remove(&key);
        let still_served = inner
            .by_gvr
            .keys()
            .any(|(g, v, _)| g == &key.0 && v == &key.1);
        if !still_served && let Some(versions) = inner.group_versions.get_mut(&key.0) {
            versions.retain(|v| v != &key.1);
            if versions.is_empty() {
                inner.group_versions.remove(&key.0);
            }
        }
    }
}

/// Kubernetes version priority: GA > beta > alpha, higher numbers first, others last.
pub fn version_priority(version: &str) -> (u8, u64, u64, String) {
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0, version.to_string());
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let Ok(major) = digits.parse::<u64>() else {
        return (0, 0, 0, version.to_string());
    };
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0, String::new());
    }
    for (prefix, rank) in [("beta", 2u8), ("alpha", 1u8)] {
        if let Some(n) = tail.strip_prefix(prefix)
            && let Ok(minor) = n.parse::<u64>()
        {
            return (rank, major, minor, String::new());
        }
    }
    (0, 0, 0, version.to_string())
}

fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| {
        let (pa, pb) = (version_priority(a), version_priority(b));
        pb.0.cmp(&pa.0)
            .then(pb.1.cmp(&pa.1))
            .then(pb.2.cmp(&pa.2))
            .then(pa.3.cmp(&pb.3))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order_prefers_ga() {
        let mut v = vec![
            "v1beta1".to_string(),
            "v2".to_string(),
            "v1".to_string(),
            "v2alpha1".to_string(),
        ];
        sort_versions(&mut v);
        assert_eq!(v, ["v2", "v1", "v1beta1", "v2alpha1"]);
    }

    #[test]
    fn builtins_are_served() {
        let reg = Registry::new();
        let deploy = reg.get("apps", "v1", "deployments").expect("deployments");
        assert!(deploy.namespaced && deploy.scale_subresource);
        assert!(reg.get("", "v1", "configmaps").is_some());
        assert!(reg.by_group_kind("", "Namespace").is_some());
    }
}
