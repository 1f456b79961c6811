//! `flux tree kustomization NAME`: the objects a Kustomization manages (from
//! `status.inventory`), nested Kustomizations expanded recursively.

use serde_json::{Value, json};

use crate::cluster::{Cluster, GlobalArgs};
use crate::kinds;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Print the resources reconciled by a Kustomization.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization(KustomizationArgs),
}

#[derive(Debug, clap::Args)]
pub struct KustomizationArgs {
    pub name: Option<String>,
    /// Show only the Flux resources.
    #[arg(long)]
    pub compact: bool,
    /// Output format: json or yaml (default: a tree).
    #[arg(short = 'o', long, value_parser = ["json", "yaml"])]
    pub output: Option<String>,
}

/// One node: an object id and what it manages.
#[derive(Debug, Clone)]
struct Node {
    id: flux_object::ObjectId,
    children: Vec<Node>,
}

impl Node {
    fn to_json(&self) -> Value {
        let mut v = json!({"resource": {
            "Namespace": self.id.namespace, "Name": self.id.name,
            "Group": self.id.group, "Kind": self.id.kind,
        }});
        if !self.children.is_empty() {
            v["resources"] = Value::Array(self.children.iter().map(Node::to_json).collect());
        }
        v
    }

    fn print(&self, prefix: &str, out: &mut String) {
        for (i, child) in self.children.iter().enumerate() {
            let last = i + 1 == self.children.len();
            out.push_str(prefix);
            out.push_str(if last { "└── " } else { "├── " });
            out.push_str(&child.id.to_string());
            out.push('\n');
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            child.print(&deeper, out);
        }
    }
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let What::Kustomization(a) = args.what;
    let Some(name) = a.name else {
        anyhow::bail!("kustomization name is required");
    };
    let text = crate::cluster::block_on(global.timeout, "the tree", async move {
        let cluster = global.connect().await?;
        let ns = cluster.namespace.clone();
        let root = cluster
            .get_required(&kinds::KUSTOMIZATION, &ns, &name)
            .await?;
        let id =
            flux_object::ObjectId::new(kinds::KUSTOMIZATION.group, "Kustomization", &ns, &name);
        let node = expand(&cluster, id, &root, a.compact, 0).await?;
        Ok(match a.output.as_deref() {
            Some("json") => format!("{}\n", serde_json::to_string_pretty(&node.to_json())?),
            Some(_) => flux_object::yaml::to_yaml_string(&node.to_json())?,
            None => {
                let mut out = format!("{}\n", node.id);
                node.print("", &mut out);
                format!("{out}\n")
            }
        })
    })?;
    print!("{text}");
    Ok(())
}

fn is_flux(id: &flux_object::ObjectId) -> bool {
    id.group.ends_with("toolkit.fluxcd.io") || id.group.ends_with("extensions.fluxcd.io")
}

/// The node for a Kustomization object: its inventory, nested Kustomizations expanded.
fn expand<'a>(
    cluster: &'a Cluster,
    id: flux_object::ObjectId,
    ks: &'a Value,
    compact: bool,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Node>> + Send + 'a>> {
    Box::pin(async move {
        let mut children = Vec::new();
        let entries = ks
            .pointer("/status/inventory/entries")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for entry in entries {
            let Some(raw) = entry.get("id").and_then(Value::as_str) else {
                continue;
            };
            let Ok(child_id) = flux_object::ObjectId::parse_inventory_id(raw) else {
                continue;
            };
            if compact && !is_flux(&child_id) {
                continue;
            }
            let nested = child_id.group == kinds::KUSTOMIZATION.group
                && child_id.kind == "Kustomization"
                && depth < 32;
            if nested
                && let Some(child) = cluster
                    .get(&kinds::KUSTOMIZATION, &child_id.namespace, &child_id.name)
                    .await?
            {
                children.push(expand(cluster, child_id, &child, compact, depth + 1).await?);
                continue;
            }
            children.push(Node {
                id: child_id,
                children: Vec::new(),
            });
        }
        Ok(Node { id, children })
    })
}
