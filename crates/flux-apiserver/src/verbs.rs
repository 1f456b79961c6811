//! The verbs: get, list, create, update, patch, delete, deletecollection (watch is in
//! `watch.rs`). Each returns the HTTP code and the JSON body, or a Status error.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::crd;
use crate::defaults;
use crate::object_meta::{
    finalizers, is_deleting, meta, meta_mut, meta_str, name_suffix, new_uid, now_rfc3339, uid,
};
use crate::rbac::{Attributes, UserInfo};
use crate::request::{Query, media_type};
use crate::resources::ResourceDef;
use crate::schema;
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Api;
use crate::status::{ApiError, StatusCause, success_status};
use crate::store::{ObjectKey, Txn};
use crate::validation::{validate_metadata, validate_name};

/// A verb's answer.
pub struct Answer {
    pub code: u16,
    pub body: Value,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Self { code: 200, body }
    }
    fn created(body: Value) -> Self {
        Self { code: 201, body }
    }
}

/// Work to do after a write committed (registry changes follow the stored CRDs).
#[derive(Default)]
struct AfterCommit {
    crds: Vec<Value>,
    removed_crds: Vec<String>,
}

impl AfterCommit {
    fn run(self, api: &Api) {
        for crd in self.crds {
            crd::serve(api, &crd);
        }
        for name in self.removed_crds {
            api.registry.unregister_crd(&name);
        }
    }
}

pub fn key(def: &ResourceDef, namespace: Option<&str>, name: &str) -> ObjectKey {
    (
        def.storage_resource(),
        if def.namespaced {
            namespace.unwrap_or("").to_string()
        } else {
            String::new()
        },
        name.to_string(),
    )
}

/// The object as served at `def`'s version (multi-version CRDs share storage).
pub fn render(def: &ResourceDef, obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(map) = out.as_object_mut() {
        map.insert("apiVersion".into(), json!(def.api_version()));
        map.insert("kind".into(), json!(def.kind));
    }
    out
}

fn check_type_meta(def: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request("the request body must be an object"));
    };
    let want_av = def.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), json!(want_av));
        }
        Some(av) if av == want_av => {}
        Some(av) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({want_av})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), json!(def.kind));
        }
        Some(k) if k == def.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({}) for {}",
                def.kind,
                def.api_version()
            )));
        }
    }
    if !map.get("metadata").is_none_or(Value::is_object) {
        return Err(ApiError::bad_request(
            "metadata: the field must be an object",
        ));
    }
    Ok(())
}

fn namespace_key(ns: &str) -> ObjectKey {
    ("/namespaces".into(), String::new(), ns.to_string())
}

fn check_namespace(
    tx: &Txn<'_>,
    def: &ResourceDef,
    ns: &str,
    creating: bool,
) -> Result<(), ApiError> {
    if !def.namespaced {
        return Ok(());
    }
    let Some(nsobj) = tx.get(&namespace_key(ns)) else {
        return Err(ApiError::not_found("namespaces", "", ns));
    };
    if creating && is_deleting(&nsobj) {
        let mut err = ApiError::forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            crate::status::qualified_resource(&def.plural, &def.group),
            ""
        ));
        err.reason = "Forbidden";
        return Err(err);
    }
    Ok(())
}

/// Validate and default an object before it is stored (metadata, built-in defaults,
/// CRD schemas, CRD definitions themselves).
fn admit(
    api: &Api,
    def: &ResourceDef,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = meta_str(obj, "name").to_string();
    let mut causes = Vec::new();
    if old.is_none() {
        causes.extend(validate_name(&name, def.name_rule, "metadata.name"));
    }
    if let Some(m) = meta(obj) {
        causes.extend(validate_metadata(&Value::Object(m.clone())));
    }
    if let Some(old) = old
        && is_deleting(old)
    {
        {
            let old_f = finalizers(old);
            let added: Vec<String> = finalizers(obj)
                .into_iter()
                .filter(|f| !old_f.contains(f))
                .collect();
            if !added.is_empty() {
                causes.push(StatusCause::forbidden(
                    "metadata.finalizers",
                    &format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    ),
                ));
            }
        }
    }
    defaults::apply(def, obj);
    if let Some(schema_root) = def.schema.as_deref() {
        schema::prune_root(obj, schema_root);
        schema::apply_defaults(obj, schema_root);
        causes.extend(schema::validate_root(obj, schema_root));
        causes.extend(cel_causes(def, obj, old, &causes));
    }
    if def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions" {
        causes.extend(crd::validate_and_set_status(api, obj, old));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(&def.kind, &def.group, &name, causes));
    }
    Ok(())
}

/// The `x-kubernetes-validations` failures of a custom resource. As upstream, the rules
/// are not evaluated when schema validation already found a type, enum, required or size
/// error; one cause says so instead.
fn cel_causes(
    def: &ResourceDef,
    obj: &Value,
    old: Option<&Value>,
    schema_causes: &[StatusCause],
) -> Vec<StatusCause> {
    let Some(rules) = def.cel_rules.as_deref() else {
        return Vec::new();
    };
    let blocking = schema_causes.iter().any(|c| {
        matches!(
            c.reason.as_str(),
            "FieldValueNotSupported"
                | "FieldValueRequired"
                | "FieldValueTooLong"
                | "FieldValueTooMany"
                | "FieldValueTypeInvalid"
        ) || c.message.contains(" in body must be of type ")
    });
    if blocking {
        return vec![StatusCause {
            reason: "FieldValueInvalid".into(),
            message: "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
            field: "<nil>".into(),
        }];
    }
    let old = old.map(|o| render(def, o));
    rules.validate(obj, old.as_ref())
}

/// A status write of a custom resource is pruned and validated like any write (the
/// schema covers `status`; CEL rules see the old object).
fn admit_status(def: &ResourceDef, obj: &mut Value, old: &Value) -> Result<(), ApiError> {
    let Some(schema_root) = def.schema.as_deref() else {
        return Ok(());
    };
    schema::prune_root(obj, schema_root);
    schema::apply_defaults(obj, schema_root);
    let mut causes = schema::validate_root(obj, schema_root);
    causes.extend(cel_causes(def, obj, Some(old), &causes));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &def.kind,
            &def.group,
            meta_str(obj, "name"),
            causes,
        ))
    }
}

/// Does anything but metadata (and status, for kinds with a status subresource) differ?
fn spec_changed(def: &ResourceDef, old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if def.status_subresource {
            m.remove("status");
        }
        m
    };
    strip(old) != strip(new)
}

