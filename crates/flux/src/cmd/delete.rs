//! `flux delete`: delete an object, after a confirmation unless `--silent`.

use std::io::{BufRead as _, Write as _};

use crate::cluster::GlobalArgs;
use crate::cmd::target::KindCommand;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete resource without asking for confirmation.
    #[arg(short = 's', long, global = true)]
    pub silent: bool,
    #[command(subcommand)]
    pub what: KindCommand,
}

pub fn run(args: Args, global: &GlobalArgs) -> anyhow::Result<()> {
    global.validate()?;
    let (kind, names) = args.what.into_parts();
    let Some(name) = names.into_iter().next() else {
        anyhow::bail!("{} name is required", kind.human_kind);
    };
    let silent = args.silent;
    crate::cluster::block_on(global.timeout, "the deletion", async move {
        let cluster = global.connect().await?;
        let ns = cluster.namespace.clone();
        cluster.get_required(&kind, &ns, &name).await?;
        if !silent
            && !confirm(&format!(
                "Are you sure you want to delete this {}",
                kind.human_kind
            ))
        {
            anyhow::bail!("aborting");
        }
        output::action(&format!(
            "deleting {} {name} in {ns} namespace",
            kind.human_kind
        ));
        cluster.delete(&kind, &ns, &name).await?;
        output::success(&format!("{} deleted", kind.human_kind));
        Ok(())
    })
}

/// Asks `label? [y/N]` on stderr and reads the answer from stdin; anything but y/yes (or a
/// closed stdin) is a no.
pub fn confirm(label: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "? {label}? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    let _ = writeln!(err);
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}
