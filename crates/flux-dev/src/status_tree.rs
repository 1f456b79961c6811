//! What the cluster looks like to `flux dev`: sources, Kustomizations and the objects
//! they applied, read from the API; the verdict `--once` waits for; and the compact tree
//! shown as live status.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams};
use serde_json::Value;

use crate::cluster::{git_repositories, kustomizations};

/// Ready=False reasons that a retry or the next reconcile clears by itself: not a
/// verdict for `--once` (a persistent one ends in the timeout, which names it).
const TRANSIENT_REASONS: &[&str] = &[
    "HealthCheckCanceled",
    "ArtifactFailed",
    "Progressing",
    "ProgressingWithRetry",
];

/// A Ready condition, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Ready=True for the current generation.
    Ready,
    /// Ready=False (any reason but DependencyNotReady).
    Failed { reason: String, message: String },
    /// Ready=False with DependencyNotReady.
    Waiting { reason: String, message: String },
    /// Not reconciled yet, or Ready=Unknown / Reconciling.
    Progressing { reason: String, message: String },
}

impl Readiness {
    fn of(obj: &Value) -> Self {
        let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
        let observed = obj
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64);
        let ready = obj
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|conds| conds.iter().find(|c| c["type"] == "Ready"));
        let Some(ready) = ready else {
            return Readiness::Progressing {
                reason: "Pending".into(),
                message: "not reconciled yet".into(),
            };
        };
        let text = |key: &str| ready[key].as_str().unwrap_or_default().to_string();
        let (reason, message) = (text("reason"), text("message"));
        match ready["status"].as_str() {
            Some("True") if generation.is_none() || observed == generation => Readiness::Ready,
            Some("False") if reason == "DependencyNotReady" => {
                Readiness::Waiting { reason, message }
            }
            Some("False") if TRANSIENT_REASONS.contains(&reason.as_str()) => {
                Readiness::Progressing { reason, message }
            }
            Some("False") => Readiness::Failed { reason, message },
            _ => Readiness::Progressing { reason, message },
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Readiness::Ready => "✔",
            Readiness::Failed { .. } => "✗",
            Readiness::Waiting { .. } => "…",
            Readiness::Progressing { .. } => "◎",
        }
    }

    fn label(&self) -> String {
        match self {
            Readiness::Ready => "Ready".into(),
            Readiness::Failed { reason, message }
            | Readiness::Waiting { reason, message }
            | Readiness::Progressing { reason, message } => {
                let message = first_line(message);
                if message.is_empty() {
                    reason.clone()
                } else {
                    format!("{reason}: {message}")
                }
            }
        }
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() > 160 {
        let cut: String = line.chars().take(157).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}

/// A GitRepository.
#[derive(Debug, Clone)]
pub struct SourceState {
    pub namespace: String,
    pub name: String,
    pub url: String,
    pub revision: Option<String>,
    pub readiness: Readiness,
    pub last_handled: Option<String>,
    pub ready_since: Option<jiff::Timestamp>,
}

/// One applied object of a Kustomization's inventory.
#[derive(Debug, Clone)]
pub struct InventoryObject {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// kstatus of the live object, when it was read.
    pub status: Option<String>,
}

impl InventoryObject {
    /// Parses an inventory id `<namespace>_<name>_<group>_<kind>`.
    pub fn parse(id: &str, version: &str) -> Option<Self> {
        let mut parts = id.rsplitn(3, '_');
        let kind = parts.next()?;
        let group = parts.next()?;
        let rest = parts.next()?;
        let (namespace, name) = rest.split_once('_')?;
        Some(Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
            status: None,
        })
    }

    /// A key naming the object (group, kind, namespace, name).
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }

    fn display_name(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A Kustomization.
#[derive(Debug, Clone)]
pub struct KustomizationState {
    pub namespace: String,
    pub name: String,
    pub path: String,
    pub source_kind: String,
    pub source_namespace: String,
    pub source_name: String,
    pub depends_on: Vec<String>,
    pub suspended: bool,
    pub deleting: bool,
    pub last_applied_revision: Option<String>,
    pub last_attempted_revision: Option<String>,
    pub readiness: Readiness,
    pub ready_since: Option<jiff::Timestamp>,
    pub inventory: Vec<InventoryObject>,
}

impl KustomizationState {
    fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Everything `flux dev` shows and judges.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub sources: Vec<SourceState>,
    pub kustomizations: Vec<KustomizationState>,
}

fn ready_since(obj: &Value) -> Option<jiff::Timestamp> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == "Ready")?
        .get("lastTransitionTime")?
        .as_str()?
        .parse()
        .ok()
}

