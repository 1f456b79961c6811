//! `flux envsubst`: stdin to stdout with `${var}` replaced from the environment, in the
//! dialect of kustomize-controller's postBuild substitution.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fail if a variable without a default value is declared in the input but is missing
    /// from the environment.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let vars: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lines() {
        let line = line.map_err(|e| anyhow::anyhow!("reading stdin: {e}"))?;
        let out = kustomize_controller::substitute::eval(&line, &vars, args.strict)?;
        writeln!(stdout, "{out}")?;
    }
    stdout.flush()?;
    Ok(())
}
