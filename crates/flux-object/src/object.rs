//! A dynamic Kubernetes object (`apiVersion`, `kind`, `metadata`, and any body) over a JSON
//! map, its identity ([`ObjectId`]), and Flux's inventory id format
//! (`<namespace>_<name>_<group>_<kind>`, as fluxcd/cli-utils `ObjMetadata` writes it).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why an object could not be built or edited.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ObjectError {
    /// The value given as an object is not a JSON/YAML mapping.
    #[error("a Kubernetes object must be a mapping, found {found}")]
    NotAMapping {
        /// What was found instead (`null`, `a string`, …).
        found: &'static str,
    },
    /// A field on the way to the one being set holds something other than a mapping.
    #[error("cannot set {path}: {at} is {found}, not a mapping")]
    PathBlocked {
        /// The dotted path being set.
        path: String,
        /// The dotted path of the blocking field.
        at: String,
        /// What the blocking field holds.
        found: &'static str,
    },
}

/// Why an inventory id string could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryIdError {
    /// Fewer than the four `_`-separated fields.
    #[error("unable to parse stored object metadata: {id:?} has fewer than 4 '_'-separated fields")]
    MissingFields {
        /// The id as given.
        id: String,
    },
    /// The name still holds a `_` after `__` was read as `:`.
    #[error("unable to parse stored object metadata: too many fields within {id:?}")]
    TooManyFields {
        /// The id as given.
        id: String,
    },
}

/// Names `Value`'s variants for error messages.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A Kubernetes object of any kind, held as its JSON value (always a mapping).
///
/// Getters return `""` for absent string fields, as Go's `unstructured.Unstructured` does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Object {
    map: Map<String, Value>,
}

impl TryFrom<Value> for Object {
    type Error = ObjectError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Object::from_value(value)
    }
}

impl From<Object> for Value {
    fn from(object: Object) -> Self {
        Value::Object(object.map)
    }
}

impl Object {
    /// An object with `apiVersion`, `kind` and `metadata.name` set.
    pub fn new(api_version: &str, kind: &str, name: &str) -> Object {
        let mut object = Object::default();
        object.set_api_version(api_version);
        object.set_kind(kind);
        object.set_name(name);
        object
    }

    /// Wraps a parsed value; it must be a mapping.
    pub fn from_value(value: Value) -> Result<Object, ObjectError> {
        match value {
            Value::Object(map) => Ok(Object { map }),
            other => Err(ObjectError::NotAMapping {
                found: describe(&other),
            }),
        }
    }

    /// Wraps a mapping.
    pub fn from_map(map: Map<String, Value>) -> Object {
        Object { map }
    }

    /// A copy of the whole object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// Unwraps the JSON value (always `Value::Object`).
    pub fn into_value(self) -> Value {
        Value::Object(self.map)
    }

