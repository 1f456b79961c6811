//! The `x-kubernetes-validations` (CEL) rules of Flux's CRDs, evaluated in Rust on typed
//! objects so `parse_object` reports them before an API server would. Each rule gives the
//! same message as its CEL counterpart in the CRD; a test checks every CEL rule of the
//! generated CRDs is covered.

use crate::FluxObject;
use crate::helm::{ActionStrategy, ActionStrategyName};
use crate::image::ReflectionPolicy;
use crate::meta::KubeConfigReference;
use crate::notification::{ProviderType, ReceiverType};
use crate::source::{BucketProvider, BucketSTSProvider, GitProvider, HelmChartSourceKind};
use crate::validation::Violation;

const KUBECONFIG_EXACTLY_ONE: &str =
    "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified";

fn push(out: &mut Vec<Violation>, path: &str, holds: bool, message: &str) {
    if !holds {
        out.push(Violation {
            path: path.to_string(),
            reason: message.to_string(),
        });
    }
}

fn kube_config(out: &mut Vec<Violation>, kc: Option<&KubeConfigReference>) {
    if let Some(kc) = kc {
        let (cm, secret) = (kc.config_map_ref.is_some(), kc.secret_ref.is_some());
        push(out, "spec.kubeConfig", cm || secret, KUBECONFIG_EXACTLY_ONE);
        push(
            out,
            "spec.kubeConfig",
            !cm || !secret,
            KUBECONFIG_EXACTLY_ONE,
        );
    }
}

fn dns_subdomain(name: &str) -> bool {
    // ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
    !name.is_empty()
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && b.first().is_some_and(alnum)
                && b.last().is_some_and(alnum)
                && b.iter().all(|c| alnum(c) || *c == b'-')
        })
}

