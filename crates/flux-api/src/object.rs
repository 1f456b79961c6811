//! Typed parsing of Flux objects from dynamic JSON, dispatched on apiVersion and kind.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::meta::Condition;
use crate::{helm, image, kustomize, notification, source, source_extensions};

/// Why a value could not be parsed as a Flux object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The value is not a JSON/YAML mapping.
    #[error("a Kubernetes object must be a mapping, found {found}")]
    NotAnObject {
        /// What was found instead.
        found: &'static str,
    },
    /// `apiVersion` or `kind` is missing or not a string.
    #[error("{field}: missing or not a string")]
    MissingTypeField {
        /// `apiVersion` or `kind`.
        field: &'static str,
    },
    /// The apiVersion/kind pair is not a Flux kind.
    #[error("{api_version} {kind} is not a Flux kind")]
    UnknownKind {
        /// The object's apiVersion.
        api_version: String,
        /// The object's kind.
        kind: String,
    },
    /// A Flux kind at an apiVersion Flux 2.9 does not serve.
    #[error(
        "{kind} {api_version} is not served by Flux 2.9; use {served} (`flux migrate` rewrites old manifests)"
    )]
    UnservedVersion {
        /// The object's kind.
        kind: String,
        /// The object's apiVersion.
        api_version: String,
        /// The served apiVersion.
        served: &'static str,
    },
    /// A field is invalid: unknown, wrong type, bad value, or missing.
    #[error("{kind} {name}: {path}: {reason}")]
    InvalidField {
        /// The object's kind.
        kind: String,
        /// `namespace/name` (or `name`) of the object, `<unnamed>` when absent.
        name: String,
        /// Dotted path of the field, e.g. `spec.interval` or `spec.include[0].repository`.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

macro_rules! flux_objects {
    ($( $variant:ident => $ty:ty, $api_version:expr, $status:ident );* $(;)?) => {
        /// One Flux object of any of the 15 kinds Flux 2.9 serves.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum FluxObject {
            $(
                #[doc = concat!("A ", stringify!($variant), ".")]
                $variant(Box<$ty>),
            )*
        }

        /// Every `(apiVersion, kind)` pair Flux 2.9 serves.
        pub const SERVED_KINDS: &[(&str, &str)] = &[ $( ($api_version, stringify!($variant)) ),* ];

        impl FluxObject {
            /// The object's kind.
            pub fn kind(&self) -> &'static str {
                match self { $( Self::$variant(_) => stringify!($variant), )* }
            }

            /// The object's apiVersion.
            pub fn api_version(&self) -> &'static str {
                match self { $( Self::$variant(_) => $api_version, )* }
            }

            /// The object's metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self { $( Self::$variant(o) => &o.metadata, )* }
            }

            /// The object's status conditions (empty when it has no status).
            pub fn conditions(&self) -> &[Condition] {
                match self { $( Self::$variant(o) => flux_objects!(@conds o, $status), )* }
            }

            /// The object as JSON, with `apiVersion` and `kind` set.
            pub fn to_value(&self) -> Result<Value, serde_json::Error> {
                let mut value = match self { $( Self::$variant(o) => serde_json::to_value(o)?, )* };
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("apiVersion".into(), Value::String(self.api_version().into()));
                    obj.insert("kind".into(), Value::String(self.kind().into()));
                }
                Ok(value)
            }
        }

        fn parse_kind(kind: &str, value: &Value, name: &str) -> Option<Result<FluxObject, ParseError>> {
            match kind {
                $( stringify!($variant) => Some(deserialize::<$ty>(kind, name, value).map(|o| FluxObject::$variant(Box::new(o)))), )*
                _ => None,
            }
        }
    };
    (@conds $o:ident, status) => {
        $o.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default()
    };
    (@conds $o:ident, no_status) => {
        { let _ = $o; &[] }
    };
}

