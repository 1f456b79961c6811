//! The rendering engine: every template of a chart and its subcharts parsed
//! into one set (names `<chart>/templates/x.yaml`, subcharts under
//! `<parent>/charts/<sub>/templates/...`), executed with Helm's built-in
//! objects (`.Values`, `.Release`, `.Chart`, `.Capabilities`, `.Template`,
//! `.Files`, `.Subcharts`) and Helm's functions (`include`, `tpl`,
//! `required`, `fail`, `lookup`, `toYaml`, ...) on top of Sprig.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use gotemplate::{CallContext, FuncError, FuncMap, Object, Templates, Value as TValue};
use serde_json::{Map, Value};

use crate::chart::{Chart, Metadata};
use crate::error::HelmError;
use crate::go_yaml;
use crate::manifest::HelmCompat;
use crate::path_match::FilesGlob;
use crate::yaml_values;

/// Deepest nesting of one template name in `include` (Helm's limit).
pub const MAX_INCLUDE_RECURSION: usize = 1000;

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

/// `.Capabilities.KubeVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// `v1.33.0`.
    pub version: String,
    /// `1`.
    pub major: String,
    /// `33`.
    pub minor: String,
}

impl KubeVersion {
    /// Parses `--kube-version` as Helm does (lenient semver, `v` added).
    pub fn parse(s: &str) -> Result<KubeVersion, HelmError> {
        let v =
            crate::semver_range::Version::parse(s).map_err(|e| HelmError::InvalidKubeVersion {
                version: s.to_string(),
                reason: e.to_string(),
            })?;
        Ok(KubeVersion {
            version: format!("v{v}"),
            major: v.major.to_string(),
            minor: v.minor.to_string(),
        })
    }

    /// The default of `helm template` for a Helm version.
    pub fn default_for(compat: HelmCompat) -> KubeVersion {
        let minor = match compat {
            HelmCompat::V3 => "32",
            HelmCompat::V4 => "35",
        };
        KubeVersion {
            version: format!("v1.{minor}.0"),
            major: "1".into(),
            minor: minor.into(),
        }
    }
}

/// The API versions `helm template` reports by default (Helm 3.17, client-go 0.32).
pub const DEFAULT_API_VERSIONS_V3: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1alpha1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1alpha1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The API versions `helm template` reports by default (Helm 4.1, client-go 0.35).
pub const DEFAULT_API_VERSIONS_V4: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// What the templates see as `.Release` and `.Capabilities`.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Release name.
    pub release_name: String,
    /// Release namespace.
    pub namespace: String,
    /// Revision (1 for install).
    pub revision: i64,
    /// `.Release.IsInstall`.
    pub is_install: bool,
    /// `.Release.IsUpgrade`.
    pub is_upgrade: bool,
    /// `.Capabilities.KubeVersion`.
    pub kube_version: KubeVersion,
    /// `.Capabilities.APIVersions` (defaults plus `--api-versions`).
    pub api_versions: Vec<String>,
    /// Helm flavour (`.Capabilities.HelmVersion`).
    pub compat: HelmCompat,
}