/// Equal apart from resourceVersion (a write that only changes managedFields is stored, as
/// upstream).
fn same_content(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        let m = meta_mut(&mut v);
        m.remove("resourceVersion");
        v
    };
    strip(old) == strip(new)
}

fn parse_rv(raw: &str, def: &ResourceDef) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|e| {
        ApiError::invalid(
            &def.plural,
            &def.group,
            "",
            vec![StatusCause::invalid(
                "resourceVersion",
                &json!(raw),
                &format!("strconv.ParseUint: parsing {raw:?}: {e}"),
            )],
        )
    })
}

pub fn parse_resource_version(raw: &str, def: &ResourceDef) -> Result<u64, ApiError> {
    parse_rv(raw, def)
}

// ------------------------------------------------------------------------------------
// get / list

pub fn get(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Result<Answer, ApiError> {
    check_subresource(def, sub)?;
    let k = key(def, ns, name);
    let obj = api
        .store
        .get(&k)
        .ok_or_else(|| ApiError::not_found(&def.plural, &def.group, name))?;
    if sub == Some("scale") {
        return Ok(Answer::ok(scale_of(def, &obj)));
    }
    Ok(Answer::ok(render(def, &obj)))
}

fn check_subresource(def: &ResourceDef, sub: Option<&str>) -> Result<(), ApiError> {
    match sub {
        None => Ok(()),
        Some("status") if def.status_subresource => Ok(()),
        Some("scale") if def.scale_subresource => Ok(()),
        Some("finalize") if def.plural == "namespaces" && def.group.is_empty() => Ok(()),
        Some(_) => Err(ApiError::no_such_path()),
    }
}

/// The Scale view of an object: built-ins read `.spec.replicas`, `.status.replicas` and
/// `.spec.selector`; custom resources the paths of their CRD's `subresources.scale`
/// (replicas 0 when absent, as upstream).
fn scale_of(def: &ResourceDef, obj: &Value) -> Value {
    let (spec_ptr, status_ptr, default_replicas) = match def.scale_paths.as_deref() {
        Some(p) => (
            crate::resources::json_path_pointer(&p.spec_replicas),
            crate::resources::json_path_pointer(&p.status_replicas),
            0,
        ),
        None => (
            "/spec/replicas".to_string(),
            "/status/replicas".to_string(),
            1,
        ),
    };
    let replicas = obj
        .pointer(&spec_ptr)
        .cloned()
        .unwrap_or(json!(default_replicas));
    let selector = match def.scale_paths.as_deref() {
        Some(p) => p
            .label_selector
            .as_deref()
            .and_then(|path| obj.pointer(&crate::resources::json_path_pointer(path)))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        None => obj
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
    };
    let m = meta(obj).cloned().unwrap_or_default();
    let mut status = json!({
        "replicas": obj.pointer(&status_ptr).cloned().unwrap_or(json!(0)),
    });
    if !selector.is_empty() || def.scale_paths.is_none() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"),
            "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": replicas},
        "status": status,
    })
}

/// Write `value` at a JSON pointer, creating the objects on the way.
fn set_at_pointer(obj: &mut Value, pointer: &str, value: Value) {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut at = obj;
    for p in parents {
        let Some(map) = at.as_object_mut() else {
            return;
        };
        at = map.entry(p.clone()).or_insert_with(|| json!({}));
        if !at.is_object() {
            *at = json!({});
        }
    }
    if let Some(map) = at.as_object_mut() {
        map.insert(last.clone(), value);
    }
}

/// Where a continue token resumes: the list's resourceVersion (upstream: the RV of the
/// first page, so every page shows one snapshot) and the last key returned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContinueToken {
    rv: Option<u64>,
    after: (String, String),
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    let doc = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{ns}\u{0}{name}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(doc.to_string())
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    if !token.is_ascii() {
        return Err(bad());
    }
    // The current form: base64 of {"v","rv","start"}.
    if let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token)
        && let Ok(doc) = serde_json::from_slice::<Value>(&raw)
    {
        if doc.get("v").and_then(Value::as_str) != Some("meta.k8s.io/v1") {
            return Err(bad());
        }
        let rv = doc.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
        let start = doc.get("start").and_then(Value::as_str).ok_or_else(bad)?;
        let (ns, name) = start.split_once('\u{0}').ok_or_else(bad)?;
        return Ok(ContinueToken {
            rv: Some(rv),
            after: (ns.to_string(), name.to_string()),
        });
    }
    // The older form: hex of "ns\0name" (no snapshot).
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let hex = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let bytes: Option<Vec<u8>> = token
        .as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(hex(*hi)? * 16 + hex(*lo)?),
            _ => None,
        })
        .collect();
    let text = String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())?;
    let (ns, name) = text.split_once('\u{0}').ok_or_else(bad)?;
    Ok(ContinueToken {
        rv: None,
        after: (ns.to_string(), name.to_string()),
    })
}

/// What identifies one paged list: resource, namespace, selectors and the snapshot's RV.
type SnapshotKey = (String, Option<String>, String, String, u64);

/// The objects of paged lists in progress, kept so later pages read the state of the
/// first page (upstream reads etcd at the first page's RV). Snapshots are dropped after
/// [`SNAPSHOT_TTL`] or when more than [`MAX_SNAPSHOTS`] are held; a token whose snapshot
/// is gone gets 410 Expired, as a compacted RV does upstream.
#[derive(Default)]
pub struct ListSnapshots {
    entries: parking_lot::Mutex<Vec<SnapshotEntry>>,
}

/// One kept snapshot: its key, when it was taken, the objects.
type SnapshotEntry = (SnapshotKey, std::time::Instant, Arc<Vec<Arc<Value>>>);

const MAX_SNAPSHOTS: usize = 64;
const SNAPSHOT_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl ListSnapshots {
    fn get(&self, key: &SnapshotKey) -> Option<Arc<Vec<Arc<Value>>>> {
        let mut entries = self.entries.lock();
        entries.retain(|(_, at, _)| at.elapsed() < SNAPSHOT_TTL);
        entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, items)| items.clone())
    }
    fn put(&self, key: SnapshotKey, items: Arc<Vec<Arc<Value>>>) {
        let mut entries = self.entries.lock();
        entries.retain(|(k, at, _)| at.elapsed() < SNAPSHOT_TTL && *k != key);
        if entries.len() >= MAX_SNAPSHOTS {
            entries.remove(0);
        }
        entries.push((key, std::time::Instant::now(), items));
    }
}

/// The matching objects of a list request (one page) and its list metadata.
pub struct ListPage {
    pub items: Vec<Arc<Value>>,
    pub metadata: Value,
}

fn obj_key(obj: &Value) -> (&str, &str) {
    (meta_str(obj, "namespace"), meta_str(obj, "name"))
}