fn text(obj: &Value, pointer: &str) -> Option<String> {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn source_of(obj: &Value) -> SourceState {
    SourceState {
        namespace: text(obj, "/metadata/namespace").unwrap_or_default(),
        name: text(obj, "/metadata/name").unwrap_or_default(),
        url: text(obj, "/spec/url").unwrap_or_default(),
        revision: text(obj, "/status/artifact/revision"),
        readiness: Readiness::of(obj),
        last_handled: text(obj, "/status/lastHandledReconcileAt"),
        ready_since: ready_since(obj),
    }
}

fn kustomization_of(obj: &Value) -> KustomizationState {
    let namespace = text(obj, "/metadata/namespace").unwrap_or_default();
    let depends_on = obj
        .pointer("/spec/dependsOn")
        .and_then(Value::as_array)
        .map(|deps| {
            deps.iter()
                .filter_map(|d| {
                    let name = d["name"].as_str()?;
                    let ns = d["namespace"].as_str().unwrap_or(&namespace);
                    Some(format!("{ns}/{name}"))
                })
                .collect()
        })
        .unwrap_or_default();
    let inventory = obj
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    InventoryObject::parse(e["id"].as_str()?, e["v"].as_str().unwrap_or("v1"))
                })
                .collect()
        })
        .unwrap_or_default();
    KustomizationState {
        path: text(obj, "/spec/path").unwrap_or_else(|| "./".into()),
        source_kind: text(obj, "/spec/sourceRef/kind").unwrap_or_default(),
        source_namespace: text(obj, "/spec/sourceRef/namespace")
            .unwrap_or_else(|| namespace.clone()),
        source_name: text(obj, "/spec/sourceRef/name").unwrap_or_default(),
        depends_on,
        suspended: obj
            .pointer("/spec/suspend")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        deleting: obj.pointer("/metadata/deletionTimestamp").is_some(),
        last_applied_revision: text(obj, "/status/lastAppliedRevision"),
        last_attempted_revision: text(obj, "/status/lastAttemptedRevision"),
        readiness: Readiness::of(obj),
        ready_since: ready_since(obj),
        inventory,
        name: text(obj, "/metadata/name").unwrap_or_default(),
        namespace,
    }
}

async fn list_all(client: &kube::Client, ar: &ApiResource) -> Result<Vec<Value>, kube::Error> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    let list = api.list(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .collect())
}

/// Reads the GitRepositories and Kustomizations; with `objects`, also the kstatus of
/// every inventory object (resolving kinds through `kinds`).
pub async fn read_state(
    client: &kube::Client,
    objects: bool,
    kinds: &mut HashMap<(String, String, String), Option<ApiResource>>,
) -> Result<ClusterState, kube::Error> {
    let mut sources: Vec<SourceState> = list_all(client, &git_repositories())
        .await?
        .iter()
        .map(source_of)
        .collect();
    sources.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut kustomizations: Vec<KustomizationState> = list_all(client, &kustomizations())
        .await?
        .iter()
        .map(kustomization_of)
        .collect();
    kustomizations.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    if objects {
        for ks in &mut kustomizations {
            for object in &mut ks.inventory {
                object.status = object_status(client, object, kinds).await;
            }
        }
    }
    Ok(ClusterState {
        sources,
        kustomizations,
    })
}

