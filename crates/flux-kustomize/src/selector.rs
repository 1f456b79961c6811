//! Resource selection: kustomize's `Select` (regex on gvk/name/namespace, label and
//! annotation selectors) and id matching.

use regex::Regex;

use crate::kustomization::Selector;
use crate::resource::{ResId, Resource};

fn anchored(pattern: &str) -> Result<Option<Regex>, String> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

fn matches(re: &Option<Regex>, s: &str) -> bool {
    re.as_ref().is_none_or(|r| r.is_match(s))
}

/// One requirement of a Kubernetes label selector.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label (or annotation) selector: `a=b,c!=d,e in (x,y),!f,g`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses the Kubernetes selector syntax.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut depth = 0i32;
        let mut cur = String::new();
        for c in s.chars() {
            match c {
                '(' => {
                    depth += 1;
                    cur.push(c);
                }
                ')' => {
                    depth -= 1;
                    cur.push(c);
                }
                ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        parts.push(cur);
        let mut reqs = Vec::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let rest = rest.trim();
                let inner = rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("invalid selector {s:?}: expected (values)"))?;
                Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            if let Some(k) = p.strip_prefix('!') {
                reqs.push(Requirement::NotExists(k.trim().to_string()));
            } else if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Requirement::NotIn(k.trim().into(), vec![v.trim().into()]));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push(Requirement::In(k.trim().into(), vec![v.trim().into()]));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push(Requirement::In(k.trim().into(), vec![v.trim().into()]));
            } else if let Some(idx) = p.find(" notin ") {
                reqs.push(Requirement::NotIn(
                    p[..idx].trim().into(),
                    set(&p[idx + 7..])?,
                ));
            } else if let Some(idx) = p.find(" in ") {
                reqs.push(Requirement::In(p[..idx].trim().into(), set(&p[idx + 4..])?));
            } else if p.contains(char::is_whitespace) || p.contains('(') {
                return Err(format!("invalid selector {s:?}"));
            } else {
                reqs.push(Requirement::Exists(p.to_string()));
            }
        }
        Ok(LabelSelector { reqs })
    }

    /// Whether a set of labels satisfies every requirement.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map(|(_, v)| v.as_str())
        };
        self.reqs.iter().all(|r| match r {
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
        })
    }
}

/// A compiled [`Selector`].
pub struct CompiledSelector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

impl CompiledSelector {
    /// Compiles the regular expressions and selectors.
    pub fn new(s: &Selector) -> Result<Self, String> {
        let opt = |x: &str| -> Result<Option<LabelSelector>, String> {
            if x.is_empty() {
                Ok(None)
            } else {
                LabelSelector::parse(x).map(Some)
            }
        };
        Ok(CompiledSelector {
            group: anchored(&s.group)?,
            version: anchored(&s.version)?,
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: opt(&s.label_selector)?,
            annotations: opt(&s.annotation_selector)?,
        })
    }

    /// kustomize's `Select`: original or current name/namespace, current gvk.
    pub fn matches(&self, r: &Resource) -> bool {
        let cur = r.cur_id();
        let org = r.org_id();
        if !matches(&self.namespace, org.effective_namespace())
            && !matches(&self.namespace, cur.effective_namespace())
        {
            return false;
        }
        if !matches(&self.name, &org.name) && !matches(&self.name, &cur.name) {
            return false;
        }
        if !matches(&self.group, &cur.gvk.group)
            || !matches(&self.version, &cur.gvk.version)
            || !matches(&self.kind, &cur.gvk.kind)
        {
            return false;
        }
        if let Some(l) = &self.labels
            && !l.matches(&r.labels())
        {
            return false;
        }
        if let Some(a) = &self.annotations
            && !a.matches(&r.annotations())
        {
            return false;
        }
        true
    }
}

/// Indexes of the resources a selector picks.
pub fn select(resources: &[Resource], s: &Selector) -> Result<Vec<usize>, String> {
    let c = CompiledSelector::new(s)?;
    Ok(resources
        .iter()
        .enumerate()
        .filter(|(_, r)| c.matches(r))
        .map(|(i, _)| i)
        .collect())
}

/// Indexes of the resources any of whose ids (previous or current) equals `id`.
pub fn find_by_any_id(resources: &[Resource], id: &ResId) -> Vec<usize> {
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.all_ids().iter().any(|x| x.equals(id)))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn label_selector_forms() {
        let l = pairs(&[("app", "web"), ("tier", "front")]);
        let ok = |s: &str| {
            LabelSelector::parse(s)
                .map(|x| x.matches(&l))
                .unwrap_or(false)
        };
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(ok("app in (web, api),!missing"));
        assert!(!ok("app notin (web)"));
        assert!(!ok("app!=web"));
        assert!(ok("tier!=back"));
    }

    #[test]
    fn selector_regex_is_anchored() {
        let mut obj = serde_json::Map::new();
        obj.insert("apiVersion".into(), "apps/v1".into());
        obj.insert("kind".into(), "Deployment".into());
        obj.insert("metadata".into(), serde_json::json!({"name": "web-api"}));
        let r = Resource::new(obj);
        let sel = |name: &str| Selector {
            kind: "Deployment".into(),
            name: name.into(),
            ..Default::default()
        };
        assert_eq!(
            select(std::slice::from_ref(&r), &sel("web")).ok(),
            Some(vec![])
        );
        assert_eq!(
            select(std::slice::from_ref(&r), &sel("web-.*")).ok(),
            Some(vec![0])
        );
    }
}
