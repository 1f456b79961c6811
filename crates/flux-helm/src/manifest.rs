//! Rendered files → documents, hooks and install order, as Helm's
//! `releaseutil` does, and the text `helm template` prints.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::HelmError;

/// Which Helm major version's behaviour to follow where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HelmCompat {
    /// Helm 3.17.
    #[default]
    V3,
    /// Helm 4.1 (webhook configurations are known kinds in the install order).
    V4,
}

/// Helm 3's install order by kind.
pub const INSTALL_ORDER_V3: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Helm 4 appends the webhook configurations to Helm 3's order.
pub const INSTALL_ORDER_V4_EXTRA: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The install order for a Helm version.
pub fn install_order(compat: HelmCompat) -> Vec<&'static str> {
    let mut v = INSTALL_ORDER_V3.to_vec();
    if compat == HelmCompat::V4 {
        v.extend_from_slice(INSTALL_ORDER_V4_EXTRA);
    }
    v
}

/// Hook events Helm knows (`test-success` is Helm 2's name for `test`).
const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// The head of a manifest: what sorting and hooks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleHead {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// One document of a rendered template.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The template path (`chart/templates/x.yaml`).
    pub name: String,
    /// The document text (trimmed).
    pub content: String,
    /// Its head.
    pub head: SimpleHead,
}

