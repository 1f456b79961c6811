//! The error type of every flux-helm operation.
//!
//! Messages follow Helm's wording where users (and CI greps) rely on it.

/// A failed step of loading, configuring or rendering a chart.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// Reading the chart from disk failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The chart's files are not a valid chart (archive layout, sizes, ...).
    #[error("{0}")]
    LoadChart(String),
    /// `Chart.yaml` is missing a field or has an invalid one.
    #[error("validation: {0}")]
    ChartMetadata(String),
    /// A YAML file (Chart.yaml, values.yaml, a -f file) does not parse.
    #[error("{context}: {reason}")]
    Yaml {
        /// Which file, in Helm's words (e.g. `cannot load values.yaml`).
        context: String,
        /// The parser's message.
        reason: String,
    },
    /// A `--set`-style flag does not parse.
    #[error("failed parsing --{flag} data: {reason}")]
    SetValues {
        /// `set`, `set-string`, `set-json` or `set-file`.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Coalescing values hit incompatible types.
    #[error("{0}")]
    Values(String),
    /// Dependencies declared in Chart.yaml are absent from `charts/`.
    #[error(
        "An error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        .0.join(", ")
    )]
    MissingDependencies(Vec<String>),
    /// The chart type cannot be installed (library charts).
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    /// `--kube-version` is not a version.
    #[error("invalid kube version '{version}': {reason}")]
    InvalidKubeVersion {
        /// The flag value.
        version: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The chart's `kubeVersion` constraint excludes the target version.
    #[error(
        "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {kube_version}"
    )]
    IncompatibleKubeVersion {
        /// The chart's constraint.
        constraint: String,
        /// The target version.
        kube_version: String,
    },
    /// Values violate `values.schema.json`.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// A `values.schema.json` is not a usable schema.
    #[error("{chart}: invalid values.schema.json: {reason}")]
    InvalidSchema {
        /// The chart.
        chart: String,
        /// Why.
        reason: String,
    },
    /// A template does not parse.
    #[error("parse error at ({location}): {message}")]
    TemplateParse {
        /// `template:line[:col]`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A template failed while executing (`required`, `fail`, type errors).
    #[error("execution error at ({location}): {message}")]
    TemplateExec {
        /// `template:line:col`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// Any other rendering failure, already in Helm's words.
    #[error("{0}")]
    Render(String),
    /// A rendered manifest is not YAML with a readable head.
    #[error("YAML parse error on {path}: {reason}")]
    ManifestParse {
        /// The template that produced it.
        path: String,
        /// The parser's message.
        reason: String,
    },
    /// `--show-only` names a template that rendered nothing.
    #[error("could not find template {0} in chart")]
    ShowOnlyMissing(String),
}
