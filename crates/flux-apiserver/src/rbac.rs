//! Authentication results, impersonation and RBAC authorization (Roles, ClusterRoles and
//! their bindings, read from the store on every check).

use serde_json::{Value, json};

use crate::server::Api;
use crate::status::{ApiError, qualified_resource};

/// The admin user the kubeconfig's token authenticates as.
pub const ADMIN_USER: &str = "flux-dev-admin";

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn admin() -> Self {
        Self {
            name: ADMIN_USER.to_string(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    /// A user as impersonated: service accounts get their groups, everyone gets
    /// `system:authenticated`.
    pub fn impersonated(name: &str, mut groups: Vec<String>) -> Self {
        if let Some(rest) = name.strip_prefix("system:serviceaccount:")
            && let Some((ns, _)) = rest.split_once(':')
        {
            groups.push("system:serviceaccounts".into());
            groups.push(format!("system:serviceaccounts:{ns}"));
        }
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self {
            name: name.to_string(),
            groups,
        }
    }
}

/// What a request does, for authorization.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub verb: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    pub namespace: String,
    /// Set for non-resource requests (`/healthz`, `/metrics`).
    pub path: Option<String>,
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    let verbs = strings(rule.get("verbs"));
    if !verbs.iter().any(|v| *v == "*" || *v == attrs.verb) {
        return false;
    }
    if let Some(path) = &attrs.path {
        return strings(rule.get("nonResourceURLs")).iter().any(|u| {
            *u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
        });
    }
    let groups = strings(rule.get("apiGroups"));
    if !groups.iter().any(|g| *g == "*" || *g == attrs.api_group) {
        return false;
    }
    let wanted = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let resources = strings(rule.get("resources"));
    let resource_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == wanted
            || (!attrs.subresource.is_empty()
                && (*r == format!("{}/*", attrs.resource)
                    || *r == format!("*/{}", attrs.subresource)))
    });
    if !resource_ok {
        return false;
    }
    let names = strings(rule.get("resourceNames"));
    names.is_empty() || (!attrs.name.is_empty() && names.contains(&attrs.name.as_str()))
}

fn subject_matches(subject: &Value, binding_ns: &str, user: &UserInfo) -> bool {
    let s = |k: &str| subject.get(k).and_then(Value::as_str).unwrap_or("");
    match s("kind") {
        "User" => s("name") == user.name,
        "Group" => user.groups.iter().any(|g| g == s("name")),
        "ServiceAccount" => {
            let ns = if s("namespace").is_empty() {
                binding_ns
            } else {
                s("namespace")
            };
            user.name == format!("system:serviceaccount:{ns}:{}", s("name"))
        }
        _ => false,
    }
}

fn rules_of(api: &Api, role_ref: &Value, binding_ns: &str) -> Vec<Value> {
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "ClusterRole" => cluster_role_rules(api, name, &mut Vec::new()),
        "Role" => api
            .store
            .get(&(
                "rbac.authorization.k8s.io/roles".to_string(),
                binding_ns.to_string(),
                name.to_string(),
            ))
            .and_then(|r| r.get("rules").and_then(Value::as_array).cloned())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Does a (JSON) label selector match `labels`?
fn selector_matches(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|exprs| {
            exprs.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                let values = strings(e.get("values"));
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                    Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                    Some("Exists") => label(key).is_some(),
                    Some("DoesNotExist") => label(key).is_none(),
                    _ => false,
                }
            })
        });
    match_labels && expressions
}

/// A ClusterRole's rules; an aggregated role (`aggregationRule`) has the rules of every
/// ClusterRole its selectors match, recursively (upstream's aggregation controller writes
/// them into the object; here they are computed when authorizing).
fn cluster_role_rules(api: &Api, name: &str, seen: &mut Vec<String>) -> Vec<Value> {
    if seen.iter().any(|n| n == name) || seen.len() > 16 {
        return Vec::new();
    }
    seen.push(name.to_string());
    let Some(role) = api.store.get(&(
        "rbac.authorization.k8s.io/clusterroles".to_string(),
        String::new(),
        name.to_string(),
    )) else {
        return Vec::new();
    };
    let mut rules = role
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let selectors = role
        .pointer("/aggregationRule/clusterRoleSelectors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !selectors.is_empty() {
        let (all, _) = api
            .store
            .list("rbac.authorization.k8s.io/clusterroles", None, None);
        for other in all {
            let other_name = other
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let labels = other
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if other_name != name && selectors.iter().any(|s| selector_matches(s, &labels)) {
                rules.extend(cluster_role_rules(api, &other_name, seen));
            }
        }
    }
    rules
}

