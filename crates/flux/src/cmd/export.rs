//! `flux export`: objects as clean YAML for Git (no status, no server metadata).

use kube::api::ListParams;

use crate::cluster::GlobalArgs;
use crate::cmd::target::{Names, SourceKindCommand};
use crate::export_yaml;
use crate::kinds::{self, FluxKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Select all resources.
    #[arg(long, global = true)]
    pub all: bool,
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Export sources in YAML format.
    Source {
        #[command(subcommand)]
        what: SourceKindCommand,
    },
    /// Export Kustomization resources in YAML format.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization(Names),
    /// Export HelmRelease resources in YAML format.
    #[command(aliases = ["hr", "helmreleases"])]
    Helmrelease(Names),
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let (kind, names): (FluxKind, Names) = match args.what {
        What::Source { what } => what.into_parts(),
        What::Kustomization(n) => (kinds::KUSTOMIZATION, n),
        What::Helmrelease(n) => (kinds::HELM_RELEASE, n),
    };
    let name = names.names.into_iter().next();
    if !args.all && name.is_none() {
        anyhow::bail!("name is required");
    }
    let all = args.all;
    let text = crate::cluster::block_on(global.timeout, "the export", async move {
        let cluster = global.connect().await?;
        let mut out = String::new();
        if all {
            let items = cluster
                .list(&kind, Some(&cluster.namespace), &ListParams::default())
                .await?
                .unwrap_or_default();
            if items.is_empty() {
                anyhow::bail!("no objects found in {} namespace", cluster.namespace);
            }
            for obj in &items {
                out.push_str(&export_yaml::export_document(&export_yaml::export_object(
                    &kind, obj,
                ))?);
            }
        } else if let Some(name) = name {
            let obj = cluster
                .get_required(&kind, &cluster.namespace, &name)
                .await?;
            out.push_str(&export_yaml::export_document(&export_yaml::export_object(
                &kind, &obj,
            ))?);
        }
        Ok(out)
    })?;
    print!("{text}");
    Ok(())
}
