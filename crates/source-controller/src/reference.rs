//! Which Git reference a GitRepository asks for, with upstream's precedence
//! (commit > name > semver > tag > branch; nothing set ⇒ branch `master`), and how the
//! remote's advertised refs resolve it. Pure: no I/O.

use flux_api::source::GitRepositoryRef;
use gotemplate::sprig::semver::{Constraints, Version};

/// The reference to check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefSpec {
    /// A branch (`refs/heads/<name>`).
    Branch(String),
    /// A tag (`refs/tags/<name>`).
    Tag(String),
    /// The highest tag matching a Masterminds semver constraint.
    Semver(String),
    /// A full reference name such as `refs/pull/1/head` (or a bare commit-ish name).
    Name(String),
    /// A commit, optionally found on a branch.
    Commit {
        /// The full or abbreviated SHA-1.
        sha: String,
        /// The branch to fetch it from (all branches when `None`).
        branch: Option<String>,
    },
}

/// Why a reference cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// `ref.semver` is not a valid constraint.
    #[error("semver parse error: improper constraint: {constraint}")]
    InvalidSemver { constraint: String },
    /// No tag satisfies the constraint.
    #[error("no match found for semver: {constraint}")]
    NoSemverMatch { constraint: String },
    /// The remote does not have the branch or tag (full ref name, as go-git reports it).
    #[error("couldn't find remote ref \"{reference}\"")]
    NotFound { reference: String },
    /// The remote does not have the `ref.name` reference.
    #[error("unable to resolve ref '{reference}' to a specific commit")]
    NameNotFound { reference: String },
    /// `ref.commit` is not hexadecimal.
    #[error("invalid commit '{sha}': must be a full 40-character hexadecimal SHA-1")]
    InvalidCommit { sha: String },
}

/// The reference a spec asks for (upstream's precedence).
pub fn ref_spec(reference: Option<&GitRepositoryRef>) -> RefSpec {
    let non_empty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let Some(r) = reference else {
        return RefSpec::Branch("master".to_string());
    };
    if let Some(sha) = non_empty(&r.commit) {
        return RefSpec::Commit {
            sha,
            branch: non_empty(&r.branch),
        };
    }
    if let Some(name) = non_empty(&r.name) {
        return RefSpec::Name(name);
    }
    if let Some(c) = non_empty(&r.semver) {
        return RefSpec::Semver(c);
    }
    if let Some(t) = non_empty(&r.tag) {
        return RefSpec::Tag(t);
    }
    RefSpec::Branch(non_empty(&r.branch).unwrap_or_else(|| "master".to_string()))
}

/// One advertised remote ref: full name, the object it points at, and for annotated
/// tags the commit it peels to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// `refs/heads/main`, `refs/tags/v1.0.0`, `HEAD`, …
    pub name: String,
    /// The object the ref points at (hex).
    pub target: String,
    /// The peeled commit of an annotated tag (hex).
    pub peeled: Option<String>,
}

impl RemoteRef {
    /// The commit this ref ends at.
    pub fn commit(&self) -> &str {
        self.peeled.as_deref().unwrap_or(&self.target)
    }
}

/// A reference resolved against the remote: the full ref name to fetch and the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The full reference name (`refs/heads/main`); empty for a bare commit.
    pub full_name: String,
    /// The commit SHA-1 (hex).
    pub commit: String,
}

/// Validates the commit-ish of a commit pin.
pub fn check_commit(sha: &str) -> Result<(), RefError> {
    if sha.len() != 40 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(RefError::InvalidCommit {
            sha: sha.to_string(),
        });
    }
    Ok(())
}

/// The suffix that asks for a tag's peeled commit (`refs/tags/v1^{}`).
pub const PEEL_SUFFIX: &str = "^{}";

/// The refs to list (ls-refs prefixes) for a spec.
pub fn list_prefixes(spec: &RefSpec) -> Vec<String> {
    match spec {
        RefSpec::Branch(b) => vec![format!("refs/heads/{b}")],
        RefSpec::Tag(t) => vec![format!("refs/tags/{t}")],
        RefSpec::Semver(_) => vec!["refs/tags/".to_string()],
        RefSpec::Name(n) => vec![n.strip_suffix(PEEL_SUFFIX).unwrap_or(n).to_string()],
        RefSpec::Commit { branch, .. } => match branch {
            Some(b) => vec![format!("refs/heads/{b}")],
            None => vec!["refs/heads/".to_string()],
        },
    }
}

/// Resolves a branch, tag, semver or name spec against the advertised refs. Commit pins
/// are resolved after fetching (they need no remote ref).
pub fn resolve(spec: &RefSpec, refs: &[RemoteRef]) -> Result<Resolved, RefError> {
    let exact = |name: &str| {
        refs.iter().find(|r| r.name == name).map(|r| Resolved {
            full_name: r.name.clone(),
            commit: r.commit().to_string(),
        })
    };
    let not_found = |reference: &str| RefError::NotFound {
        reference: reference.to_string(),
    };
    match spec {
        RefSpec::Branch(b) => {
            let full = format!("refs/heads/{b}");
            exact(&full).ok_or_else(|| not_found(&full))
        }
        RefSpec::Tag(t) => {
            let full = format!("refs/tags/{t}");
            exact(&full).ok_or_else(|| not_found(&full))
        }
        // `refs/tags/x^{}` names the commit the tag peels to.
        RefSpec::Name(n) => {
            exact(n.strip_suffix(PEEL_SUFFIX).unwrap_or(n)).ok_or_else(|| RefError::NameNotFound {
                reference: n.clone(),
            })
        }
        RefSpec::Semver(c) => {
            let tags: Vec<&str> = refs
                .iter()
                .filter_map(|r| r.name.strip_prefix("refs/tags/"))
                .filter(|t| !t.ends_with("^{}"))
                .collect();
            let tag = select_semver(c, &tags)?;
            let full = format!("refs/tags/{tag}");
            exact(&full).ok_or_else(|| not_found(&full))
        }
        RefSpec::Commit { sha, .. } => {
            check_commit(sha)?;
            Ok(Resolved {
                full_name: String::new(),
                commit: sha.to_lowercase(),
            })
        }
    }
}

