//! `flux build helm RELEASE CHART`: the same stream as `helm template`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use flux_helm::{HelmCompat, TemplateOptions, UserValues};

/// Arguments of `flux build helm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release name.
    pub release: String,
    /// Chart directory or .tgz.
    pub chart: PathBuf,
    /// The flags (boxed: they are many).
    #[command(flatten)]
    pub flags: Box<Flags>,
}

/// Flags of `flux build helm` (those of `helm template` that shape output).
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// Namespace of the release.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Values files (YAML), merged in order.
    #[arg(short = 'f', long = "values")]
    pub values: Vec<PathBuf>,
    /// Set values (`a.b=c,d[0]=e`), typed as Helm does.
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Set values as strings.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Set values as JSON (`a={"b":1}`).
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Set values from files (`key=path`).
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version")]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions` (comma-separated or repeated).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Include the charts' `crds/` in the output.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Accepted for compatibility (CRDs are only printed with --include-crds).
    #[arg(long = "skip-crds")]
    pub skip_crds: bool,
    /// Leave test hooks out of the output.
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Leave all hooks out of the output.
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Only print manifests rendered from these templates (globs).
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// Do not validate values against `values.schema.json`.
    #[arg(long = "skip-schema-validation")]
    pub skip_schema_validation: bool,
    /// Follow Helm 3 (3.17) or Helm 4 (4.1) where their output differs.
    #[arg(long = "helm-version", default_value = "3", value_parser = ["3", "4"])]
    pub helm_version: String,
}

fn read_value_file(path: &str) -> Result<String, String> {
    if path.trim() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        release,
        chart,
        flags,
    } = args;
    let args = *flags;
    let mut user = UserValues {
        set: args.set.clone(),
        set_string: args.set_string.clone(),
        set_json: args.set_json.clone(),
        set_file: args.set_file.clone(),
        ..UserValues::default()
    };
    for f in &args.values {
        let data = if f.as_os_str() == "-" {
            read_value_file("-")
                .map_err(anyhow::Error::msg)?
                .into_bytes()
        } else {
            std::fs::read(f).with_context(|| format!("open {}", f.display()))?
        };
        user.files.push((f.display().to_string(), data));
    }
    let values = user.merge(&read_value_file)?;
    let chart = flux_helm::chart::load(&chart)?;
    let mut opts = TemplateOptions::new(&release, &args.namespace);
    opts.kube_version = args.kube_version.clone();
    opts.api_versions = args
        .api_versions
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    opts.include_crds = args.include_crds;
    opts.skip_tests = args.skip_tests;
    opts.disable_hooks = args.no_hooks;
    opts.show_only = args.show_only.clone();
    opts.is_upgrade = args.is_upgrade;
    opts.skip_schema_validation = args.skip_schema_validation;
    opts.compat = if args.helm_version == "4" {
        HelmCompat::V4
    } else {
        HelmCompat::V3
    };
    let out = flux_helm::template::template(chart, &values, &opts)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes()).context("writing output")?;
    stdout.flush().context("writing output")?;
    Ok(())
}