pub fn list_page(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    q: &Query,
) -> Result<ListPage, ApiError> {
    let labels = LabelSelector::parse(&q.label_selector)?;
    let fields = FieldSelector::parse(&q.field_selector, &def.kind, &def.api_version())?;
    if q.resource_version_match.is_some() && q.resource_version.is_none() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    let current = api.store.current_rv();
    if let Some(rv) = q.resource_version.as_deref() {
        let asked = parse_rv(rv, def)?;
        if q.resource_version_match.as_deref() == Some("Exact") && asked != current {
            return Err(ApiError::expired(asked, current));
        }
        if asked > current {
            return Err(ApiError::new(
                504,
                "Timeout",
                format!("Timeout: Too large resource version: {asked}, current: {current}"),
            ));
        }
    }
    let token = q
        .continue_token
        .as_deref()
        .map(decode_continue)
        .transpose()?;
    let ns_filter = if def.namespaced { ns } else { None };
    let snapshot_key = |rv: u64| -> SnapshotKey {
        (
            def.storage_resource(),
            ns_filter.map(str::to_string),
            q.label_selector.clone(),
            q.field_selector.clone(),
            rv,
        )
    };
    let limit = q.limit.filter(|l| *l > 0);
    // Later pages of a snapshot.
    if let Some(ContinueToken {
        rv: Some(rv),
        after,
    }) = &token
    {
        let snapshot = match api.list_snapshots.get(&snapshot_key(*rv)) {
            Some(items) => items,
            None if *rv == current => {
                let page = api.store.list_page(
                    &def.storage_resource(),
                    ns_filter,
                    None,
                    usize::MAX,
                    |obj| labels.matches(obj) && fields.matches(obj),
                );
                Arc::new(page.items)
            }
            None => {
                return Err(ApiError::new(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
        };
        let start = snapshot.partition_point(|o| {
            let (n, m) = obj_key(o);
            (n, m) <= (after.0.as_str(), after.1.as_str())
        });
        return Ok(snapshot_page(
            api,
            &snapshot,
            start,
            limit,
            *rv,
            snapshot_key(*rv),
        ));
    }
    let after = token.map(|t| t.after);
    match limit {
        None => {
            let page = api.store.list_page(
                &def.storage_resource(),
                ns_filter,
                after.as_ref(),
                usize::MAX,
                |obj| labels.matches(obj) && fields.matches(obj),
            );
            Ok(ListPage {
                items: page.items,
                metadata: json!({"resourceVersion": page.rv.to_string()}),
            })
        }
        Some(_) => {
            // The first page: take the whole matching set at one RV and page through it.
            let page = api.store.list_page(
                &def.storage_resource(),
                ns_filter,
                after.as_ref(),
                usize::MAX,
                |obj| labels.matches(obj) && fields.matches(obj),
            );
            let rv = page.rv;
            let snapshot = Arc::new(page.items);
            Ok(snapshot_page(
                api,
                &snapshot,
                0,
                limit,
                rv,
                snapshot_key(rv),
            ))
        }
    }
}

/// One page of a snapshot from `start`; the snapshot is kept when more pages follow.
fn snapshot_page(
    api: &Api,
    snapshot: &Arc<Vec<Arc<Value>>>,
    start: usize,
    limit: Option<usize>,
    rv: u64,
    key: SnapshotKey,
) -> ListPage {
    let rest = snapshot.get(start..).unwrap_or(&[]);
    let take = limit.unwrap_or(usize::MAX).min(rest.len());
    let items: Vec<Arc<Value>> = rest[..take].to_vec();
    let remaining = rest.len() - take;
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if remaining > 0
        && let Some(last) = items.last()
    {
        let (n, m) = obj_key(last);
        metadata["continue"] = json!(encode_continue(rv, n, m));
        metadata["remainingItemCount"] = json!(remaining);
        api.list_snapshots.put(key, snapshot.clone());
    }
    ListPage { items, metadata }
}

pub fn list(api: &Api, def: &ResourceDef, ns: Option<&str>, q: &Query) -> Result<Answer, ApiError> {
    let page = list_page(api, def, ns, q)?;
    let items: Vec<Value> = page.items.iter().map(|o| render(def, o)).collect();
    Ok(Answer::ok(json!({
        "kind": def.list_kind(),
        "apiVersion": def.api_version(),
        "metadata": page.metadata,
        "items": items,
    })))
}

/// A list serialised straight from the stored objects (no copies for objects stored at
/// the served version).
pub fn list_json(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    q: &Query,
) -> Result<Vec<u8>, ApiError> {
    let page = list_page(api, def, ns, q)?;
    let head = json!({
        "kind": def.list_kind(),
        "apiVersion": def.api_version(),
        "metadata": page.metadata,
    });
    let mut buf = serde_json::to_vec(&head).map_err(ApiError::internal)?;
    // Replace the closing brace with the items array.
    buf.pop();
    buf.extend_from_slice(b",\"items\":[");
    let api_version = def.api_version();
    for (i, obj) in page.items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let as_served = obj.get("apiVersion").and_then(Value::as_str) == Some(api_version.as_str())
            && obj.get("kind").and_then(Value::as_str) == Some(def.kind.as_str());
        let written = if as_served {
            serde_json::to_writer(&mut buf, &**obj)
        } else {
            serde_json::to_writer(&mut buf, &render(def, obj))
        };
        written.map_err(ApiError::internal)?;
    }
    buf.extend_from_slice(b"]}");
    Ok(buf)
}

// ------------------------------------------------------------------------------------
// create

pub fn create(
    api: &Api,
    def: &Arc<ResourceDef>,
    ns: Option<&str>,
    obj: Value,
    q: &Query,
) -> Result<Answer, ApiError> {
    if def.create_only {
        return review(api, def, obj, &UserInfo::admin());
    }
    create_object(api, def, ns, obj, q, Ownership::Update)
}

/// Every namespace has a `default` ServiceAccount (upstream's service account controller
/// creates it; here it follows the namespace at once).
pub fn ensure_default_service_account(api: &Api, namespace: &str) {
    let Some(sa_def) = api.registry.get("", "v1", "serviceaccounts") else {
        return;
    };
    if api
        .store
        .get(&key(&sa_def, Some(namespace), "default"))
        .is_some()
    {
        return;
    }
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    let q = Query {
        field_manager: Some("flux-apiserver".to_string()),
        ..Query::default()
    };
    // AlreadyExists (a race) or a namespace already terminating are both fine.
    let _ = create_object(api, &sa_def, Some(namespace), sa, &q, Ownership::Update);
}

/// Who owns the fields of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// An Update by the request's manager (create, update, patch).
    Update,
    /// The object already carries its managedFields (server-side apply).
    Precomputed,
}

fn create_object(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    mut obj: Value,
    q: &Query,
    ownership: Ownership,
) -> Result<Answer, ApiError> {
    check_type_meta(def, &mut obj)?;
    if ownership == Ownership::Update {
        crate::field_validation::check(def, &obj, q.field_validation.as_deref())?;
    }
    if def.namespaced && ns.is_none() {
        return Err(ApiError::method_not_allowed());
    }
    {
        let m = meta_mut(&mut obj);
        if let Some(body_ns) = m.get("namespace").and_then(Value::as_str)
            && def.namespaced
            && !body_ns.is_empty()
            && Some(body_ns) != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if m.get("resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        if def.namespaced {
            m.insert("namespace".into(), json!(ns.unwrap_or_default()));
        } else {
            m.remove("namespace");
        }
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            let generate = m.get("generateName").and_then(Value::as_str).unwrap_or("");
            if generate.is_empty() {
                return Err(ApiError::invalid(
                    &def.kind,
                    &def.group,
                    "",
                    vec![StatusCause::required(
                        "metadata.name",
                        "name or generateName is required",
                    )],
                ));
            }
            let generated = format!("{generate}{}", name_suffix());
            m.insert("name".into(), json!(generated));
        }
        m.insert("uid".into(), json!(new_uid()));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
        m.remove("selfLink");
        if def.has_generation || def.crd_name.is_some() {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
    }
    if def.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        map.remove("status");
    }
    admit(api, def, &mut obj, None)?;
    if ownership == Ownership::Update {
        // managedFields sent on create are decoded as upstream does: the creator then owns
        // every field it set, and entries for other fields survive.
        crate::ownership::record_update(def, None, &mut obj, q, None);
    }
    let name = meta_str(&obj, "name").to_string();
    let k = key(def, ns, &name);
    let mut after = AfterCommit::default();
    let stored = api.store.write(|tx| {
        check_namespace(tx, def, ns.unwrap_or(""), true)?;
        if tx.get(&k).is_some() {
            return Err(ApiError::already_exists(&def.plural, &def.group, &name));
        }
        if q.dry_run {
            return Ok(Arc::new(obj));
        }
        let stored = tx.put(k.clone(), obj);
        if crd::is_crd(def) {
            after.crds.push((*stored).clone());
        }
        Ok(stored)
    })?;
    after.run(api);
    if def.group.is_empty() && def.plural == "namespaces" && !q.dry_run {
        ensure_default_service_account(api, &name);
    }
    Ok(Answer::created(render(def, &stored)))
}