/// The tag with the highest version satisfying `constraint` (Masterminds semver; tags
/// that are not versions are skipped). Equal versions (`v1.0.0` and `1.0.0`) keep the
/// one that sorts last by name, for a stable answer.
pub fn select_semver(constraint: &str, tags: &[&str]) -> Result<String, RefError> {
    let constraints = Constraints::parse(constraint).map_err(|_| RefError::InvalidSemver {
        constraint: constraint.to_string(),
    })?;
    let mut best: Option<(Version, &str)> = None;
    for tag in tags {
        let Ok(v) = Version::parse(tag) else { continue };
        if !constraints.check(&v) {
            continue;
        }
        let better = match &best {
            None => true,
            Some((bv, bt)) => match v.compare(bv) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Equal => *tag > *bt,
                std::cmp::Ordering::Less => false,
            },
        };
        if better {
            best = Some((v, tag));
        }
    }
    best.map(|(_, t)| t.to_string())
        .ok_or_else(|| RefError::NoSemverMatch {
            constraint: constraint.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(
        branch: Option<&str>,
        tag: Option<&str>,
        semver: Option<&str>,
        name: Option<&str>,
        commit: Option<&str>,
    ) -> GitRepositoryRef {
        GitRepositoryRef {
            branch: branch.map(Into::into),
            tag: tag.map(Into::into),
            semver: semver.map(Into::into),
            name: name.map(Into::into),
            commit: commit.map(Into::into),
        }
    }

    #[test]
    fn precedence_matches_upstream() {
        assert_eq!(ref_spec(None), RefSpec::Branch("master".into()));
        assert_eq!(
            ref_spec(Some(&r(
                Some("b"),
                Some("t"),
                Some("1.x"),
                Some("refs/x"),
                Some("abc")
            ))),
            RefSpec::Commit {
                sha: "abc".into(),
                branch: Some("b".into())
            }
        );
        assert_eq!(
            ref_spec(Some(&r(
                Some("b"),
                Some("t"),
                Some("1.x"),
                Some("refs/x"),
                None
            ))),
            RefSpec::Name("refs/x".into())
        );
        assert_eq!(
            ref_spec(Some(&r(Some("b"), Some("t"), Some("1.x"), None, None))),
            RefSpec::Semver("1.x".into())
        );
        assert_eq!(
            ref_spec(Some(&r(Some("b"), Some("t"), None, None, None))),
            RefSpec::Tag("t".into())
        );
        assert_eq!(
            ref_spec(Some(&r(None, None, None, None, None))),
            RefSpec::Branch("master".into())
        );
    }

    #[test]
    fn semver_picks_highest_match() {
        let tags = [
            "v1.0.0",
            "v1.2.0",
            "1.3.0-rc.1",
            "v2.0.0",
            "latest",
            "v1.10.1",
        ];
        assert_eq!(select_semver(">=1.0.0 <2.0.0", &tags), Ok("v1.10.1".into()));
        assert_eq!(select_semver("~1.2", &tags), Ok("v1.2.0".into()));
        assert_eq!(select_semver("^2", &tags), Ok("v2.0.0".into()));
        assert_eq!(
            select_semver("> 5", &tags),
            Err(RefError::NoSemverMatch {
                constraint: "> 5".into()
            })
        );
        assert!(matches!(
            select_semver("not a range", &tags),
            Err(RefError::InvalidSemver { .. })
        ));
    }

    #[test]
    fn resolves_annotated_tags_to_their_commit() {
        let refs = vec![RemoteRef {
            name: "refs/tags/v1.0.0".into(),
            target: "aaaa".into(),
            peeled: Some("bbbb".into()),
        }];
        assert_eq!(
            resolve(&RefSpec::Tag("v1.0.0".into()), &refs),
            Ok(Resolved {
                full_name: "refs/tags/v1.0.0".into(),
                commit: "bbbb".into()
            })
        );
        assert_eq!(
            resolve(&RefSpec::Name("refs/tags/v1.0.0^{}".into()), &refs),
            Ok(Resolved {
                full_name: "refs/tags/v1.0.0".into(),
                commit: "bbbb".into()
            })
        );
        assert_eq!(
            list_prefixes(&RefSpec::Name("refs/tags/v1.0.0^{}".into())),
            vec!["refs/tags/v1.0.0".to_string()]
        );
        assert_eq!(
            resolve(&RefSpec::Branch("main".into()), &refs),
            Err(RefError::NotFound {
                reference: "refs/heads/main".into()
            })
        );
    }
}
