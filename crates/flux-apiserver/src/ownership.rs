//! Field ownership (`metadata.managedFields`) and server-side apply, on flux-merge's
//! structured merge.

use flux_merge::schema::TypeRef;
use flux_merge::structured::{self, FieldManager, ManagedFields, SsaError};
use serde_json::{Value, json};

use crate::object_meta::now_rfc3339;
use crate::request::Query;
use crate::resources::ResourceDef;
use crate::status::{ApiError, StatusCause};

/// The manager of a write: `?fieldManager=`, else the User-Agent's product name (as
/// upstream: `kubectl.1.33/v1.33.1 …` → `kubectl.1.33`), else `unknown`.
pub fn field_manager(q: &Query) -> String {
    if let Some(m) = q.field_manager.as_deref().filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    q.user_agent
        .as_deref()
        .and_then(|ua| ua.split('/').next())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.chars().take(128).collect())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Run `f` with the structural type of `def`'s kind (built-in table or the CRD's schema).
pub fn with_schema<R>(def: &ResourceDef, f: impl FnOnce(Option<TypeRef<'_>>) -> R) -> R {
    let api_version = def.api_version();
    match &def.ssa_schema {
        Some(set) => f(set.for_kind(&api_version, &def.kind)),
        None => f(flux_merge::schema::for_kind(&api_version, &def.kind)),
    }
}

fn managed_of(obj: Option<&Value>) -> ManagedFields {
    obj.and_then(|o| ManagedFields::from_object(o).ok())
        .unwrap_or_default()
}

/// Whether a request's `managedFields` asks for a reset (as upstream: an empty list, or a
/// list of one entry with no field set).
fn is_reset(list: &Value) -> bool {
    let empty_entry = |e: &Value| {
        e.as_object().is_some_and(|m| {
            m.values()
                .all(|v| v.is_null() || v.as_str().is_some_and(str::is_empty))
        })
    };
    match list.as_array() {
        Some(items) => items.is_empty() || (items.len() == 1 && empty_entry(&items[0])),
        None => false,
    }
}

/// The request's entries, if each is a valid entry as the API server decodes them:
/// operation `Apply` or `Update`, a non-empty apiVersion, fieldsType `FieldsV1` and a
/// readable fieldsV1.
fn decode_request_entries(list: &Value) -> Option<ManagedFields> {
    let items = list.as_array()?;
    let well_formed = items.iter().all(|e| {
        e.get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
            && e.get("fieldsType").and_then(Value::as_str) == Some("FieldsV1")
    });
    if !well_formed {
        return None;
    }
    ManagedFields::from_json(list).ok()
}

/// The ownership an Update starts from. As upstream, a write to the object itself may set
/// `metadata.managedFields`: entries that decode replace the stored ones, an empty list (or
/// one empty entry) clears them, and anything absent, empty or unreadable falls back to the
/// stored entries. Subresource writes always use the stored entries.
fn managed_for_update(old: Option<&Value>, new: &Value, sub: Option<&str>) -> ManagedFields {
    if sub.is_some() {
        return managed_of(old);
    }
    match new.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => managed_of(old),
        Some(list) if is_reset(list) => ManagedFields::default(),
        Some(list) => match decode_request_entries(list) {
            Some(sent) if !sent.entries.is_empty() => sent,
            _ => managed_of(old),
        },
    }
}

/// The object a create starts from, as upstream's field manager sees it: the zero value of
/// the kind's Go type, in which non-pointer struct fields (a Deployment's `spec`,
/// `spec.template`, `spec.strategy`, …) already exist. The creator's Update entry therefore
/// has no `"."` for them, as upstream; maps, pointer structs and list items still get one.
/// Custom resources start from nothing (upstream: an empty unstructured object).
pub fn zero_value(def: &ResourceDef) -> Value {
    // `containers` has no omitempty: the zero PodSpec holds it (as null), so the list
    // itself is not "added".
    let template = || json!({"metadata": {}, "spec": {"containers": []}});
    let spec = match (def.group.as_str(), def.kind.as_str()) {
        ("apps", "Deployment") => json!({"template": template(), "strategy": {}}),
        ("apps", "StatefulSet" | "DaemonSet") => {
            json!({"template": template(), "updateStrategy": {}})
        }
        ("apps", "ReplicaSet") | ("batch", "Job") | ("", "ReplicationController") => {
            json!({"template": template()})
        }
        ("batch", "CronJob") => json!({"jobTemplate": {"metadata": {},
            "spec": {"template": template()}}}),
        ("", "PersistentVolumeClaim") => json!({"resources": {}}),
        ("autoscaling", "HorizontalPodAutoscaler") => json!({"scaleTargetRef": {}}),
        ("networking.k8s.io", "NetworkPolicy") => json!({"podSelector": {}}),
        ("", "Pod") => json!({"containers": []}),
        (
            "",
            "Service" | "Namespace" | "PersistentVolume" | "Node" | "ResourceQuota" | "LimitRange",
        )
        | ("networking.k8s.io", "Ingress")
        | ("policy", "PodDisruptionBudget")
        | ("coordination.k8s.io", "Lease") => json!({}),
        _ => return Value::Null,
    };
    json!({"metadata": {}, "spec": spec, "status": {}})
}