/// SelfSubjectAccessReview, SubjectAccessReview, SelfSubjectReview and friends, answered
/// by the RBAC authorizer for `user` (the requester, or the review's subject).
pub fn review(
    api: &Api,
    def: &ResourceDef,
    mut obj: Value,
    user: &UserInfo,
) -> Result<Answer, ApiError> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the request body must be an object"))?;
    map.insert("apiVersion".into(), json!(def.api_version()));
    map.insert("kind".into(), json!(def.kind));
    let spec = map.get("spec").cloned().unwrap_or(json!({}));
    let access = |subject: &UserInfo| -> Value {
        let s = |p: &str| {
            spec.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let attrs = if spec.get("nonResourceAttributes").is_some() {
            Attributes {
                verb: s("/nonResourceAttributes/verb"),
                path: Some(s("/nonResourceAttributes/path")),
                ..Default::default()
            }
        } else {
            Attributes {
                verb: s("/resourceAttributes/verb"),
                api_group: s("/resourceAttributes/group"),
                resource: s("/resourceAttributes/resource"),
                subresource: s("/resourceAttributes/subresource"),
                name: s("/resourceAttributes/name"),
                namespace: s("/resourceAttributes/namespace"),
                path: None,
            }
        };
        match crate::rbac::authorize(api, subject, &attrs) {
            Some(reason) => json!({"allowed": true, "reason": reason}),
            None => json!({"allowed": false}),
        }
    };
    let status = match def.kind.as_str() {
        "SelfSubjectReview" => json!({"userInfo": {"username": user.name, "groups": user.groups}}),
        "TokenReview" => json!({"authenticated": false}),
        "SelfSubjectRulesReview" if user.groups.iter().any(|g| g == "system:masters") => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false}),
        "SelfSubjectRulesReview" => {
            json!({"resourceRules": [], "nonResourceRules": [], "incomplete": true,
            "evaluationError": "rule listing is only implemented for cluster admins"})
        }
        "SubjectAccessReview" => {
            let name = spec.get("user").and_then(Value::as_str).unwrap_or("");
            let groups: Vec<String> = spec
                .get("groups")
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            access(&UserInfo {
                name: name.to_string(),
                groups,
            })
        }
        _ => access(user),
    };
    map.insert("status".into(), status);
    Ok(Answer::created(obj))
}

// ------------------------------------------------------------------------------------
// update / patch

/// Where a write goes: namespace, name, subresource.
#[derive(Debug, Clone, Copy)]
struct At<'a> {
    ns: Option<&'a str>,
    name: &'a str,
    sub: Option<&'a str>,
}

/// Everything update and patch share once the new object is known.
fn store_update(
    api: &Api,
    def: &ResourceDef,
    at: At<'_>,
    q: &Query,
    ownership: Ownership,
    make_new: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Answer, ApiError> {
    let At { ns, name, sub } = at;
    check_subresource(def, sub)?;
    if sub != Some("scale") {
        return store_object(api, def, at, q, ownership, make_new);
    }
    // The scale subresource: the write is made on the Scale view and only
    // spec.replicas goes back into the object.
    let answer = store_object(
        api,
        def,
        At {
            ns,
            name,
            sub: None,
        },
        q,
        Ownership::Update,
        move |old| {
            let new_scale = make_new(&scale_of(def, old))?;
            let rv = new_scale
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !rv.is_empty() && rv != meta_str(old, "resourceVersion") {
                return Err(ApiError::stale(&def.plural, &def.group, name));
            }
            let replicas = new_scale
                .pointer("/spec/replicas")
                .filter(|r| r.is_i64() || r.is_u64())
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Scale",
                        "autoscaling",
                        name,
                        vec![StatusCause::required("spec.replicas", "")],
                    )
                })?;
            let mut obj = render(def, old);
            let spec_ptr = def
                .scale_paths
                .as_deref()
                .map(|p| crate::resources::json_path_pointer(&p.spec_replicas))
                .unwrap_or_else(|| "/spec/replicas".to_string());
            set_at_pointer(&mut obj, &spec_ptr, replicas);
            Ok(obj)
        },
    )?;
    Ok(Answer {
        code: answer.code,
        body: scale_of(def, &answer.body),
    })
}

