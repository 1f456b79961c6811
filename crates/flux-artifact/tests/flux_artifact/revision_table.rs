//! Revision strings: parse, format, legacy forms, comparison.

use anyhow::Result;
use flux_artifact::{
    Algorithm, Digest, Revision, RevisionError, has_revision, revision_differs,
    transform_legacy_revision,
};

const SHA1: &str = "5394cb7f48332b2de7c17dd8b8384bbc84b7e738";
const SHA1_B: &str = "a0c14dc8580a23f79bc654faa79c4f62b46c2c22";
const SHA256: &str = "d52bde83c5b2bd0fa7910264e0afc3ac9cfe9b6636ca29c05c09742f01d5a4bd";

#[test]
fn parse_and_format_table() -> Result<()> {
    let cases: Vec<(String, Option<&str>, Algorithm, &str)> = vec![
        (
            format!("main@sha1:{SHA1}"),
            Some("main"),
            Algorithm::Sha1,
            SHA1,
        ),
        (
            format!("v1.2.3@sha1:{SHA1}"),
            Some("v1.2.3"),
            Algorithm::Sha1,
            SHA1,
        ),
        (format!("sha1:{SHA1}"), None, Algorithm::Sha1, SHA1),
        (
            format!("refs/pull/420/head@sha1:{SHA1}"),
            Some("refs/pull/420/head"),
            Algorithm::Sha1,
            SHA1,
        ),
        (
            format!("feature/x@y@sha1:{SHA1}"),
            Some("feature/x@y"),
            Algorithm::Sha1,
            SHA1,
        ),
        (
            format!("latest@sha256:{SHA256}"),
            Some("latest"),
            Algorithm::Sha256,
            SHA256,
        ),
        (format!("sha256:{SHA256}"), None, Algorithm::Sha256, SHA256),
        (
            format!("6.1.0+build.1@sha256:{SHA256}"),
            Some("6.1.0+build.1"),
            Algorithm::Sha256,
            SHA256,
        ),
    ];
    for (input, pointer, algorithm, hex) in cases {
        let r = Revision::parse(&input)?;
        assert_eq!(r.named_pointer(), pointer, "{input}");
        assert_eq!(r.digest().algorithm(), algorithm, "{input}");
        assert_eq!(r.digest().hex(), hex, "{input}");
        assert_eq!(r.to_string(), input, "round trip");
        let parsed: Revision = input.parse()?;
        assert_eq!(parsed, r);
    }
    Ok(())
}

#[test]
fn bad_revisions_are_typed_errors() {
    assert!(matches!(Revision::parse(""), Err(RevisionError::Empty)));
    assert!(matches!(
        Revision::parse(&format!("@sha1:{SHA1}")),
        Err(RevisionError::EmptyNamedPointer { .. })
    ));
    for bad in [
        "main".to_string(),
        format!("main@{SHA1}"),
        format!("main@md5:{SHA1}"),
        "main@sha1:abc".to_string(),
        format!("main@sha1:{}", SHA1.to_uppercase()),
    ] {
        assert!(
            matches!(Revision::parse(&bad), Err(RevisionError::Digest { .. })),
            "{bad}"
        );
    }
}

#[test]
fn legacy_forms_table() -> Result<()> {
    let cases = [
        (format!("main/{SHA1}"), format!("main@sha1:{SHA1}")),
        (
            format!("feature/branch/{SHA1}"),
            format!("feature/branch@sha1:{SHA1}"),
        ),
        (format!("HEAD/{SHA1}"), format!("sha1:{SHA1}")),
        (format!("tag/{SHA256}"), format!("tag@sha256:{SHA256}")),
        (SHA256.to_string(), format!("sha256:{SHA256}")),
        (SHA1.to_string(), format!("sha1:{SHA1}")),
        // Already current, or not a legacy hash: unchanged.
        (format!("main@sha1:{SHA1}"), format!("main@sha1:{SHA1}")),
        ("6.1.0".to_string(), "6.1.0".to_string()),
        ("main/abc".to_string(), "main/abc".to_string()),
        (String::new(), String::new()),
    ];
    for (legacy, want) in cases {
        assert_eq!(transform_legacy_revision(&legacy), want, "{legacy}");
    }
    let r = Revision::parse_lenient(&format!("main/{SHA1}"))?;
    assert_eq!(r.to_string(), format!("main@sha1:{SHA1}"));
    Ok(())
}

#[test]
fn comparisons() -> Result<()> {
    let current = format!("main@sha1:{SHA1}");
    assert!(has_revision(&current, &format!("main/{SHA1}")));
    assert!(!has_revision(
        &current,
        &format!("refs/heads/main@sha1:{SHA1}")
    ));

    // Differs by digest only.
    assert!(!revision_differs(
        &current,
        &format!("refs/heads/main@sha1:{SHA1}")
    ));
    assert!(!revision_differs(&current, &format!("sha1:{SHA1}")));
    assert!(!revision_differs(&current, &format!("HEAD/{SHA1}")));
    assert!(revision_differs(&current, &format!("main@sha1:{SHA1_B}")));
    // Non-digest revisions (HelmChart versions) compare as text.
    assert!(!revision_differs("6.1.0", "6.1.0"));
    assert!(revision_differs("6.1.0", "6.1.1"));

    let d = Digest::new(Algorithm::Sha1, SHA1)?;
    let a = Revision::for_git_commit("refs/tags/v1.2.3", d.clone());
    assert_eq!(a.to_string(), format!("v1.2.3@sha1:{SHA1}"));
    assert!(!a.digest_differs(&Revision::new(None, d)));
    Ok(())
}
