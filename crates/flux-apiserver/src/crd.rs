//! CustomResourceDefinitions: validation, status conditions, and serving their types.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::object_meta::{meta_str, now_rfc3339};
use crate::resources::{NameRule, ResourceDef};
use crate::schema;
use crate::server::Api;
use crate::status::StatusCause;
use crate::store::{ObjectKey, Txn};
use crate::validation::is_subdomain;

pub fn is_crd(def: &ResourceDef) -> bool {
    def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions"
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Validate a CRD and write its `status` (NamesAccepted, Established, acceptedNames,
/// storedVersions). Returns the validation causes.
pub fn validate_and_set_status(
    api: &Api,
    obj: &mut Value,
    old: Option<&Value>,
) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    let name = meta_str(obj, "name").to_string();
    let group = str_at(obj, "/spec/group").to_string();
    let plural = str_at(obj, "/spec/names/plural").to_string();
    let kind = str_at(obj, "/spec/names/kind").to_string();
    let scope = str_at(obj, "/spec/scope").to_string();
    if group.is_empty() {
        causes.push(StatusCause::required("spec.group", ""));
    } else if !group.contains('.') || !is_subdomain(&group) {
        causes.push(StatusCause::invalid(
            "spec.group",
            &json!(group),
            "should be a domain with at least one dot",
        ));
    }
    if plural.is_empty() {
        causes.push(StatusCause::required("spec.names.plural", ""));
    }
    if kind.is_empty() {
        causes.push(StatusCause::required("spec.names.kind", ""));
    }
    if name != format!("{plural}.{group}") {
        causes.push(StatusCause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(StatusCause::not_supported(
            "spec.scope",
            &json!(scope),
            &[json!("Cluster"), json!("Namespaced")],
        ));
    }
    if let Some(old) = old {
        for (field, ptr) in [("spec.group", "/spec/group"), ("spec.scope", "/spec/scope")] {
            if str_at(old, ptr) != str_at(obj, ptr) {
                causes.push(StatusCause::invalid(
                    field,
                    &json!(str_at(obj, ptr)),
                    "field is immutable",
                ));
            }
        }
    }
    let versions = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(StatusCause::required(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    }
    let mut storage = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = str_at(v, "/name");
        if vname.is_empty() {
            causes.push(StatusCause::required(
                format!("spec.versions[{i}].name"),
                "",
            ));
        }
        if v.get("storage").and_then(Value::as_bool) == Some(true) {
            storage.push(vname.to_string());
        }
        match v.pointer("/schema/openAPIV3Schema") {
            Some(s) => {
                let at = format!("spec.versions[{i}].schema.openAPIV3Schema");
                causes.extend(schema::check_structural(s, &at));
                for e in crate::cel_rules::CompiledRules::compile_errors(s) {
                    let field = format!("{at}.{}", e.schema_path);
                    causes.push(if e.message.starts_with("Required value") {
                        StatusCause::required(field, "rule is not specified")
                    } else if e.message.starts_with("Unsupported value") {
                        StatusCause {
                            reason: "FieldValueNotSupported".into(),
                            message: e.message,
                            field,
                        }
                    } else {
                        StatusCause::invalid(field, &json!(e.rule), &e.message)
                    });
                }
            }
            None => causes.push(StatusCause::required(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            )),
        }
    }
    if !versions.is_empty() && storage.len() != 1 {
        causes.push(StatusCause::invalid(
            "spec.versions",
            &json!(storage),
            "must have exactly one version marked as storage version",
        ));
    }
    if !causes.is_empty() {
        return causes;
    }
    // Names: refuse names another resource of the group already uses.
    let conflict = api.registry.names_taken(&group, &plural, &kind, &name);
    let now = now_rfc3339();
    let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    if let Some(a) = accepted.as_object_mut() {
        a.entry("singular")
            .or_insert_with(|| json!(kind.to_ascii_lowercase()));
        a.entry("listKind")
            .or_insert_with(|| json!(format!("{kind}List")));
    }
    let mut stored_versions = old
        .map(|o| string_list(o.pointer("/status/storedVersions")))
        .unwrap_or_default();
    if let Some(s) = storage.first()
        && !stored_versions.contains(s)
    {
        stored_versions.push(s.clone());
    }
    let condition = |ty: &str, ok: bool, reason: &str, message: &str| {
        json!({"type": ty, "status": if ok {"True"} else {"False"},
               "lastTransitionTime": now, "reason": reason, "message": message})
    };
    let status = if conflict {
        json!({
            "conditions": [
                condition("NamesAccepted", false, "NameConflict",
                    &format!("\"{plural}\" or kind \"{kind}\" is already in use")),
                condition("Established", false, "NotAccepted", "not all names are accepted"),
            ],
            "acceptedNames": {"plural": "", "kind": ""},
            "storedVersions": stored_versions,
        })
    } else {
        json!({
            "conditions": [
                condition("NamesAccepted", true, "NoConflicts", "no conflicts found"),
                condition("Established", true, "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": accepted,
            "storedVersions": stored_versions,
        })
    };
    if let Some(map) = obj.as_object_mut() {
        map.insert("status".into(), status);
    }
    causes
}

/// Serve (or re-serve) the versions of a stored CRD whose names were accepted.
pub fn serve(api: &Api, crd: &Value) {
    let name = meta_str(crd, "name").to_string();
    let established = crd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        });
    if !established {
        api.registry.unregister_crd(&name);
        return;
    }
    let group = str_at(crd, "/spec/group").to_string();
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let kind = str_at(&names, "/kind").to_string();
    let plural = str_at(&names, "/plural").to_string();
    let singular = match str_at(&names, "/singular") {
        "" => kind.to_ascii_lowercase(),
        s => s.to_string(),
    };
    let namespaced = str_at(crd, "/spec/scope") == "Namespaced";
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| str_at(v, "/name").to_string())
        .unwrap_or_default();
    let ssa_schema = {
        let mut set = flux_merge::schema::SchemaSet::with_builtin();
        set.add_crd(crd).ok().map(|_| Arc::new(set))
    };
    let defs = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) != Some(false))
        .map(|v| {
            Arc::new(ResourceDef {
                group: group.clone(),
                version: str_at(v, "/name").to_string(),
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                namespaced,
                short_names: string_list(names.get("shortNames")),
                categories: string_list(names.get("categories")),
                status_subresource: v.pointer("/subresources/status").is_some(),
                scale_subresource: v.pointer("/subresources/scale").is_some(),
                has_generation: true,
                name_rule: NameRule::Subdomain,
                create_only: false,
                schema: v.pointer("/schema/openAPIV3Schema").cloned().map(Arc::new),
                crd_name: Some(name.clone()),
                storage_version: storage_version.clone(),
                ssa_schema: ssa_schema.clone(),
                printer_columns: v.get("additionalPrinterColumns").cloned().map(Arc::new),
                cel_rules: v
                    .pointer("/schema/openAPIV3Schema")
                    .map(crate::cel_rules::CompiledRules::compile)
                    .filter(|r| !r.is_empty())
                    .map(Arc::new),
                scale_paths: v
                    .pointer("/subresources/scale")
                    .map(|s| Arc::new(crate::resources::ScalePaths::from_crd_scale(s))),
            })
        })
        .collect();
    api.registry.register_crd(&name, &group, defs);
}

/// Delete every custom resource of a CRD that is going away.
pub fn remove_instances(tx: &mut Txn<'_>, crd: &Value) {
    let resource = format!(
        "{}/{}",
        str_at(crd, "/spec/group"),
        str_at(crd, "/spec/names/plural")
    );
    let keys: Vec<ObjectKey> = tx
        .list(&resource, None)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for k in keys {
        tx.delete(&k);
    }
}
