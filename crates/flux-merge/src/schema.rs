//! Type metadata for patching and field management.
//!
//! A [`SchemaSet`] is a compiled table of OpenAPI schemas: which fields exist, which lists merge
//! by key (`x-kubernetes-patch-merge-key` / `x-kubernetes-patch-strategy`), which lists and maps
//! are atomic, sets or maps for server-side apply (`x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`) and which leaves are int-or-string or
//! quantities. [`SchemaSet::builtin`] holds every built-in kind of Kubernetes 1.33 (generated from
//! PyPI `kubernetes-validate==1.33.0`); more schemas come from an OpenAPI definitions document
//! ([`SchemaSet::add_definitions`], kustomize's `openapi:` field) or a CRD
//! ([`SchemaSet::add_crd`], [`SchemaSet::add_openapi_v3_schema`]).
//!
//! A [`TypeRef`] is a `Copy` handle to one position in a set (a field or list item with its
//! patch metadata).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};

/// The generated table: pruned Kubernetes 1.33 OpenAPI definitions.
const BUILTIN_TABLE: &str = include_str!("generated/k8s-1.33-patch-meta.json");

/// Name of the ObjectMeta definition, grafted into CRD schemas that leave `metadata` open.
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// Why a schema document could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("schema document is not valid JSON: {0}")]
    ParseDocument(#[source] serde_json::Error),
    #[error("schema document has no `definitions`, `$defs` or `components.schemas` object")]
    MissingDefinitions,
    #[error("CRD field `{field}` is missing or not {expected}")]
    CrdField {
        field: String,
        expected: &'static str,
    },
}

/// How a list or map field is patched by a strategic merge patch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchStrategy {
    /// `merge`: lists merge (by merge key for lists of maps, as a set for primitives).
    pub merge: bool,
    /// `replace`: the patch value replaces the field as a whole.
    pub replace: bool,
    /// `retainKeys`: a `$retainKeys` directive clears keys not listed.
    pub retain_keys: bool,
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map,
}

/// `x-kubernetes-map-type` (also used for structs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    Atomic,
    Granular,
}

/// Kind of a leaf value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    String,
    Integer,
    Number,
    Boolean,
    /// `IntOrString` (`x-kubernetes-int-or-string`).
    IntOrString,
    /// `resource.Quantity` (string or number).
    Quantity,
}

/// What a position in the schema holds, after following references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An object with named fields and/or `additionalProperties`.
    Object,
    /// An array.
    List,
    /// A leaf.
    Scalar(ScalarKind),
    /// Nothing is known (no schema, `x-kubernetes-preserve-unknown-fields`, or `{}`).
    Untyped,
}

#[derive(Debug, Clone)]
enum Body {
    Ref(u32),
    Object {
        /// Sorted by name.
        fields: Vec<(Box<str>, u32)>,
        additional: Option<u32>,
    },
    List {
        items: u32,
    },
    Scalar(ScalarKind),
    Untyped,
}

#[derive(Debug, Clone)]
struct Node {
    body: Body,
    strategy: PatchStrategy,
    merge_key: Option<Box<str>>,
    list_type: Option<ListType>,
    list_map_keys: Vec<Box<str>>,
    map_type: Option<MapType>,
    embedded_resource: bool,
    default: Option<Value>,
}

impl Node {
    fn plain(body: Body) -> Self {
        Node {
            body,
            strategy: PatchStrategy::default(),
            merge_key: None,
            list_type: None,
            list_map_keys: Vec::new(),
            map_type: None,
            embedded_resource: false,
            default: None,
        }
    }
}

/// A compiled set of schemas, looked up by definition name or by (apiVersion, kind).
#[derive(Debug, Clone, Default)]
pub struct SchemaSet {
    nodes: Vec<Node>,
    named: HashMap<String, u32>,
    kinds: HashMap<(String, String), u32>,
}

