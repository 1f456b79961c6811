//! `flux diff kustomization NAME --path DIR`: build locally, server-side dry-run every
//! object, and print what would change. Exit code 0: no change, 1: changes, 2: error.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::cluster::GlobalArgs;
use crate::kinds;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Kustomization's name.
    pub name: Option<String>,
    /// Path to a local directory that matches the specified Kustomization.spec.path.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// Path to the Flux Kustomization YAML file.
    #[arg(long)]
    pub kustomization_file: Option<PathBuf>,
    /// Fail when a variable without a default value is not set.
    #[arg(long)]
    pub strict_substitute: bool,
    /// Accepted for compatibility; flux-rs shows progress only on a terminal.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub progress_bar: bool,
    /// Do not fail when the Kustomization does not exist in the cluster.
    #[arg(long)]
    pub ignore_not_found: bool,
}

/// Exit code and message of a diff that found changes, or that failed.
#[derive(Debug)]
pub struct DiffOutcome {
    pub code: u8,
    pub message: String,
}

impl std::fmt::Display for DiffOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DiffOutcome {}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    let result = diff(args, global);
    match result {
        Ok(false) => Ok(()),
        Ok(true) => Err(DiffOutcome {
            code: 1,
            message: "identified at least one change, exiting with non-zero exit code".into(),
        }
        .into()),
        Err(err) => Err(DiffOutcome {
            code: 2,
            message: format!("{err:#}"),
        }
        .into()),
    }
}

fn yaml_of(v: &Value) -> String {
    flux_object::yaml::to_yaml_string(&crate::export_yaml::sorted(v)).unwrap_or_default()
}

fn diff(args: Args, global: &GlobalArgs) -> anyhow::Result<bool> {
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
    let file_ks = args
        .kustomization_file
        .as_deref()
        .map(|f| crate::cmd::build_kustomization::read_kustomization_file(f, &name))
        .transpose()?;
    let strict = args.strict_substitute;
    let ignore_not_found = args.ignore_not_found;
    crate::cluster::block_on(global.timeout, "the diff", async move {
        let cluster = global.connect().await?;
        let live_ks = cluster
            .get(&kinds::KUSTOMIZATION, &cluster.namespace, &name)
            .await?;
        let ks = match (file_ks, &live_ks) {
            (Some(ks), _) => ks,
            (None, Some(ks)) => ks.clone(),
            (None, None) if ignore_not_found => return Ok(false),
            (None, None) => {
                anyhow::bail!("{} \"{name}\" not found", kinds::KUSTOMIZATION.crd_name())
            }
        };
        let ns = ks["metadata"]["namespace"]
            .as_str()
            .unwrap_or(&cluster.namespace)
            .to_owned();
        let spec = crate::local_build::parse_spec(&ks)?;
        let vars = crate::local_build::substitution_vars(&spec, &ns, Some(&cluster.client)).await?;
        let objects = crate::local_build::build_objects(&path, &name, &ns, &spec, &vars, strict)?;

        let manager = flux_ssa::ResourceManager::new(
            cluster.client.clone(),
            flux_ssa::Owner {
                field: kustomize_controller::reconciler::CONTROLLER_NAME.to_owned(),
                group: "kustomize.toolkit.fluxcd.io".to_owned(),
            },
        );
        let options = flux_ssa::ApplyOptions::kustomize_controller(
            kustomize_controller::reconciler::CONTROLLER_NAME,
            false,
        );
        let mut changed = false;
        let mut built_ids = BTreeSet::new();
        let mut stdout = String::new();
        for object in &objects {
            let (entry, pair) = manager
                .diff(object, &options)
                .await
                .map_err(|e| anyhow::anyhow!("{}", crate::cluster::one_line(&e)))?;
            built_ids.insert(entry.id.inventory_id());
            match entry.action {
                flux_ssa::Action::Created => {
                    changed = true;
                    stdout.push_str(&format!("► {} created\n", entry.subject));
                }
                flux_ssa::Action::Configured => {
                    changed = true;
                    stdout.push_str(&format!("► {} drifted\n", entry.subject));
                    if let Some((live, dry)) = pair {
                        let (a, b) = (
                            yaml_of(&strip_volatile(live)),
                            yaml_of(&strip_volatile(dry)),
                        );
                        let text = similar::TextDiff::from_lines(&a, &b)
                            .unified_diff()
                            .context_radius(3)
                            .header("live", "merged")
                            .to_string();
                        stdout.push_str(&text);
                        if !text.ends_with('\n') {
                            stdout.push('\n');
                        }
                    }
                }
                _ => {}
            }
        }
        // With prune, what the inventory holds and the build lacks would be deleted.
        if spec.prune
            && let Some(entries) = live_ks
                .as_ref()
                .and_then(|k| k.pointer("/status/inventory/entries"))
                .and_then(Value::as_array)
        {
            for entry in entries {
                let Some(id) = entry.get("id").and_then(Value::as_str) else {
                    continue;
                };
                if built_ids.contains(id) {
                    continue;
                }
                if let Ok(object_id) = flux_object::ObjectId::parse_inventory_id(id) {
                    changed = true;
                    stdout.push_str(&format!("► {object_id} deleted\n"));
                }
            }
        }
        print!("{stdout}");
        Ok(changed)
    })
}

/// Drops the fields that differ on every read and carry no intent.
fn strip_volatile(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "resourceVersion",
            "generation",
            "managedFields",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(key);
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
    }
    v
}