/// Update or patch of the object itself (or its status / finalize subresource).
fn store_object(
    api: &Api,
    def: &ResourceDef,
    at: At<'_>,
    q: &Query,
    ownership: Ownership,
    make_new: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Answer, ApiError> {
    let At { ns, name, sub } = at;
    let k = key(def, ns, name);
    let mut after = AfterCommit::default();
    let result = api.store.write(|tx| {
        let old = tx
            .get(&k)
            .ok_or_else(|| ApiError::not_found(&def.plural, &def.group, name))?;
        let mut new = make_new(&old)?;
        check_type_meta(def, &mut new)?;
        if ownership == Ownership::Update {
            crate::field_validation::check(def, &new, q.field_validation.as_deref())?;
        }
        // Optimistic concurrency: a resourceVersion in the body must be current.
        let body_rv = meta_str(&new, "resourceVersion").to_string();
        if !body_rv.is_empty() && body_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::stale(&def.plural, &def.group, name));
        }
        let body_name = meta_str(&new, "name").to_string();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = meta_str(&new, "namespace").to_string();
        if def.namespaced && !body_ns.is_empty() && Some(body_ns.as_str()) != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        // Subresource semantics.
        match sub {
            Some("status") => {
                let mut merged = (*old).clone();
                if let Some(map) = merged.as_object_mut() {
                    match new.get("status") {
                        Some(s) => map.insert("status".into(), s.clone()),
                        None => map.remove("status"),
                    };
                }
                new = merged;
            }
            Some("finalize") => {
                let mut merged = (*old).clone();
                if let Some(map) = merged.as_object_mut() {
                    let spec_finalizers = new.pointer("/spec/finalizers").cloned();
                    let spec = map.entry("spec").or_insert_with(|| json!({}));
                    if let Some(spec) = spec.as_object_mut() {
                        match spec_finalizers {
                            Some(f) => spec.insert("finalizers".into(), f),
                            None => spec.remove("finalizers"),
                        };
                    }
                }
                new = merged;
            }
            _ => {
                if def.status_subresource
                    && let Some(map) = new.as_object_mut()
                {
                    match old.get("status") {
                        Some(s) => map.insert("status".into(), s.clone()),
                        None => map.remove("status"),
                    };
                }
            }
        }
        // Fields the server owns.
        {
            let old_meta = meta(&old).cloned().unwrap_or_default();
            let m = meta_mut(&mut new);
            m.insert("name".into(), json!(name));
            for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
                match old_meta.get(field) {
                    Some(v) => m.insert(field.into(), v.clone()),
                    None => m.remove(field),
                };
            }
            if def.namespaced {
                m.insert("namespace".into(), json!(ns.unwrap_or_default()));
            } else {
                m.remove("namespace");
            }
            m.insert(
                "resourceVersion".into(),
                old_meta.get("resourceVersion").cloned().unwrap_or(json!("")),
            );
        }
        if sub.is_none() {
            admit(api, def, &mut new, Some(&old))?;
        } else if sub == Some("status") {
            admit_status(def, &mut new, &old)?;
        }
        if ownership == Ownership::Update {
            // The body's managedFields (a PUT's, or the patched ones) are honoured there.
            crate::ownership::record_update(def, Some(&old), &mut new, q, sub);
        }
        if (def.has_generation || def.crd_name.is_some()) && spec_changed(def, &old, &new) {
            let gen_now = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
            meta_mut(&mut new).insert("generation".into(), json!(gen_now + 1));
        }
        if same_content(&old, &new) {
            return Ok(old);
        }
        if q.dry_run {
            return Ok(Arc::new(new));
        }
        let is_namespace = def.group.is_empty() && def.plural == "namespaces";
        if !is_namespace && is_deleting(&new) && finalizers(&new).is_empty() {
            // The last finalizer is gone: the object goes away now.
            let last = tx.put(k.clone(), new);
            remove_now(api, tx, def, &k, &mut after, Some("Background"))?;
            return Ok(last);
        }
        let stored = tx.put(k.clone(), new);
        if crd::is_crd(def) {
            after.crds.push((*stored).clone());
        }
        Ok(stored)
    })?;
    after.run(api);
    Ok(Answer::ok(render(def, &result)))
}

pub fn update(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    mut obj: Value,
    q: &Query,
) -> Result<Answer, ApiError> {
    if sub != Some("scale") {
        check_type_meta(def, &mut obj)?;
    }
    store_update(
        api,
        def,
        At { ns, name, sub },
        q,
        Ownership::Update,
        move |_| Ok(obj),
    )
}

pub const PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// RFC 6902 as upstream applies it: operation by operation, and a `test` for `null` on a
/// missing path succeeds (kube-runtime's `finalizer()` relies on it).
fn apply_json_patch(
    doc: &mut Value,
    ops: &json_patch::Patch,
) -> Result<(), json_patch::PatchError> {
    for op in ops.iter() {
        if let json_patch::PatchOperation::Test(t) = op
            && t.value.is_null()
            && doc.pointer(t.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(doc, std::slice::from_ref(op))?;
    }
    Ok(())
}

/// A PATCH body with its media type.
pub struct PatchBody<'a> {
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

pub fn patch(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    patch: PatchBody<'_>,
    q: &Query,
) -> Result<Answer, ApiError> {
    let body = patch.body;
    let media = media_type(patch.content_type);
    match media.as_str() {
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            store_update(
                api,
                def,
                At { ns, name, sub },
                q,
                Ownership::Update,
                move |old| {
                    let mut doc = render(def, old);
                    apply_json_patch(&mut doc, &ops).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: {e}"
                        ),
                    )
                })?;
                    Ok(doc)
                },
            )
        }
        "application/merge-patch+json" => {
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid merge patch: {e}")))?;
            if !p.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            store_update(
                api,
                def,
                At { ns, name, sub },
                q,
                Ownership::Update,
                move |old| {
                    let mut doc = render(def, old);
                    json_patch::merge(&mut doc, &p);
                    Ok(doc)
                },
            )
        }
        "application/strategic-merge-patch+json" if def.crd_name.is_none() => {
            let p: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("invalid strategic merge patch: {e}"))
            })?;
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            }
            store_update(
                api,
                def,
                At { ns, name, sub },
                q,
                Ownership::Update,
                move |old| {
                    let doc = render(def, old);
                    let schema = flux_merge::schema::for_kind(&def.api_version(), &def.kind);
                    flux_merge::strategic::apply(&doc, &p, schema)
                        .map_err(|e| ApiError::bad_request(format!("strategic merge patch: {e}")))
                },
            )
        }
        "application/strategic-merge-patch+json" => Err(ApiError::unsupported_media_type(
            &media,
            &format!("{PATCH_TYPES} (custom resources take no strategic merge patch)"),
        )),
        "application/apply-patch+yaml" => server_side_apply(api, def, ns, name, sub, body, q),
        other => Err(ApiError::unsupported_media_type(other, PATCH_TYPES)),
    }
}

