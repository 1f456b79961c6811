//! kustomize's output orders: `legacy` (its default: kind priority lists, then gvk, then
//! namespace/name) and `fifo` (as accumulated).

use std::cmp::Ordering;

use crate::resource::{Gvk, ResId};

/// Kinds that come first in the legacy order, in this order.
pub const DEFAULT_ORDER_FIRST: [&str; 22] = [
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

/// Kinds that come last in the legacy order, in this order.
pub const DEFAULT_ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The legacy comparator with given priority lists.
pub struct LegacyOrder {
    first: Vec<String>,
    last: Vec<String>,
}

impl Default for LegacyOrder {
    fn default() -> Self {
        LegacyOrder {
            first: DEFAULT_ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
            last: DEFAULT_ORDER_LAST.iter().map(|s| s.to_string()).collect(),
        }
    }
}

fn gvk_sort_string(g: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

fn id_sort_string(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{}|{}", id.gvk.underscore_string(), ns, name)
}

impl LegacyOrder {
    /// Custom priority lists (`sortOptions.legacySortOptions`).
    pub fn new(first: Vec<String>, last: Vec<String>) -> Self {
        LegacyOrder { first, last }
    }

    fn rank(&self, kind: &str) -> i64 {
        if let Some(i) = self.first.iter().position(|k| k == kind) {
            return i as i64 - self.first.len() as i64;
        }
        if let Some(i) = self.last.iter().position(|k| k == kind) {
            return 1 + i as i64;
        }
        0
    }

    /// Compares two resource ids.
    pub fn compare(&self, a: &ResId, b: &ResId) -> Ordering {
        if a.gvk != b.gvk {
            let (ra, rb) = (self.rank(&a.gvk.kind), self.rank(&b.gvk.kind));
            if ra != rb {
                return ra.cmp(&rb);
            }
            let (sa, sb) = (gvk_sort_string(&a.gvk), gvk_sort_string(&b.gvk));
            if a.gvk.kind == "Namespace"
                && b.gvk.kind == "Namespace"
                && (a.gvk.group.is_empty() || b.gvk.group.is_empty())
            {
                return sb.cmp(&sa);
            }
            return sa.cmp(&sb);
        }
        id_sort_string(a).cmp(&id_sort_string(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(api: &str, kind: &str, name: &str) -> ResId {
        ResId {
            gvk: Gvk::from_api_version(api, kind),
            name: name.into(),
            namespace: String::new(),
        }
    }

    #[test]
    fn namespaces_first_webhooks_last_others_by_gvk() {
        let o = LegacyOrder::default();
        let mut ids = [
            id(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "w",
            ),
            id("example.com/v1", "Widget", "a"),
            id("apps/v1", "Deployment", "d"),
            id("v1", "Namespace", "n"),
            id("batch/v1", "Job", "j"),
            id("v1", "ConfigMap", "b"),
            id("v1", "ConfigMap", "a"),
        ];
        ids.sort_by(|a, b| o.compare(a, b));
        let names: Vec<&str> = ids.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["n", "a", "b", "d", "j", "a", "w"]);
    }
}