flux_objects! {
    GitRepository => source::GitRepository, "source.toolkit.fluxcd.io/v1", status;
    OCIRepository => source::OCIRepository, "source.toolkit.fluxcd.io/v1", status;
    Bucket => source::Bucket, "source.toolkit.fluxcd.io/v1", status;
    HelmRepository => source::HelmRepository, "source.toolkit.fluxcd.io/v1", status;
    HelmChart => source::HelmChart, "source.toolkit.fluxcd.io/v1", status;
    ExternalArtifact => source::ExternalArtifact, "source.toolkit.fluxcd.io/v1", status;
    ArtifactGenerator => source_extensions::ArtifactGenerator, "source.extensions.fluxcd.io/v1beta1", status;
    Kustomization => kustomize::Kustomization, "kustomize.toolkit.fluxcd.io/v1", status;
    HelmRelease => helm::HelmRelease, "helm.toolkit.fluxcd.io/v2", status;
    Provider => notification::Provider, "notification.toolkit.fluxcd.io/v1beta3", no_status;
    Alert => notification::Alert, "notification.toolkit.fluxcd.io/v1beta3", no_status;
    Receiver => notification::Receiver, "notification.toolkit.fluxcd.io/v1", status;
    ImageRepository => image::ImageRepository, "image.toolkit.fluxcd.io/v1", status;
    ImagePolicy => image::ImagePolicy, "image.toolkit.fluxcd.io/v1", status;
    ImageUpdateAutomation => image::ImageUpdateAutomation, "image.toolkit.fluxcd.io/v1", status;
}

impl FluxObject {
    /// `metadata.name`, empty when unset.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }
}

/// The apiVersion Flux 2.9 serves for `kind`, when `api_version` is an older version of the
/// same group (what `flux migrate -f` rewrites), e.g. `helm.toolkit.fluxcd.io/v2beta2` →
/// `helm.toolkit.fluxcd.io/v2`. `None` for served or unknown kinds.
pub fn migrated_api_version(kind: &str, api_version: &str) -> Option<&'static str> {
    let (served, _) = SERVED_KINDS.iter().find(|(_, k)| *k == kind)?;
    let group = api_version.split('/').next()?;
    (*served != api_version && served.split('/').next() == Some(group)).then_some(*served)
}

/// Rewrites the apiVersion of an object at an older Flux version to the served one,
/// leaving the fields as they are (`flux migrate -f`). Returns whether it changed.
pub fn migrate_api_version(value: &mut Value) -> bool {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(served) = migrated_api_version(kind, api_version) else {
        return false;
    };
    match value.as_object_mut() {
        Some(obj) => {
            obj.insert("apiVersion".into(), Value::String(served.into()));
            true
        }
        None => false,
    }
}

/// Whether an apiVersion belongs to one of Flux's API groups.
pub fn is_flux_api_version(api_version: &str) -> bool {
    let group = api_version.split('/').next().unwrap_or_default();
    group.ends_with(".fluxcd.io")
}

const TOP_LEVEL_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

/// Parses a Flux object into its typed form.
///
/// Unknown fields, wrong types, invalid durations or enum values, missing required
/// fields, violated patterns, lengths, item counts and ranges of the CRD schema, and violated
/// CEL rules of the CRD (evaluated in Rust, see [`crate::rules`]) are reported with the dotted path of the field, e.g.
/// `GitRepository flux-system/podinfo: spec.urll: unknown field (did you mean `url`?)`.
pub fn parse_object(value: &Value) -> Result<FluxObject, ParseError> {
    let obj = value.as_object().ok_or(ParseError::NotAnObject {
        found: json_type(value),
    })?;
    let api_version =
        obj.get("apiVersion")
            .and_then(Value::as_str)
            .ok_or(ParseError::MissingTypeField {
                field: "apiVersion",
            })?;
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .ok_or(ParseError::MissingTypeField { field: "kind" })?;
    let served = SERVED_KINDS.iter().find(|(_, k)| *k == kind);
    let group = api_version.split('/').next().unwrap_or_default();
    match served {
        Some((served_version, _)) if *served_version == api_version => {}
        Some((served_version, _)) if served_version.split('/').next() == Some(group) => {
            return Err(ParseError::UnservedVersion {
                kind: kind.to_string(),
                api_version: api_version.to_string(),
                served: served_version,
            });
        }
        _ => {
            return Err(ParseError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            });
        }
    }
    let name = display_name(value);
    if let Some(field) = obj.keys().find(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str())) {
        return Err(ParseError::InvalidField {
            kind: kind.to_string(),
            name,
            path: field.clone(),
            reason: "unknown field".into(),
        });
    }
    let object = parse_kind(kind, value, &name).unwrap_or_else(|| {
        Err(ParseError::UnknownKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        })
    })?;
    let mut violations = crate::validation::validate_constraints(kind, value);
    violations.extend(crate::rules::validate_rules(&object));
    if let Some(first) = violations.first() {
        let more = match violations.len() {
            1 => String::new(),
            n => format!(
                " (and {} more violation{})",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        return Err(ParseError::InvalidField {
            kind: kind.to_string(),
            name,
            path: first.path.clone(),
            reason: format!("{}{more}", first.reason),
        });
    }
    Ok(object)
}

fn deserialize<T: serde::de::DeserializeOwned>(
    kind: &str,
    name: &str,
    value: &Value,
) -> Result<T, ParseError> {
    serde_path_to_error::deserialize::<_, T>(value.clone()).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let (path, reason) = explain(&path, &message);
        ParseError::InvalidField {
            kind: kind.to_string(),
            name: name.to_string(),
            path,
            reason,
        }
    })
}