async fn object_status(
    client: &kube::Client,
    object: &InventoryObject,
    kinds: &mut HashMap<(String, String, String), Option<ApiResource>>,
) -> Option<String> {
    let key = (
        object.group.clone(),
        object.version.clone(),
        object.kind.clone(),
    );
    if !kinds.contains_key(&key) {
        let gvk = kube::core::GroupVersionKind::gvk(&object.group, &object.version, &object.kind);
        let resolved = kube::discovery::pinned_kind(client, &gvk).await.ok();
        kinds.insert(key.clone(), resolved.map(|(ar, _caps)| ar));
    }
    let ar = kinds.get(&key)?.as_ref()?;
    let api: Api<DynamicObject> = if object.namespace.is_empty() {
        Api::all_with(client.clone(), ar)
    } else {
        Api::namespaced_with(client.clone(), &object.namespace, ar)
    };
    let live = match api.get_opt(&object.name).await {
        Ok(Some(live)) => live,
        Ok(None) => return Some("NotFound".into()),
        Err(_) => return None,
    };
    let value = serde_json::to_value(live).ok()?;
    Some(
        flux_ssa::kstatus::compute(&value)
            .status
            .as_str()
            .to_string(),
    )
}

/// What `--once` concludes from a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still reconciling; the text says what is awaited.
    Pending(String),
    /// Every Kustomization applied the current revision and is Ready.
    AllReady {
        kustomizations: usize,
        revision: String,
    },
    /// Something failed at the current revision.
    Failed {
        object: String,
        reason: String,
        message: String,
    },
}

/// Judges `state` for the root source `namespace/name`, which must have fetched
/// `commit` and handled the reconcile request `token` (when one was made).
pub fn evaluate(
    state: &ClusterState,
    root: (&str, &str),
    commit: &str,
    token: Option<&str>,
) -> Verdict {
    let Some(source) = state
        .sources
        .iter()
        .find(|s| s.namespace == root.0 && s.name == root.1)
    else {
        return Verdict::Pending(format!("GitRepository {}/{} to exist", root.0, root.1));
    };
    let handled = token.is_none() || source.last_handled.as_deref() == token;
    let current = source
        .revision
        .as_deref()
        .is_some_and(|r| r.ends_with(commit));
    if !current {
        if let (true, Readiness::Failed { reason, message }) = (handled, &source.readiness) {
            return Verdict::Failed {
                object: format!("GitRepository {}/{}", source.namespace, source.name),
                reason: reason.clone(),
                message: first_line(message),
            };
        }
        return Verdict::Pending(format!(
            "GitRepository {}/{} to fetch {}",
            root.0,
            root.1,
            short_commit(commit)
        ));
    }
    let revision = source.revision.clone().unwrap_or_default();
    let root_ks = state.kustomizations.iter().any(|k| {
        k.source_kind == "GitRepository" && k.source_namespace == root.0 && k.source_name == root.1
    });
    if !root_ks {
        return Verdict::Pending("a Kustomization of the source".into());
    }
    let mut failed = Vec::new();
    let mut waiting = Vec::new();
    for ks in &state.kustomizations {
        if ks.suspended || ks.deleting {
            continue;
        }
        let src = state.sources.iter().find(|s| {
            ks.source_kind == "GitRepository"
                && s.namespace == ks.source_namespace
                && s.name == ks.source_name
        });
        let expected = match src {
            Some(s) => match &s.revision {
                Some(r) => Some(r.clone()),
                None => {
                    if let Readiness::Failed { reason, message } = &s.readiness {
                        failed.push((
                            format!("GitRepository {}/{}", s.namespace, s.name),
                            reason.clone(),
                            message.clone(),
                        ));
                        continue;
                    }
                    return Verdict::Pending(format!(
                        "GitRepository {}/{} to have an artifact",
                        s.namespace, s.name
                    ));
                }
            },
            None => None,
        };
        let at_revision = |rev: &Option<String>| match &expected {
            Some(e) => rev.as_deref() == Some(e.as_str()),
            None => true,
        };
        match &ks.readiness {
            Readiness::Ready if at_revision(&ks.last_applied_revision) => {}
            Readiness::Failed { reason, message }
                if at_revision(&ks.last_attempted_revision) || src.is_none() =>
            {
                failed.push((
                    format!("Kustomization {}", ks.id()),
                    reason.clone(),
                    message.clone(),
                ));
            }
            Readiness::Waiting { .. } => waiting.push(ks.id()),
            other => {
                return Verdict::Pending(format!(
                    "Kustomization {} ({})",
                    ks.id(),
                    match other {
                        Readiness::Ready => "applying the new revision".to_string(),
                        r => r.label(),
                    }
                ));
            }
        }
    }
    if let Some((object, reason, message)) = failed.into_iter().next() {
        return Verdict::Failed {
            object,
            reason,
            message: first_line(&message),
        };
    }
    if let Some(id) = waiting.into_iter().next() {
        return Verdict::Pending(format!("Kustomization {id} (waiting for its dependencies)"));
    }
    Verdict::AllReady {
        kustomizations: state.kustomizations.iter().filter(|k| !k.deleting).count(),
        revision,
    }
}

