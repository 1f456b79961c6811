//! The CEL rules of the CRDs, evaluated by `parse_object`: one violating object per rule,
//! and a check that every rule of the generated CRDs has a case here.

use std::collections::BTreeSet;

use serde_json::{Value, json};

/// (kind, spec, path, message) — `spec` violates exactly the rule with `message`.
fn cases() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let git = json!({"interval": "1m", "url": "https://example.com/a"});
    let bucket = json!({"interval": "1m", "bucketName": "b", "endpoint": "s3.example.com"});
    let ks = json!({"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "a"}});
    let hr = json!({"interval": "1m", "chartRef": {"kind": "OCIRepository", "name": "a"}});
    let receiver = json!({"type": "github", "secretRef": {"name": "t"}, "resources": [{"kind": "GitRepository", "name": "a"}]});
    let oidc = json!([{"issuerURL": "https://issuer", "validations": [{"expression": "true", "message": "m"}]}]);
    let policy =
        json!({"imageRepositoryRef": {"name": "a"}, "policy": {"semver": {"range": "1.x"}}});
    let with = |base: &Value, patch: Value| {
        let mut v = base.clone();
        if let (Some(obj), Some(p)) = (v.as_object_mut(), patch.as_object()) {
            for (k, x) in p {
                if x.is_null() {
                    obj.remove(k);
                } else {
                    obj.insert(k.clone(), x.clone());
                }
            }
        }
        v
    };
    vec![
        (
            "GitRepository",
            with(&git, json!({"serviceAccountName": "sa"})),
            "spec",
            "serviceAccountName can only be set when provider is 'azure' or 'aws'",
        ),
        (
            "Bucket",
            with(
                &bucket,
                json!({"provider": "gcp", "sts": {"provider": "aws", "endpoint": "https://sts"}}),
            ),
            "spec",
            "STS configuration is only supported for the 'aws' and 'generic' Bucket providers",
        ),
        (
            "Bucket",
            with(
                &bucket,
                json!({"provider": "aws", "sts": {"provider": "ldap", "endpoint": "https://sts"}}),
            ),
            "spec",
            "'aws' is the only supported STS provider for the 'aws' Bucket provider",
        ),
        (
            "Bucket",
            with(
                &bucket,
                json!({"sts": {"provider": "aws", "endpoint": "https://sts"}}),
            ),
            "spec",
            "'ldap' is the only supported STS provider for the 'generic' Bucket provider",
        ),
        (
            "Bucket",
            with(
                &bucket,
                json!({"provider": "aws", "sts": {"provider": "aws", "endpoint": "https://sts", "secretRef": {"name": "s"}}}),
            ),
            "spec",
            "spec.sts.secretRef is not required for the 'aws' STS provider",
        ),
        (
            "Bucket",
            with(
                &bucket,
                json!({"provider": "aws", "sts": {"provider": "aws", "endpoint": "https://sts", "certSecretRef": {"name": "s"}}}),
            ),
            "spec",
            "spec.sts.certSecretRef is not required for the 'aws' STS provider",
        ),
        (
            "Bucket",
            with(&bucket, json!({"serviceAccountName": "sa"})),
            "spec",
            "ServiceAccountName is not supported for the 'generic' Bucket provider",
        ),
        (
            "Bucket",
            with(
                &bucket,
                json!({"provider": "aws", "serviceAccountName": "sa", "secretRef": {"name": "s"}}),
            ),
            "spec",
            "cannot set both .spec.secretRef and .spec.serviceAccountName",
        ),
        (
            "HelmChart",
            json!({"chart": "./c", "interval": "1m", "sourceRef": {"kind": "GitRepository", "name": "a"},
            "verify": {"provider": "cosign"}}),
            "spec",
            "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
        ),
        (
            "ArtifactGenerator",
            json!({"sources": [{"alias": "a", "kind": "GitRepository", "name": "a"}],
            "artifacts": [{"name": "Not_DNS", "copy": [{"from": "@a/x", "to": "@artifact/x"}]}]}),
            "spec",
            "artifact names must be valid Kubernetes object names when pathPattern is not set",
        ),
        (
            "Kustomization",
            with(&ks, json!({"kubeConfig": {}})),
            "spec.kubeConfig",
            "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified",
        ),
        (
            "HelmRelease",
            with(
                &hr,
                json!({"kubeConfig": {"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}}),
            ),
            "spec.kubeConfig",
            "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef must be specified",
        ),
        (
            "HelmRelease",
            with(
                &hr,
                json!({"chart": {"spec": {"chart": "c", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}}),
            ),
            "spec",
            "either chart or chartRef must be set",
        ),
        (
            "HelmRelease",
            with(
                &hr,
                json!({"install": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}}),
            ),
            "spec.install.strategy",
            ".retryInterval cannot be set when .name is 'RemediateOnFailure'",
        ),
        (
            "HelmRelease",
            with(
                &hr,
                json!({"upgrade": {"strategy": {"name": "RemediateOnFailure", "retryInterval": "1m"}}}),
            ),
            "spec.upgrade.strategy",
            ".retryInterval can only be set when .name is 'RetryOnFailure'",
        ),
        (
            "Provider",
            json!({"type": "slack", "commitStatusExpr": "'ctx'"}),
            "spec",
            "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
        ),
        (
            "Receiver",
            with(
                &receiver,
                json!({"type": "generic-oidc", "secretRef": null}),
            ),
            "spec",
            "generic-oidc receivers must define at least one oidcProvider",
        ),
        (
            "Receiver",
            with(&receiver, json!({"oidcProviders": oidc})),
            "spec",
            "oidcProviders can only be set when type is generic-oidc",
        ),
        (
            "Receiver",
            with(
                &receiver,
                json!({"type": "generic-oidc", "oidcProviders": oidc}),
            ),
            "spec",
            "secretRef cannot be set when type is generic-oidc",
        ),
        (
            "Receiver",
            with(&receiver, json!({"secretRef": null})),
            "spec",
            "secretRef is required when type is not generic-oidc",
        ),
        (
            "ImagePolicy",
            with(&policy, json!({"interval": "5m"})),
            "spec",
            "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
        ),
        (
            "ImagePolicy",
            with(&policy, json!({"digestReflectionPolicy": "Always"})),
            "spec",
            "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
        ),
    ]
}

fn object(kind: &str, spec: &Value) -> anyhow::Result<Value> {
    let (api_version, _) = flux_api::SERVED_KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .ok_or_else(|| anyhow::anyhow!("{kind} not served"))?;
    Ok(json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": spec}))
}

#[test]
fn each_cel_rule_rejects_its_violation() -> anyhow::Result<()> {
    for (kind, spec, path, message) in cases() {
        match flux_api::parse_object(&object(kind, &spec)?) {
            Err(flux_api::ParseError::InvalidField {
                path: p, reason, ..
            }) => {
                assert_eq!(p, path, "{kind}: {message}");
                assert_eq!(reason, message, "{kind} {spec}");
            }
            other => {
                anyhow::bail!("{kind} {spec}: expected the rule {message:?} to fail, got {other:?}")
            }
        }
    }
    Ok(())
}

#[test]
fn every_cel_rule_of_the_crds_has_a_case() -> anyhow::Result<()> {
    fn collect(node: &Value, kind: &str, out: &mut BTreeSet<(String, String)>) {
        if let Some(rules) = node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
        {
            for r in rules {
                let m = r.get("message").and_then(Value::as_str).unwrap_or_default();
                out.insert((kind.to_string(), m.to_string()));
            }
        }
        for key in ["properties", "additionalProperties", "items"] {
            match node.get(key) {
                Some(Value::Object(m)) if key == "properties" => {
                    m.values().for_each(|v| collect(v, kind, out))
                }
                Some(v @ Value::Object(_)) => collect(v, kind, out),
                _ => {}
            }
        }
    }
    let mut rules = BTreeSet::new();
    for crd in flux_api::crds::all_crds()? {
        let kind = crd
            .pointer("/spec/names/kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(schema) = crd.pointer("/spec/versions/0/schema/openAPIV3Schema") {
            collect(schema, &kind, &mut rules);
        }
    }
    let covered: BTreeSet<(String, String)> = cases()
        .into_iter()
        .map(|(k, _, _, m)| (k.to_string(), m.to_string()))
        .collect();
    let missing: Vec<_> = rules.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "CEL rules without a Rust check/case: {missing:?}"
    );
    assert_eq!(
        rules.len(),
        22,
        "number of distinct (kind, rule message) pairs changed"
    );
    Ok(())
}
