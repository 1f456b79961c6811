//! Bad input is a clear error naming the field path and the reason.

use flux_api::{FluxObject, ParseError, parse_object};

const GIT_REPOSITORY: &str = r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 5m
  url: https://github.com/stefanprodan/podinfo
  ref:
    branch: master
"#;

/// Parses the GitRepository above after replacing `from` with `to`.
fn parse_edited(from: &str, to: &str) -> anyhow::Result<Result<FluxObject, ParseError>> {
    anyhow::ensure!(
        GIT_REPOSITORY.contains(from),
        "test bug: {from:?} not in the fixture"
    );
    let yaml = GIT_REPOSITORY.replace(from, to);
    let value = flux_object::yaml::parse_document(&yaml)?;
    Ok(parse_object(&value))
}

fn field_error(result: Result<FluxObject, ParseError>) -> anyhow::Result<(String, String, String)> {
    match result {
        Err(e @ ParseError::InvalidField { .. }) => {
            let text = e.to_string();
            let ParseError::InvalidField { path, reason, .. } = e else {
                unreachable!()
            };
            Ok((path, reason, text))
        }
        other => anyhow::bail!("expected an InvalidField error, got {other:?}"),
    }
}

#[test]
fn valid_object_parses() -> anyhow::Result<()> {
    let obj = parse_edited("5m", "5m")??;
    assert_eq!(obj.kind(), "GitRepository");
    assert_eq!(obj.name(), "podinfo");
    assert_eq!(obj.namespace(), Some("flux-system"));
    let FluxObject::GitRepository(repo) = obj else {
        anyhow::bail!("not a GitRepository")
    };
    assert_eq!(
        repo.spec.interval.to_std(),
        std::time::Duration::from_secs(300)
    );
    Ok(())
}

#[test]
fn unknown_field_names_its_path() -> anyhow::Result<()> {
    let (path, reason, text) = field_error(parse_edited("  url:", "  urll:")?)?;
    assert_eq!(path, "spec.urll");
    assert!(reason.contains("unknown field"), "{reason}");
    assert!(reason.contains("did you mean `url`?"), "{reason}");
    assert!(
        text.starts_with("GitRepository flux-system/podinfo: spec.urll: unknown field"),
        "{text}"
    );
    Ok(())
}

#[test]
fn unknown_nested_field_names_its_path() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited("branch: master", "brunch: master")?)?;
    assert_eq!(path, "spec.ref.brunch");
    assert!(reason.contains("did you mean `branch`?"), "{reason}");
    Ok(())
}

#[test]
fn wrong_type_names_its_path() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited("interval: 5m", "interval: 5")?)?;
    assert_eq!(path, "spec.interval");
    assert!(
        reason.contains("invalid type: integer `5`, expected a string"),
        "{reason}"
    );
    Ok(())
}

#[test]
fn bad_duration_names_its_path() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited("interval: 5m", "interval: 5 minutes")?)?;
    assert_eq!(path, "spec.interval");
    assert!(
        reason.contains(r#"invalid duration "5 minutes""#),
        "{reason}"
    );
    // The no-hours variant of source timeouts rejects `h`.
    let (path, reason, _) =
        field_error(parse_edited("interval: 5m", "interval: 5m\n  timeout: 1h")?)?;
    assert_eq!(path, "spec.timeout");
    assert!(reason.contains("invalid duration \"1h\""), "{reason}");
    Ok(())
}

#[test]
fn invalid_enum_names_its_path_and_choices() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited(
        "interval: 5m",
        "interval: 5m\n  provider: gitlab",
    )?)?;
    assert_eq!(path, "spec.provider");
    assert!(reason.contains("unknown variant `gitlab`"), "{reason}");
    assert!(
        reason.contains("`generic`, `aws`, `azure`, `github`"),
        "{reason}"
    );
    Ok(())
}

#[test]
fn missing_required_field_names_its_path() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited(
        "  url: https://github.com/stefanprodan/podinfo\n",
        "",
    )?)?;
    assert_eq!(path, "spec.url");
    assert_eq!(reason, "required field is missing");
    let (path, _, _) = field_error(parse_edited(
        "interval: 5m",
        "interval: 5m\n  include:\n  - toPath: x",
    )?)?;
    assert_eq!(path, "spec.include[0].repository");
    Ok(())
}

#[test]
fn unknown_top_level_field_is_rejected() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited("spec:", "sepc: {}\nspec:")?)?;
    assert_eq!(path, "sepc");
    assert_eq!(reason, "unknown field");
    Ok(())
}

