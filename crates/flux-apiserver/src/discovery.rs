//! Discovery documents: `/version`, `/api`, `/apis` (legacy and aggregated v2/v2beta1),
//! `/apis/{group}` and the per-group-version resource lists.

use serde_json::{Value, json};

use crate::resources::{Registry, ResourceDef};

pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Which aggregated discovery version the Accept header asks for, if any (in the
/// client's order of preference).
pub fn wants_aggregated(accept: Option<&str>) -> Option<&'static str> {
    let accept = accept?;
    for part in accept.split(',') {
        let params: Vec<String> = part
            .split(';')
            .map(|p| p.trim().replace(' ', "").to_ascii_lowercase())
            .collect();
        let has = |p: &str| params.iter().any(|x| x == p);
        if has("as=apigroupdiscoverylist") && has("g=apidiscovery.k8s.io") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
        if params
            .first()
            .is_some_and(|m| m == "application/json" || m == "*/*")
            && params.len() == 1
        {
            return None;
        }
    }
    None
}

pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.1",
        "gitCommit": "flux-apiserver",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn gv(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

pub fn legacy_core(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": gv(name, v), "version": v}))
        .collect();
    json!({
        "name": name,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(json!({})),
    })
}

pub fn legacy_groups(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .iter()
        .filter(|g| !g.name.is_empty())
        .map(|g| group_entry(&g.name, &g.versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn legacy_group(registry: &Registry, name: &str) -> Option<Value> {
    let g = registry.groups().into_iter().find(|g| g.name == name)?;
    let mut entry = group_entry(&g.name, &g.versions);
    if let Some(m) = entry.as_object_mut() {
        m.insert("kind".into(), json!("APIGroup"));
        m.insert("apiVersion".into(), json!("v1"));
    }
    Some(entry)
}

fn status_kind(def: &ResourceDef) -> (String, String, String) {
    (def.group.clone(), def.version.clone(), def.kind.clone())
}

pub fn legacy_resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    if !registry.has_group_version(group, version) {
        return None;
    }
    let mut resources = Vec::new();
    for def in registry.resources_in(group, version) {
        let mut r = json!({
            "name": def.plural,
            "singularName": def.singular,
            "namespaced": def.namespaced,
            "kind": def.kind,
            "verbs": def.verbs(),
        });
        if !def.short_names.is_empty() {
            r["shortNames"] = json!(def.short_names);
        }
        if !def.categories.is_empty() {
            r["categories"] = json!(def.categories);
        }
        resources.push(r);
        if def.scale_subresource {
            resources.push(json!({
                "name": format!("{}/scale", def.plural), "singularName": "",
                "namespaced": def.namespaced, "group": "autoscaling", "version": "v1",
                "kind": "Scale", "verbs": ["get", "patch", "update"],
            }));
        }
        if def.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", def.plural), "singularName": "",
                "namespaced": def.namespaced, "kind": def.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if def.group.is_empty() && def.plural == "namespaces" {
            resources.push(json!({
                "name": "namespaces/finalize", "singularName": "", "namespaced": false,
                "kind": "Namespace", "verbs": ["update"],
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv(group, version),
        "resources": resources,
    }))
}

fn aggregated_resource(def: &ResourceDef) -> Value {
    let (g, v, k) = status_kind(def);
    let mut r = json!({
        "resource": def.plural,
        "singularResource": def.singular,
        "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
        "responseKind": {"group": g, "version": v, "kind": k},
        "verbs": def.verbs(),
    });
    if !def.short_names.is_empty() {
        r["shortNames"] = json!(def.short_names);
    }
    if !def.categories.is_empty() {
        r["categories"] = json!(def.categories);
    }
    let mut subs = Vec::new();
    if def.scale_subresource {
        subs.push(json!({"subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": ["get", "patch", "update"]}));
    }
    if def.status_subresource {
        subs.push(json!({"subresource": "status",
            "responseKind": {"group": g, "version": v, "kind": k},
            "verbs": ["get", "patch", "update"]}));
    }
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// The aggregated document for `/api` (core only) or `/apis` (every other group).
pub fn aggregated(registry: &Registry, core: bool, version: &str) -> Value {
    let items: Vec<Value> = registry
        .groups()
        .iter()
        .filter(|g| g.name.is_empty() == core)
        .map(|g| {
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = registry
                        .resources_in(&g.name, v)
                        .iter()
                        .map(|d| aggregated_resource(d))
                        .collect();
                    json!({"version": v, "freshness": "Current", "resources": resources})
                })
                .collect();
            let metadata = if core {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": g.name, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(wants_aggregated(Some(kubectl)), Some("v2"));
        assert_eq!(wants_aggregated(Some("application/json, */*")), None);
        assert_eq!(wants_aggregated(None), None);
    }

    #[test]
    fn resource_lists_have_subresources() {
        let reg = Registry::new();
        let list = legacy_resource_list(&reg, "apps", "v1").expect("apps/v1");
        let names: Vec<&str> = list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"deployments/status"));
        assert!(names.contains(&"deployments/scale"));
        let agg = aggregated(&reg, false, "v2");
        assert!(agg["items"].as_array().is_some_and(|i| i.len() > 5));
    }
}
