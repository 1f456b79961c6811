//! `flux build kustomize DIR`: the same stream as `kustomize build DIR`.

use std::io::Write as _;

use flux_kustomize::{BuildOptions, DiskFs, LoadRestrictor};

/// Flags of `flux build kustomize`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The kustomization directory.
    pub dir: std::path::PathBuf,
    /// Which files a kustomization may read: `LoadRestrictionsRootOnly` (default) or
    /// `LoadRestrictionsNone` (as Flux builds).
    #[arg(long = "load-restrictor", default_value = "LoadRestrictionsRootOnly", value_parser = parse_restrictor)]
    pub load_restrictor: LoadRestrictor,
}

fn parse_restrictor(s: &str) -> Result<LoadRestrictor, String> {
    match s {
        "LoadRestrictionsRootOnly" | "rootOnly" => Ok(LoadRestrictor::RootOnly),
        "LoadRestrictionsNone" | "none" => Ok(LoadRestrictor::None),
        other => Err(format!(
            "invalid --load-restrictor {other:?}: must be LoadRestrictionsRootOnly or LoadRestrictionsNone"
        )),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = BuildOptions {
        load_restrictor: args.load_restrictor,
        ..Default::default()
    };
    let out = flux_kustomize::build_to_yaml(&DiskFs, &args.dir, &opts)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}
