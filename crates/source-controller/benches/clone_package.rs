//! Benchmark program (prints figures; not a timed test): clone + package + digest of a
//! generated repository (20 000 files, deep history) with source-controller's code
//! (gix shallow fetch over file://, tree write, flux-artifact pack + sha256) versus
//! `git clone --depth 1` + `tar czf` + `sha256sum` in the same run, and the cost of a
//! no-op check (ls-refs only).
//!
//! `cargo bench -p source-controller --bench clone_package [-- FILES COMMITS]`

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use source_controller::auth::{AuthOptions, Transport};
use source_controller::git::{self, Remote};
use source_controller::reference::{RefSpec, resolve};

fn sh(dir: &Path, script: &str) -> anyhow::Result<()> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()?;
    anyhow::ensure!(status.success(), "failed: {script}");
    Ok(())
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let commits: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let root = tempfile::tempdir()?;
    let work = root.path().join("work");
    std::fs::create_dir_all(&work)?;
    eprintln!("generating {files} files and {commits} commits …");
    sh(&work, "git init -q -b main")?;
    for i in 0..files {
        let dir = work.join(format!("d{:03}/e{:02}", i % 500, (i / 500) % 40));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(format!("f{i}.yaml")),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: value-{i}\n"
            ),
        )?;
    }
    sh(&work, "git add -A && git commit -q -m initial")?;
    for c in 1..commits {
        std::fs::write(
            work.join(format!("d{:03}/history.txt", c % 500)),
            format!("commit {c}\n"),
        )?;
        sh(
            &work,
            &format!("git add -A && git commit -q -m 'commit {c}'"),
        )?;
    }
    sh(root.path(), "git clone -q --bare work app.git")?;
    let bare = root.path().join("app.git");
    let url = format!("file://{}", bare.display());
    let remote = Remote {
        url: url.clone(),
        transport: Transport::File,
        auth: AuthOptions::default(),
        timeout: Duration::from_secs(600),
        proxy: None,
    };
    let stop = AtomicBool::new(false);
    let spec = RefSpec::Branch("main".into());
    let storage_dir = tempfile::tempdir()?;
    let storage = flux_artifact::Storage::new(&flux_artifact::StorageOptions {
        storage_path: storage_dir.path().to_path_buf(),
        storage_addr: "127.0.0.1:9090".into(),
        ..Default::default()
    })?;

    let ours = best_of(3, || {
        let out = tempfile::tempdir()?;
        let refs = git::list_refs(&remote, &spec, &stop)?;
        let resolved = resolve(&spec, &refs)?;
        let src = out.path().join("src");
        let commit = git::checkout(&remote, &spec, &resolved, &src, None, false, &stop)?;
        let matcher = flux_artifact::IgnoreMatcher::for_source_dir(&src, None)?;
        let filter = |rel: &str, is_dir: bool| matcher.is_excluded_path(rel, is_dir);
        let path = format!("gitrepository/default/bench/{}.tar.gz", commit.hash);
        storage.mkdir_all(&path)?;
        storage.archive(&path, &src, Some(&filter))?;
        Ok(())
    })?;
    let theirs = best_of(3, || {
        let out = tempfile::tempdir()?;
        sh(
            out.path(),
            &format!(
                "git clone -q --depth 1 --branch main {url} src && tar czf a.tar.gz --exclude=.git -C src . && sha256sum a.tar.gz >/dev/null"
            ),
        )
    })?;
    let noop = best_of(10, || {
        let refs = git::list_refs(&remote, &spec, &stop)?;
        resolve(&spec, &refs)?;
        Ok(())
    })?;
    let ls_remote = best_of(10, || {
        sh(
            root.path(),
            &format!("git ls-remote -q {url} refs/heads/main >/dev/null"),
        )
    })?;
    println!("repository: {files} files, {commits} commits");
    println!(
        "clone+package+digest  ours: {:>8.1} ms",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "clone --depth 1 + tar czf + sha256sum: {:>8.1} ms",
        theirs.as_secs_f64() * 1e3
    );
    println!(
        "ratio (ours / git+tar): {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    println!(
        "no-op check (ls-refs)  ours: {:>8.2} ms   git ls-remote: {:>8.2} ms",
        noop.as_secs_f64() * 1e3,
        ls_remote.as_secs_f64() * 1e3
    );
    Ok(())
}
