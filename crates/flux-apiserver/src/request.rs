//! Request decoding: query parameters, body media types, paths.

use serde_json::Value;

use crate::status::ApiError;

/// The query parameters the verbs understand.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub watch: bool,
    pub label_selector: String,
    pub field_selector: String,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub force: bool,
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub field_validation: Option<String>,
    /// The request's User-Agent (default field manager).
    pub user_agent: Option<String>,
    /// `includeObject` for Table output (`None`, `Metadata`, `Object`).
    pub include_object: Option<String>,
    /// The Accept header asked for a Table.
    pub as_table: bool,
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" | "True" | "TRUE" | "t" | "T" => Ok(true),
        "false" | "0" | "False" | "FALSE" | "f" | "F" | "" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "invalid boolean value {other:?} for query parameter {key}"
        ))),
    }
}

impl Query {
    /// Parse a raw query string (`?&limit=500` style empty pairs are accepted).
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut q = Query::default();
        let Some(raw) = raw else {
            return Ok(q);
        };
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            match k.as_ref() {
                "watch" => q.watch = parse_bool("watch", &v)?,
                "labelSelector" => q.label_selector = v.into_owned(),
                "fieldSelector" => q.field_selector = v.into_owned(),
                "limit" => {
                    let n: i64 = v.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid limit {v:?}: not an integer"))
                    })?;
                    q.limit = (n > 0).then_some(n as usize);
                }
                "continue" => q.continue_token = (!v.is_empty()).then(|| v.into_owned()),
                "resourceVersion" => q.resource_version = (!v.is_empty()).then(|| v.into_owned()),
                "resourceVersionMatch" => {
                    q.resource_version_match = (!v.is_empty()).then(|| v.into_owned())
                }
                "timeoutSeconds" => {
                    q.timeout_seconds = Some(v.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid timeoutSeconds {v:?}"))
                    })?)
                }
                "allowWatchBookmarks" => {
                    q.allow_watch_bookmarks = parse_bool("allowWatchBookmarks", &v)?
                }
                "sendInitialEvents" => {
                    q.send_initial_events = Some(parse_bool("sendInitialEvents", &v)?)
                }
                "dryRun" => {
                    if v != "All" {
                        return Err(ApiError::bad_request(format!(
                            "Invalid dryRun value: {v:?}; the only supported value is \"All\""
                        )));
                    }
                    q.dry_run = true;
                }
                "fieldManager" => q.field_manager = Some(v.into_owned()),
                "force" => q.force = parse_bool("force", &v)?,
                "propagationPolicy" => q.propagation_policy = Some(v.into_owned()),
                "gracePeriodSeconds" => {
                    q.grace_period_seconds = Some(v.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid gracePeriodSeconds {v:?}"))
                    })?)
                }
                "fieldValidation" => q.field_validation = Some(v.into_owned()),
                "includeObject" => q.include_object = Some(v.into_owned()),
                _ => {}
            }
        }
        Ok(q)
    }
}

/// The media type without parameters, lower-cased; missing means JSON.
pub fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

pub const ACCEPTED_BODY_TYPES: &str = "application/json, application/yaml";

/// Decode a create/update body (JSON or YAML) into an object.
pub fn decode_object(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let media = media_type(content_type);
    let value: Value = match media.as_str() {
        "application/json" | "*/*" | "text/plain" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            let text = std::str::from_utf8(body).map_err(|e| {
                ApiError::bad_request(format!("the YAML body is not valid UTF-8: {e}"))
            })?;
            serde_saphyr::from_str(text).map_err(|e| {
                ApiError::bad_request(format!("couldn't get version/kind; yaml parse error: {e}"))
            })?
        }
        "application/vnd.kubernetes.protobuf" => crate::protobuf::decode(body)?,
        other => {
            return Err(ApiError::unsupported_media_type(other, ACCEPTED_BODY_TYPES));
        }
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    }
    Ok(value)
}