/// Record an Update by the request's manager: `new` gets the managedFields that follow
/// from the managedFields it carries (see [`managed_for_update`]) or else from `old`
/// (absent for a create). If the old entries are unreadable they are dropped.
pub fn record_update(
    def: &ResourceDef,
    old: Option<&Value>,
    new: &mut Value,
    q: &Query,
    sub: Option<&str>,
) {
    let manager = field_manager(q);
    let now = now_rfc3339();
    let api_version = def.api_version();
    let who = FieldManager {
        manager: &manager,
        api_version: &api_version,
        subresource: sub,
        time: Some(&now),
    };
    let managed = managed_for_update(old, new, sub);
    let live = match old {
        Some(o) => o.clone(),
        None => zero_value(def),
    };
    let result = with_schema(def, |schema| {
        structured::update(&live, new, &managed, &who, schema)
    });
    match result {
        Ok(applied) => applied.managed.write_to(new),
        Err(_) => managed.write_to(new),
    }
}

/// Server-side apply `config` onto `live` (None: the object does not exist yet). Returns the
/// merged object with its managedFields.
pub fn apply(
    def: &ResourceDef,
    live: Option<&Value>,
    config: &Value,
    q: &Query,
    sub: Option<&str>,
) -> Result<Value, ApiError> {
    let manager = q.field_manager.clone().unwrap_or_default();
    let now = now_rfc3339();
    let api_version = def.api_version();
    let who = FieldManager {
        manager: &manager,
        api_version: &api_version,
        subresource: sub,
        time: Some(&now),
    };
    let managed = managed_of(live);
    let base = live.cloned().unwrap_or(Value::Null);
    let result = with_schema(def, |schema| {
        structured::apply(&base, config, &managed, &who, q.force, schema)
    });
    match result {
        Ok(applied) => {
            let mut object = applied.object;
            applied.managed.write_to(&mut object);
            Ok(object)
        }
        Err(SsaError::Conflicts(conflicts)) => {
            let message = SsaError::Conflicts(conflicts.clone()).to_string();
            let mut err = ApiError::new(409, "Conflict", message);
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|c| {
                    json!({
                        "type": "FieldManagerConflict",
                        "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                        "field": c.path.to_string(),
                    })
                })
                .collect();
            let mut details = serde_json::Map::new();
            details.insert("causes".into(), Value::Array(causes));
            err.details = Some(Box::new(details));
            Err(err)
        }
        Err(SsaError::ManagedFieldsInConfig) => {
            Err(ApiError::bad_request("metadata.managedFields must be nil"))
        }
        Err(other) => Err(ApiError::invalid(
            &def.kind,
            &def.group,
            config
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(""),
            vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: other.to_string(),
                field: String::new(),
            }],
        )),
    }
}

/// `fieldManager` is required for apply (upstream: 422 on PatchOptions).
pub fn require_manager(q: &Query) -> Result<(), ApiError> {
    if q.field_manager.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![StatusCause::required(
                "fieldManager",
                "is required for apply patch",
            )],
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    fn fields_of(obj: &Value, manager: &str) -> Value {
        obj.pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .and_then(|l| l.iter().find(|e| e["manager"] == manager))
            .map(|e| e["fieldsV1"].clone())
            .unwrap_or(Value::Null)
    }

    #[test]
    fn create_of_a_builtin_has_no_dot_for_plain_structs() {
        let registry = Registry::new();
        let Some(def) = registry.get("apps", "v1", "deployments") else {
            panic!("deployments are served");
        };
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "d"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
                "template": {"metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]}}}});
        let q = Query {
            field_manager: Some("kubectl-create".into()),
            ..Query::default()
        };
        record_update(&def, None, &mut obj, &q, None);
        assert_eq!(
            fields_of(&obj, "kubectl-create"),
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:selector": {},
                    "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
                    "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );
    }
}
