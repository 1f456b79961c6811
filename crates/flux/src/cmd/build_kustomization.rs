//! `flux build kustomization NAME --path DIR`: what kustomize-controller would apply.

use std::path::PathBuf;

use crate::cluster::GlobalArgs;
use crate::kinds;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Kustomization's name.
    pub name: Option<String>,
    /// Path to the manifests location.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// Path to the Flux Kustomization YAML file (instead of reading it from the cluster).
    #[arg(long)]
    pub kustomization_file: Option<PathBuf>,
    /// Dry run mode: no cluster access (substituteFrom is skipped).
    #[arg(long)]
    pub dry_run: bool,
    /// Fail when a variable without a default value is declared in the manifests but not
    /// set.
    #[arg(long)]
    pub strict_substitute: bool,
}

/// Reads the Kustomization from `--kustomization-file`, checking it is the named one.
pub fn read_kustomization_file(
    path: &std::path::Path,
    name: &str,
) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|_| {
        anyhow::anyhow!(
            "invalid kustomization file {:?}",
            path.display().to_string()
        )
    })?;
    let docs = flux_object::yaml::parse_documents(&text).map_err(|e| {
        anyhow::anyhow!(
            "invalid kustomization file {:?}: {e}",
            path.display().to_string()
        )
    })?;
    docs.into_iter()
        .find(|d| d["kind"] == "Kustomization" && d["metadata"]["name"] == name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "invalid kustomization file {:?}: no Kustomization named '{name}'",
                path.display().to_string()
            )
        })
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let Some(name) = args.name else {
        anyhow::bail!("kustomization name is required");
    };
    let Some(path) = args.path else {
        anyhow::bail!("invalid resource path \"\"");
    };
    if !path.is_dir() {
        anyhow::bail!("invalid resource path {:?}", path.display().to_string());
    }
    if args.dry_run && args.kustomization_file.is_none() {
        anyhow::bail!("dry-run mode requires a kustomization file");
    }
    let file_ks = args
        .kustomization_file
        .as_deref()
        .map(|f| read_kustomization_file(f, &name))
        .transpose()?;
    let strict = args.strict_substitute;
    let dry_run = args.dry_run;
    let text = crate::cluster::block_on(global.timeout, "the build", async move {
        let (ks, client) = if dry_run {
            (file_ks.unwrap_or_default(), None)
        } else {
            let cluster = global.connect().await?;
            let ks = match file_ks {
                Some(ks) => ks,
                None => {
                    cluster
                        .get_required(&kinds::KUSTOMIZATION, &cluster.namespace, &name)
                        .await?
                }
            };
            (ks, Some(cluster.client))
        };
        let ns = ks["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&global.namespace)
            .to_owned();
        let spec = crate::local_build::parse_spec(&ks)?;
        let vars = crate::local_build::substitution_vars(&spec, &ns, client.as_ref()).await?;
        let objects = crate::local_build::build_objects(&path, &name, &ns, &spec, &vars, strict)?;
        crate::local_build::to_yaml_stream(&objects)
    })?;
    print!("{text}");
    Ok(())
}