/// An apply-patch+yaml body as JSON: JSON bodies (what kubectl and kube-rs send; JSON is
/// YAML) take the fast JSON parser, anything else the YAML one.
pub fn decode_apply_body(body: &[u8]) -> Result<Value, String> {
    let trimmed = body.trim_ascii_start();
    if trimmed.starts_with(b"{")
        && let Ok(v) = serde_json::from_slice::<Value>(body)
    {
        return Ok(v);
    }
    let text =
        std::str::from_utf8(body).map_err(|e| format!("the apply body is not valid UTF-8: {e}"))?;
    serde_saphyr::from_str(text).map_err(|e| format!("error decoding YAML: {e}"))
}

/// A decoded resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Version,
    Health,
    CoreGroup,
    Groups,
    Group(String),
    GroupVersion(String, String),
    /// `/openapi/...`: the rest of the path (`v3`, `v3/apis/apps/v1`, `v2`).
    OpenApi(String),
    Resource(ResourcePath),
    Unknown,
}

fn percent_decode(seg: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", seg.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| seg.to_string())
}

/// Route a request path. `is_namespaced(group, version, plural)` says whether a path
/// segment after `namespaces/{ns}/` names a namespaced resource.
pub fn route(path: &str, is_namespaced: impl Fn(&str, &str, &str) -> bool) -> Route {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => return Route::Version,
        ["healthz" | "readyz" | "livez", ..] => return Route::Health,
        ["api"] => return Route::CoreGroup,
        ["apis"] => return Route::Groups,
        ["apis", g] => return Route::Group(g.to_string()),
        ["api", v] => return Route::GroupVersion(String::new(), v.to_string()),
        ["apis", g, v] => return Route::GroupVersion(g.to_string(), v.to_string()),
        ["openapi", rest @ ..] => return Route::OpenApi(rest.join("/")),
        _ => {}
    }
    let (group, version, rest) = match s.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Route::Unknown,
    };
    let mk = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        Route::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            plural: plural.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
        })
    };
    match rest {
        ["namespaces", ns, plural, tail @ ..] if is_namespaced(group, version, plural) => {
            match tail {
                [] => mk(Some(ns), plural, None, None),
                [name] => mk(Some(ns), plural, Some(name), None),
                [name, sub] => mk(Some(ns), plural, Some(name), Some(sub)),
                _ => Route::Unknown,
            }
        }
        [plural] => mk(None, plural, None, None),
        [plural, name] => mk(None, plural, Some(name), None),
        [plural, name, sub] => mk(None, plural, Some(name), Some(sub)),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(_: &str, _: &str, p: &str) -> bool {
        p == "configmaps"
    }

    #[test]
    fn routes() {
        assert_eq!(
            route("/api/v1/namespaces/demo/configmaps/x", ns),
            Route::Resource(ResourcePath {
                group: String::new(),
                version: "v1".into(),
                namespace: Some("demo".into()),
                plural: "configmaps".into(),
                name: Some("x".into()),
                subresource: None,
            })
        );
        assert!(matches!(
            route("/api/v1/namespaces/demo/status", ns),
            Route::Resource(ResourcePath { ref plural, name: Some(ref n), subresource: Some(ref s), .. })
                if plural == "namespaces" && n == "demo" && s == "status"
        ));
        assert_eq!(
            route("/apis/apps/v1", ns),
            Route::GroupVersion("apps".into(), "v1".into())
        );
    }

    #[test]
    fn query_accepts_empty_pairs() -> Result<(), ApiError> {
        let q = Query::parse(Some("&watch=1&&limit=500&dryRun=All"))?;
        assert!(q.watch && q.dry_run);
        assert_eq!(q.limit, Some(500));
        assert!(Query::parse(Some("dryRun=Some")).is_err());
        Ok(())
    }

    #[test]
    fn bodies() {
        assert!(decode_object(None, b"{\"a\":1}").is_ok());
        assert!(decode_object(Some("application/yaml"), b"a: 1\n").is_ok());
        assert_eq!(
            decode_object(Some("application/json"), b"{nope").map_err(|e| e.code),
            Err(400)
        );
        assert_eq!(
            decode_object(Some("application/vnd.kubernetes.protobuf"), b"k8s\0")
                .map_err(|e| e.code),
            Err(415)
        );
    }
}
