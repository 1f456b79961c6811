//! The Flux kinds the CLI works with, as upstream's `apiType` names them.

use kube::discovery::ApiResource;

/// One Flux kind: its API coordinates and the words the CLI prints for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FluxKind {
    /// `GitRepository`.
    pub kind: &'static str,
    /// What messages call it: `source git`, `kustomization`.
    pub human_kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    /// The resource name in URLs: `gitrepositories`.
    pub plural: &'static str,
}

impl FluxKind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_owned(),
            version: self.version.to_owned(),
            api_version: self.api_version(),
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
        }
    }

    /// The CRD name: `gitrepositories.source.toolkit.fluxcd.io` (`secrets` for core kinds).
    pub fn crd_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

pub const GIT_REPOSITORY: FluxKind = FluxKind {
    kind: "GitRepository",
    human_kind: "source git",
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    plural: "gitrepositories",
};

pub const OCI_REPOSITORY: FluxKind = FluxKind {
    kind: "OCIRepository",
    human_kind: "source oci",
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    plural: "ocirepositories",
};

pub const BUCKET: FluxKind = FluxKind {
    kind: "Bucket",
    human_kind: "source bucket",
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    plural: "buckets",
};

pub const HELM_REPOSITORY: FluxKind = FluxKind {
    kind: "HelmRepository",
    human_kind: "source helm",
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    plural: "helmrepositories",
};

pub const HELM_CHART: FluxKind = FluxKind {
    kind: "HelmChart",
    human_kind: "source chart",
    group: "source.toolkit.fluxcd.io",
    version: "v1",
    plural: "helmcharts",
};

pub const KUSTOMIZATION: FluxKind = FluxKind {
    kind: "Kustomization",
    human_kind: "kustomization",
    group: "kustomize.toolkit.fluxcd.io",
    version: "v1",
    plural: "kustomizations",
};

pub const HELM_RELEASE: FluxKind = FluxKind {
    kind: "HelmRelease",
    human_kind: "helmrelease",
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    plural: "helmreleases",
};

/// Core Secrets (credentials for sources).
pub const SECRET: FluxKind = FluxKind {
    kind: "Secret",
    human_kind: "secret",
    group: "",
    version: "v1",
    plural: "secrets",
};

/// Every kind that `flux get all` and `flux uninstall` visit, in upstream's `get all` order.
pub const GET_ALL_SOURCES: [FluxKind; 5] = [
    OCI_REPOSITORY,
    BUCKET,
    GIT_REPOSITORY,
    HELM_REPOSITORY,
    HELM_CHART,
];

/// Finds a kind by its `Kind` name (case-insensitive), as `--for Kind/name` and
/// `--source Kind/name` give it.
pub fn by_kind(kind: &str) -> Option<FluxKind> {
    [
        GIT_REPOSITORY,
        OCI_REPOSITORY,
        BUCKET,
        HELM_REPOSITORY,
        HELM_CHART,
        KUSTOMIZATION,
        HELM_RELEASE,
    ]
    .into_iter()
    .find(|k| k.kind.eq_ignore_ascii_case(kind))
}