/// A hook document.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `metadata.name`.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Template path.
    pub path: String,
    /// Document text.
    pub manifest: String,
    /// Events (lower-case, `test-success` normalised to `test`).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight`.
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` entries.
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether this is a test hook (skipped by `--skip-tests`).
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// Splits a YAML stream as Helm's `SplitManifests`: separators are `---` at
/// the start of the text or of a line; documents are trimmed; empty ones dropped.
pub fn split_manifests(big: &str) -> Vec<String> {
    let text = big.trim();
    let bytes = text.as_bytes();
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut search = 0usize;
    let mut p = 0usize;
    while p + 3 <= bytes.len() {
        let at_sep = &bytes[p..p + 3] == b"---"
            && ((p == 0 && search == 0) || (p > search && bytes[p - 1] == b'\n'));
        if at_sep {
            let doc_end = if p == 0 { 0 } else { p - 1 };
            docs.push(&text[start..doc_end.max(start)]);
            let mut end = p + 3;
            while end < bytes.len() && (bytes[end] as char).is_ascii_whitespace() {
                end += 1;
            }
            start = end;
            search = end;
            p = end;
            continue;
        }
        p += 1;
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim().to_string())
        .collect()
}

fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(crate::yaml_values::go_json_number(n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Parses the head of one document (`YAML parse error on PATH: ...` on failure).
pub fn parse_head(path: &str, doc: &str) -> Result<SimpleHead, HelmError> {
    let v =
        crate::yaml_values::parse_yaml_value(doc).map_err(|reason| HelmError::ManifestParse {
            path: path.to_string(),
            reason: format!("error converting YAML to JSON: {reason}"),
        })?;
    let mut head = SimpleHead::default();
    let Value::Object(m) = v else {
        if v.is_null() {
            return Ok(head);
        }
        return Err(HelmError::ManifestParse {
            path: path.to_string(),
            reason: format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type releaseutil.SimpleHead",
                crate::yaml_values::go_json_kind(&v)
            ),
        });
    };
    let field_err = |field: &str, v: &Value| HelmError::ManifestParse {
        path: path.to_string(),
        reason: format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type string",
            crate::yaml_values::go_json_kind(v)
        ),
    };
    if let Some(v) = m.get("apiVersion") {
        head.api_version =
            scalar_to_string(v).ok_or_else(|| field_err("SimpleHead.apiVersion", v))?;
    }
    if let Some(v) = m.get("kind") {
        head.kind = scalar_to_string(v).ok_or_else(|| field_err("SimpleHead.kind", v))?;
    }
    if let Some(Value::Object(md)) = m.get("metadata") {
        if let Some(v) = md.get("name") {
            head.name =
                scalar_to_string(v).ok_or_else(|| field_err("SimpleHead.metadata.name", v))?;
        }
        if let Some(Value::Object(ann)) = md.get("annotations") {
            for (k, v) in ann {
                let s = scalar_to_string(v)
                    .ok_or_else(|| field_err("SimpleHead.metadata.annotations", v))?;
                head.annotations.insert(k.clone(), s);
            }
        }
    }
    Ok(head)
}

/// Helm's `SortManifests`: files sorted by path, partials and blank files
/// skipped, documents split into hooks and plain manifests, each sorted
/// (stably) by kind in install order.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
    compat: HelmCompat,
) -> Result<(Vec<Hook>, Vec<Manifest>), HelmError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = parse_head(path, &doc)?;
            let Some(hook_types) = head.annotations.get("helm.sh/hook").cloned() else {
                generic.push(Manifest {
                    name: path.clone(),
                    content: doc,
                    head,
                });
                continue;
            };
            let mut events = Vec::new();
            let mut unknown = false;
            for t in hook_types.split(',') {
                let t = t.trim().to_ascii_lowercase();
                if !HOOK_EVENTS.contains(&t.as_str()) {
                    unknown = true;
                    break;
                }
                events.push(if t == "test-success" {
                    "test".to_string()
                } else {
                    t
                });
            }
            if unknown {
                continue;
            }
            let weight = head
                .annotations
                .get("helm.sh/hook-weight")
                .and_then(|w| go_atoi(w))
                .unwrap_or(0);
            let delete_policies = head
                .annotations
                .get("helm.sh/hook-delete-policy")
                .map(|p| {
                    p.split(',')
                        .map(|x| x.trim().to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default();
            hooks.push(Hook {
                name: head.name.clone(),
                kind: head.kind.clone(),
                path: path.clone(),
                manifest: doc,
                events,
                weight,
                delete_policies,
            });
        }
    }
    let order = install_order(compat);
    let rank = |k: &str| order.iter().position(|o| *o == k);
    let cmp = |a: &str, b: &str| -> std::cmp::Ordering {
        match (rank(a), rank(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        }
    };
    generic.sort_by(|a, b| cmp(&a.head.kind, &b.head.kind));
    hooks.sort_by(|a, b| cmp(&a.kind, &b.kind));
    Ok((hooks, generic))
}

/// Go's `strconv.Atoi`.
fn go_atoi(s: &str) -> Option<i64> {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    if d.is_empty() || !d.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// What `helm template` prints for the sorted release, before `--show-only`.
pub fn template_output(
    manifests: &[Manifest],
    hooks: &[Hook],
    crds: &[(String, String)],
    skip_tests: bool,
    disable_hooks: bool,
) -> String {
    let mut body = String::new();
    for (path, data) in crds {
        body.push_str(&format!("---\n# Source: {path}\n{data}\n"));
    }
    for m in manifests {
        body.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
    }
    let mut out = String::new();
    out.push_str(body.trim());
    out.push('\n');
    if !disable_hooks {
        for h in hooks {
            if skip_tests && h.is_test() {
                continue;
            }
            out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.manifest));
        }
    }
    out
}

/// Applies `--show-only`: keeps documents whose `# Source:` path (without
/// the chart name) matches one of the patterns, in pattern order.
pub fn show_only(output: &str, patterns: &[String]) -> Result<String, HelmError> {
    let docs = split_manifests(output);
    let mut picked: Vec<&str> = Vec::new();
    for pat in patterns {
        let pat = pat.replace('\\', "/");
        let mut missing = true;
        for doc in &docs {
            let Some(path) = source_path(doc) else {
                continue;
            };
            if !crate::path_match::go_path_match(&pat, path) {
                continue;
            }
            picked.push(doc);
            missing = false;
        }
        if missing {
            return Err(HelmError::ShowOnlyMissing(pat));
        }
    }
    let mut out = String::new();
    for d in picked {
        out.push_str(&format!("---\n{d}\n"));
    }
    Ok(out)
}