// ------------------------------------------------------------------------------------
// delete

/// `DeleteOptions` from the body and the query.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub propagation_policy: Option<String>,
    /// `gracePeriodSeconds` (pods on a node only; other kinds are deleted at once).
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    pub fn from_request(body: &[u8], q: &Query) -> Result<Self, ApiError> {
        let mut opts = DeleteOptions {
            propagation_policy: q.propagation_policy.clone(),
            grace_period_seconds: q.grace_period_seconds,
            dry_run: q.dry_run,
            ..Default::default()
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(opts);
        }
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
        if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
            opts.propagation_policy = Some(p.to_string());
        }
        if let Some(g) = v.get("gracePeriodSeconds") {
            opts.grace_period_seconds = Some(g.as_i64().ok_or_else(|| {
                ApiError::bad_request(
                    "invalid DeleteOptions: gracePeriodSeconds must be an integer",
                )
            })?);
        }
        if v.get("orphanDependents").and_then(Value::as_bool) == Some(true)
            && opts.propagation_policy.is_none()
        {
            opts.propagation_policy = Some("Orphan".to_string());
        }
        if let Some(p) = v.get("preconditions") {
            opts.precondition_uid = p.get("uid").and_then(Value::as_str).map(str::to_string);
            opts.precondition_rv = p
                .get("resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if let Some(d) = v.get("dryRun").and_then(Value::as_array)
            && d.iter().any(|x| x == "All")
        {
            opts.dry_run = true;
        }
        match opts.propagation_policy.as_deref() {
            None | Some("Background" | "Foreground" | "Orphan") => Ok(opts),
            Some(other) => Err(ApiError::invalid(
                "DeleteOptions",
                "",
                "",
                vec![StatusCause::not_supported(
                    "propagationPolicy",
                    &json!(other),
                    &[json!("Foreground"), json!("Background"), json!("Orphan")],
                )],
            )),
        }
    }
}

pub fn delete(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Answer, ApiError> {
    let k = key(def, ns, name);
    let mut after = AfterCommit::default();
    let answer = api.store.write(|tx| {
        let obj = tx
            .get(&k)
            .ok_or_else(|| ApiError::not_found(&def.plural, &def.group, name))?;
        if let Some(u) = &opts.precondition_uid
            && u != uid(&obj)
        {
            return Err(ApiError::conflict(
                &def.plural,
                &def.group,
                name,
                &format!("Precondition failed: UID in precondition: {u}, UID in object meta: {}", uid(&obj)),
            ));
        }
        if let Some(rv) = &opts.precondition_rv
            && rv != meta_str(&obj, "resourceVersion")
        {
            return Err(ApiError::conflict(
                &def.plural,
                &def.group,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta_str(&obj, "resourceVersion")
                ),
            ));
        }
        if opts.dry_run {
            return Ok(Answer::ok(render(def, &obj)));
        }
        delete_in_txn(
            api,
            tx,
            def,
            &k,
            opts.propagation_policy.as_deref(),
            opts.grace_period_seconds,
            &mut after,
        )
    })?;
    after.run(api);
    Ok(answer)
}

/// The finalizers the garbage collector owns.
const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
const ORPHAN_FINALIZER: &str = "orphan";

/// The grace period of a pod deletion: pods on a node get `gracePeriodSeconds` (else
/// `spec.terminationGracePeriodSeconds`, else 30); unscheduled and finished pods, and every
/// other kind, are deleted at once (as upstream's strategies).
fn graceful_seconds(def: &ResourceDef, obj: &Value, grace: Option<i64>) -> i64 {
    let is_pod = def.group.is_empty() && def.plural == "pods";
    if !is_pod {
        return 0;
    }
    let scheduled = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        obj.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    );
    if !scheduled || finished {
        return 0;
    }
    grace
        .or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0)
}

fn set_finalizers(obj: &mut Value, list: &[String]) {
    let m = meta_mut(obj);
    if list.is_empty() {
        m.remove("finalizers");
    } else {
        m.insert("finalizers".into(), json!(list));
    }
}

