//! Benchmark program (not a timed test): renders every Helm fixture case with
//! `flux build helm` and with `helm template`, process against process, and
//! prints the totals and their ratio; then in-process renders per second for
//! the largest chart.
//!
//! Run: `FLUX_BIN=target/release/flux cargo bench -p flux-helm --bench render`
//! (FLUX_FIXTURES and FLUX_HELM_GET_HELM override the default locations).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Case {
    dir: PathBuf,
    args: Vec<String>,
    files: usize,
}

fn load_cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root.join("helm")) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let Ok(text) = std::fs::read_to_string(dir.join("case.json")) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let args: Vec<String> = v["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let files = walk_count(&dir.join("input"));
        out.push(Case { dir, args, files });
    }
    out
}

fn walk_count(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 1;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| walk_count(&e.path()))
        .sum()
}

fn time_process(bin: &Path, prefix: &[&str], case: &Case) -> (Duration, bool) {
    let start = Instant::now();
    let status = Command::new(bin)
        .args(prefix)
        .args(&case.args)
        .current_dir(&case.dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    (start.elapsed(), status.is_ok_and(|s| s.success()))
}

fn helm_binary() -> Option<PathBuf> {
    let script = std::env::var("FLUX_HELM_GET_HELM").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/tools/get-helm"
        )
        .into()
    });
    let out = Command::new(script).arg("3").output().ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.is_file().then_some(p)
}

fn flux_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FLUX_BIN") {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    ["release", "debug"]
        .iter()
        .map(|p| PathBuf::from(&target).join(p).join("flux"))
        .find(|p| p.is_file())
}

fn main() {
    let root = PathBuf::from(std::env::var("FLUX_FIXTURES").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures").into()
    }));
    let cases = load_cases(&root);
    if cases.is_empty() {
        eprintln!("no fixture cases under {}", root.display());
        std::process::exit(1);
    }
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    match (flux_binary(), helm_binary()) {
        (Some(flux), Some(helm)) => {
            println!(
                "process vs process, {} cases x {rounds} rounds",
                cases.len()
            );
            println!("flux: {}\nhelm: {}", flux.display(), helm.display());
            let mut tf = Duration::ZERO;
            let mut th = Duration::ZERO;
            for case in &cases {
                let mut cf = Duration::ZERO;
                let mut ch = Duration::ZERO;
                let mut ok = true;
                for _ in 0..rounds {
                    let (d, s) = time_process(&flux, &["build", "helm"], case);
                    cf += d;
                    ok &= s;
                    let (d, _) = time_process(&helm, &["template"], case);
                    ch += d;
                }
                tf += cf;
                th += ch;
                println!(
                    "{:<60} flux {:>8.1} ms  helm {:>8.1} ms  x{:>5.1}{}",
                    case.dir
                        .file_name()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    cf.as_secs_f64() * 1000.0 / rounds as f64,
                    ch.as_secs_f64() * 1000.0 / rounds as f64,
                    ch.as_secs_f64() / cf.as_secs_f64().max(1e-9),
                    if ok { "" } else { "  (flux exited non-zero)" }
                );
            }
            println!(
                "TOTAL flux {:.1} ms, helm {:.1} ms, ratio helm/flux = {:.2}x",
                tf.as_secs_f64() * 1000.0,
                th.as_secs_f64() * 1000.0,
                th.as_secs_f64() / tf.as_secs_f64().max(1e-9)
            );
        }
        (f, h) => {
            eprintln!(
                "process comparison skipped: flux binary {} / helm {} (set FLUX_BIN)",
                if f.is_some() { "found" } else { "missing" },
                if h.is_some() { "found" } else { "missing" }
            );
        }
    }
    // In-process: the largest chart (by file count) among succeeding cases.
    let Some(largest) = cases
        .iter()
        .filter(|c| c.dir.join("expected.yaml").is_file())
        .max_by_key(|c| c.files)
    else {
        return;
    };
    let arg = |flag: &str| {
        largest
            .args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| largest.args.get(i + 1))
            .cloned()
    };
    let chart_path = largest.dir.join(&largest.args[1]);
    let mut opts = flux_helm::TemplateOptions::new(
        &largest.args[0],
        &arg("-n").unwrap_or_else(|| "default".into()),
    );
    opts.kube_version = arg("--kube-version");
    opts.skip_tests = largest.args.iter().any(|a| a == "--skip-tests");
    let mut user = flux_helm::UserValues::default();
    if let Some(f) = arg("-f") {
        user.files.push((
            f.clone(),
            std::fs::read(largest.dir.join(&f)).unwrap_or_default(),
        ));
    }
    let values = match user.merge(&|p| std::fs::read_to_string(p).map_err(|e| e.to_string())) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("values: {e}");
            return;
        }
    };
    let chart = match flux_helm::chart::load(&chart_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("load: {e}");
            return;
        }
    };
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs(3) {
        if let Err(e) = flux_helm::template::template(chart.clone(), &values, &opts) {
            eprintln!("render failed: {e}");
            return;
        }
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "in-process: {} ({} files): {:.1} renders/s ({:.2} ms each, chart loaded once)",
        largest
            .dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        largest.files,
        f64::from(n) / secs,
        secs * 1000.0 / f64::from(n)
    );
}
