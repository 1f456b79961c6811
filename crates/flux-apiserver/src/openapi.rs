//! `/openapi/v3`: the root index and one OpenAPI 3 document per group version, built from
//! the Kubernetes 1.33 definitions (built-in kinds) and CRD schemas. kubectl reads the
//! `fieldValidation` parameter and the patch body types of each kind's `patch` operation,
//! and the component schemas for strategic merge and `explain`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value, json};

use crate::resources::{Registry, ResourceDef};

const DEFINITIONS_TEXT: &str = include_str!("generated/k8s-1.33-openapi-defs.json");
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";

struct Builtin {
    definitions: Map<String, Value>,
    /// (group, version, kind) → definition name.
    by_gvk: BTreeMap<(String, String, String), String>,
}

static BUILTIN: LazyLock<Builtin> = LazyLock::new(|| {
    let definitions = serde_json::from_str::<Value>(DEFINITIONS_TEXT)
        .ok()
        .and_then(|v| v.get("definitions").and_then(Value::as_object).cloned())
        .unwrap_or_default();
    let mut by_gvk = BTreeMap::new();
    for (name, schema) in &definitions {
        for gvk in schema
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let s = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            by_gvk.insert((s("group"), s("version"), s("kind")), name.clone());
        }
    }
    Builtin {
        definitions,
        by_gvk,
    }
});

/// A built-in definition by name.
pub fn definition(name: &str) -> Option<&'static Value> {
    BUILTIN.definitions.get(name)
}

/// The schema of a built-in kind.
pub fn builtin_schema(group: &str, version: &str, kind: &str) -> Option<&'static Value> {
    let name = BUILTIN
        .by_gvk
        .get(&(group.to_string(), version.to_string(), kind.to_string()))?;
    BUILTIN.definitions.get(name)
}

fn refs_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref"
                    && let Some(target) = x.as_str().and_then(|s| s.rsplit('/').next())
                {
                    out.insert(target.to_string());
                } else {
                    refs_in(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs_in(x, out)),
        _ => {}
    }
}

/// Add `names` and every definition they reference.
fn add_closure(schemas: &mut Map<String, Value>, names: impl IntoIterator<Item = String>) {
    let mut todo: Vec<String> = names.into_iter().collect();
    while let Some(name) = todo.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        let Some(schema) = BUILTIN.definitions.get(&name) else {
            continue;
        };
        let mut refs = BTreeSet::new();
        refs_in(schema, &mut refs);
        schemas.insert(name, schema.clone());
        todo.extend(refs);
    }
}

fn crd_schema_name(def: &ResourceDef) -> String {
    let reversed: Vec<&str> = def.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), def.version, def.kind)
}

fn gvk(def: &ResourceDef) -> Value {
    json!({"group": def.group, "version": def.version, "kind": def.kind})
}

fn crd_schema(def: &ResourceDef) -> Value {
    let mut schema = def
        .schema
        .as_deref()
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    if let Some(map) = schema.as_object_mut() {
        let props = map.entry("properties").or_insert_with(|| json!({}));
        if let Some(props) = props.as_object_mut() {
            props.insert("apiVersion".into(), json!({"type": "string",
                "description": "APIVersion defines the versioned schema of this representation of an object."}));
            props.insert("kind".into(), json!({"type": "string",
                "description": "Kind is a string value representing the REST resource this object represents."}));
            props.insert(
                "metadata".into(),
                json!({"allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}],
                "description": "Standard object's metadata."}),
            );
        }
        map.insert("x-kubernetes-group-version-kind".into(), json!([gvk(def)]));
    }
    schema
}

fn param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn json_body(schema_ref: &str) -> Value {
    json!({"application/json": {"schema": {"$ref": schema_ref}}})
}

