//! `source.extensions.fluxcd.io/v1beta1`: ArtifactGenerator (source-watcher).

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::{CommonMetadata, Condition};

/// The API group of ArtifactGenerator.
pub const GROUP: &str = "source.extensions.fluxcd.io";
/// The served (and stored) version.
pub const VERSION: &str = "v1beta1";
/// The finalizer of ArtifactGenerator.
pub const FINALIZER: &str = "source.extensions.fluxcd.io/finalizer";
/// Annotation (value `disabled`) that suspends an ArtifactGenerator.
pub const RECONCILE_ANNOTATION: &str = "source.extensions.fluxcd.io/reconcile";

/// Desired state of an ArtifactGenerator: compose ExternalArtifacts from source artifacts.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.extensions.fluxcd.io",
    version = "v1beta1",
    kind = "ArtifactGenerator",
    plural = "artifactgenerators",
    singular = "artifactgenerator",
    namespaced,
    derive = "PartialEq",
    status = "ArtifactGeneratorStatus",
    shortname = "ag",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    doc = "A generator of ExternalArtifacts from the artifacts of other sources.",
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
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "artifact names must be valid Kubernetes object names when pathPattern is not set",
    "rule": "has(self.pathPattern) && size(self.pathPattern) > 0 || self.artifacts.all(a, a.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'))"
}]))]
pub struct ArtifactGeneratorSpec {
    /// Output artifacts.
    #[schemars(length(min = 1, max = 1000))]
    pub artifacts: Vec<OutputArtifact>,
    /// Labels and annotations stamped on the generated ExternalArtifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Fan-out pattern `@<alias>/<pattern>`: one artifact per matched directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 1024),
        regex(pattern = r"^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$")
    )]
    pub path_pattern: Option<String>,
    /// Input sources.
    #[schemars(length(min = 1, max = 1000))]
    pub sources: Vec<SourceReference>,
}

/// An output artifact of an ArtifactGenerator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputArtifact {
    /// Copy operations, in order.
    #[schemars(length(min = 1))]
    pub copy: Vec<CopyOperation>,
    /// Name of the generated ExternalArtifact.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `@alias` whose origin revision is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 64),
        regex(pattern = r"^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$")
    )]
    pub origin_revision: Option<String>,
    /// `@alias` whose revision the artifact takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 64),
        regex(pattern = r"^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$")
    )]
    pub revision: Option<String>,
}

/// One copy operation into an output artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopyOperation {
    /// Globs excluded from the copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub exclude: Option<Vec<String>>,
    /// Source `@alias/glob`.
    #[schemars(
        length(min = 1, max = 1024),
        regex(pattern = r"^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$")
    )]
    pub from: String,
    /// How to copy (default `Overwrite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<CopyStrategy>,
    /// Destination `@artifact/path`.
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^@(artifact)/(.*)$"))]
    pub to: String,
}

/// Copy strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum CopyStrategy {
    /// Later copies overwrite earlier files.
    #[default]
    Overwrite,
    /// Deep-merge YAML files (Helm values semantics).
    Merge,
    /// Extract `.tgz` / `.tar.gz` archives.
    Extract,
}

/// Kinds an ArtifactGenerator can read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)]
pub enum GeneratorSourceKind {
    Bucket,
    GitRepository,
    OCIRepository,
    HelmChart,
    ExternalArtifact,
}

/// An input source of an ArtifactGenerator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceReference {
    /// Alias used in `@alias/…` paths.
    #[schemars(length(max = 63), regex(pattern = r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$"))]
    pub alias: String,
    /// Kind of the source.
    pub kind: GeneratorSourceKind,
    /// Name of the source.
    #[schemars(length(max = 253), regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"))]
    pub name: String,
    /// Namespace of the source (default: the generator's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: Option<String>,
}

/// Observed state of an ArtifactGenerator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactGeneratorStatus {
    /// Conditions of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Generated artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Vec<ExternalArtifactReference>>,
    /// Last handled `reconcile.fluxcd.io/requestedAt` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Digest of the source revisions of the last build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_sources_digest: Option<String>,
}

/// A generated ExternalArtifact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactReference {
    /// Digest of the artifact.
    pub digest: String,
    /// File name of the artifact.
    pub filename: String,
    /// Name of the ExternalArtifact.
    pub name: String,
    /// Namespace of the ExternalArtifact.
    pub namespace: String,
}
