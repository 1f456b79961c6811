//! `cargo xtask`: code generation and checks.
//!
//! * `cargo xtask crds` writes the CRDs generated from `flux-api`'s types to
//!   `crates/flux-api/crds/<group>_<plural>.yaml` (and removes stale files there);
//! * `cargo xtask crds --check` fails when the committed files differ from the generated ones;
//! * `cargo xtask bench scale [--n 100,500,1000]` runs the scale benchmark of issue 7
//!   (release `flux dev --api-only` + `fluxd`, one GitRepository, N Kustomizations) and
//!   prints the figures (see docs/benchmarks/scale.md).

mod bench_scale;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the workspace root (sanity check of the xtask wiring).
    Root,
    /// Write the generated CRDs to crates/flux-api/crds (or check that they are up to date).
    Crds {
        /// Do not write; fail if the committed CRDs are stale.
        #[arg(long)]
        check: bool,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        bench: Bench,
    },
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// N Kustomizations from one GitRepository through fluxd and the embedded API server.
    Scale(bench_scale::ScaleArgs),
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .with_context(|| format!("resolving {}", root.display()))
}

/// File name → YAML of every generated CRD.
fn generated_crds() -> anyhow::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for crd in flux_api::crds::all_crds()? {
        files.insert(
            flux_api::crds::crd_file_name(&crd),
            flux_api::crds::crd_to_yaml(&crd)?,
        );
    }
    Ok(files)
}

/// File name → content of every committed `*.yaml` in `dir`.
fn committed_crds(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("yaml") {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.insert(name, text);
        }
    }
    Ok(files)
}

fn crds(check: bool) -> anyhow::Result<()> {
    let dir = workspace_root()?.join("crates/flux-api/crds");
    let generated = generated_crds()?;
    let committed = committed_crds(&dir)?;
    if check {
        let mut stale = Vec::new();
        for (name, text) in &generated {
            match committed.get(name) {
                Some(existing) if existing == text => {}
                Some(_) => stale.push(format!("{name}: differs")),
                None => stale.push(format!("{name}: missing")),
            }
        }
        for name in committed.keys().filter(|n| !generated.contains_key(*n)) {
            stale.push(format!("{name}: not generated any more"));
        }
        anyhow::ensure!(
            stale.is_empty(),
            "{} is stale; run `cargo xtask crds`:\n  {}",
            dir.display(),
            stale.join("\n  ")
        );
        println!(
            "{} CRDs in {} are up to date",
            generated.len(),
            dir.display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in committed.keys().filter(|n| !generated.contains_key(*n)) {
        std::fs::remove_file(dir.join(name)).with_context(|| format!("removing {name}"))?;
    }
    for (name, text) in &generated {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} CRDs to {}", generated.len(), dir.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Root => println!("{}", workspace_root()?.display()),
        Command::Crds { check } => crds(check)?,
        Command::Bench {
            bench: Bench::Scale(args),
        } => bench_scale::run(args)?,
    }
    Ok(())
}