/// The paths of one resource: collection and item operations with the metadata kubectl
/// looks for.
fn resource_paths(def: &ResourceDef, schema_ref: &str, paths: &mut Map<String, Value>) {
    let prefix = if def.group.is_empty() {
        format!("/api/{}", def.version)
    } else {
        format!("/apis/{}/{}", def.group, def.version)
    };
    let collection = if def.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", def.plural)
    } else {
        format!("{prefix}/{}", def.plural)
    };
    let gvk = gvk(def);
    let writes = [
        param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are Ignore, Warn and Strict.",
        ),
    ];
    let op = |action: &str, extra: Value| -> Value {
        let mut o = json!({
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "responses": {"200": {"description": "OK", "content": json_body(schema_ref)}},
        });
        if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                o.insert(k.clone(), v.clone());
            }
        }
        o
    };
    if def.create_only {
        paths.insert(
            collection,
            json!({"post": op("post", json!({"parameters": writes, "requestBody": {"content": json_body(schema_ref)}}))}),
        );
        return;
    }
    paths.insert(
        collection.clone(),
        json!({
            "get": op("list", json!({})),
            "post": op("post", json!({"parameters": writes, "requestBody": {"content": json_body(schema_ref)}})),
            "delete": op("deletecollection", json!({})),
        }),
    );
    let patch_ref = json!({"schema": {"$ref": format!("#/components/schemas/{PATCH}")}});
    let mut patch_types = Map::new();
    patch_types.insert("application/apply-patch+yaml".into(), patch_ref.clone());
    patch_types.insert("application/json-patch+json".into(), patch_ref.clone());
    patch_types.insert("application/merge-patch+json".into(), patch_ref.clone());
    if def.crd_name.is_none() {
        patch_types.insert("application/strategic-merge-patch+json".into(), patch_ref);
    }
    let mut patch_params = writes.to_vec();
    patch_params.push(param(
        "force",
        "Force is going to \"force\" Apply requests.",
    ));
    let item_ops = |with_delete: bool| {
        let mut ops = json!({
            "get": op("get", json!({})),
            "put": op("put", json!({"parameters": writes, "requestBody": {"content": json_body(schema_ref)}})),
            "patch": op("patch", json!({"parameters": patch_params, "requestBody": {"content": patch_types, "required": true}})),
        });
        if with_delete {
            ops["delete"] = op(
                "delete",
                json!({"requestBody": {"content": json_body(&format!("#/components/schemas/{DELETE_OPTIONS}"))}}),
            );
        }
        ops
    };
    let item = format!("{collection}/{{name}}");
    paths.insert(item.clone(), item_ops(true));
    if def.status_subresource {
        paths.insert(format!("{item}/status"), item_ops(false));
    }
}

/// One group version's document.
pub fn document(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    if !registry.has_group_version(group, version) {
        return None;
    }
    let mut schemas = Map::new();
    let mut paths = Map::new();
    let mut wanted = vec![
        PATCH.to_string(),
        STATUS.to_string(),
        DELETE_OPTIONS.to_string(),
        OBJECT_META.to_string(),
    ];
    let mut defs = registry.resources_in(group, version);
    defs.sort_by(|a, b| a.plural.cmp(&b.plural));
    for def in defs {
        let name = if def.crd_name.is_some() {
            let name = crd_schema_name(&def);
            let schema = crd_schema(&def);
            let mut refs = BTreeSet::new();
            refs_in(&schema, &mut refs);
            wanted.extend(refs);
            schemas.insert(name.clone(), schema);
            name
        } else {
            match BUILTIN
                .by_gvk
                .get(&(def.group.clone(), def.version.clone(), def.kind.clone()))
            {
                Some(name) => {
                    wanted.push(name.clone());
                    name.clone()
                }
                None => continue,
            }
        };
        resource_paths(&def, &format!("#/components/schemas/{name}"), &mut paths);
    }
    add_closure(&mut schemas, wanted);
    if !schemas.contains_key(PATCH) {
        schemas.insert(PATCH.into(), json!({"type": "object",
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}));
    }
    let sorted: BTreeMap<String, Value> = schemas.into_iter().collect();
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.1"},
        "paths": paths,
        "components": {"schemas": sorted},
    }))
}

/// A stable content hash (FNV-1a, 64 bit, twice with different seeds), upper-case hex.
pub fn content_hash(bytes: &[u8]) -> String {
    let fnv = |seed: u64| {
        bytes.iter().fold(seed, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    format!(
        "{:016X}{:016X}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x84222325_cbf29ce4)
    )
}

/// Every group version's path key (`api/v1`, `apis/apps/v1`) with its document bytes and hash.
pub struct Index {
    pub documents: BTreeMap<String, (String, Arc<Vec<u8>>)>,
}

pub fn build_index(registry: &Registry) -> Index {
    let mut documents = BTreeMap::new();
    for g in registry.groups() {
        for v in &g.versions {
            let key = if g.name.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{}/{v}", g.name)
            };
            if let Some(doc) = document(registry, &g.name, v) {
                let bytes = serde_json::to_vec(&doc).unwrap_or_default();
                documents.insert(key, (content_hash(&bytes), Arc::new(bytes)));
            }
        }
    }
    Index { documents }
}

impl Index {
    pub fn root(&self) -> Value {
        let paths: Map<String, Value> = self
            .documents
            .iter()
            .map(|(k, (hash, _))| {
                (
                    k.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={hash}")}),
                )
            })
            .collect();
        json!({"paths": paths})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_document_has_what_kubectl_reads() {
        let reg = Registry::new();
        let doc = document(&reg, "apps", "v1").expect("apps/v1");
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            patch["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x["name"] == "fieldValidation"))
        );
        assert!(
            patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_some()
        );
        let schemas = &doc["components"]["schemas"];
        assert!(schemas.get("io.k8s.api.apps.v1.Deployment").is_some());
        assert!(
            schemas.get("io.k8s.api.core.v1.Container").is_some(),
            "referenced schemas are included"
        );
    }
}
