//! The defaults Flux applies to optional spec fields (CRD defaults and controller defaults),
//! as accessors, so controllers never spell them twice.

use std::time::Duration;

use crate::helm::HelmReleaseSpec;
use crate::image::ImageRepositorySpec;
use crate::kustomize::KustomizationSpec;
use crate::notification::{ProviderSpec, ReceiverSpec};
use crate::source::{
    BucketSpec, GitRepositoryRef, GitRepositorySpec, HelmChartSpec, HelmRepositorySpec,
    OCIRepositorySpec,
};

/// Timeout of source operations when `spec.timeout` is unset.
pub const SOURCE_TIMEOUT: Duration = Duration::from_secs(60);
/// HelmRelease action timeout when `spec.timeout` is unset.
pub const HELM_RELEASE_TIMEOUT: Duration = Duration::from_secs(300);
/// Helm release versions kept when `spec.maxHistory` is unset.
pub const HELM_MAX_HISTORY: i64 = 5;
/// Receiver re-check interval when `spec.interval` is unset.
pub const RECEIVER_INTERVAL: Duration = Duration::from_secs(600);
/// Provider send timeout when `spec.timeout` is unset.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);
/// Branch checked out when a GitRepository has no `spec.ref`.
pub const GIT_DEFAULT_BRANCH: &str = "master";
/// Chart version constraint when `spec.version` is unset.
pub const CHART_VERSION_ANY: &str = "*";
/// ImageRepository tag exclusions when `spec.exclusionList` is unset.
pub const IMAGE_EXCLUSION_LIST: &[&str] = &[r"^.*\.sig$"];

impl GitRepositorySpec {
    /// `spec.timeout`, default 60s.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout.as_ref().map_or(SOURCE_TIMEOUT, |t| t.to_std())
    }

    /// `spec.ref`, default branch `master`.
    pub fn reference_or_default(&self) -> GitRepositoryRef {
        self.reference.clone().unwrap_or_else(|| GitRepositoryRef {
            branch: Some(GIT_DEFAULT_BRANCH.into()),
            ..GitRepositoryRef::default()
        })
    }
}

impl OCIRepositorySpec {
    /// `spec.timeout`, default 60s.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout.as_ref().map_or(SOURCE_TIMEOUT, |t| t.to_std())
    }
}

impl BucketSpec {
    /// `spec.timeout`, default 60s.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout.as_ref().map_or(SOURCE_TIMEOUT, |t| t.to_std())
    }
}

impl HelmRepositorySpec {
    /// `spec.timeout`, default 60s.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout.as_ref().map_or(SOURCE_TIMEOUT, |t| t.to_std())
    }
}

impl HelmChartSpec {
    /// `spec.version`, default `*`.
    pub fn version_or_default(&self) -> &str {
        self.version.as_deref().unwrap_or(CHART_VERSION_ANY)
    }
}

impl KustomizationSpec {
    /// `spec.timeout`, default `spec.interval`.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout.as_ref().unwrap_or(&self.interval).to_std()
    }

    /// `spec.retryInterval`, default `spec.interval`.
    pub fn retry_interval_or_default(&self) -> Duration {
        self.retry_interval
            .as_ref()
            .unwrap_or(&self.interval)
            .to_std()
    }
}

impl HelmReleaseSpec {
    /// `spec.timeout`, default 5m.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout
            .as_ref()
            .map_or(HELM_RELEASE_TIMEOUT, |t| t.to_std())
    }

    /// `spec.maxHistory`, default 5 (0 means unlimited).
    pub fn max_history_or_default(&self) -> i64 {
        self.max_history.unwrap_or(HELM_MAX_HISTORY)
    }
}

impl ReceiverSpec {
    /// `spec.interval`, default 10m.
    pub fn interval_or_default(&self) -> Duration {
        self.interval
            .as_ref()
            .map_or(RECEIVER_INTERVAL, |i| i.to_std())
    }
}

impl ProviderSpec {
    /// `spec.timeout`, default 15s.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout
            .as_ref()
            .map_or(PROVIDER_TIMEOUT, |t| t.to_std())
    }
}

impl ImageRepositorySpec {
    /// `spec.timeout`, default `spec.interval`.
    pub fn timeout_or_default(&self) -> Duration {
        self.timeout
            .as_ref()
            .map_or_else(|| self.interval.to_std(), |t| t.to_std())
    }

    /// `spec.exclusionList`, default `["^.*\.sig$"]`.
    pub fn exclusion_list_or_default(&self) -> Vec<String> {
        self.exclusion_list
            .clone()
            .unwrap_or_else(|| IMAGE_EXCLUSION_LIST.iter().map(|s| s.to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FluxObject;

    fn parse(yaml: &str) -> Result<FluxObject, String> {
        let value = flux_object::yaml::parse_document(yaml).map_err(|e| e.to_string())?;
        crate::parse_object(&value).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_upstream() -> Result<(), String> {
        let FluxObject::GitRepository(repo) = parse(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a}\n\
             spec: {interval: 1m, url: 'https://example.com/a'}\n",
        )?
        else {
            return Err("not a GitRepository".into());
        };
        assert_eq!(repo.spec.timeout_or_default(), SOURCE_TIMEOUT);
        assert_eq!(
            repo.spec.reference_or_default().branch.as_deref(),
            Some("master")
        );

        let FluxObject::Kustomization(ks) = parse(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\n\
             spec: {interval: 10m, retryInterval: 2m, prune: true, sourceRef: {kind: GitRepository, name: a}}\n",
        )?
        else {
            return Err("not a Kustomization".into());
        };
        assert_eq!(ks.spec.timeout_or_default(), Duration::from_secs(600));
        assert_eq!(
            ks.spec.retry_interval_or_default(),
            Duration::from_secs(120)
        );

        let FluxObject::ImageRepository(ir) = parse(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: a}\n\
             spec: {interval: 5m, image: ghcr.io/a/b}\n",
        )?
        else {
            return Err("not an ImageRepository".into());
        };
        assert_eq!(ir.spec.timeout_or_default(), Duration::from_secs(300));
        assert_eq!(
            ir.spec.exclusion_list_or_default(),
            vec![r"^.*\.sig$".to_string()]
        );
        Ok(())
    }
}
