//! The whole of `helm template`: user values, dependency processing,
//! coalescing, schema validation, kubeVersion check, render, sort, print.

use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::dependencies::{check_dependencies, process_dependencies};
use crate::error::HelmError;
use crate::manifest::{self, HelmCompat};
use crate::render::{self, KubeVersion, RenderContext};
use crate::schema::validate_against_schema;
use crate::semver_range::is_compatible_range;
use crate::strvals::{self, SetKind};
use crate::values::{coalesce_chart_values, merge_maps};
use crate::yaml_values;

/// Values given on the command line, merged in Helm's order: `-f` files,
/// then `--set-json`, `--set`, `--set-string`, `--set-file`.
#[derive(Debug, Clone, Default)]
pub struct UserValues {
    /// `-f` files: (name for messages, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// `--set-json` arguments.
    pub set_json: Vec<String>,
    /// `--set` arguments.
    pub set: Vec<String>,
    /// `--set-string` arguments.
    pub set_string: Vec<String>,
    /// `--set-file` arguments (`key=path`), read through `read_file`.
    pub set_file: Vec<String>,
}

impl UserValues {
    /// Merges everything into one values map (Helm's `Options.MergeValues`).
    pub fn merge(
        &self,
        read_file: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<Map<String, Value>, HelmError> {
        let mut base = Map::new();
        for (name, data) in &self.files {
            let m = yaml_values::parse_values_yaml(data).map_err(|reason| HelmError::Yaml {
                context: format!("failed to parse {name}"),
                reason,
            })?;
            merge_maps(&mut base, m);
        }
        for v in &self.set_json {
            strvals::parse_set(v, &mut base, SetKind::Json).map_err(|_| HelmError::SetValues {
                flag: "set-json",
                reason: v.clone(),
            })?;
        }
        for v in &self.set {
            strvals::parse_set(v, &mut base, SetKind::Typed).map_err(|reason| {
                HelmError::SetValues {
                    flag: "set",
                    reason,
                }
            })?;
        }
        for v in &self.set_string {
            strvals::parse_set(v, &mut base, SetKind::String).map_err(|reason| {
                HelmError::SetValues {
                    flag: "set-string",
                    reason,
                }
            })?;
        }
        for v in &self.set_file {
            strvals::parse_into(v, &mut base, SetKind::File, read_file).map_err(|reason| {
                HelmError::SetValues {
                    flag: "set-file",
                    reason,
                }
            })?;
        }
        Ok(base)
    }
}

/// Options of `helm template` that shape the output.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// Release name.
    pub release_name: String,
    /// Namespace (`-n`).
    pub namespace: String,
    /// `--kube-version` (Helm's default when `None`).
    pub kube_version: Option<String>,
    /// `--api-versions` (added to the defaults).
    pub api_versions: Vec<String>,
    /// `--include-crds`.
    pub include_crds: bool,
    /// `--skip-tests`.
    pub skip_tests: bool,
    /// `--no-hooks`.
    pub disable_hooks: bool,
    /// `--show-only` patterns.
    pub show_only: Vec<String>,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// Which Helm's behaviour to follow where 3 and 4 differ.
    pub compat: HelmCompat,
}

impl TemplateOptions {
    /// Defaults for a release in a namespace.
    pub fn new(release: &str, namespace: &str) -> TemplateOptions {
        TemplateOptions {
            release_name: release.to_string(),
            namespace: namespace.to_string(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            skip_tests: false,
            disable_hooks: false,
            show_only: Vec::new(),
            is_upgrade: false,
            skip_schema_validation: false,
            compat: HelmCompat::V3,
        }
    }
}

/// The values and context a chart is rendered with, after dependency
/// processing, coalescing and schema validation.
pub struct Prepared {
    /// The chart with disabled dependencies removed and aliases applied.
    pub chart: Chart,
    /// The coalesced values (`.Values` of the root chart).
    pub values: Map<String, Value>,
    /// `.Release` / `.Capabilities`.
    pub context: RenderContext,
}

/// Everything before rendering, in Helm's order of checks.
pub fn prepare(
    mut chart: Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
) -> Result<Prepared, HelmError> {
    let kube_version = match &opts.kube_version {
        Some(v) => Some(KubeVersion::parse(v)?),
        None => None,
    };
    match chart.metadata.chart_type.as_str() {
        "" | "application" => {}
        other => return Err(HelmError::NotInstallable(other.to_string())),
    }
    if chart.metadata.has_dependencies {
        check_dependencies(&chart)?;
    }
    process_dependencies(&mut chart, user_values)?;
    let mut ctx = RenderContext::new(&opts.release_name, &opts.namespace, opts.compat);
    if let Some(kv) = kube_version {
        ctx.kube_version = kv;
    }
    ctx.api_versions.extend(opts.api_versions.iter().cloned());
    ctx.is_upgrade = opts.is_upgrade;
    ctx.is_install = !opts.is_upgrade;
    let values = coalesce_chart_values(&chart, user_values, false)?;
    if !opts.skip_schema_validation {
        validate_against_schema(&chart, &values)?;
    }
    if !chart.metadata.kube_version.is_empty()
        && !is_compatible_range(&chart.metadata.kube_version, &ctx.kube_version.version)
    {
        return Err(HelmError::IncompatibleKubeVersion {
            constraint: chart.metadata.kube_version.clone(),
            kube_version: ctx.kube_version.version.clone(),
        });
    }
    Ok(Prepared {
        chart,
        values,
        context: ctx,
    })
}

/// Renders `chart` as `helm template` prints it.
pub fn template(
    chart: Chart,
    user_values: &Map<String, Value>,
    opts: &TemplateOptions,
) -> Result<String, HelmError> {
    let p = prepare(chart, user_values, opts)?;
    let mut files = render::render_chart(&p.chart, &p.values, &p.context)?;
    files.retain(|k, _| !k.ends_with("NOTES.txt"));
    let (hooks, manifests) = manifest::sort_manifests(&files, opts.compat)?;
    let crds: Vec<(String, String)> = if opts.include_crds {
        p.chart
            .crd_objects(p.chart.name())
            .into_iter()
            .map(|(path, f)| (path, String::from_utf8_lossy(&f.data).into_owned()))
            .collect()
    } else {
        Vec::new()
    };
    let out = manifest::template_output(
        &manifests,
        &hooks,
        &crds,
        opts.skip_tests,
        opts.disable_hooks,
    );
    if opts.show_only.is_empty() {
        Ok(out)
    } else {
        manifest::show_only(&out, &opts.show_only)
    }
}