impl RenderContext {
    /// `helm template` defaults for `release` in `namespace`.
    pub fn new(release: &str, namespace: &str, compat: HelmCompat) -> RenderContext {
        let defaults = match compat {
            HelmCompat::V3 => DEFAULT_API_VERSIONS_V3,
            HelmCompat::V4 => DEFAULT_API_VERSIONS_V4,
        };
        RenderContext {
            release_name: release.to_string(),
            namespace: namespace.to_string(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
            kube_version: KubeVersion::default_for(compat),
            api_versions: defaults.iter().map(|s| s.to_string()).collect(),
            compat,
        }
    }
}

/// JSON (with Helm's int/float distinction) to a template value.
pub fn to_template_value(v: &Value) -> TValue {
    match v {
        Value::Null => TValue::Nil,
        Value::Bool(b) => TValue::Bool(*b),
        Value::Number(n) => {
            if n.is_f64() {
                TValue::Float(n.as_f64().unwrap_or(0.0))
            } else if let Some(i) = n.as_i64() {
                TValue::Int(i)
            } else {
                TValue::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => TValue::string(s.as_str()),
        Value::Array(a) => TValue::list(a.iter().map(to_template_value).collect()),
        Value::Object(m) => TValue::map(
            m.iter()
                .map(|(k, v)| (k.clone(), to_template_value(v)))
                .collect(),
        ),
    }
}

fn map_value(m: &Map<String, Value>) -> TValue {
    TValue::map(
        m.iter()
            .map(|(k, v)| (k.clone(), to_template_value(v)))
            .collect(),
    )
}

fn strings(v: &[String]) -> TValue {
    TValue::list(v.iter().map(|s| TValue::string(s.as_str())).collect())
}

fn s(v: &str) -> TValue {
    TValue::string(v)
}

/// `.Chart`: Chart.yaml fields under Helm's Go names, plus `IsRoot`.
pub fn chart_object(md: &Metadata, is_root: bool) -> TValue {
    let mut m = gotemplate::Map::new();
    m.insert("Name".into(), s(&md.name));
    m.insert("Home".into(), s(&md.home));
    m.insert("Sources".into(), strings(&md.sources));
    m.insert("Version".into(), s(&md.version));
    m.insert("Description".into(), s(&md.description));
    m.insert("Keywords".into(), strings(&md.keywords));
    m.insert(
        "Maintainers".into(),
        TValue::list(
            md.maintainers
                .iter()
                .map(|mt| {
                    let mut x = gotemplate::Map::new();
                    x.insert("Name".into(), s(&mt.name));
                    x.insert("Email".into(), s(&mt.email));
                    x.insert("URL".into(), s(&mt.url));
                    TValue::map(x)
                })
                .collect(),
        ),
    );
    m.insert("Icon".into(), s(&md.icon));
    m.insert("APIVersion".into(), s(&md.api_version));
    m.insert("Condition".into(), s(&md.condition));
    m.insert("Tags".into(), s(&md.tags));
    m.insert("AppVersion".into(), s(&md.app_version));
    m.insert("Deprecated".into(), TValue::Bool(md.deprecated));
    m.insert(
        "Annotations".into(),
        TValue::map(
            md.annotations
                .iter()
                .map(|(k, v)| (k.clone(), s(v)))
                .collect(),
        ),
    );
    m.insert("KubeVersion".into(), s(&md.kube_version));
    m.insert(
        "Dependencies".into(),
        TValue::list(
            md.dependencies
                .iter()
                .map(|d| {
                    let mut x = gotemplate::Map::new();
                    x.insert("Name".into(), s(&d.name));
                    x.insert("Version".into(), s(&d.version));
                    x.insert("Repository".into(), s(&d.repository));
                    x.insert("Condition".into(), s(&d.condition));
                    x.insert("Tags".into(), strings(&d.tags));
                    x.insert("Enabled".into(), TValue::Bool(d.enabled));
                    x.insert(
                        "ImportValues".into(),
                        TValue::list(d.import_values.iter().map(to_template_value).collect()),
                    );
                    x.insert("Alias".into(), s(&d.alias));
                    TValue::map(x)
                })
                .collect(),
        ),
    );
    m.insert("Type".into(), s(&md.chart_type));
    m.insert("IsRoot".into(), TValue::Bool(is_root));
    TValue::map(m)
}

/// `.Files`: the chart's non-template files.
#[derive(Debug, Clone, Default)]
pub struct FilesObject {
    files: Arc<BTreeMap<String, Arc<[u8]>>>,
}

impl FilesObject {
    /// Wraps a chart's files.
    pub fn new(files: BTreeMap<String, Arc<[u8]>>) -> Self {
        FilesObject {
            files: Arc::new(files),
        }
    }

    fn base_name(p: &str) -> &str {
        p.rsplit('/').next().unwrap_or(p)
    }

    fn as_config(&self) -> String {
        let mut m = Map::new();
        for (k, v) in self.files.iter() {
            m.insert(
                Self::base_name(k).to_string(),
                Value::String(String::from_utf8_lossy(v).into_owned()),
            );
        }
        go_yaml::to_yaml(&Value::Object(m))
            .trim_end_matches('\n')
            .to_string()
    }

    fn as_secrets(&self) -> String {
        use base64::Engine as _;
        let mut m = Map::new();
        for (k, v) in self.files.iter() {
            m.insert(
                Self::base_name(k).to_string(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(v)),
            );
        }
        go_yaml::to_yaml(&Value::Object(m))
            .trim_end_matches('\n')
            .to_string()
    }
}

fn arg_string(args: &[TValue], i: usize, method: &str) -> Result<String, String> {
    match args.get(i) {
        Some(TValue::String(s)) => Ok(s.to_string()),
        Some(other) => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        None => Err(format!(
            "wrong number of args for {method}: want 1 got {}",
            args.len()
        )),
    }
}

impl Object for FilesObject {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind(&self) -> &str {
        "map"
    }
    fn field(&self, name: &str) -> Option<TValue> {
        match name {
            "AsConfig" => Some(TValue::string(self.as_config())),
            "AsSecrets" => Some(TValue::string(self.as_secrets())),
            _ => None,
        }
    }
    fn call_method(&self, name: &str, args: &[TValue]) -> Option<Result<TValue, String>> {
        let r = match name {
            "Get" => arg_string(args, 0, name).map(|p| {
                TValue::string(
                    self.files
                        .get(&p)
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .unwrap_or_default(),
                )
            }),
            "GetBytes" => arg_string(args, 0, name).map(|p| {
                TValue::Bytes(
                    self.files
                        .get(&p)
                        .cloned()
                        .unwrap_or_else(|| Arc::from(Vec::new())),
                )
            }),
            "Glob" => arg_string(args, 0, name).map(|pat| {
                let g = FilesGlob::compile(&pat).or_else(|| FilesGlob::compile("**"));
                let picked: BTreeMap<String, Arc<[u8]>> = self
                    .files
                    .iter()
                    .filter(|(k, _)| g.as_ref().is_some_and(|g| g.matches(k)))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                TValue::object(FilesObject::new(picked))
            }),
            "Lines" => arg_string(args, 0, name).map(|p| match self.files.get(&p) {
                None => TValue::list(Vec::new()),
                Some(d) => {
                    let text = String::from_utf8_lossy(d);
                    let t = text.strip_suffix('\n').unwrap_or(&text);
                    TValue::list(t.split('\n').map(TValue::string).collect())
                }
            }),
            "AsConfig" => Ok(TValue::string(self.as_config())),
            "AsSecrets" => Ok(TValue::string(self.as_secrets())),
            _ => return None,
        };
        Some(r)
    }
    fn display(&self) -> String {
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|(k, v)| {
                let bytes: Vec<String> = v.iter().map(|b| b.to_string()).collect();
                format!("{k}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", parts.join(" "))
    }
    fn entries(&self) -> Option<Vec<(TValue, TValue)>> {
        Some(
            self.files
                .iter()
                .map(|(k, v)| (TValue::string(k.as_str()), TValue::Bytes(v.clone())))
                .collect(),
        )
    }
    fn is_truthy(&self) -> bool {
        !self.files.is_empty()
    }
    fn to_value(&self) -> TValue {
        TValue::map(
            self.files
                .iter()
                .map(|(k, v)| (k.clone(), TValue::Bytes(v.clone())))
                .collect(),
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.KubeVersion` (prints as its version).
#[derive(Debug, Clone)]
struct KubeVersionObject(KubeVersion);

impl Object for KubeVersionObject {
    fn type_name(&self) -> &str {
        "*chartutil.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<TValue> {
        match name {
            "Version" | "GitVersion" | "String" => Some(s(&self.0.version)),
            "Major" => Some(s(&self.0.major)),
            "Minor" => Some(s(&self.0.minor)),
            _ => None,
        }
    }
    fn display(&self) -> String {
        self.0.version.clone()
    }
    fn to_value(&self) -> TValue {
        let mut m = gotemplate::Map::new();
        m.insert("Version".into(), s(&self.0.version));
        m.insert("Major".into(), s(&self.0.major));
        m.insert("Minor".into(), s(&self.0.minor));
        TValue::map(m)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.APIVersions` with its `Has` method.
#[derive(Debug, Clone)]
struct VersionSetObject(Arc<Vec<String>>);

impl Object for VersionSetObject {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn kind(&self) -> &str {
        "slice"
    }
    fn call_method(&self, name: &str, args: &[TValue]) -> Option<Result<TValue, String>> {
        match name {
            "Has" => Some(arg_string(args, 0, name).map(|v| TValue::Bool(self.0.contains(&v)))),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn entries(&self) -> Option<Vec<(TValue, TValue)>> {
        Some(
            self.0
                .iter()
                .enumerate()
                .map(|(i, v)| (TValue::Int(i as i64), s(v)))
                .collect(),
        )
    }
    fn is_truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn to_value(&self) -> TValue {
        strings(&self.0)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn capabilities_value(ctx: &RenderContext) -> TValue {
    let mut m = gotemplate::Map::new();
    m.insert(
        "KubeVersion".into(),
        TValue::object(KubeVersionObject(ctx.kube_version.clone())),
    );
    m.insert(
        "APIVersions".into(),
        TValue::object(VersionSetObject(Arc::new(ctx.api_versions.clone()))),
    );
    let mut hv = gotemplate::Map::new();
    let (version, commit, go) = match ctx.compat {
        HelmCompat::V3 => (
            "v3.17.3",
            "e4da49785aa6e6ee2b86efd5dd9e43400318262b",
            "go1.23.7",
        ),
        HelmCompat::V4 => (
            "v4.1.4",
            "05fa37973dc9e42b76e1d2883494c87174b6074f",
            "go1.25.9",
        ),
    };
    hv.insert("Version".into(), s(version));
    hv.insert("GitCommit".into(), s(commit));
    hv.insert("GitTreeState".into(), s("clean"));
    hv.insert("GoVersion".into(), s(go));
    m.insert("HelmVersion".into(), TValue::map(hv));
    TValue::map(m)
}

fn release_value(ctx: &RenderContext) -> TValue {
    let mut m = gotemplate::Map::new();
    m.insert("Name".into(), s(&ctx.release_name));
    m.insert("Namespace".into(), s(&ctx.namespace));
    m.insert("IsUpgrade".into(), TValue::Bool(ctx.is_upgrade));
    m.insert("IsInstall".into(), TValue::Bool(ctx.is_install));
    m.insert("Revision".into(), TValue::Int(ctx.revision));
    m.insert("Service".into(), s("Helm"));
    TValue::map(m)
}

struct Renderable {
    source: Arc<str>,
    /// The chart's top-level map, shared by all its templates (as in Helm,
    /// where `.Template` is set on it before each execution).
    vals: TValue,
    base_path: String,
}

fn all_templates(
    c: &Chart,
    values: TValue,
    parent_path: Option<&str>,
    release: &TValue,
    caps: &TValue,
    out: &mut BTreeMap<String, Renderable>,
) -> TValue {
    let full_path = match parent_path {
        None => c.name().to_string(),
        Some(p) => format!("{p}/charts/{}", c.name()),
    };
    let mut subcharts = gotemplate::Map::new();
    for child in &c.dependencies {
        let child_values = match &values {
            TValue::Map(m) => match m.get(child.name()) {
                Some(v @ TValue::Map(_)) => v,
                _ => TValue::map(gotemplate::Map::new()),
            },
            _ => TValue::map(gotemplate::Map::new()),
        };
        let next = all_templates(child, child_values, Some(&full_path), release, caps, out);
        subcharts.insert(child.name().to_string(), next);
    }
    let files: BTreeMap<String, Arc<[u8]>> = c
        .files
        .iter()
        .map(|f| (f.name.clone(), Arc::from(f.data.clone())))
        .collect();
    let mut next = gotemplate::Map::new();
    next.insert(
        "Chart".into(),
        chart_object(&c.metadata, parent_path.is_none()),
    );
    next.insert("Files".into(), TValue::object(FilesObject::new(files)));
    next.insert("Release".into(), release.clone());
    next.insert("Capabilities".into(), caps.clone());
    next.insert("Values".into(), values);
    next.insert("Subcharts".into(), TValue::map(subcharts));
    let next = TValue::map(next);
    for t in &c.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if c.is_library() && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                source: Arc::from(String::from_utf8_lossy(&t.data).as_ref()),
                vals: next.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}

/// Helm's parse and execution order: `sort.Reverse(byPathLen)`, i.e. more
/// path segments first and, within a depth, reverse lexical order. Parsing
/// later wins for a repeated `define`, so a parent chart's definitions
/// override its subcharts'.
fn sort_templates(names: &mut [String]) {
    names.sort_by(|a, b| {
        let ca = a.matches('/').count();
        let cb = b.matches('/').count();
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
}

/// Helm's `cleanupParseError`.
fn cleanup_parse_error(filename: &str, err: &gotemplate::Error) -> HelmError {
    let text = err.to_string();
    let tokens: Vec<&str> = text.split(": ").collect();
    if tokens.len() == 1 {
        return HelmError::Render(format!("parse error in ({filename}): {text}"));
    }
    HelmError::TemplateParse {
        location: tokens[1].to_string(),
        message: tokens[tokens.len() - 1].to_string(),
    }
}

/// The message between Helm's warning delimiters, if any.
fn extract_warning(s: &str) -> Option<&str> {
    let start = s.find(WARN_START)? + WARN_START.len();
    let end = s.rfind(WARN_END)?;
    if end < start {
        return None;
    }
    Some(&s[start..end])
}

/// Helm's `cleanupExecError`.
fn cleanup_exec_error(filename: &str, err: &gotemplate::Error) -> HelmError {
    let text = err.to_string();
    if !matches!(err, gotemplate::Error::Exec { .. }) {
        return HelmError::Render(text);
    }
    let tokens: Vec<&str> = text.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return HelmError::Render(format!("execution error in ({filename}): {text}"));
    }
    match extract_warning(tokens[2]) {
        Some(w) => HelmError::TemplateExec {
            location: tokens[1].to_string(),
            message: w.to_string(),
        },
        None => HelmError::Render(text),
    }
}

fn fmsg(m: impl std::fmt::Display) -> FuncError {
    FuncError::msg(m)
}

fn want_args(name: &str, args: &[TValue], n: usize) -> Result<(), FuncError> {
    if args.len() != n {
        return Err(FuncError::Usage(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn arg_str(name: &str, v: &TValue) -> Result<String, FuncError> {
    match v {
        TValue::String(s) => Ok(s.to_string()),
        TValue::Nil => Ok(String::new()),
        other => Err(FuncError::Usage(format!(
            "wrong type for value; expected string; got {} (calling {name})",
            other.type_name()
        ))),
    }
}

/// Go's `json.Marshal` text (sorted keys, HTML-escaped) of a template value.
pub fn go_to_json(v: &TValue) -> String {
    let j = v.to_json();
    let text = serde_json::to_string(&j).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Helm's `toYaml`: sigs.k8s.io/yaml output without the final newline.
pub fn go_to_yaml(v: &TValue) -> String {
    let j = v.to_json();
    let y = go_yaml::to_yaml(&j);
    y.strip_suffix('\n').unwrap_or(&y).to_string()
}

fn json_from_str(s: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(s).map_err(|e| e.to_string())?;
    Ok(yaml_values::numbers_to_float(v))
}

/// A TOML rendering of a map (BurntSushi/toml style, common cases).
fn to_toml(v: &Value) -> String {
    fn scalar(v: &Value) -> Option<String> {
        Some(match v {
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => yaml_values::go_json_number(n),
            Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
                let parts: Option<Vec<String>> = a.iter().map(scalar).collect();
                format!("[{}]", parts?.join(", "))
            }
            _ => return None,
        })
    }
    fn table(m: &Map<String, Value>, prefix: &str, out: &mut String) {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        for k in &keys {
            if let Some(sv) = scalar(&m[*k]) {
                out.push_str(&format!("{k} = {sv}\n"));
            }
        }
        for k in &keys {
            if let Value::Object(sub) = &m[*k] {
                let name = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push_str(&format!("\n[{name}]\n"));
                table(sub, &name, out);
            }
        }
    }
    let mut out = String::new();
    match v {
        Value::Object(m) => table(m, "", &mut out),
        _ => out.push_str("toml: top-level values must be Go maps or structs"),
    }
    out
}

/// Helm's functions on top of Sprig, bound to one render.
pub fn helm_funcs() -> FuncMap {
    let mut f = gotemplate::sprig_funcs();
    f.remove("env");
    f.remove("expandenv");
    let included: Arc<Mutex<HashMap<String, usize>>> = Arc::new(Mutex::new(HashMap::new()));
    let inc = included.clone();
    f.insert(
        "include".into(),
        gotemplate::func(move |ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("include", args, 2)?;
            let name = arg_str("include", &args[0])?;
            {
                let mut m = inc.lock().map_err(|_| fmsg("include: state poisoned"))?;
                let n = m.entry(name.clone()).or_insert(0);
                if *n > MAX_INCLUDE_RECURSION {
                    return Err(fmsg(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    )));
                }
                *n += 1;
            }
            let r = ctx.execute_template(&name, &args[1]);
            if let Ok(mut m) = inc.lock()
                && let Some(n) = m.get_mut(&name)
            {
                *n = n.saturating_sub(1);
            }
            match r {
                Ok(s) => Ok(TValue::string(s)),
                Err(e) => Err(FuncError::Template(Box::new(e))),
            }
        }),
    );
    f.insert(
        "tpl".into(),
        gotemplate::func(move |ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("tpl", args, 2)?;
            let text = arg_str("tpl", &args[0])?;
            let set_name = ctx.templates().name().to_string();
            match ctx.execute_source(&set_name, &text, &args[1]) {
                Ok(out) => Ok(TValue::string(out.replace("<no value>", ""))),
                Err(e @ gotemplate::Error::Parse { .. }) => Err(fmsg(format!(
                    "cannot parse template {}: {e}",
                    gotemplate::go_quote(&text)
                ))),
                Err(e) => Err(fmsg(format!(
                    "error during tpl function execution for {}: {e}",
                    gotemplate::go_quote(&text)
                ))),
            }
        }),
    );
    f.insert(
        "required".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("required", args, 2)?;
            let warn = arg_str("required", &args[0])?;
            match &args[1] {
                TValue::Nil => Err(fmsg(format!("{WARN_START}{warn}{WARN_END}"))),
                TValue::String(s) if s.is_empty() => {
                    Err(fmsg(format!("{WARN_START}{warn}{WARN_END}")))
                }
                v => Ok(v.clone()),
            }
        }),
    );
    f.insert(
        "fail".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("fail", args, 1)?;
            let msg = arg_str("fail", &args[0])?;
            Err(fmsg(format!("{WARN_START}{msg}{WARN_END}")))
        }),
    );
    f.insert(
        "lookup".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("lookup", args, 4)?;
            Ok(TValue::map(gotemplate::Map::new()))
        }),
    );
    f.insert(
        "getHostByName".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, _args: &[TValue]| Ok(TValue::string(""))),
    );
    f.insert(
        "toYaml".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("toYaml", args, 1)?;
            Ok(TValue::string(go_to_yaml(&args[0])))
        }),
    );
    f.insert(
        "toYamlPretty".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("toYamlPretty", args, 1)?;
            Ok(TValue::string(go_to_yaml(&args[0])))
        }),
    );
    f.insert(
        "toJson".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("toJson", args, 1)?;
            Ok(TValue::string(go_to_json(&args[0])))
        }),
    );
    f.insert(
        "toToml".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("toToml", args, 1)?;
            Ok(TValue::string(to_toml(&args[0].to_json())))
        }),
    );
    f.insert(
        "fromYaml".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("fromYaml", args, 1)?;
            let text = arg_str("fromYaml", &args[0])?;
            Ok(match yaml_values::parse_yaml_value(&text) {
                Ok(Value::Object(m)) => map_value(&m),
                Ok(Value::Null) => TValue::map(gotemplate::Map::new()),
                Ok(other) => error_map(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    yaml_values::go_json_kind(&other)
                )),
                Err(e) => error_map(format!("error converting YAML to JSON: {e}")),
            })
        }),
    );
    f.insert(
        "fromYamlArray".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("fromYamlArray", args, 1)?;
            let text = arg_str("fromYamlArray", &args[0])?;
            Ok(match yaml_values::parse_yaml_value(&text) {
                Ok(v @ Value::Array(_)) => to_template_value(&v),
                Ok(Value::Null) => TValue::list(Vec::new()),
                Ok(other) => TValue::list(vec![TValue::string(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                    yaml_values::go_json_kind(&other)
                ))]),
                Err(e) => TValue::list(vec![TValue::string(format!("error converting YAML to JSON: {e}"))]),
            })
        }),
    );
    f.insert(
        "fromJson".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("fromJson", args, 1)?;
            let text = arg_str("fromJson", &args[0])?;
            Ok(match json_from_str(&text) {
                Ok(Value::Object(m)) => map_value(&m),
                Ok(Value::Null) => TValue::map(gotemplate::Map::new()),
                Ok(other) => error_map(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    yaml_values::go_json_kind(&other)
                )),
                Err(e) => error_map(e),
            })
        }),
    );
    f.insert(
        "fromJsonArray".into(),
        gotemplate::func(|_ctx: &mut CallContext<'_>, args: &[TValue]| {
            want_args("fromJsonArray", args, 1)?;
            let text = arg_str("fromJsonArray", &args[0])?;
            Ok(match json_from_str(&text) {
                Ok(v @ Value::Array(_)) => to_template_value(&v),
                Ok(Value::Null) => TValue::list(Vec::new()),
                Ok(other) => TValue::list(vec![TValue::string(format!(
                    "json: cannot unmarshal {} into Go value of type []interface {{}}",
                    yaml_values::go_json_kind(&other)
                ))]),
                Err(e) => TValue::list(vec![TValue::string(e)]),
            })
        }),
    );
    f
}

