//! Authentication results, impersonation and RBAC authorization (Roles, ClusterRoles and
//! their bindings, read from the store on every check).

use serde_json::Value;

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
    let key = match kind {
        "ClusterRole" => (
            "rbac.authorization.k8s.io/clusterroles".to_string(),
            String::new(),
            name.to_string(),
        ),
        "Role" => (
            "rbac.authorization.k8s.io/roles".to_string(),
            binding_ns.to_string(),
            name.to_string(),
        ),
        _ => return Vec::new(),
    };
    api.store
        .get(&key)
        .and_then(|r| r.get("rules").and_then(Value::as_array).cloned())
        .unwrap_or_default()
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