/// Delete one object inside a transaction: remove it, or mark it (finalizers, a pod's grace
/// period, Foreground/Orphan propagation through the `foregroundDeletion`/`orphan`
/// finalizers, namespaces) and let the garbage collector finish synchronously.
fn delete_in_txn(
    api: &Api,
    tx: &mut Txn<'_>,
    def: &ResourceDef,
    k: &ObjectKey,
    policy: Option<&str>,
    grace: Option<i64>,
    after: &mut AfterCommit,
) -> Result<Answer, ApiError> {
    let Some(obj) = tx.get(k) else {
        return Err(ApiError::not_found(&def.plural, &def.group, &k.2));
    };
    let is_namespace = def.group.is_empty() && def.plural == "namespaces";
    if is_namespace {
        return delete_namespace(api, tx, def, k, after);
    }
    let deleting = is_deleting(&obj);
    let grace_seconds = graceful_seconds(def, &obj, grace);
    if deleting {
        // A second delete may shorten a pod's grace period (0: now).
        let current = obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if grace == Some(0) && current > 0 {
            let mut updated = (*obj).clone();
            meta_mut(&mut updated).insert("deletionGracePeriodSeconds".into(), json!(0));
            if finalizers(&updated).is_empty() {
                tx.put(k.clone(), updated);
                let last = remove_now(api, tx, def, k, after, Some("Background"))?;
                return Ok(deleted_answer(def, k, &last));
            }
            let stored = tx.put(k.clone(), updated);
            return Ok(Answer::ok(render(def, &stored)));
        }
        return Ok(Answer::ok(render(def, &obj)));
    }
    let mut fins = finalizers(&obj);
    match policy {
        Some("Foreground") if !fins.iter().any(|f| f == FOREGROUND_FINALIZER) => {
            fins.push(FOREGROUND_FINALIZER.to_string());
        }
        Some("Orphan") if !fins.iter().any(|f| f == ORPHAN_FINALIZER) => {
            fins.push(ORPHAN_FINALIZER.to_string());
        }
        _ => {}
    }
    if fins.is_empty() && grace_seconds == 0 {
        let last = remove_now(api, tx, def, k, after, policy)?;
        return Ok(deleted_answer(def, k, &last));
    }
    let mut marked = (*obj).clone();
    let when = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(grace_seconds))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let m = meta_mut(&mut marked);
    m.insert(
        "deletionTimestamp".into(),
        json!(when.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    m.insert("deletionGracePeriodSeconds".into(), json!(grace_seconds));
    set_finalizers(&mut marked, &fins);
    let stored = tx.put(k.clone(), marked);
    // The garbage collector's part, at once.
    if fins.iter().any(|f| f == ORPHAN_FINALIZER) {
        collect_dependents(api, tx, &stored, Propagation::Orphan, after)?;
        drop_finalizer(api, tx, def, k, ORPHAN_FINALIZER, after)?;
    }
    if fins.iter().any(|f| f == FOREGROUND_FINALIZER) {
        collect_dependents(api, tx, &stored, Propagation::Foreground, after)?;
        release_foreground_owner(api, tx, def, k, after)?;
    }
    match tx.get(k) {
        Some(now) => Ok(Answer::ok(render(def, &now))),
        None => Ok(deleted_answer(def, k, &stored)),
    }
}

/// The answer of a delete that removed the object: pods and services return the object,
/// other kinds a Success Status.
fn deleted_answer(def: &ResourceDef, k: &ObjectKey, last: &Value) -> Answer {
    let returns_object = def.group.is_empty() && matches!(def.plural.as_str(), "pods" | "services");
    if returns_object {
        Answer::ok(render(def, last))
    } else {
        Answer::ok(success_status(&k.2, &def.group, &def.plural, uid(last)))
    }
}

/// Remove one of the garbage collector's finalizers from a deleting object; the object goes
/// away when it was the last one.
fn drop_finalizer(
    api: &Api,
    tx: &mut Txn<'_>,
    def: &ResourceDef,
    k: &ObjectKey,
    finalizer: &str,
    after: &mut AfterCommit,
) -> Result<(), ApiError> {
    let Some(obj) = tx.get(k) else {
        return Ok(());
    };
    let fins: Vec<String> = finalizers(&obj)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    let mut updated = (*obj).clone();
    set_finalizers(&mut updated, &fins);
    let grace_left = obj
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    tx.put(k.clone(), updated);
    if fins.is_empty() && grace_left == 0 {
        remove_now(api, tx, def, k, after, Some("Background"))?;
    }
    Ok(())
}

/// Does any object still block the foreground deletion of `owner_uid`
/// (`blockOwnerDeletion: true` in its reference)?
fn has_blocking_dependents(tx: &Txn<'_>, owner_ns: &str, owner_uid: &str) -> bool {
    tx.all().any(|(key, obj)| {
        (owner_ns.is_empty() || key.1 == owner_ns)
            && owner_refs(obj).iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(owner_uid)
                    && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
            })
    })
}

/// A foreground-deleting owner loses its `foregroundDeletion` finalizer once no blocking
/// dependent is left.
fn release_foreground_owner(
    api: &Api,
    tx: &mut Txn<'_>,
    def: &ResourceDef,
    k: &ObjectKey,
    after: &mut AfterCommit,
) -> Result<(), ApiError> {
    let Some(owner) = tx.get(k) else {
        return Ok(());
    };
    if !is_deleting(&owner) || !finalizers(&owner).iter().any(|f| f == FOREGROUND_FINALIZER) {
        return Ok(());
    }
    if has_blocking_dependents(tx, &k.1, uid(&owner)) {
        return Ok(());
    }
    drop_finalizer(api, tx, def, k, FOREGROUND_FINALIZER, after)
}