/// `main@sha1:0123456789ab…` → `main@sha1:0123456`.
pub fn short_revision(revision: &str) -> String {
    match revision.rsplit_once(':') {
        Some((head, hex)) if hex.len() > 7 => format!("{head}:{}", &hex[..7]),
        _ => revision.to_string(),
    }
}

fn short_commit(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// How the tree is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Ages ("ready 12s"); off for plain output so lines only change with the state.
    pub ages: bool,
    /// Tree glyphs (a terminal redrawn in place); without them every line names what it
    /// belongs to, so a line printed on its own (plain output) still reads.
    pub tree: bool,
}

fn paint(style: Style, readiness: &Readiness, text: &str) -> String {
    if !style.color {
        return text.to_string();
    }
    let code = match readiness {
        Readiness::Ready => "32",
        Readiness::Failed { .. } => "31",
        Readiness::Waiting { .. } | Readiness::Progressing { .. } => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn object_readiness(status: Option<&str>) -> Readiness {
    match status {
        Some("Current") => Readiness::Ready,
        Some("Failed") | Some("NotFound") => Readiness::Failed {
            reason: String::new(),
            message: String::new(),
        },
        _ => Readiness::Progressing {
            reason: String::new(),
            message: String::new(),
        },
    }
}

fn age(since: Option<jiff::Timestamp>, now: jiff::Timestamp) -> String {
    let Some(since) = since else {
        return String::new();
    };
    let secs = now.as_second().saturating_sub(since.as_second()).max(0);
    let text = if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{}h{}m", secs / 3600, (secs % 3600) / 60)
    };
    format!(" ({text})")
}

/// Kustomizations ordered so that dependencies come first (stable otherwise).
fn dependency_order<'a>(list: &[&'a KustomizationState]) -> Vec<&'a KustomizationState> {
    let mut placed: Vec<&KustomizationState> = Vec::new();
    let mut rest: Vec<&KustomizationState> = list.to_vec();
    while !rest.is_empty() {
        let before = rest.len();
        let ids: Vec<String> = rest.iter().map(|k| k.id()).collect();
        let (ready, blocked): (Vec<_>, Vec<_>) = rest
            .into_iter()
            .partition(|k| !k.depends_on.iter().any(|d| ids.contains(d) && *d != k.id()));
        placed.extend(ready);
        rest = blocked;
        if rest.len() == before {
            placed.append(&mut rest);
        }
    }
    placed
}

/// Above this many applied objects the redrawn tree lists only those not Current.
const COMPACT_OVER: usize = 40;
/// At most this many objects are listed per Kustomization in the compact tree.
const COMPACT_LISTED: usize = 8;

