//! `flux version`: the CLI's version and, unless `--client`, the Flux distribution and the
//! controller images found in the cluster.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use serde_json::{Map, Value};

use crate::cluster::GlobalArgs;

/// The flux-rs version, from Cargo.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Flags of `flux version`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the client version.
    #[arg(long)]
    pub client: bool,
    /// Output format: yaml or json.
    #[arg(short = 'o', long = "output", default_value = "yaml")]
    pub output: String,
}

/// `ghcr.io/flux-rs/fluxd:v0.1.0` → (`fluxd`, `v0.1.0`).
fn split_image(image: &str) -> (String, String) {
    let (repo, tag) = match image.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (image, "latest"),
    };
    let name = repo.rsplit('/').next().unwrap_or(repo);
    (name.to_owned(), tag.to_owned())
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    if args.output != "yaml" && args.output != "json" {
        anyhow::bail!("--output must be json or yaml, not {}", args.output);
    }
    let mut info = Map::new();
    info.insert("flux".into(), Value::String(format!("v{VERSION}")));
    if !args.client {
        global.validate()?;
        let found = crate::cluster::block_on(global.timeout, "the cluster", async {
            let cluster = global.connect().await?;
            let mut found = Map::new();
            let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
            if let Some(crd) = crds
                .get_opt(&crate::kinds::KUSTOMIZATION.crd_name())
                .await
                .map_err(|e| cluster.error(e))?
                && let Some(v) = crd
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("app.kubernetes.io/version"))
            {
                found.insert("distribution".into(), Value::String(format!("flux-{v}")));
            }
            let deployments: Api<Deployment> =
                Api::namespaced(cluster.client.clone(), &cluster.namespace);
            let selector = format!(
                "{}={}",
                super::install::PART_OF.0,
                super::install::PART_OF.1
            );
            let list = deployments
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| cluster.error(e))?;
            if list.items.is_empty() {
                anyhow::bail!("no deployments found in {} namespace", cluster.namespace);
            }
            for d in list.items {
                let containers = d
                    .spec
                    .and_then(|s| s.template.spec)
                    .map(|p| p.containers)
                    .unwrap_or_default();
                for c in containers {
                    if let Some(image) = c.image {
                        let (name, tag) = split_image(&image);
                        found.insert(name, Value::String(tag));
                    }
                }
            }
            Ok(found)
        })?;
        info.extend(found);
    }
    let info = Value::Object(info);
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&info)?),
        _ => print!("{}", flux_object::yaml::to_yaml_string(&info)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_image_takes_the_last_path_element_and_tag() {
        assert_eq!(
            super::split_image("ghcr.io/flux-rs/fluxd:v0.1.0"),
            ("fluxd".to_owned(), "v0.1.0".to_owned())
        );
        assert_eq!(
            super::split_image("localhost:5000/fluxd"),
            ("fluxd".to_owned(), "latest".to_owned())
        );
    }
}
