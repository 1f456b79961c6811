//! Output and apply order of Kubernetes objects:
//!
//! * [`sort_legacy`]: `kustomize build`'s default "legacy" order (kustomize's
//!   `SortOrderTransformer`): kinds in [`LEGACY_ORDER_FIRST`] first in that order, kinds in
//!   [`LEGACY_ORDER_LAST`] last in that order, every other kind in between; ties broken by
//!   group/version/kind, then namespace and name.
//! * [`apply_stage`]: the stage Flux's `ssa.ResourceManager.ApplyAllStaged` puts an object
//!   in: cluster definitions (CRDs, Namespaces, ClusterRoles), then class definitions (kinds
//!   ending in `Class`), then caller-chosen custom kinds, then everything else.

use std::cmp::Ordering;

use serde_json::Value;

use crate::object::split_api_version;

/// Kinds kustomize's legacy order puts first, in this order.
pub const LEGACY_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds kustomize's legacy order puts last, in this order.
pub const LEGACY_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts objects into `kustomize build`'s default (legacy) order. The sort is stable.
pub fn sort_legacy(objects: &mut [Value]) {
    sort_legacy_with(objects, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST);
}

/// Sorts with a Kustomization's `sortOptions.legacySortOptions` (`orderFirst`, `orderLast`).
pub fn sort_legacy_with(objects: &mut [Value], order_first: &[&str], order_last: &[&str]) {
    let mut keyed: Vec<(LegacyKey, Value)> = objects
        .iter_mut()
        .map(|object| {
            let key = LegacyKey::of(object, order_first, order_last);
            (key, std::mem::take(object))
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (slot, (_, object)) in objects.iter_mut().zip(keyed) {
        *slot = object;
    }
}

/// How two objects compare in the default legacy order.
pub fn legacy_cmp(a: &Value, b: &Value) -> Ordering {
    LegacyKey::of(a, LEGACY_ORDER_FIRST, LEGACY_ORDER_LAST).cmp(&LegacyKey::of(
        b,
        LEGACY_ORDER_FIRST,
        LEGACY_ORDER_LAST,
    ))
}

/// The rank kustomize gives a kind: `-len(first) + i` for the i-th first kind, `1 + i` for
/// the i-th last kind, 0 otherwise.
pub fn legacy_kind_rank(kind: &str, order_first: &[&str], order_last: &[&str]) -> i64 {
    let len = i64::try_from(order_first.len()).unwrap_or(i64::MAX);
    if let Some(i) = order_first.iter().position(|k| *k == kind) {
        return -len + i64::try_from(i).unwrap_or(0);
    }
    if let Some(i) = order_last.iter().position(|k| *k == kind) {
        return 1 + i64::try_from(i).unwrap_or(0);
    }
    0
}

#[derive(PartialEq, Eq)]
struct LegacyKey {
    rank: i64,
    /// `group_version_kind` with `~G`/`~V`/`~K` for empty parts.
    gvk: String,
    /// `Kind.version.group|namespace|name` with kustomize's placeholders.
    id: String,
}

impl LegacyKey {
    fn of(object: &Value, order_first: &[&str], order_last: &[&str]) -> LegacyKey {
        let field = |path: &[&str]| -> &str {
            let mut current = object;
            for key in path {
                match current.get(key) {
                    Some(next) => current = next,
                    None => return "",
                }
            }
            current.as_str().unwrap_or("")
        };
        let (group, version) = kustomize_group_version(field(&["apiVersion"]));
        let kind = field(&["kind"]);
        let or = |s: &str, placeholder: &str| {
            if s.is_empty() {
                placeholder.to_string()
            } else {
                s.to_string()
            }
        };
        let gvk = format!(
            "{}_{}_{}",
            or(group, "~G"),
            or(version, "~V"),
            or(kind, "~K")
        );
        let id = format!(
            "{}.{}.{}|{}|{}",
            or(kind, "[noKind]"),
            or(version, "[noVer]"),
            or(group, "[noGrp]"),
            or(field(&["metadata", "namespace"]), "~X"),
            or(field(&["metadata", "name"]), "~N"),
        );
        LegacyKey {
            rank: legacy_kind_rank(kind, order_first, order_last),
            gvk,
            id,
        }
    }
}

impl Ord for LegacyKey {
    fn cmp(&self, other: &Self) -> Ordering {
        // Different GVKs: by rank, then by the GVK string; same GVK: by the id string.
        if self.gvk != other.gvk {
            return self
                .rank
                .cmp(&other.rank)
                .then_with(|| self.gvk.cmp(&other.gvk));
        }
        self.id.cmp(&other.id)
    }
}

impl PartialOrd for LegacyKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// kustomize's `ParseGroupVersion`: like Kubernetes, except that the old plugin apiVersion
/// `builtin` is a group.
fn kustomize_group_version(api_version: &str) -> (&str, &str) {
    if api_version == "builtin" {
        return ("builtin", "");
    }
    split_api_version(api_version)
}

/// The stages of Flux's staged server-side apply, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApplyStage {
    /// CustomResourceDefinitions, Namespaces and ClusterRoles; applied first and waited for.
    ClusterDefinitions,
    /// Kinds ending in `Class` (StorageClass, IngressClass, GatewayClass, …); applied and
    /// waited for next.
    ClassDefinitions,
    /// Kinds the caller asked to apply in their own stage (Flux's `CustomStageKinds`).
    Custom,
    /// Everything else.
    Resources,
}

/// A group and kind, as in Flux's `CustomStageKinds` (`schema.GroupKind`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKind {
    /// API group, `""` for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

/// The stage Flux's `ApplyAllStaged` puts an object in (see [`ApplyStage`]).
pub fn apply_stage(object: &Value, custom_stage_kinds: &[GroupKind]) -> ApplyStage {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    apply_stage_of(api_version, kind, custom_stage_kinds)
}

/// [`apply_stage`] from the `apiVersion` and `kind` alone.
pub fn apply_stage_of(
    api_version: &str,
    kind: &str,
    custom_stage_kinds: &[GroupKind],
) -> ApplyStage {
    if is_cluster_definition(api_version, kind) {
        ApplyStage::ClusterDefinitions
    } else if kind.ends_with("Class") {
        ApplyStage::ClassDefinitions
    } else if custom_stage_kinds
        .iter()
        .any(|gk| gk.kind == kind && gk.group == split_api_version(api_version).0)
    {
        ApplyStage::Custom
    } else {
        ApplyStage::Resources
    }
}

/// Flux's `IsClusterDefinition`: a CRD (`apiextensions.k8s.io/*`), a Namespace (`v1`) or a
/// ClusterRole (`rbac.authorization.k8s.io/*`); kinds compared case-insensitively.
pub fn is_cluster_definition(api_version: &str, kind: &str) -> bool {
    let kind = kind.to_ascii_lowercase();
    (kind == "customresourcedefinition" && api_version.starts_with("apiextensions.k8s.io/"))
        || (kind == "namespace" && api_version == "v1")
        || (kind == "clusterrole" && api_version.starts_with("rbac.authorization.k8s.io/"))
}