static BUILTIN: LazyLock<SchemaSet> = LazyLock::new(|| {
    let mut set = SchemaSet::default();
    // The table is generated and checked by tests; a broken table leaves the set empty
    // (every lookup then falls back to untyped merge semantics) rather than panicking.
    if set.add_definitions_str(BUILTIN_TABLE).is_err() {
        return SchemaSet::default();
    }
    set
});

/// Patch metadata for a built-in kind of Kubernetes 1.33, e.g. `("apps/v1", "Deployment")`.
pub fn for_kind(api_version: &str, kind: &str) -> Option<TypeRef<'static>> {
    SchemaSet::builtin().for_kind(api_version, kind)
}

impl SchemaSet {
    /// The built-in kinds of Kubernetes 1.33 (parsed once, on first use).
    pub fn builtin() -> &'static SchemaSet {
        &BUILTIN
    }

    /// A copy of the built-in set, to which more schemas can be added.
    pub fn with_builtin() -> SchemaSet {
        BUILTIN.clone()
    }

    /// An empty set.
    pub fn new() -> SchemaSet {
        SchemaSet::default()
    }

    /// Number of named definitions.
    pub fn len(&self) -> usize {
        self.named.len()
    }

    /// Whether no definition is known.
    pub fn is_empty(&self) -> bool {
        self.named.is_empty()
    }

    /// The schema of a kind, by `apiVersion` (`group/version` or `v1`) and `kind`.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<TypeRef<'_>> {
        self.kinds
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|&id| TypeRef { set: self, id })
    }

    /// The schema of the kind named by an object's own `apiVersion` and `kind`.
    pub fn for_object(&self, object: &Value) -> Option<TypeRef<'_>> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        self.for_kind(api_version, kind)
    }

    /// A definition by name (e.g. `io.k8s.api.core.v1.PodSpec`).
    pub fn by_name(&self, name: &str) -> Option<TypeRef<'_>> {
        self.named.get(name).map(|&id| TypeRef { set: self, id })
    }

    /// Add every definition of an OpenAPI document given as text (see [`Self::add_definitions`]).
    pub fn add_definitions_str(&mut self, text: &str) -> Result<usize, SchemaError> {
        let doc: Value = serde_json::from_str(text).map_err(SchemaError::ParseDocument)?;
        self.add_definitions(&doc)
    }

    /// Add every definition of an OpenAPI v2 (`definitions`), JSON Schema (`$defs`) or OpenAPI v3
    /// (`components.schemas`) document. Definitions carrying `x-kubernetes-group-version-kind`
    /// become kinds. Later definitions replace earlier ones of the same name. Returns how many
    /// definitions were added.
    pub fn add_definitions(&mut self, doc: &Value) -> Result<usize, SchemaError> {
        let defs = doc
            .get("definitions")
            .or_else(|| doc.get("$defs"))
            .or_else(|| doc.get("components").and_then(|c| c.get("schemas")))
            .and_then(Value::as_object)
            .ok_or(SchemaError::MissingDefinitions)?;
        // Reserve a slot per name first so references resolve in any order.
        let mut slots = Vec::with_capacity(defs.len());
        for name in defs.keys() {
            let id = self.push(Node::plain(Body::Untyped));
            self.named.insert(name.clone(), id);
            slots.push(id);
        }
        for ((_, schema), slot) in defs.iter().zip(slots) {
            let node = self.compile(schema, 0);
            self.nodes[slot as usize] = node;
            for (api_version, kind) in gvks(schema) {
                self.kinds.insert((api_version, kind), slot);
            }
        }
        Ok(defs.len())
    }

    /// Register a custom resource kind from its `openAPIV3Schema`. When the schema leaves
    /// `metadata` open and the set knows ObjectMeta, ObjectMeta's metadata is used for it (as the
    /// API server does).
    pub fn add_openapi_v3_schema(
        &mut self,
        api_version: &str,
        kind: &str,
        schema: &Value,
    ) -> TypeRef<'_> {
        let mut id = self.push_compiled(schema);
        if let Some(&meta) = self.named.get(OBJECT_META) {
            id = self.graft_metadata(id, meta);
        }
        self.kinds
            .insert((api_version.to_string(), kind.to_string()), id);
        TypeRef { set: self, id }
    }

    /// Register every served version of a CustomResourceDefinition object
    /// (`apiextensions.k8s.io/v1`). Returns the `(apiVersion, kind)` pairs registered.
    pub fn add_crd(&mut self, crd: &Value) -> Result<Vec<(String, String)>, SchemaError> {
        let field_str = |path: &str| -> Result<String, SchemaError> {
            crd.pointer(path)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| SchemaError::CrdField {
                    field: path.trim_start_matches('/').replace('/', "."),
                    expected: "a string",
                })
        };
        let group = field_str("/spec/group")?;
        let kind = field_str("/spec/names/kind")?;
        let versions = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .ok_or_else(|| SchemaError::CrdField {
                field: "spec.versions".into(),
                expected: "a list",
            })?;
        let mut added = Vec::new();
        for version in versions {
            let Some(name) = version.get("name").and_then(Value::as_str) else {
                return Err(SchemaError::CrdField {
                    field: "spec.versions[].name".into(),
                    expected: "a string",
                });
            };
            let api_version = format!("{group}/{name}");
            let untyped = Value::Object(Map::new());
            let schema = version
                .pointer("/schema/openAPIV3Schema")
                .unwrap_or(&untyped);
            self.add_openapi_v3_schema(&api_version, &kind, schema);
            added.push((api_version, kind.clone()));
        }
        Ok(added)
    }

    fn push(&mut self, node: Node) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(node);
        id
    }

    fn push_compiled(&mut self, schema: &Value) -> u32 {
        let node = self.compile(schema, 0);
        self.push(node)
    }

    /// Point an open `metadata` field of a root object at ObjectMeta.
    fn graft_metadata(&mut self, root: u32, meta: u32) -> u32 {
        let Body::Object { fields, .. } = &self.nodes[root as usize].body else {
            return root;
        };
        let existing = fields
            .binary_search_by(|(n, _)| (**n).cmp("metadata"))
            .ok()
            .map(|i| fields[i].1);
        let open = match existing {
            None => true,
            Some(id) => match &self.nodes[id as usize].body {
                Body::Untyped => true,
                Body::Object { fields, additional } => fields.is_empty() && additional.is_none(),
                _ => false,
            },
        };
        if !open {
            return root;
        }
        if let Body::Object { fields, .. } = &mut self.nodes[root as usize].body {
            match fields.binary_search_by(|(n, _)| (**n).cmp("metadata")) {
                Ok(i) => fields[i].1 = meta,
                Err(i) => fields.insert(i, ("metadata".into(), meta)),
            }
        }
        root
    }

    fn compile(&mut self, schema: &Value, depth: usize) -> Node {
        let Some(obj) = schema.as_object() else {
            return Node::plain(Body::Untyped);
        };
        if depth > 64 {
            return Node::plain(Body::Untyped);
        }
        let mut node = Node::plain(Body::Untyped);
        // Metadata on this position.
        if let Some(key) = obj
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
        {
            node.merge_key = Some(key.into());
        }
        if let Some(strategy) = obj
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
        {
            for part in strategy.split(',') {
                match part.trim() {
                    "merge" => node.strategy.merge = true,
                    "replace" => node.strategy.replace = true,
                    "retainKeys" => node.strategy.retain_keys = true,
                    _ => {}
                }
            }
        }
        node.list_type = match obj.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("atomic") => Some(ListType::Atomic),
            Some("set") => Some(ListType::Set),
            Some("map") => Some(ListType::Map),
            _ => None,
        };
        if let Some(keys) = obj
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
        {
            node.list_map_keys = keys
                .iter()
                .filter_map(Value::as_str)
                .map(Into::into)
                .collect();
        }
        node.map_type = match obj.get("x-kubernetes-map-type").and_then(Value::as_str) {
            Some("atomic") => Some(MapType::Atomic),
            Some("granular") => Some(MapType::Granular),
            _ => None,
        };
        node.embedded_resource =
            obj.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
        node.default = obj.get("default").cloned();

        // Structure.
        let source = match obj
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            Some(first) if !obj.contains_key("$ref") && !obj.contains_key("type") => first,
            _ => schema,
        };
        let src = source.as_object().unwrap_or(obj);
        if let Some(reference) = src.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            node.body = match self.named.get(name) {
                Some(&id) => Body::Ref(id),
                None => Body::Untyped,
            };
            return node;
        }
        if src.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            node.body = Body::Scalar(ScalarKind::IntOrString);
            return node;
        }
        match src.get("format").and_then(Value::as_str) {
            Some("int-or-string") => {
                node.body = Body::Scalar(ScalarKind::IntOrString);
                return node;
            }
            Some("quantity") => {
                node.body = Body::Scalar(ScalarKind::Quantity);
                return node;
            }
            _ => {}
        }
        let ty = match src.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => {
                let non_null: Vec<&str> = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                if non_null.len() == 1 {
                    Some(non_null[0])
                } else {
                    None
                }
            }
            _ => None,
        };
        let ty = ty.or_else(|| {
            if src.contains_key("properties") || src.contains_key("additionalProperties") {
                Some("object")
            } else if src.contains_key("items") {
                Some("array")
            } else {
                None
            }
        });
        let preserve = src.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        node.body = match ty {
            Some("object") => {
                let mut fields = Vec::new();
                if let Some(props) = src.get("properties").and_then(Value::as_object) {
                    for (name, sub) in props {
                        let child = self.compile(sub, depth + 1);
                        let id = self.intern(child);
                        fields.push((Box::<str>::from(name.as_str()), id));
                    }
                }
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                let additional = match src.get("additionalProperties") {
                    Some(sub @ Value::Object(_)) => {
                        let child = self.compile(sub, depth + 1);
                        Some(self.intern(child))
                    }
                    Some(Value::Bool(true)) => Some(self.push(Node::plain(Body::Untyped))),
                    _ if preserve => Some(self.push(Node::plain(Body::Untyped))),
                    _ => None,
                };
                if fields.is_empty() && additional.is_none() {
                    Body::Untyped
                } else {
                    Body::Object { fields, additional }
                }
            }
            Some("array") => {
                let items = match src.get("items") {
                    Some(items) => {
                        let child = self.compile(items, depth + 1);
                        self.intern(child)
                    }
                    None => self.push(Node::plain(Body::Untyped)),
                };
                Body::List { items }
            }
            Some("string") => Body::Scalar(ScalarKind::String),
            Some("integer") => Body::Scalar(ScalarKind::Integer),
            Some("number") => Body::Scalar(ScalarKind::Number),
            Some("boolean") => Body::Scalar(ScalarKind::Boolean),
            _ => Body::Untyped,
        };
        node
    }

    /// Store a compiled child; a bare reference without metadata reuses the target's id.
    fn intern(&mut self, node: Node) -> u32 {
        if let Body::Ref(target) = node.body {
            let bare = node.strategy == PatchStrategy::default()
                && node.merge_key.is_none()
                && node.list_type.is_none()
                && node.list_map_keys.is_empty()
                && node.map_type.is_none()
                && !node.embedded_resource
                && node.default.is_none();
            if bare {
                return target;
            }
        }
        self.push(node)
    }
}