/// Turns serde's message into a path to the offending field and a short reason.
fn explain(path: &str, message: &str) -> (String, String) {
    let join = |field: &str| {
        if path == field || path.ends_with(&format!(".{field}")) {
            path.to_string()
        } else if path.is_empty() || path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        }
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let expected = backticked(
            rest.split_once("expected")
                .map(|(_, e)| e)
                .unwrap_or_default(),
        );
        let reason = match closest(field, &expected) {
            Some(best) => format!("unknown field (did you mean `{best}`?)"),
            None if expected.is_empty() => "unknown field".to_string(),
            None => format!("unknown field (known fields: {})", expected.join(", ")),
        };
        return (join(field), reason);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return (join(field), "required field is missing".into());
    }
    let path = if path.is_empty() || path == "." {
        "<root>".to_string()
    } else {
        path.to_string()
    };
    (path, message.to_string())
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn closest<'a>(field: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(&field.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn display_name(value: &Value) -> String {
    let name = value.pointer("/metadata/name").and_then(Value::as_str);
    let namespace = value.pointer("/metadata/namespace").and_then(Value::as_str);
    match (namespace, name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.to_string(),
        _ => "<unnamed>".to_string(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_serde_messages() {
        assert_eq!(
            explain(
                "spec.urll",
                "unknown field `urll`, expected one of `ignore`, `url`, `verify`"
            ),
            (
                "spec.urll".to_string(),
                "unknown field (did you mean `url`?)".to_string()
            )
        );
        assert_eq!(
            explain("spec", "missing field `url`"),
            (
                "spec.url".to_string(),
                "required field is missing".to_string()
            )
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

/// Typed access to the status conditions of the kinds that have a status.
pub trait HasConditions {
    /// The status conditions (empty without a status).
    fn status_conditions(&self) -> &[Condition];
    /// The status conditions, creating the status and the list when absent.
    fn status_conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `metadata.generation` (0 when unset), the value conditions are computed for.
    fn generation(&self) -> i64;
}

macro_rules! has_conditions {
    ($($ty:ty),* $(,)?) => {$(
        impl HasConditions for $ty {
            fn status_conditions(&self) -> &[Condition] {
                self.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default()
            }
            fn status_conditions_mut(&mut self) -> &mut Vec<Condition> {
                self.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new)
            }
            fn generation(&self) -> i64 {
                self.metadata.generation.unwrap_or_default()
            }
        }
    )*};
}

has_conditions!(
    source::GitRepository,
    source::OCIRepository,
    source::Bucket,
    source::HelmRepository,
    source::HelmChart,
    source::ExternalArtifact,
    source_extensions::ArtifactGenerator,
    kustomize::Kustomization,
    helm::HelmRelease,
    notification::Receiver,
    image::ImageRepository,
    image::ImagePolicy,
    image::ImageUpdateAutomation,
);
