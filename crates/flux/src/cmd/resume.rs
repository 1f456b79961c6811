//! `flux resume`: set `spec.suspend: false` and wait for the object to be Ready.

use kube::api::ListParams;
use serde_json::{Value, json};

use crate::cluster::{GlobalArgs, name_of};
use crate::cmd::target::{KindCommand, success_message, unique};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resume all resources in that namespace.
    #[arg(long, global = true)]
    pub all: bool,
    /// Wait for each resource to reconcile (the default when one name is given).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub wait: Option<bool>,
    #[command(subcommand)]
    pub what: KindCommand,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let (kind, names) = args.what.into_parts();
    if names.is_empty() && !args.all {
        anyhow::bail!("{} name is required", kind.human_kind);
    }
    let should_wait = match args.wait {
        Some(w) => w,
        None => names.len() == 1,
    };
    crate::cluster::block_on(global.timeout, "the resume operation", async move {
        let cluster = global.connect().await?;
        let ns = cluster.namespace.clone();
        let items = cluster
            .list(&kind, Some(&ns), &ListParams::default())
            .await?
            .unwrap_or_default();
        let patch = json!({"spec": {"suspend": false}});
        let mut failed = false;
        let targets: Vec<String> = if names.is_empty() {
            if items.is_empty() {
                output::failure(&format!("no {} objects found in {ns} namespace", kind.kind));
                return Err(crate::Reported.into());
            }
            items.iter().map(|o| name_of(o).to_owned()).collect()
        } else {
            unique(names)
        };
        let mut resumed: Vec<String> = Vec::new();
        for name in targets {
            if !items.iter().any(|o| name_of(o) == name) {
                output::failure(&format!(
                    "{} object '{name}' not found in {ns} namespace",
                    kind.kind
                ));
                failed = true;
                continue;
            }
            output::action(&format!(
                "resuming {} {name} in {ns} namespace",
                kind.human_kind
            ));
            cluster.merge_patch(&kind, &ns, &name, &patch).await?;
            output::success(&format!("{} resumed", kind.human_kind));
            resumed.push(name);
        }
        if should_wait {
            let mut results: Vec<(String, anyhow::Result<Value>)> = Vec::new();
            for name in resumed {
                let what = format!("waiting for {} reconciliation", kind.kind);
                let result = crate::wait::until_ready(&cluster, &kind, &ns, &name, &what).await;
                results.push((name, result));
            }
            results.sort_by(|a, b| a.0.cmp(&b.0));
            let mut failures = 0;
            for (name, result) in results {
                match result {
                    Ok(obj) => {
                        output::success(&format!("{} {name} reconciliation completed", kind.kind));
                        output::success(&success_message(&kind, &obj));
                    }
                    Err(err) => {
                        output::failure(&format!(
                            "{} {name} reconciliation failed: {err:#}",
                            kind.kind
                        ));
                        failures += 1;
                    }
                }
            }
            if failures > 0 {
                anyhow::bail!("reconciliation failed for {failures} {}(s)", kind.kind);
            }
        }
        if failed {
            return Err(crate::Reported.into());
        }
        Ok(())
    })
}