fn gvks(schema: &Value) -> Vec<(String, String)> {
    let Some(list) = schema
        .get("x-kubernetes-group-version-kind")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|g| {
            let group = g.get("group").and_then(Value::as_str).unwrap_or("");
            let version = g.get("version")?.as_str()?;
            let kind = g.get("kind")?.as_str()?;
            let api_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            Some((api_version, kind.to_string()))
        })
        .collect()
}

/// A cheap `Copy` handle to one position (a field, list item or map value) in a [`SchemaSet`].
#[derive(Clone, Copy)]
pub struct TypeRef<'a> {
    set: &'a SchemaSet,
    id: u32,
}

impl std::fmt::Debug for TypeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeRef")
            .field("id", &self.id)
            .field("shape", &self.shape())
            .finish()
    }
}

impl<'a> TypeRef<'a> {
    fn node(&self) -> &'a Node {
        &self.set.nodes[self.id as usize]
    }

    /// The node holding the structure, after following references.
    fn resolved(&self) -> &'a Node {
        let mut node = self.node();
        for _ in 0..32 {
            match node.body {
                Body::Ref(target) => node = &self.set.nodes[target as usize],
                _ => return node,
            }
        }
        node
    }

    /// What this position holds.
    pub fn shape(&self) -> Shape {
        match &self.resolved().body {
            Body::Object { .. } => Shape::Object,
            Body::List { .. } => Shape::List,
            Body::Scalar(kind) => Shape::Scalar(*kind),
            Body::Ref(_) | Body::Untyped => Shape::Untyped,
        }
    }

    /// The schema of a field of this object (a named property, else `additionalProperties`).
    /// `None` when this is not an object or the field is unknown.
    pub fn field(&self, name: &str) -> Option<TypeRef<'a>> {
        match &self.resolved().body {
            Body::Object { fields, additional } => {
                match fields.binary_search_by(|(n, _)| (**n).cmp(name)) {
                    Ok(i) => Some(TypeRef {
                        set: self.set,
                        id: fields[i].1,
                    }),
                    Err(_) => additional.map(|id| TypeRef { set: self.set, id }),
                }
            }
            _ => None,
        }
    }

    /// Whether this object declares the named property itself (not via `additionalProperties`).
    pub fn has_named_field(&self, name: &str) -> bool {
        match &self.resolved().body {
            Body::Object { fields, .. } => {
                fields.binary_search_by(|(n, _)| (**n).cmp(name)).is_ok()
            }
            _ => false,
        }
    }

    /// Names of the declared properties of this object.
    pub fn field_names(&self) -> Vec<&'a str> {
        match &self.resolved().body {
            Body::Object { fields, .. } => fields.iter().map(|(n, _)| &**n).collect(),
            _ => Vec::new(),
        }
    }

    /// The schema of `additionalProperties` (map values), if this is a map.
    pub fn map_values(&self) -> Option<TypeRef<'a>> {
        match &self.resolved().body {
            Body::Object { additional, .. } => additional.map(|id| TypeRef { set: self.set, id }),
            _ => None,
        }
    }

    /// The schema of the items, if this is a list.
    pub fn items(&self) -> Option<TypeRef<'a>> {
        match &self.resolved().body {
            Body::List { items } => Some(TypeRef {
                set: self.set,
                id: *items,
            }),
            _ => None,
        }
    }

    /// `x-kubernetes-patch-strategy` declared on this field.
    pub fn patch_strategy(&self) -> PatchStrategy {
        self.node().strategy
    }

    /// `x-kubernetes-patch-merge-key` declared on this field.
    pub fn merge_key(&self) -> Option<&'a str> {
        self.node().merge_key.as_deref()
    }

    /// `x-kubernetes-list-type`, on the field or its referenced definition.
    pub fn list_type(&self) -> Option<ListType> {
        self.node().list_type.or(self.resolved().list_type)
    }

    /// `x-kubernetes-list-map-keys`, on the field or its referenced definition.
    pub fn list_map_keys(&self) -> Vec<&'a str> {
        let own = &self.node().list_map_keys;
        let keys = if own.is_empty() {
            &self.resolved().list_map_keys
        } else {
            own
        };
        keys.iter().map(|k| &**k).collect()
    }

    /// `x-kubernetes-map-type`, on the field or its referenced definition.
    pub fn map_type(&self) -> Option<MapType> {
        self.node().map_type.or(self.resolved().map_type)
    }

    /// The schema's `default` for this field, if any.
    pub fn default_value(&self) -> Option<&'a Value> {
        self.node()
            .default
            .as_ref()
            .or(self.resolved().default.as_ref())
    }

    /// Whether this field holds a whole embedded object (`x-kubernetes-embedded-resource`).
    pub fn is_embedded_resource(&self) -> bool {
        self.node().embedded_resource || self.resolved().embedded_resource
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_loads_all_definitions() {
        assert_eq!(SchemaSet::builtin().len(), 707);
    }

    #[test]
    fn deployment_containers_merge_by_name() {
        let deploy = for_kind("apps/v1", "Deployment").expect("Deployment");
        let containers = deploy
            .field("spec")
            .and_then(|s| s.field("template"))
            .and_then(|t| t.field("spec"))
            .and_then(|s| s.field("containers"))
            .expect("containers");
        assert!(containers.patch_strategy().merge);
        assert_eq!(containers.merge_key(), Some("name"));
        assert_eq!(containers.list_type(), Some(ListType::Map));
        assert_eq!(containers.list_map_keys(), vec!["name"]);
        let ports = containers
            .items()
            .and_then(|c| c.field("ports"))
            .expect("ports");
        assert_eq!(ports.merge_key(), Some("containerPort"));
        assert_eq!(ports.list_map_keys(), vec!["containerPort", "protocol"]);
        let strategy = deploy
            .field("spec")
            .and_then(|s| s.field("strategy"))
            .expect("strategy");
        assert!(strategy.patch_strategy().retain_keys);
        let max_surge = strategy
            .field("rollingUpdate")
            .and_then(|r| r.field("maxSurge"))
            .expect("maxSurge");
        assert_eq!(max_surge.shape(), Shape::Scalar(ScalarKind::IntOrString));
    }

    #[test]
    fn core_kinds_use_bare_version() {
        assert!(for_kind("v1", "ConfigMap").is_some());
        assert!(for_kind("apps/v1", "ConfigMap").is_none());
        let labels = for_kind("v1", "Pod")
            .and_then(|p| p.field("metadata"))
            .and_then(|m| m.field("labels"))
            .expect("labels");
        assert_eq!(
            labels.map_values().map(|v| v.shape()),
            Some(Shape::Scalar(ScalarKind::String))
        );
    }

    #[test]
    fn crd_schema_registers_kind_with_object_meta() {
        let mut set = SchemaSet::with_builtin();
        let crd = serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget"},
                "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "properties": {
                            "items": {"type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["id"],
                                "x-kubernetes-patch-merge-key": "id",
                                "x-kubernetes-patch-strategy": "merge",
                                "items": {"type": "object", "properties": {"id": {"type": "string"}}}}
                        }}
                    }
                }}}]
            }
        });
        let added = set.add_crd(&crd).expect("crd");
        assert_eq!(
            added,
            vec![("example.com/v1".to_string(), "Widget".to_string())]
        );
        let widget = set.for_kind("example.com/v1", "Widget").expect("Widget");
        let items = widget
            .field("spec")
            .and_then(|s| s.field("items"))
            .expect("items");
        assert_eq!(items.merge_key(), Some("id"));
        let finalizers = widget
            .field("metadata")
            .and_then(|m| m.field("finalizers"))
            .expect("ObjectMeta grafted");
        assert!(finalizers.patch_strategy().merge);
    }

    #[test]
    fn crd_without_required_fields_is_an_error() {
        let mut set = SchemaSet::new();
        let err = set
            .add_crd(&serde_json::json!({"spec": {}}))
            .expect_err("must fail");
        assert!(err.to_string().contains("spec.group"), "{err}");
    }
}