/// Evaluates the CEL rules of the object's CRD; returns every violated rule.
pub fn validate_rules(object: &FluxObject) -> Vec<Violation> {
    let mut out = Vec::new();
    match object {
        FluxObject::GitRepository(o) => {
            let s = &o.spec;
            push(
                &mut out,
                "spec",
                s.service_account_name.is_none()
                    || matches!(s.provider, Some(GitProvider::Azure | GitProvider::Aws)),
                "serviceAccountName can only be set when provider is 'azure' or 'aws'",
            );
        }
        FluxObject::Bucket(o) => {
            let s = &o.spec;
            let provider = s.provider.unwrap_or_default();
            let sts = s.sts.as_ref();
            let sts_provider = sts.map(|x| x.provider);
            push(
                &mut out,
                "spec",
                matches!(provider, BucketProvider::Aws | BucketProvider::Generic) || sts.is_none(),
                "STS configuration is only supported for the 'aws' and 'generic' Bucket providers",
            );
            push(
                &mut out,
                "spec",
                provider != BucketProvider::Aws
                    || sts.is_none()
                    || sts_provider == Some(BucketSTSProvider::Aws),
                "'aws' is the only supported STS provider for the 'aws' Bucket provider",
            );
            push(
                &mut out,
                "spec",
                provider != BucketProvider::Generic
                    || sts.is_none()
                    || sts_provider == Some(BucketSTSProvider::Ldap),
                "'ldap' is the only supported STS provider for the 'generic' Bucket provider",
            );
            push(
                &mut out,
                "spec",
                sts.is_none_or(|x| x.provider != BucketSTSProvider::Aws || x.secret_ref.is_none()),
                "spec.sts.secretRef is not required for the 'aws' STS provider",
            );
            push(
                &mut out,
                "spec",
                sts.is_none_or(|x| {
                    x.provider != BucketSTSProvider::Aws || x.cert_secret_ref.is_none()
                }),
                "spec.sts.certSecretRef is not required for the 'aws' STS provider",
            );
            push(
                &mut out,
                "spec",
                provider != BucketProvider::Generic || s.service_account_name.is_none(),
                "ServiceAccountName is not supported for the 'generic' Bucket provider",
            );
            push(
                &mut out,
                "spec",
                s.secret_ref.is_none() || s.service_account_name.is_none(),
                "cannot set both .spec.secretRef and .spec.serviceAccountName",
            );
        }
        FluxObject::HelmChart(o) => {
            let s = &o.spec;
            push(
                &mut out,
                "spec",
                s.verify.is_none() || s.source_ref.kind == HelmChartSourceKind::HelmRepository,
                "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
            );
        }
        FluxObject::ArtifactGenerator(o) => {
            let s = &o.spec;
            push(
                &mut out,
                "spec",
                s.path_pattern.as_deref().is_some_and(|p| !p.is_empty())
                    || s.artifacts.iter().all(|a| dns_subdomain(&a.name)),
                "artifact names must be valid Kubernetes object names when pathPattern is not set",
            );
        }
        FluxObject::Kustomization(o) => kube_config(&mut out, o.spec.kube_config.as_ref()),
        FluxObject::HelmRelease(o) => {
            let s = &o.spec;
            push(
                &mut out,
                "spec",
                s.chart.is_some() != s.chart_ref.is_some(),
                "either chart or chartRef must be set",
            );
            kube_config(&mut out, s.kube_config.as_ref());
            let install = s.install.as_ref().and_then(|i| i.strategy.as_ref());
            push(
                &mut out,
                "spec.install.strategy",
                install.is_none_or(|x: &ActionStrategy| {
                    x.retry_interval.is_none() || x.name != ActionStrategyName::RemediateOnFailure
                }),
                ".retryInterval cannot be set when .name is 'RemediateOnFailure'",
            );
            let upgrade = s.upgrade.as_ref().and_then(|u| u.strategy.as_ref());
            push(
                &mut out,
                "spec.upgrade.strategy",
                upgrade.is_none_or(|x: &ActionStrategy| {
                    x.retry_interval.is_none() || x.name == ActionStrategyName::RetryOnFailure
                }),
                ".retryInterval can only be set when .name is 'RetryOnFailure'",
            );
        }
        FluxObject::Provider(o) => {
            let s = &o.spec;
            push(
                &mut out,
                "spec",
                matches!(
                    s.type_,
                    ProviderType::Github
                        | ProviderType::Gitlab
                        | ProviderType::Gitea
                        | ProviderType::Bitbucketserver
                        | ProviderType::Bitbucket
                        | ProviderType::Azuredevops
                ) || s.commit_status_expr.is_none(),
                "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
            );
        }
        FluxObject::Receiver(o) => {
            let s = &o.spec;
            let oidc = s.type_ == ReceiverType::GenericOidc;
            let providers = s.oidc_providers.as_ref().map_or(0, Vec::len);
            push(
                &mut out,
                "spec",
                !oidc || providers > 0,
                "generic-oidc receivers must define at least one oidcProvider",
            );
            push(
                &mut out,
                "spec",
                oidc || providers == 0,
                "oidcProviders can only be set when type is generic-oidc",
            );
            push(
                &mut out,
                "spec",
                !oidc || s.secret_ref.is_none(),
                "secretRef cannot be set when type is generic-oidc",
            );
            push(
                &mut out,
                "spec",
                oidc || s.secret_ref.is_some(),
                "secretRef is required when type is not generic-oidc",
            );
        }
        FluxObject::ImagePolicy(o) => {
            let s = &o.spec;
            let always = s.digest_reflection_policy == Some(ReflectionPolicy::Always);
            push(
                &mut out,
                "spec",
                s.interval.is_none() || always,
                "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
            );
            push(
                &mut out,
                "spec",
                s.interval.is_some() || !always,
                "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
            );
        }
        FluxObject::OCIRepository(_)
        | FluxObject::HelmRepository(_)
        | FluxObject::ExternalArtifact(_)
        | FluxObject::Alert(_)
        | FluxObject::ImageRepository(_)
        | FluxObject::ImageUpdateAutomation(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::dns_subdomain;

    #[test]
    fn dns_subdomain_names() {
        for ok in ["a", "app-1", "a.b.c", "0abc"] {
            assert!(dns_subdomain(ok), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a..b", "a_b", "a.", "{name}"] {
            assert!(!dns_subdomain(bad), "{bad}");
        }
    }
}