#[test]
fn old_and_unknown_api_versions_are_rejected() -> anyhow::Result<()> {
    let old = parse_edited(
        "source.toolkit.fluxcd.io/v1",
        "source.toolkit.fluxcd.io/v1beta2",
    )?;
    match old {
        Err(ParseError::UnservedVersion { served, .. }) => {
            assert_eq!(served, "source.toolkit.fluxcd.io/v1")
        }
        other => anyhow::bail!("expected UnservedVersion, got {other:?}"),
    }
    let unknown = parse_edited("kind: GitRepository", "kind: GitRepo")?;
    assert!(
        matches!(unknown, Err(ParseError::UnknownKind { .. })),
        "{unknown:?}"
    );
    let not_object = parse_object(&serde_json::json!(["a"]));
    assert!(
        matches!(not_object, Err(ParseError::NotAnObject { .. })),
        "{not_object:?}"
    );
    let no_kind = parse_object(&serde_json::json!({"apiVersion": "v1"}));
    assert_eq!(no_kind, Err(ParseError::MissingTypeField { field: "kind" }));
    Ok(())
}

#[test]
fn every_served_kind_parses_a_minimal_object() -> anyhow::Result<()> {
    let minimal: &[(&str, serde_json::Value)] = &[
        (
            "GitRepository",
            serde_json::json!({"interval": "1m", "url": "https://example.com/repo"}),
        ),
        (
            "OCIRepository",
            serde_json::json!({"interval": "1m", "url": "oci://ghcr.io/org/repo"}),
        ),
        (
            "Bucket",
            serde_json::json!({"interval": "1m", "bucketName": "b", "endpoint": "minio:9000"}),
        ),
        (
            "HelmRepository",
            serde_json::json!({"url": "https://charts.example.com"}),
        ),
        (
            "HelmChart",
            serde_json::json!({"chart": "podinfo", "interval": "1m",
            "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}),
        ),
        ("ExternalArtifact", serde_json::json!({})),
        (
            "ArtifactGenerator",
            serde_json::json!({
            "sources": [{"alias": "repo", "kind": "GitRepository", "name": "repo"}],
            "artifacts": [{"name": "out", "copy": [{"from": "@repo/**", "to": "@artifact/"}]}]}),
        ),
        (
            "Kustomization",
            serde_json::json!({"interval": "10m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}),
        ),
        (
            "HelmRelease",
            serde_json::json!({"interval": "10m",
            "chartRef": {"kind": "OCIRepository", "name": "podinfo"}, "values": {"replicas": 2}}),
        ),
        (
            "Provider",
            serde_json::json!({"type": "slack", "channel": "general"}),
        ),
        (
            "Alert",
            serde_json::json!({"providerRef": {"name": "slack"},
            "eventSources": [{"kind": "Kustomization", "name": "*"}]}),
        ),
        (
            "Receiver",
            serde_json::json!({"type": "github", "secretRef": {"name": "token"},
            "resources": [{"kind": "GitRepository", "name": "flux-system"}]}),
        ),
        (
            "ImageRepository",
            serde_json::json!({"image": "ghcr.io/org/app", "interval": "5m"}),
        ),
        (
            "ImagePolicy",
            serde_json::json!({"imageRepositoryRef": {"name": "app"},
            "policy": {"semver": {"range": ">=1.0.0"}}}),
        ),
        (
            "ImageUpdateAutomation",
            serde_json::json!({"interval": "30m",
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
            "git": {"commit": {"author": {"email": "bot@example.com"}}}}),
        ),
    ];
    assert_eq!(minimal.len(), flux_api::SERVED_KINDS.len());
    for (kind, spec) in minimal {
        let (api_version, _) = flux_api::SERVED_KINDS
            .iter()
            .find(|(_, k)| k == kind)
            .ok_or_else(|| anyhow::anyhow!("{kind} not served"))?;
        let value = serde_json::json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": {"name": "x", "namespace": "default"}, "spec": spec,
        });
        let obj = parse_object(&value).map_err(|e| anyhow::anyhow!("{kind}: {e}"))?;
        assert_eq!(obj.kind(), *kind);
        assert_eq!(obj.to_value()?, value, "{kind} round trip");
    }
    Ok(())
}

#[test]
fn schema_constraints_name_their_path() -> anyhow::Result<()> {
    let (path, reason, _) = field_error(parse_edited(
        "https://github.com/stefanprodan/podinfo",
        "git@github.com:stefanprodan/podinfo.git",
    )?)?;
    assert_eq!(path, "spec.url");
    assert!(
        reason.contains("does not match ^(http|https|ssh)://.*$"),
        "{reason}"
    );
    Ok(())
}
