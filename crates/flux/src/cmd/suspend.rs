//! `flux suspend`: set `spec.suspend: true`.

use kube::api::ListParams;
use serde_json::json;

use crate::cluster::{GlobalArgs, name_of};
use crate::cmd::target::{KindCommand, unique};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Suspend all resources in that namespace.
    #[arg(long, global = true)]
    pub all: bool,
    #[command(subcommand)]
    pub what: KindCommand,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let (kind, names) = args.what.into_parts();
    if names.is_empty() && !args.all {
        anyhow::bail!("{} name is required", kind.human_kind);
    }
    let all = args.all;
    crate::cluster::block_on(global.timeout, "the suspend operation", async move {
        let cluster = global.connect().await?;
        let ns = cluster.namespace.clone();
        let items = cluster
            .list(&kind, Some(&ns), &ListParams::default())
            .await?
            .unwrap_or_default();
        let patch = json!({"spec": {"suspend": true}});
        if names.is_empty() && all {
            if items.is_empty() {
                anyhow::bail!("no objects found");
            }
            for obj in &items {
                let name = name_of(obj);
                output::action(&format!(
                    "suspending {} {name} in {ns} namespace",
                    kind.human_kind
                ));
                cluster.merge_patch(&kind, &ns, name, &patch).await?;
                output::success(&format!("{} suspended", kind.human_kind));
            }
            return Ok(());
        }
        let mut failed = false;
        for name in unique(names) {
            if !items.iter().any(|o| name_of(o) == name) {
                output::failure(&format!("{} {name} not found in {ns} namespace", kind.kind));
                failed = true;
                continue;
            }
            output::action(&format!(
                "suspending {} {name} in {ns} namespace",
                kind.human_kind
            ));
            match cluster.merge_patch(&kind, &ns, &name, &patch).await {
                Ok(_) => output::success(&format!("{} suspended", kind.human_kind)),
                Err(err) => {
                    output::failure(&format!(
                        "failed suspending {} {name} in {ns} namespace: {err:#}",
                        kind.kind
                    ));
                    failed = true;
                }
            }
        }
        if failed {
            return Err(crate::Reported.into());
        }
        Ok(())
    })
}