fn error_map(msg: String) -> TValue {
    let mut m = gotemplate::Map::new();
    m.insert("Error".into(), TValue::string(msg));
    TValue::map(m)
}

/// Renders every template of `chart` (dependencies already processed) with
/// the coalesced `values`. Returns rendered text by template path
/// (partials excluded; `NOTES.txt` included, as Helm's engine returns it).
pub fn render_chart(
    chart: &Chart,
    values: &Map<String, Value>,
    ctx: &RenderContext,
) -> Result<BTreeMap<String, String>, HelmError> {
    let release = release_value(ctx);
    let caps = capabilities_value(ctx);
    let mut tpls = BTreeMap::new();
    all_templates(chart, map_value(values), None, &release, &caps, &mut tpls);
    let mut names: Vec<String> = tpls.keys().cloned().collect();
    sort_templates(&mut names);
    let mut t = Templates::new(helm_funcs());
    t.set_name("gotpl");
    t.set_missing_key(gotemplate::MissingKey::Zero);
    for name in &names {
        let r = &tpls[name];
        t.parse(name, &r.source)
            .map_err(|e| cleanup_parse_error(name, &e))?;
    }
    let mut rendered = BTreeMap::new();
    for name in &names {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') {
            continue;
        }
        let r = &tpls[name];
        let mut tmap = gotemplate::Map::new();
        tmap.insert("Name".into(), s(name));
        tmap.insert("BasePath".into(), s(&r.base_path));
        if let TValue::Map(m) = &r.vals {
            m.insert("Template".into(), TValue::map(tmap));
        }
        let out = t
            .execute(name, &r.vals)
            .map_err(|e| cleanup_exec_error(name, &e))?;
        rendered.insert(name.clone(), out.replace("<no value>", ""));
    }
    Ok(rendered)
}
