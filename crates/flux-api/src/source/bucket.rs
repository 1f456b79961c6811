//! Bucket (`source.toolkit.fluxcd.io/v1`).

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{GoDuration, TimeoutDuration};
use crate::meta::{Artifact, Condition, LocalObjectReference};

/// Desired state of a Bucket: which object-storage bucket (and prefix) to package.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "Bucket",
    plural = "buckets",
    singular = "bucket",
    namespaced,
    derive = "PartialEq",
    status = "BucketStatus",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    doc = "An object-storage bucket whose objects source-controller packages as an artifact.",
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".spec.endpoint"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    crates(
        kube_core = "::kube_core",
        k8s_openapi = "::k8s_openapi",
        schemars = "::schemars",
        serde = "::serde",
        serde_json = "::serde_json"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"message": "STS configuration is only supported for the 'aws' and 'generic' Bucket providers",
     "rule": "self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)"},
    {"message": "'aws' is the only supported STS provider for the 'aws' Bucket provider",
     "rule": "self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'"},
    {"message": "'ldap' is the only supported STS provider for the 'generic' Bucket provider",
     "rule": "self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'"},
    {"message": "spec.sts.secretRef is not required for the 'aws' STS provider",
     "rule": "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)"},
    {"message": "spec.sts.certSecretRef is not required for the 'aws' STS provider",
     "rule": "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)"},
    {"message": "ServiceAccountName is not supported for the 'generic' Bucket provider",
     "rule": "self.provider != 'generic' || !has(self.serviceAccountName)"},
    {"message": "cannot set both .spec.secretRef and .spec.serviceAccountName",
     "rule": "!has(self.secretRef) || !has(self.serviceAccountName)"}
]))]
pub struct BucketSpec {
    /// Bucket name.
    pub bucket_name: String,
    /// Secret with `tls.crt`, `tls.key` and/or `ca.crt` (generic provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Storage endpoint, `host[:port]` without scheme.
    pub endpoint: String,
    /// `.gitignore`-style exclusions over object keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Plain HTTP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// How often to list the bucket.
    pub interval: GoDuration,
    /// Server-side key prefix filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Storage provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "generic"))]
    pub provider: Option<BucketProvider>,
    /// Secret with the proxy `address`, `username` and `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Bucket region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Secret with static credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Service account for workload identity (not with the generic provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Security Token Service for temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts: Option<BucketSTSSpec>,
    /// Stop reconciling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Timeout of storage operations (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "60s"))]
    pub timeout: Option<TimeoutDuration>,
}

/// Object-storage provider of a Bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketProvider {
    /// S3-compatible API (e.g. MinIO).
    #[default]
    Generic,
    /// Amazon S3.
    Aws,
    /// Google Cloud Storage.
    Gcp,
    /// Azure Blob Storage.
    Azure,
}

/// Security Token Service of a Bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BucketSTSSpec {
    /// Secret with `ca.crt` / `tls.crt` / `tls.key` for the STS endpoint (ldap only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// STS endpoint address.
    #[schemars(regex(pattern = r"^(http|https)://.*$"))]
    pub endpoint: String,
    /// STS provider.
    pub provider: BucketSTSProvider,
    /// Secret with LDAP `username` and `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// STS provider of a Bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketSTSProvider {
    /// AWS STS.
    Aws,
    /// MinIO LDAP STS.
    Ldap,
}

/// Observed state of a Bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("default" = {"observedGeneration": -1}))]
pub struct BucketStatus {
    /// The last successfully stored artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Conditions of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Last handled `reconcile.fluxcd.io/requestedAt` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `spec.ignore` the artifact was built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// Download address of the latest artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