/// The compact tree: sources → Kustomizations → applied objects.
pub fn render(state: &ClusterState, style: Style, now: jiff::Timestamp) -> String {
    let mut out = String::new();
    let total_objects: usize = state.kustomizations.iter().map(|k| k.inventory.len()).sum();
    let mut by_source: BTreeMap<(String, String, String), Vec<&KustomizationState>> =
        BTreeMap::new();
    for ks in &state.kustomizations {
        by_source
            .entry((
                ks.source_kind.clone(),
                ks.source_namespace.clone(),
                ks.source_name.clone(),
            ))
            .or_default()
            .push(ks);
    }
    let mut roots: Vec<(String, String, String)> = state
        .sources
        .iter()
        .map(|s| {
            (
                "GitRepository".to_string(),
                s.namespace.clone(),
                s.name.clone(),
            )
        })
        .collect();
    for key in by_source.keys() {
        if !roots.contains(key) {
            roots.push(key.clone());
        }
    }
    for (kind, namespace, name) in roots {
        let source = state
            .sources
            .iter()
            .find(|s| kind == "GitRepository" && s.namespace == namespace && s.name == name);
        match source {
            Some(s) => {
                let mut line = format!(
                    "{} GitRepository {namespace}/{name} {}",
                    s.readiness.symbol(),
                    s.readiness.label()
                );
                if let Some(rev) = &s.revision {
                    let _ = write!(line, " {}", short_revision(rev));
                }
                if style.ages {
                    line.push_str(&age(s.ready_since, now));
                }
                let _ = writeln!(out, "{}", paint(style, &s.readiness, &line));
            }
            None => {
                let _ = writeln!(out, "? {kind} {namespace}/{name} (not found)");
            }
        }
        let list = by_source
            .get(&(kind, namespace, name))
            .cloned()
            .unwrap_or_default();
        let ordered = dependency_order(&list);
        for (i, ks) in ordered.iter().enumerate() {
            let last_ks = i + 1 == ordered.len();
            let (branch, indent) = if last_ks {
                ("└─", "   ")
            } else {
                ("├─", "│  ")
            };
            let mut line = format!(
                "{} Kustomization {} {}",
                ks.readiness.symbol(),
                ks.id(),
                ks.readiness.label()
            );
            if let Some(rev) = &ks.last_applied_revision {
                let _ = write!(line, " {}", short_revision(rev));
            }
            if !ks.depends_on.is_empty() {
                let _ = write!(line, " (after {})", ks.depends_on.join(", "));
            }
            if style.ages {
                line.push_str(&age(ks.ready_since, now));
            }
            let (branch, indent) = if style.tree {
                (branch, indent)
            } else {
                (" ", "   ")
            };
            let _ = writeln!(out, "{branch} {}", paint(style, &ks.readiness, &line));
            // A large cluster keeps the redrawn tree short: only objects that are not
            // Current are listed, the rest summed up in one line.
            let compact = style.tree && total_objects > COMPACT_OVER;
            let mut shown: Vec<&InventoryObject> = ks
                .inventory
                .iter()
                .filter(|o| !compact || o.status.as_deref() != Some("Current"))
                .collect();
            let hidden = ks.inventory.len() - shown.len();
            if compact && shown.len() > COMPACT_LISTED {
                shown.truncate(COMPACT_LISTED);
            }
            let more = ks.inventory.len() - hidden - shown.len();
            let summary = match (hidden, more) {
                (0, 0) => None,
                (h, 0) => Some(format!("✔ {h} more objects Current")),
                (0, m) => Some(format!("◎ {m} more objects not Current")),
                (h, m) => Some(format!("{m} more objects not Current, {h} Current")),
            };
            let count = shown.len() + usize::from(summary.is_some());
            for (j, object) in shown.into_iter().enumerate() {
                let last = j + 1 == count;
                let twig = match (style.tree, last) {
                    (false, _) => "",
                    (true, true) => "└─ ",
                    (true, false) => "├─ ",
                };
                let readiness = object_readiness(object.status.as_deref());
                let status = object.status.as_deref().unwrap_or("Unknown");
                let mut line = format!("{} {} {status}", readiness.symbol(), object.display_name());
                if !style.tree {
                    let _ = write!(line, " (Kustomization {})", ks.id());
                }
                let _ = writeln!(out, "{indent}{twig}{}", paint(style, &readiness, &line));
            }
            if let Some(summary) = summary {
                let _ = writeln!(out, "{indent}└─ {summary}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn rev() -> String {
        format!("main@sha1:{COMMIT}")
    }

    fn source(ready: &str, revision: Option<&str>) -> Value {
        json!({
            "metadata": {"namespace": "flux-system", "name": "flux-system", "generation": 1},
            "spec": {"url": "file:///repo"},
            "status": {
                "observedGeneration": 1,
                "artifact": revision.map(|r| json!({"revision": r})),
                "conditions": [{"type": "Ready", "status": ready, "reason": if ready == "True" {"Succeeded"} else {"GitOperationFailed"}, "message": "msg"}],
            },
        })
    }

    fn ks(
        name: &str,
        ready: &str,
        reason: &str,
        applied: Option<&str>,
        attempted: Option<&str>,
    ) -> Value {
        json!({
            "metadata": {"namespace": "flux-system", "name": name, "generation": 2},
            "spec": {"path": "./", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
            "status": {
                "observedGeneration": 2,
                "lastAppliedRevision": applied,
                "lastAttemptedRevision": attempted,
                "conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": "kustomize build failed: accumulating resources\nmore"}],
                "inventory": {"entries": [{"id": "apps_podinfo_apps_Deployment", "v": "v1"}, {"id": "_apps__Namespace", "v": "v1"}]},
            },
        })
    }

    fn state(sources: &[Value], kss: &[Value]) -> ClusterState {
        ClusterState {
            sources: sources.iter().map(source_of).collect(),
            kustomizations: kss.iter().map(kustomization_of).collect(),
        }
    }

    #[test]
    fn inventory_ids_parse() {
        let o = InventoryObject::parse("apps_podinfo_apps_Deployment", "v1").expect("parses");
        assert_eq!(
            (
                o.namespace.as_str(),
                o.name.as_str(),
                o.group.as_str(),
                o.kind.as_str()
            ),
            ("apps", "podinfo", "apps", "Deployment")
        );
        let o = InventoryObject::parse("_apps__Namespace", "v1").expect("parses");
        assert_eq!(
            (
                o.namespace.as_str(),
                o.name.as_str(),
                o.group.as_str(),
                o.kind.as_str()
            ),
            ("", "apps", "", "Namespace")
        );
    }

    #[test]
    fn all_ready_at_the_current_revision() {
        let r = rev();
        let s = state(
            &[source("True", Some(&r))],
            &[ks(
                "flux-system",
                "True",
                "ReconciliationSucceeded",
                Some(&r),
                Some(&r),
            )],
        );
        assert_eq!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, None),
            Verdict::AllReady {
                kustomizations: 1,
                revision: r
            }
        );
    }

    #[test]
    fn ready_at_an_old_revision_is_pending() {
        let r = rev();
        let s = state(
            &[source("True", Some(&r))],
            &[ks(
                "flux-system",
                "True",
                "ReconciliationSucceeded",
                Some("main@sha1:old"),
                Some("main@sha1:old"),
            )],
        );
        assert!(matches!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, None),
            Verdict::Pending(_)
        ));
        let s = state(&[source("True", Some("main@sha1:old"))], &[]);
        assert!(matches!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, None),
            Verdict::Pending(_)
        ));
    }

    #[test]
    fn a_failure_at_the_current_revision_names_object_and_reason() {
        let r = rev();
        let s = state(
            &[source("True", Some(&r))],
            &[
                ks(
                    "flux-system",
                    "True",
                    "ReconciliationSucceeded",
                    Some(&r),
                    Some(&r),
                ),
                ks(
                    "apps",
                    "False",
                    "BuildFailed",
                    Some("main@sha1:old"),
                    Some(&r),
                ),
            ],
        );
        assert_eq!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, None),
            Verdict::Failed {
                object: "Kustomization flux-system/apps".into(),
                reason: "BuildFailed".into(),
                message: "kustomize build failed: accumulating resources".into(),
            }
        );
    }

    #[test]
    fn transient_failures_are_not_a_verdict() {
        let r = rev();
        let s = state(
            &[source("True", Some(&r))],
            &[ks(
                "apps",
                "False",
                "HealthCheckCanceled",
                Some(&r),
                Some(&r),
            )],
        );
        assert!(matches!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, None),
            Verdict::Pending(_)
        ));
    }

    #[test]
    fn a_failed_source_fails_once_it_handled_the_request() {
        let s = state(
            &[json!({
                "metadata": {"namespace": "flux-system", "name": "flux-system", "generation": 1},
                "status": {"lastHandledReconcileAt": "t1", "conditions": [{"type": "Ready", "status": "False", "reason": "GitOperationFailed", "message": "no such branch"}]},
            })],
            &[],
        );
        assert!(matches!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, Some("t0")),
            Verdict::Pending(_)
        ));
        assert!(matches!(
            evaluate(&s, ("flux-system", "flux-system"), COMMIT, Some("t1")),
            Verdict::Failed { .. }
        ));
    }

    #[test]
    fn tree_lists_sources_kustomizations_and_objects() {
        let r = rev();
        let mut s = state(
            &[source("True", Some(&r))],
            &[ks(
                "flux-system",
                "True",
                "ReconciliationSucceeded",
                Some(&r),
                Some(&r),
            )],
        );
        s.kustomizations[0].inventory[0].status = Some("Current".into());
        let text = render(
            &s,
            Style {
                color: false,
                ages: false,
                tree: true,
            },
            jiff::Timestamp::now(),
        );
        assert_eq!(
            text,
            "✔ GitRepository flux-system/flux-system Ready main@sha1:0123456\n\
             └─ ✔ Kustomization flux-system/flux-system Ready main@sha1:0123456\n   \
             ├─ ✔ Deployment apps/podinfo Current\n   \
             └─ ◎ Namespace apps Unknown\n"
        );
        let plain = render(
            &s,
            Style {
                color: false,
                ages: false,
                tree: false,
            },
            jiff::Timestamp::now(),
        );
        assert_eq!(
            plain,
            "✔ GitRepository flux-system/flux-system Ready main@sha1:0123456\n  \
             ✔ Kustomization flux-system/flux-system Ready main@sha1:0123456\n   \
             ✔ Deployment apps/podinfo Current (Kustomization flux-system/flux-system)\n   \
             ◎ Namespace apps Unknown (Kustomization flux-system/flux-system)\n"
        );
        let colored = render(
            &s,
            Style {
                color: true,
                ages: true,
                tree: true,
            },
            jiff::Timestamp::now(),
        );
        assert!(
            colored.contains("\x1b[32m✔ Deployment apps/podinfo Current\x1b[0m"),
            "{colored}"
        );

        // A big inventory: only the objects that are not Current are listed.
        let mut big = s.clone();
        let template = big.kustomizations[0].inventory[0].clone();
        big.kustomizations[0].inventory = (0..50)
            .map(|i| InventoryObject {
                name: format!("cm{i}"),
                status: Some(if i == 7 { "InProgress" } else { "Current" }.into()),
                ..template.clone()
            })
            .collect();
        let compact = render(
            &big,
            Style {
                color: false,
                ages: false,
                tree: true,
            },
            jiff::Timestamp::now(),
        );
        assert_eq!(compact.lines().count(), 4, "{compact}");
        assert!(
            compact.contains("├─ ◎ Deployment apps/cm7 InProgress"),
            "{compact}"
        );
        assert!(
            compact.contains("└─ ✔ 49 more objects Current"),
            "{compact}"
        );
    }
}