fn owner_refs(obj: &Value) -> Vec<Value> {
    meta(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Remove an object for real, then: its dependents (ownerReferences), CRD instances,
/// owners waiting in foreground deletion, and a Terminating namespace that became empty.
fn remove_now(
    api: &Api,
    tx: &mut Txn<'_>,
    def: &ResourceDef,
    k: &ObjectKey,
    after: &mut AfterCommit,
    policy: Option<&str>,
) -> Result<Arc<Value>, ApiError> {
    let last = tx
        .delete(k)
        .ok_or_else(|| ApiError::not_found(&def.plural, &def.group, &k.2))?;
    if crd::is_crd(def) {
        crd::remove_instances(tx, &last);
        after.removed_crds.push(k.2.clone());
    }
    let propagation = match policy {
        Some("Orphan") => Propagation::Orphan,
        Some("Foreground") => Propagation::Foreground,
        _ => Propagation::Background,
    };
    collect_dependents(api, tx, &last, propagation, after)?;
    // Owners in foreground deletion that waited for this object.
    for r in owner_refs(&last) {
        let (Some(api_version), Some(kind), Some(name)) = (
            r.get("apiVersion").and_then(Value::as_str),
            r.get("kind").and_then(Value::as_str),
            r.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let Some(owner_def) = api.registry.by_group_kind(group, kind) else {
            continue;
        };
        let owner_key = key(&owner_def, Some(&k.1), name);
        if tx
            .get(&owner_key)
            .is_some_and(|o| uid(&o) == r.get("uid").and_then(Value::as_str).unwrap_or(""))
        {
            release_foreground_owner(api, tx, &owner_def, &owner_key, after)?;
        }
    }
    if !k.1.is_empty() {
        finish_namespace_if_empty(api, tx, &k.1, after)?;
    }
    Ok(last)
}

/// How dependents of a deleted owner are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// Garbage collection, synchronously: dependents whose owners are all gone (or being
/// deleted in the foreground) are deleted (Foreground passes the policy on, as the
/// collector does); with Orphan their ownerReference is dropped.
fn collect_dependents(
    api: &Api,
    tx: &mut Txn<'_>,
    owner: &Value,
    propagation: Propagation,
    after: &mut AfterCommit,
) -> Result<(), ApiError> {
    let owner_uid = uid(owner).to_string();
    if owner_uid.is_empty() {
        return Ok(());
    }
    let owner_ns = meta_str(owner, "namespace").to_string();
    let owner_gone = tx.all().all(|(_, o)| uid(o) != owner_uid);
    let dependents: Vec<(ObjectKey, Arc<Value>)> = tx
        .all()
        .filter(|(key, obj)| {
            (owner_ns.is_empty() || key.1 == owner_ns)
                && owner_refs(obj)
                    .iter()
                    .any(|r| r.get("uid").and_then(Value::as_str) == Some(owner_uid.as_str()))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (dk, dep) in dependents {
        let Some(dep_def) = def_for_key(api, &dk, &dep) else {
            continue;
        };
        let refs_left: Vec<Value> = owner_refs(&dep)
            .into_iter()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid.as_str()))
            .collect();
        // Other owners that still exist keep the dependent alive.
        let others_alive = refs_left.iter().any(|r| {
            let ruid = r.get("uid").and_then(Value::as_str).unwrap_or("");
            tx.all().any(|(_, o)| uid(o) == ruid && !is_deleting(o))
        });
        if propagation == Propagation::Orphan || others_alive {
            let mut updated = (*dep).clone();
            let refs = if propagation == Propagation::Orphan || owner_gone {
                refs_left
            } else {
                owner_refs(&dep)
            };
            let m = meta_mut(&mut updated);
            if refs.is_empty() {
                m.remove("ownerReferences");
            } else {
                m.insert("ownerReferences".into(), Value::Array(refs));
            }
            if updated != *dep {
                tx.put(dk, updated);
            }
        } else if !is_deleting(&dep) || propagation == Propagation::Foreground {
            let policy = match propagation {
                Propagation::Foreground => "Foreground",
                _ => "Background",
            };
            delete_in_txn(api, tx, &dep_def, &dk, Some(policy), None, after)?;
        }
    }
    Ok(())
}

fn def_for_key(api: &Api, k: &ObjectKey, obj: &Value) -> Option<Arc<ResourceDef>> {
    let (group, plural) = k.0.split_once('/')?;
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let version = av.rsplit('/').next().unwrap_or(av);
    api.registry.get(group, version, plural).or_else(|| {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        api.registry.by_group_kind(group, kind)
    })
}

fn delete_namespace(
    api: &Api,
    tx: &mut Txn<'_>,
    def: &ResourceDef,
    k: &ObjectKey,
    after: &mut AfterCommit,
) -> Result<Answer, ApiError> {
    let Some(obj) = tx.get(k) else {
        return Err(ApiError::not_found("namespaces", "", &k.2));
    };
    let ns = k.2.clone();
    let marked = if is_deleting(&obj) {
        obj
    } else {
        let mut marked = (*obj).clone();
        let m = meta_mut(&mut marked);
        m.insert("deletionTimestamp".into(), json!(now_rfc3339()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        if let Some(map) = marked.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Terminating"}));
        }
        tx.put(k.clone(), marked)
    };
    // Delete every namespaced object in it (objects with finalizers stay, marked).
    let resources: Vec<Arc<ResourceDef>> = namespaced_storage_defs(api);
    for rdef in resources {
        let keys: Vec<ObjectKey> = tx
            .list(&rdef.storage_resource(), Some(&ns))
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        for key in keys {
            if tx.get(&key).is_some() {
                delete_in_txn(api, tx, &rdef, &key, Some("Background"), None, after)?;
            }
        }
    }
    finish_namespace_if_empty(api, tx, &ns, after)?;
    Ok(Answer::ok(render(def, &marked)))
}

/// One definition per storage resource that is namespaced.
fn namespaced_storage_defs(api: &Api) -> Vec<Arc<ResourceDef>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for g in api.registry.groups() {
        for v in &g.versions {
            for d in api.registry.resources_in(&g.name, v) {
                if d.namespaced && !d.create_only && seen.insert(d.storage_resource()) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// A Terminating namespace with nothing left in it loses its `kubernetes` finalizer and
/// goes away.
fn finish_namespace_if_empty(
    api: &Api,
    tx: &mut Txn<'_>,
    ns: &str,
    _after: &mut AfterCommit,
) -> Result<(), ApiError> {
    let nk = namespace_key(ns);
    let Some(nsobj) = tx.get(&nk) else {
        return Ok(());
    };
    if !is_deleting(&nsobj) {
        return Ok(());
    }
    let empty = namespaced_storage_defs(api)
        .iter()
        .all(|d| tx.list(&d.storage_resource(), Some(ns)).is_empty());
    if !empty {
        return Ok(());
    }
    let meta_finalizers = finalizers(&nsobj);
    if !meta_finalizers.is_empty() {
        return Ok(());
    }
    tx.delete(&nk);
    Ok(())
}

pub fn delete_collection(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    q: &Query,
    opts: &DeleteOptions,
) -> Result<Answer, ApiError> {
    let labels = LabelSelector::parse(&q.label_selector)?;
    let fields = FieldSelector::parse(&q.field_selector, &def.kind, &def.api_version())?;
    let ns_filter = if def.namespaced { ns } else { None };
    let mut after = AfterCommit::default();
    let items = api.store.write(|tx| {
        let targets: Vec<(ObjectKey, Arc<Value>)> = tx
            .list(&def.storage_resource(), ns_filter)
            .into_iter()
            .filter(|(_, o)| labels.matches(o) && fields.matches(o))
            .collect();
        let mut items = Vec::new();
        for (k, obj) in targets {
            if opts.dry_run {
                items.push(render(def, &obj));
                continue;
            }
            if tx.get(&k).is_none() {
                continue;
            }
            delete_in_txn(
                api,
                tx,
                def,
                &k,
                opts.propagation_policy.as_deref(),
                opts.grace_period_seconds,
                &mut after,
            )?;
            items.push(render(def, &obj));
        }
        Ok(items)
    })?;
    after.run(api);
    Ok(Answer::ok(json!({
        "kind": def.list_kind(),
        "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": api.store.current_rv().to_string()},
        "items": items,
    })))
}

/// PATCH with `application/apply-patch+yaml`: create or update through a structured merge.
fn server_side_apply(
    api: &Api,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    body: &[u8],
    q: &Query,
) -> Result<Answer, ApiError> {
    crate::ownership::require_manager(q)?;
    let mut config: Value =
        crate::request::decode_apply_body(body).map_err(ApiError::bad_request)?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the apply configuration must be an object",
        ));
    }
    check_type_meta(def, &mut config)?;
    crate::field_validation::check(def, &config, q.field_validation.as_deref())?;
    let body_name = meta_str(&config, "name");
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let k = key(def, ns, name);
    if api.store.get(&k).is_none() {
        if sub.is_some() {
            return Err(ApiError::not_found(&def.plural, &def.group, name));
        }
        let mut obj = crate::ownership::apply(def, None, &config, q, None)?;
        meta_mut(&mut obj).insert("name".into(), json!(name));
        match create_object(api, def, ns, obj, q, Ownership::Precomputed) {
            Err(e) if e.reason == "AlreadyExists" => {}
            other => return other,
        }
    }
    store_update(
        api,
        def,
        At { ns, name, sub },
        q,
        Ownership::Precomputed,
        |old| {
            let live = render(def, old);
            crate::ownership::apply(def, Some(&live), &config, q, sub)
        },
    )
}
