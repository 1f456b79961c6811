//! `metav1.Status` errors: the one error type every request handler returns.
//!
//! Each constructor produces the code, reason, message and details a real
//! Kubernetes API server sends for the same failure.

use http::StatusCode;
use serde_json::{Map, Value, json};

/// One `details.causes[]` entry of a Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, …
    pub reason: String,
    /// Human text (without the field prefix).
    pub message: String,
    /// The field path (`metadata.name`, `spec.replicas`).
    pub field: String,
}

impl StatusCause {
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {}: {detail}", render_value(value)),
            field: field.into(),
        }
    }
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired".into(),
            message,
            field: field.into(),
        }
    }
    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[Value]) -> Self {
        let list: Vec<String> = supported.iter().map(render_value).collect();
        Self {
            reason: "FieldValueNotSupported".into(),
            message: format!(
                "Unsupported value: {}: supported values: {}",
                render_value(value),
                list.join(", ")
            ),
            field: field.into(),
        }
    }
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden".into(),
            message: format!("Forbidden: {detail}"),
            field: field.into(),
        }
    }
    pub fn too_long(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueTooLong".into(),
            message: format!("Too long: {detail}"),
            field: field.into(),
        }
    }
}

/// How Go's field errors print a value: strings quoted, others as JSON.
pub fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// A failed API request, rendered as a `metav1.Status`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Map<String, Value>>>,
    pub retry_after: Option<u64>,
}

fn details(name: &str, group: &str, kind: &str) -> Map<String, Value> {
    let mut map = Map::new();
    if !name.is_empty() {
        map.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        map.insert("group".into(), json!(group));
    }
    if !kind.is_empty() {
        map.insert("kind".into(), json!(kind));
    }
    map
}

/// `configmaps` or `deployments.apps`: how resources are named in messages.
pub fn qualified_resource(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn not_found(plural: &str, group: &str, name: &str) -> Self {
        let mut err = Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified_resource(plural, group)),
        );
        err.details = Some(Box::new(details(name, group, plural)));
        err
    }

    /// The path names no resource (unknown group, version or resource).
    pub fn no_such_path() -> Self {
        let mut err = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        err.details = Some(Box::new(Map::new()));
        err
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn already_exists(plural: &str, group: &str, name: &str) -> Self {
        let mut err = Self::new(
            409,
            "AlreadyExists",
            format!(
                "{} \"{name}\" already exists",
                qualified_resource(plural, group)
            ),
        );
        err.details = Some(Box::new(details(name, group, plural)));
        err
    }

    /// Stale resourceVersion on update or patch.
    pub fn conflict(plural: &str, group: &str, name: &str, why: &str) -> Self {
        let mut err = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified_resource(plural, group)
            ),
        );
        err.details = Some(Box::new(details(name, group, plural)));
        err
    }

    pub fn stale(plural: &str, group: &str, name: &str) -> Self {
        Self::conflict(
            plural,
            group,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 410 Expired: a list or watch asked for history that is gone.
    pub fn expired(asked: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {asked} ({oldest})"),
        )
    }

    pub fn request_entity_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    pub fn unsupported_media_type(content_type: &str, accepted: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: {accepted}"
            ),
        )
    }

    /// 422 Invalid with field causes; `kind` is the Kind (not the plural).
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<StatusCause>) -> Self {
        let rendered: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let summary = if rendered.len() == 1 {
            rendered.join("")
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut err = Self::new(
            422,
            "Invalid",
            format!("{qualified_kind} \"{name}\" is invalid: {summary}"),
        );
        let mut det = details(name, group, kind);
        det.insert(
            "causes".into(),
            Value::Array(
                causes
                    .into_iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect(),
            ),
        );
        err.details = Some(Box::new(det));
        err
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        let mut err = Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        );
        let mut det = Map::new();
        det.insert("causes".into(), json!([{ "message": message.to_string() }]));
        err.details = Some(Box::new(det));
        err
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `metav1.Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        let mut det = self.details.clone();
        if let Some(secs) = self.retry_after {
            det.get_or_insert_with(|| Box::new(Map::new()))
                .insert("retryAfterSeconds".into(), json!(secs));
        }
        if let (Some(det), Some(obj)) = (det, status.as_object_mut()) {
            obj.insert("details".into(), Value::Object(*det));
        }
        status
    }
}

/// The Success Status a DELETE answers with.
pub fn success_status(name: &str, group: &str, plural: &str, uid: &str) -> Value {
    let mut det = details(name, group, plural);
    if !uid.is_empty() {
        det.insert("uid".into(), json!(uid));
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": det,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_matches_upstream_shape() {
        let err = ApiError::invalid(
            "ConfigMap",
            "",
            "Bad_Name",
            vec![StatusCause::invalid(
                "metadata.name",
                &json!("Bad_Name"),
                "bad",
            )],
        );
        assert_eq!(
            err.message,
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": bad"
        );
        assert_eq!(
            err.to_status()["details"]["causes"][0]["field"],
            "metadata.name"
        );
    }

    #[test]
    fn not_found_names_group() {
        let err = ApiError::not_found("deployments", "apps", "x");
        assert_eq!(err.message, "deployments.apps \"x\" not found");
        assert_eq!(err.to_status()["details"]["kind"], "deployments");
    }
}