/// The part after `<chart>/` of the first `# Source: ` line.
fn source_path(doc: &str) -> Option<&str> {
    let i = doc.find("# Source: ")?;
    let rest = &doc[i + "# Source: ".len()..];
    let slash = rest.find('/')?;
    if slash == 0 {
        return None;
    }
    let tail = &rest[slash + 1..];
    let end = tail.find('\n').unwrap_or(tail.len());
    let p = &tail[..end];
    if p.is_empty() { None } else { Some(p) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), vec!["a: 1", "b: 2"]);
        // Separators do not overlap: the whitespace after one `---` cannot
        // start the next, exactly like Go's regexp split.
        assert_eq!(
            split_manifests("---\na: 1\n---   \n\n---\nb: 2"),
            vec!["a: 1", "---\nb: 2"]
        );
        assert_eq!(split_manifests("a: |\n  x---y\n"), vec!["a: |\n  x---y"]);
        assert!(split_manifests("  \n").is_empty());
    }

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sorts_by_install_order_stably_and_unknown_kinds_last_alphabetically() {
        let f = files(&[
            (
                "c/templates/a.yaml",
                "kind: Deployment\nmetadata: {name: d1}\n---\nkind: Service\nmetadata: {name: s}",
            ),
            (
                "c/templates/b.yaml",
                "kind: Zeta\n---\nkind: Alpha\n---\nkind: Deployment\nmetadata: {name: d2}",
            ),
            ("c/templates/_helpers.tpl", "kind: Secret"),
            (
                "c/templates/w.yaml",
                "kind: ValidatingWebhookConfiguration\n---\nkind: Certificate",
            ),
        ]);
        let (_, m) = sort_manifests(&f, HelmCompat::V3).expect("sorts");
        let kinds: Vec<&str> = m.iter().map(|x| x.head.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec![
                "Service",
                "Deployment",
                "Deployment",
                "Alpha",
                "Certificate",
                "ValidatingWebhookConfiguration",
                "Zeta"
            ]
        );
        assert_eq!(m[1].head.name, "d1");
        let (_, m4) = sort_manifests(&f, HelmCompat::V4).expect("sorts");
        let kinds4: Vec<&str> = m4.iter().map(|x| x.head.kind.as_str()).collect();
        assert_eq!(
            kinds4,
            vec![
                "Service",
                "Deployment",
                "Deployment",
                "ValidatingWebhookConfiguration",
                "Alpha",
                "Certificate",
                "Zeta"
            ]
        );
    }

    #[test]
    fn hooks_are_separated_and_tests_skippable() {
        let f = files(&[(
            "c/templates/t.yaml",
            "kind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n---\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: pre-install,post-upgrade\n    helm.sh/hook-weight: \"5\"\n---\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: bogus",
        )]);
        let (hooks, generic) = sort_manifests(&f, HelmCompat::V3).expect("sorts");
        assert!(generic.is_empty());
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0].kind, "Pod");
        assert_eq!(hooks[1].weight, 5);
        let out = template_output(&[], &hooks, &[], true, false);
        assert!(!out.contains("name: t\n"), "{out}");
        assert!(out.contains("name: j"), "{out}");
    }

    #[test]
    fn bad_yaml_names_the_template() {
        let f = files(&[("c/templates/bad.yaml", "a: [1, 2\n")]);
        let err = sort_manifests(&f, HelmCompat::V3).expect_err("bad yaml");
        assert!(
            err.to_string()
                .starts_with("YAML parse error on c/templates/bad.yaml"),
            "{err}"
        );
    }

    #[test]
    fn show_only_filters_by_template_path() {
        let out = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n";
        assert_eq!(
            show_only(out, &["templates/b.yaml".to_string()]).expect("found"),
            "---\n# Source: c/templates/b.yaml\nkind: B\n"
        );
        let err = show_only(out, &["templates/zz.yaml".to_string()]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "could not find template templates/zz.yaml in chart"
        );
    }
}
