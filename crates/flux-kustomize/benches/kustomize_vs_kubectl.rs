//! Benchmark program (not a timed test): builds every fixture case with `flux build kustomize`
//! and with `kubectl kustomize`, process against process, and prints both totals and the
//! ratio; then in-process builds per second for the largest case.
//!
//!   cargo build --release -p flux
//!   cargo bench -p flux-kustomize --bench kustomize_vs_kubectl
//!
//! `FLUX_BIN` names the flux binary (default: `$CARGO_TARGET_DIR/release/flux`);
//! `BENCH_ROUNDS` (default 3) how many times each case is run per tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flux_kustomize::{BuildOptions, DiskFs, LoadRestrictor};

struct Case {
    name: String,
    dir: PathBuf,
    entry: PathBuf,
    args: Vec<String>,
    input_bytes: u64,
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                total += dir_size(&path);
            } else if let Ok(m) = e.metadata() {
                total += m.len();
            }
        }
    }
    total
}

fn load_cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    for e in rd.flatten() {
        let dir = e.path();
        let Ok(text) = std::fs::read_to_string(dir.join("case.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let entry = meta["entry"].as_str().unwrap_or(".");
        let args = meta["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Case {
            name: e.file_name().to_string_lossy().into_owned(),
            entry: PathBuf::from("input").join(entry),
            input_bytes: dir_size(&dir.join("input")),
            dir,
            args,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn time_process(program: &Path, pre: &[&str], case: &Case, rounds: u32) -> Option<Duration> {
    let start = Instant::now();
    for _ in 0..rounds {
        let status = Command::new(program)
            .args(pre)
            .arg(&case.entry)
            .args(&case.args)
            .current_dir(&case.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        let _ = status;
    }
    Some(start.elapsed())
}

fn find_flux() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FLUX_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(&t).join("release/flux"));
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    candidates.push(ws.join("target/release/flux"));
    candidates.into_iter().find(|p| p.is_file())
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/kustomize");
    let cases = load_cases(&root);
    if cases.is_empty() {
        eprintln!("no fixture cases under {}", root.display());
        std::process::exit(1);
    }
    let rounds: u32 = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Some(flux) = find_flux() else {
        eprintln!("flux binary not found: run `cargo build --release -p flux` or set FLUX_BIN");
        std::process::exit(1);
    };
    let kubectl = PathBuf::from("kubectl");
    let (mut total_flux, mut total_kubectl) = (Duration::ZERO, Duration::ZERO);
    println!(
        "{:<70} {:>12} {:>12} {:>8}",
        "case", "flux (ms)", "kubectl (ms)", "ratio"
    );
    for c in &cases {
        let f = time_process(&flux, &["build", "kustomize"], c, rounds);
        let k = time_process(&kubectl, &["kustomize"], c, rounds);
        let (Some(f), Some(k)) = (f, k) else {
            eprintln!("{}: could not run both tools", c.name);
            std::process::exit(1);
        };
        total_flux += f;
        total_kubectl += k;
        println!(
            "{:<70} {:>12.1} {:>12.1} {:>7.1}x",
            c.name,
            f.as_secs_f64() * 1000.0 / f64::from(rounds),
            k.as_secs_f64() * 1000.0 / f64::from(rounds),
            k.as_secs_f64() / f.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "\nTOTAL ({} cases x {rounds} rounds): flux build kustomize {:.3}s, kubectl kustomize {:.3}s, ratio {:.1}x",
        cases.len(),
        total_flux.as_secs_f64(),
        total_kubectl.as_secs_f64(),
        total_kubectl.as_secs_f64() / total_flux.as_secs_f64().max(1e-9)
    );

    // In-process: the largest case that builds.
    let largest = cases
        .iter()
        .filter(|c| c.dir.join("expected.yaml").is_file())
        .max_by_key(|c| c.input_bytes);
    if let Some(c) = largest {
        let opts = BuildOptions {
            load_restrictor: if c.args.iter().any(|a| a.contains("LoadRestrictionsNone")) {
                LoadRestrictor::None
            } else {
                LoadRestrictor::RootOnly
            },
            ..Default::default()
        };
        let dir = c.dir.join(&c.entry);
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_secs(3) {
            if let Err(e) = flux_kustomize::build_to_yaml(&DiskFs, &dir, &opts) {
                eprintln!("{}: {e}", c.name);
                std::process::exit(1);
            }
            n += 1;
        }
        println!(
            "in-process: {} ({} KiB of input): {:.1} builds/s",
            c.name,
            c.input_bytes / 1024,
            f64::from(n) / start.elapsed().as_secs_f64()
        );
    }
}
