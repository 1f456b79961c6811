//! Benchmark: pack + digest a generated 20k-file tree, ours vs `tar czf` + `sha256sum`
//! in the same run. Run with `cargo bench -p flux-artifact --bench pack_20k`.
//! Prints figures; it is not a timed test.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use flux_artifact::{IgnoreMatcher, PackOptions, pack_dir};

const DIRS: usize = 200;
const FILES_PER_DIR: usize = 100;
const RUNS: usize = 5;

fn generate(root: &Path) -> Result<u64> {
    let mut bytes = 0u64;
    for d in 0..DIRS {
        let dir = root.join(format!("apps/team-{:02}/app-{d:03}", d % 17));
        fs::create_dir_all(&dir)?;
        for f in 0..FILES_PER_DIR {
            let n = d * FILES_PER_DIR + f;
            let mut body = format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{n}\n  namespace: team-{}\n  labels:\n    app.kubernetes.io/name: app-{n}\nspec:\n  replicas: {}\n  template:\n    spec:\n      containers:\n        - name: main\n          image: ghcr.io/example/app-{n}:v1.{}.{}\n",
                d % 17,
                n % 5 + 1,
                n % 13,
                n % 7
            );
            // Vary sizes: some files carry a larger config blob.
            for line in 0..(n % 40) {
                body.push_str(&format!(
                    "          # config line {line} for app {n}: value-{}\n",
                    (n * 31 + line) % 9973
                ));
            }
            bytes += body.len() as u64;
            fs::write(dir.join(format!("manifest-{f:03}.yaml")), body)?;
        }
    }
    Ok(bytes)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ours(tree: &Path, out: &Path, with_ignore: bool) -> Result<(Duration, String, u64)> {
    let start = Instant::now();
    let matcher;
    let filter_fn;
    let filter: Option<flux_artifact::PackFilter<'_>> = if with_ignore {
        matcher = IgnoreMatcher::for_source_dir(tree, None)?;
        filter_fn = move |rel: &str, is_dir: bool| matcher.is_excluded_path(rel, is_dir);
        Some(&filter_fn)
    } else {
        None
    };
    let file = std::io::BufWriter::new(fs::File::create(out)?);
    let (w, summary) = pack_dir(tree, file, filter, &PackOptions::default())?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok((start.elapsed(), summary.digest.to_string(), summary.size))
}

fn reference(tree: &Path, out: &Path) -> Result<(Duration, String, u64)> {
    let start = Instant::now();
    let status = Command::new("tar")
        .arg("czf")
        .arg(out)
        .arg("-C")
        .arg(tree)
        .arg(".")
        .status()
        .context("running tar")?;
    if !status.success() {
        bail!("tar czf failed");
    }
    let sum = Command::new("sha256sum")
        .arg(out)
        .output()
        .context("running sha256sum")?;
    if !sum.status.success() {
        bail!("sha256sum failed");
    }
    let elapsed = start.elapsed();
    let hex = String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Ok((elapsed, format!("sha256:{hex}"), fs::metadata(out)?.len()))
}

fn main() -> Result<()> {
    for tool in ["tar", "sha256sum"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            bail!("{tool} is needed for the reference side of this benchmark");
        }
    }
    let tmp = tempfile::tempdir()?;
    let tree = tmp.path().join("tree");
    let t0 = Instant::now();
    let content = generate(&tree)?;
    println!(
        "generated {} files ({:.1} MiB) in {:.2?}",
        DIRS * FILES_PER_DIR,
        content as f64 / (1 << 20) as f64,
        t0.elapsed()
    );

    // Warm the page cache once for both sides.
    reference(&tree, &tmp.path().join("warm.tar.gz"))?;
    ours(&tree, &tmp.path().join("warm-ours.tar.gz"), false)?;

    let mut ours_times = Vec::new();
    let mut ours_ignore_times = Vec::new();
    let mut ref_times = Vec::new();
    let mut digests = Vec::new();
    let (mut ours_size, mut ref_size) = (0, 0);
    for i in 0..RUNS {
        let (t, d, s) = ours(&tree, &tmp.path().join(format!("ours-{i}.tar.gz")), false)?;
        ours_times.push(t);
        digests.push(d);
        ours_size = s;
        let (t, _, _) = ours(
            &tree,
            &tmp.path().join(format!("ours-ign-{i}.tar.gz")),
            true,
        )?;
        ours_ignore_times.push(t);
        let (t, _, s) = reference(&tree, &tmp.path().join(format!("ref-{i}.tar.gz")))?;
        ref_times.push(t);
        ref_size = s;
    }
    digests.dedup();
    let ours_m = median(ours_times);
    let ours_ign_m = median(ours_ignore_times);
    let ref_m = median(ref_times);
    println!("runs: {RUNS} (medians below)");
    println!(
        "flux-artifact pack_dir + sha256:          {:>8.1?}  ({} bytes)",
        ours_m, ours_size
    );
    println!(
        "flux-artifact + .sourceignore defaults:   {:>8.1?}",
        ours_ign_m
    );
    println!(
        "tar czf + sha256sum:                      {:>8.1?}  ({} bytes)",
        ref_m, ref_size
    );
    println!(
        "ratio reference/ours: {:.2}x (with ignore rules: {:.2}x)",
        ref_m.as_secs_f64() / ours_m.as_secs_f64(),
        ref_m.as_secs_f64() / ours_ign_m.as_secs_f64()
    );
    println!(
        "reproducible: {} ({} distinct digest(s) over {RUNS} runs: {})",
        digests.len() == 1,
        digests.len(),
        digests.join(", ")
    );
    if digests.len() != 1 {
        bail!("packing the same tree gave different digests");
    }
    Ok(())
}