    /// The top-level fields.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The top-level fields, for editing.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.map
    }

    /// `apiVersion` (`""` when absent or not a string).
    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"])
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }

    /// The API group: the part of `apiVersion` before `/`, `""` for the core group (`v1`).
    pub fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }

    /// The API version: the part of `apiVersion` after `/` (all of it for the core group).
    pub fn version(&self) -> &str {
        split_api_version(self.api_version()).1
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }

    /// `metadata.namespace` (`""` for cluster-scoped objects or when unset).
    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"])
    }

    /// `metadata.generateName`.
    pub fn generate_name(&self) -> &str {
        self.str_at(&["metadata", "generateName"])
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        self.str_at(&["metadata", "uid"])
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> &str {
        self.str_at(&["metadata", "resourceVersion"])
    }

    /// `metadata.generation` (0 when absent, as in Go).
    pub fn generation(&self) -> i64 {
        self.get(&["metadata", "generation"])
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// `metadata.finalizers` (string entries only).
    pub fn finalizers(&self) -> Vec<&str> {
        self.get(&["metadata", "finalizers"])
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// `metadata.labels` with string values (other values are skipped).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.string_map(&["metadata", "labels"])
    }

    /// One label.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.get(&["metadata", "labels", key])
            .and_then(Value::as_str)
    }

    /// `metadata.annotations` with string values (other values are skipped).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.string_map(&["metadata", "annotations"])
    }

    /// One annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.get(&["metadata", "annotations", key])
            .and_then(Value::as_str)
    }

    /// Sets `apiVersion`.
    pub fn set_api_version(&mut self, api_version: &str) {
        self.map
            .insert("apiVersion".into(), Value::from(api_version));
    }

    /// Sets `kind`.
    pub fn set_kind(&mut self, kind: &str) {
        self.map.insert("kind".into(), Value::from(kind));
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        self.set_forced(&["metadata", "name"], Value::from(name));
    }

    /// Sets `metadata.namespace`; an empty namespace removes the field.
    pub fn set_namespace(&mut self, namespace: &str) {
        if namespace.is_empty() {
            self.remove(&["metadata", "namespace"]);
        } else {
            self.set_forced(&["metadata", "namespace"], Value::from(namespace));
        }
    }

    /// Sets one label.
    pub fn set_label(&mut self, key: &str, value: &str) {
        self.set_forced(&["metadata", "labels", key], Value::from(value));
    }

    /// Removes one label, returning its value.
    pub fn remove_label(&mut self, key: &str) -> Option<Value> {
        self.remove(&["metadata", "labels", key])
    }

    /// Replaces all labels (an empty map removes `metadata.labels`).
    pub fn set_labels(&mut self, labels: &BTreeMap<String, String>) {
        self.set_string_map("labels", labels);
    }

    /// Sets one annotation.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        self.set_forced(&["metadata", "annotations", key], Value::from(value));
    }

    /// Removes one annotation, returning its value.
    pub fn remove_annotation(&mut self, key: &str) -> Option<Value> {
        self.remove(&["metadata", "annotations", key])
    }

    /// Replaces all annotations (an empty map removes `metadata.annotations`).
    pub fn set_annotations(&mut self, annotations: &BTreeMap<String, String>) {
        self.set_string_map("annotations", annotations);
    }

    /// The field at `path` (mapping keys from the top), like Go's `unstructured.NestedFieldNoCopy`.
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut current = self.map.get(*first)?;
        for key in rest {
            current = current.as_object()?.get(*key)?;
        }
        Some(current)
    }

    /// The field at `path`, for editing.
    pub fn get_mut(&mut self, path: &[&str]) -> Option<&mut Value> {
        let (first, rest) = path.split_first()?;
        let mut current = self.map.get_mut(*first)?;
        for key in rest {
            current = current.as_object_mut()?.get_mut(*key)?;
        }
        Some(current)
    }

    /// Sets the field at `path`, creating missing mappings on the way; an error when a field
    /// on the way holds something other than a mapping (or null, which is replaced).
    pub fn set(&mut self, path: &[&str], value: Value) -> Result<(), ObjectError> {
        let Some((last, parents)) = path.split_last() else {
            return Object::from_value(value).map(|object| *self = object);
        };
        let mut current = &mut self.map;
        for (depth, key) in parents.iter().enumerate() {
            let slot = current
                .entry((*key).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            let found = describe(slot);
            current = match slot {
                Value::Object(map) => map,
                _ => {
                    return Err(ObjectError::PathBlocked {
                        path: path.join("."),
                        at: parents[..=depth].join("."),
                        found,
                    });
                }
            };
        }
        current.insert((*last).to_string(), value);
        Ok(())
    }

    /// Sets the field at `path`, replacing whatever non-mapping stands on the way (as the
    /// metadata setters need: they cannot fail).
    fn set_forced(&mut self, path: &[&str], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut current = &mut self.map;
        for key in parents {
            let slot = current
                .entry((*key).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            current = match slot {
                Value::Object(map) => map,
                // Not reached: the slot was made a mapping just above.
                _ => return,
            };
        }
        current.insert((*last).to_string(), value);
    }

    /// Removes the field at `path`, returning it (key order of the rest is kept).
    pub fn remove(&mut self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let parent = if parents.is_empty() {
            &mut self.map
        } else {
            self.get_mut(parents)?.as_object_mut()?
        };
        parent.shift_remove(*last)
    }

    /// The object's identity.
    pub fn id(&self) -> ObjectId {
        ObjectId {
            group: self.group().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    fn str_at(&self, path: &[&str]) -> &str {
        self.get(path).and_then(Value::as_str).unwrap_or("")
    }

    fn string_map(&self, path: &[&str]) -> BTreeMap<String, String> {
        self.get(path)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn set_string_map(&mut self, key: &str, entries: &BTreeMap<String, String>) {
        if entries.is_empty() {
            self.remove(&["metadata", key]);
            return;
        }
        let map: Map<String, Value> = entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        self.set_forced(&["metadata", key], Value::Object(map));
    }
}

/// Splits `apiVersion` into group and version the way Kubernetes does: `apps/v1` →
/// (`apps`, `v1`), `v1` → (`""`, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// An object's identity: group, kind, namespace and name (no version, as the API server
/// does not tell versions of one resource apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct ObjectId {
    /// API group, `""` for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace, `""` for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

impl ObjectId {
    /// An id from its parts.
    pub fn new(group: &str, kind: &str, namespace: &str, name: &str) -> ObjectId {
        ObjectId {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Flux's inventory id, `<namespace>_<name>_<group>_<kind>`; `:` in the names of RBAC
    /// objects is written `__`, as fluxcd/cli-utils `ObjMetadata.String` does.
    pub fn inventory_id(&self) -> String {
        let name = if self.group == RBAC_GROUP
            && matches!(
                self.kind.as_str(),
                "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
            ) {
            self.name.replace(':', "__")
        } else {
            self.name.clone()
        };
        format!("{}_{}_{}_{}", self.namespace, name, self.group, self.kind)
    }

    /// Reads an inventory id as fluxcd/cli-utils `ParseObjMetadata` does: namespace up to the
    /// first `_`, kind after the last, group after the one before; the rest is the name,
    /// where `__` means `:` and any other `_` is an error.
    pub fn parse_inventory_id(id: &str) -> Result<ObjectId, InventoryIdError> {
        let missing = || InventoryIdError::MissingFields { id: id.to_string() };
        let (namespace, rest) = id.split_once('_').ok_or_else(missing)?;
        let (rest, kind) = rest.rsplit_once('_').ok_or_else(missing)?;
        let (name, group) = rest.rsplit_once('_').ok_or_else(missing)?;
        let name = name.replace("__", ":");
        if name.contains('_') {
            return Err(InventoryIdError::TooManyFields { id: id.to_string() });
        }
        Ok(ObjectId {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name,
        })
    }
}

/// `Kind/namespace/name`, or `Kind/name` when cluster-scoped, as Flux's
/// `ssa.FmtObjMetadata` prints objects in events and change sets.
impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}