/// The ClusterRoles (and the `cluster-admin` binding) every cluster starts with: a
/// reduced form of upstream's bootstrap policy. `admin`, `edit` and `view` aggregate the
/// roles labelled `rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}`, as
/// upstream, so CRD authors' aggregated roles (Flux's `flux-view`/`flux-edit`) work.
pub fn bootstrap_policy() -> Vec<Value> {
    let read = ["get", "list", "watch"];
    let write = ["create", "delete", "deletecollection", "patch", "update"];
    let core_read = [
        "pods",
        "pods/log",
        "pods/status",
        "configmaps",
        "endpoints",
        "persistentvolumeclaims",
        "persistentvolumeclaims/status",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "replicationcontrollers/status",
        "serviceaccounts",
        "services",
        "services/status",
        "bindings",
        "events",
        "limitranges",
        "resourcequotas",
        "resourcequotas/status",
        "namespaces",
        "namespaces/status",
    ];
    let core_write = [
        "pods",
        "pods/attach",
        "pods/exec",
        "pods/portforward",
        "pods/proxy",
        "pods/eviction",
        "configmaps",
        "endpoints",
        "persistentvolumeclaims",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "secrets",
        "serviceaccounts",
        "services",
        "services/proxy",
    ];
    let apps = [
        "controllerrevisions",
        "daemonsets",
        "daemonsets/status",
        "deployments",
        "deployments/scale",
        "deployments/status",
        "replicasets",
        "replicasets/scale",
        "replicasets/status",
        "statefulsets",
        "statefulsets/scale",
        "statefulsets/status",
    ];
    let grouped: [(&str, &[&str]); 6] = [
        (
            "autoscaling",
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
        ),
        (
            "batch",
            &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
        ),
        (
            "policy",
            &["poddisruptionbudgets", "poddisruptionbudgets/status"],
        ),
        (
            "networking.k8s.io",
            &["ingresses", "ingresses/status", "networkpolicies"],
        ),
        ("discovery.k8s.io", &["endpointslices"]),
        ("coordination.k8s.io", &["leases"]),
    ];
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| json!({"apiGroups": groups, "resources": resources, "verbs": verbs});
    let mut view_rules = vec![
        rule(&[""], &core_read, &read),
        rule(&["apps"], &apps, &read),
    ];
    let mut edit_rules = vec![
        rule(&[""], &core_write, &write),
        rule(&[""], &["secrets"], &read),
        rule(&[""], &["serviceaccounts"], &["impersonate"]),
        rule(&["apps"], &apps, &write),
    ];
    for (group, resources) in grouped {
        view_rules.push(rule(&[group], resources, &read));
        edit_rules.push(rule(&[group], resources, &write));
    }
    let admin_rules = vec![
        rule(
            &["rbac.authorization.k8s.io"],
            &["roles", "rolebindings"],
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
        ),
        rule(
            &["authorization.k8s.io"],
            &["localsubjectaccessreviews"],
            &["create"],
        ),
    ];
    let defaults = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let autoupdate = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    let role = |name: &str, labels: Value, rules: Value, aggregate_from: Option<&str>| {
        let mut r = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels, "annotations": autoupdate},
            "rules": rules});
        if let Some(label) = aggregate_from {
            r["aggregationRule"] = json!({"clusterRoleSelectors": [
                {"matchLabels": {format!("rbac.authorization.k8s.io/{label}"): "true"}}]});
        }
        r
    };
    let with = |extra: &[(&str, &str)]| {
        let mut labels = defaults.clone();
        for (k, v) in extra {
            labels[*k] = json!(v);
        }
        labels
    };
    vec![
        role(
            "cluster-admin",
            with(&[]),
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                   {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            None,
        ),
        role("admin", with(&[]), json!([]), Some("aggregate-to-admin")),
        role(
            "edit",
            with(&[("rbac.authorization.k8s.io/aggregate-to-admin", "true")]),
            json!([]),
            Some("aggregate-to-edit"),
        ),
        role(
            "view",
            with(&[("rbac.authorization.k8s.io/aggregate-to-edit", "true")]),
            json!([]),
            Some("aggregate-to-view"),
        ),
        role(
            "system:aggregate-to-admin",
            with(&[("rbac.authorization.k8s.io/aggregate-to-admin", "true")]),
            Value::Array(admin_rules),
            None,
        ),
        role(
            "system:aggregate-to-edit",
            with(&[("rbac.authorization.k8s.io/aggregate-to-edit", "true")]),
            Value::Array(edit_rules),
            None,
        ),
        role(
            "system:aggregate-to-view",
            with(&[("rbac.authorization.k8s.io/aggregate-to-view", "true")]),
            Value::Array(view_rules),
            None,
        ),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "cluster-admin", "labels": defaults, "annotations": autoupdate},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]}),
    ]
}

