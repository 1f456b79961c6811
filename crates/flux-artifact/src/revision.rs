//! Artifact revision strings.
//!
//! Flux writes revisions as `<named pointer>@<algorithm>:<hex>` or `<algorithm>:<hex>`:
//! `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`, `refs/pull/1/head@sha1:<hex>`, `sha1:<hex>`
//! (detached commit), `latest@sha256:<hex>` (OCIRepository), `sha256:<hex>` (Bucket).
//! Consumers must also accept the pre-v1 "legacy" forms (`main/<hex>`, `HEAD/<hex>`,
//! bare `<hex>`), which upstream maps with `TransformLegacyRevision`.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Algorithm, Digest, DigestError};

/// Errors parsing a revision string.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// The string is empty.
    #[error("empty revision")]
    Empty,
    /// `@` with nothing before it.
    #[error("invalid revision {input:?}: empty named pointer before '@'")]
    EmptyNamedPointer { input: String },
    /// The digest part is not a valid digest.
    #[error("invalid revision {input:?}")]
    Digest {
        input: String,
        #[source]
        source: DigestError,
    },
}

/// A parsed revision: an optional named pointer (branch, tag, ref, OCI tag) and a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Revision {
    named_pointer: Option<String>,
    digest: Digest,
}

impl Revision {
    /// A revision from its parts. An empty pointer is treated as none.
    pub fn new(named_pointer: Option<&str>, digest: Digest) -> Self {
        Revision {
            named_pointer: named_pointer.filter(|p| !p.is_empty()).map(str::to_string),
            digest,
        }
    }

    /// The revision Flux records for a Git commit reached through `reference`
    /// (like fluxcd/pkg/git `Commit.String`): the reference minus its first two
    /// path segments (`refs/heads/main` ⇒ `main`, `refs/tags/v1` ⇒ `v1`,
    /// `refs/pull/1/head` ⇒ `1/head`); references with fewer than three segments
    /// (`HEAD`, empty) give a bare digest.
    pub fn for_git_commit(reference: &str, commit: Digest) -> Self {
        let mut parts = reference.splitn(3, '/');
        let short = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(_), Some(rest)) => Some(rest),
            _ => None,
        };
        Revision::new(short, commit)
    }

    /// Like [`Revision::for_git_commit`] but keeps the full reference
    /// (fluxcd/pkg/git `Commit.AbsoluteReference`).
    pub fn absolute_git_reference(reference: &str, commit: Digest) -> Self {
        Revision::new(Some(reference), commit)
    }

    /// Parses the current form: `<pointer>@<algo>:<hex>` or `<algo>:<hex>`.
    /// The pointer is everything before the last `@`.
    pub fn parse(input: &str) -> Result<Self, RevisionError> {
        if input.is_empty() {
            return Err(RevisionError::Empty);
        }
        let (pointer, digest) = match input.rfind('@') {
            Some(i) => {
                let (p, d) = (&input[..i], &input[i + 1..]);
                if p.is_empty() {
                    return Err(RevisionError::EmptyNamedPointer {
                        input: input.to_string(),
                    });
                }
                (Some(p), d)
            }
            None => (None, input),
        };
        let digest = Digest::parse(digest).map_err(|source| RevisionError::Digest {
            input: input.to_string(),
            source,
        })?;
        Ok(Revision::new(pointer, digest))
    }

    /// Parses the current form or one of upstream's legacy forms
    /// (`main/<sha1>`, `feature/x/<sha1>`, `HEAD/<sha1>`, `tag/<sha256>`, bare hex).
    pub fn parse_lenient(input: &str) -> Result<Self, RevisionError> {
        Revision::parse(&transform_legacy_revision(input))
    }

    /// The named pointer (branch, tag, reference or OCI tag), if any.
    pub fn named_pointer(&self) -> Option<&str> {
        self.named_pointer.as_deref()
    }

    /// The digest (commit hash, manifest digest, content digest).
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// True when the two revisions point at different content, whatever their pointers.
    pub fn digest_differs(&self, other: &Revision) -> bool {
        self.digest != other.digest
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.named_pointer {
            Some(p) => write!(f, "{p}@{}", self.digest),
            None => write!(f, "{}", self.digest),
        }
    }
}

impl FromStr for Revision {
    type Err = RevisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Revision::parse(s)
    }
}

/// Upstream's `TransformLegacyRevision` (source-controller api): maps a legacy revision
/// (one without any `:`) to the current form; anything else is returned unchanged.
///
/// - `main/<40 hex>` ⇒ `main@sha1:<hex>`; `HEAD/<40 hex>` ⇒ `sha1:<hex>`
/// - `tag/<64 hex>` ⇒ `tag@sha256:<hex>`
/// - `<40 hex>` ⇒ `sha1:<hex>`; `<64 hex>` ⇒ `sha256:<hex>`
pub fn transform_legacy_revision(rev: &str) -> String {
    if !rev.is_empty() && !rev.contains(':') {
        if let Some(i) = rev.rfind('/') {
            let (name, sha) = (&rev[..i], &rev[i + 1..]);
            if let Some(algo) = sha_type_of(sha) {
                if name != "HEAD" {
                    return format!("{name}@{algo}:{sha}");
                }
                return format!("{algo}:{sha}");
            }
        }
        if let Some(algo) = sha_type_of(rev) {
            return format!("{algo}:{rev}");
        }
    }
    rev.to_string()
}

/// The algorithm a legacy bare hash uses, judged by its length (40 ⇒ sha1, 64 ⇒ sha256).
fn sha_type_of(hex: &str) -> Option<Algorithm> {
    if hex.is_empty() || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    match hex.len() {
        40 => Some(Algorithm::Sha1),
        64 => Some(Algorithm::Sha256),
        _ => None,
    }
}

/// Upstream's `Artifact.HasRevision`: equal after legacy transformation.
pub fn has_revision(current: &str, revision: &str) -> bool {
    transform_legacy_revision(current) == transform_legacy_revision(revision)
}

/// True when two revision strings name different content. Revisions that parse
/// (current or legacy form) are compared by digest only, so `main@sha1:X` and
/// `refs/heads/main@sha1:X` are the same; anything else (e.g. a HelmChart version
/// string) is compared as text after legacy transformation.
pub fn revision_differs(a: &str, b: &str) -> bool {
    match (Revision::parse_lenient(a), Revision::parse_lenient(b)) {
        (Ok(x), Ok(y)) => x.digest_differs(&y),
        _ => !has_revision(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";

    #[test]
    fn git_commit_short_names() -> Result<(), DigestError> {
        let d = Digest::new(Algorithm::Sha1, SHA1)?;
        let cases = [
            ("refs/heads/main", format!("main@sha1:{SHA1}")),
            ("refs/tags/v1.2.3", format!("v1.2.3@sha1:{SHA1}")),
            ("refs/heads/feature/x", format!("feature/x@sha1:{SHA1}")),
            ("refs/pull/1/head", format!("1/head@sha1:{SHA1}")),
            ("HEAD", format!("sha1:{SHA1}")),
            ("", format!("sha1:{SHA1}")),
        ];
        for (reference, want) in cases {
            assert_eq!(
                Revision::for_git_commit(reference, d.clone()).to_string(),
                want,
                "{reference}"
            );
        }
        assert_eq!(
            Revision::absolute_git_reference("refs/heads/main", d).to_string(),
            format!("refs/heads/main@sha1:{SHA1}")
        );
        Ok(())
    }
}