/// Is `user` allowed to do `attrs`? Returns the reason when allowed.
pub fn authorize(api: &Api, user: &UserInfo, attrs: &Attributes) -> Option<String> {
    if user.groups.iter().any(|g| g == "system:masters") {
        return Some("system:masters".into());
    }
    // Discovery, version, health and OpenAPI are open to every authenticated user
    // (upstream's system:discovery and system:public-info-viewer roles).
    if let Some(path) = &attrs.path
        && attrs.verb == "get"
        && [
            "/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz",
        ]
        .iter()
        .any(|p| path == p || path.starts_with(&format!("{p}/")))
    {
        return Some("discovery".into());
    }
    // upstream's system:basic-user: everyone may ask about themselves.
    if attrs.verb == "create"
        && matches!(
            attrs.resource.as_str(),
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews" | "selfsubjectreviews"
        )
    {
        return Some("system:basic-user".into());
    }
    let check = |bindings: Vec<std::sync::Arc<Value>>| -> Option<String> {
        for b in bindings {
            let ns = b
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let subjects = b
                .get("subjects")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !subjects.iter().any(|s| subject_matches(s, ns, user)) {
                continue;
            }
            let Some(role_ref) = b.get("roleRef") else {
                continue;
            };
            if rules_of(api, role_ref, ns)
                .iter()
                .any(|r| rule_allows(r, attrs))
            {
                let name = b
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return Some(format!("RBAC: allowed by binding \"{name}\""));
            }
        }
        None
    };
    let (cluster, _) = api
        .store
        .list("rbac.authorization.k8s.io/clusterrolebindings", None, None);
    if let Some(reason) = check(cluster) {
        return Some(reason);
    }
    if attrs.namespace.is_empty() {
        return None;
    }
    let (local, _) = api.store.list(
        "rbac.authorization.k8s.io/rolebindings",
        Some(&attrs.namespace),
        None,
    );
    check(local)
}

/// The 403 upstream sends.
pub fn forbidden(user: &UserInfo, attrs: &Attributes) -> ApiError {
    if let Some(path) = &attrs.path {
        return ApiError::forbidden(format!(
            "forbidden: User \"{}\" cannot {} path \"{path}\"",
            user.name, attrs.verb
        ));
    }
    let what = qualified_resource(&attrs.resource, &attrs.api_group);
    let subject = if attrs.name.is_empty() {
        format!("{what} is forbidden")
    } else {
        format!("{what} \"{}\" is forbidden", attrs.name)
    };
    let resource = if attrs.subresource.is_empty() {
        format!("resource \"{}\"", attrs.resource)
    } else {
        format!("resource \"{}/{}\"", attrs.resource, attrs.subresource)
    };
    let scope = if attrs.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", attrs.namespace)
    };
    let mut err = ApiError::forbidden(format!(
        "{subject}: User \"{}\" cannot {} {resource} in API group \"{}\" {scope}",
        user.name, attrs.verb, attrs.api_group
    ));
    let mut details = serde_json::Map::new();
    if !attrs.name.is_empty() {
        details.insert("name".into(), Value::String(attrs.name.clone()));
    }
    if !attrs.api_group.is_empty() {
        details.insert("group".into(), Value::String(attrs.api_group.clone()));
    }
    details.insert("kind".into(), Value::String(attrs.resource.clone()));
    err.details = Some(Box::new(details));
    err
}

/// Resolve the effective user from impersonation headers (`Impersonate-User`,
/// `Impersonate-Group`), checking the `impersonate` verb for the real user.
pub fn effective_user(
    api: &Api,
    real: UserInfo,
    impersonate_user: Option<&str>,
    impersonate_groups: Vec<String>,
) -> Result<UserInfo, ApiError> {
    let Some(target) = impersonate_user else {
        if impersonate_groups.is_empty() {
            return Ok(real);
        }
        return Err(ApiError::internal(
            "requested impersonation of groups without impersonating a user",
        ));
    };
    let mut attrs = Attributes {
        verb: "impersonate".into(),
        resource: "users".into(),
        name: target.to_string(),
        ..Default::default()
    };
    if let Some(rest) = target.strip_prefix("system:serviceaccount:")
        && let Some((ns, name)) = rest.split_once(':')
    {
        attrs.resource = "serviceaccounts".into();
        attrs.namespace = ns.to_string();
        attrs.name = name.to_string();
    }
    if authorize(api, &real, &attrs).is_none() {
        return Err(forbidden(&real, &attrs));
    }
    for g in &impersonate_groups {
        let attrs = Attributes {
            verb: "impersonate".into(),
            resource: "groups".into(),
            name: g.clone(),
            ..Default::default()
        };
        if authorize(api, &real, &attrs).is_none() {
            return Err(forbidden(&real, &attrs));
        }
    }
    Ok(UserInfo::impersonated(target, impersonate_groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules() {
        let attrs = Attributes {
            verb: "get".into(),
            resource: "deployments".into(),
            subresource: "status".into(),
            api_group: "apps".into(),
            name: "web".into(),
            namespace: "demo".into(),
            path: None,
        };
        assert!(rule_allows(
            &json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments/status"]}),
            &attrs
        ));
        assert!(rule_allows(
            &json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}),
            &attrs
        ));
        assert!(!rule_allows(
            &json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments"]}),
            &attrs
        ));
        assert!(!rule_allows(
            &json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments/status"], "resourceNames": ["other"]}),
            &attrs
        ));
    }

    #[test]
    fn service_account_users() {
        let u = UserInfo::impersonated("system:serviceaccount:demo:sa", vec![]);
        assert!(
            u.groups
                .contains(&"system:serviceaccounts:demo".to_string())
        );
        assert!(subject_matches(
            &json!({"kind": "ServiceAccount", "name": "sa"}),
            "demo",
            &u
        ));
        assert!(!subject_matches(
            &json!({"kind": "ServiceAccount", "name": "sa"}),
            "other",
            &u
        ));
    }
}
