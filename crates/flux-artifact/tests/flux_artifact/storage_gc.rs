//! Storage: layout, atomic writes, locks, symlinks, verification and retention GC.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use flux_artifact::storage::artifact_path;
use flux_artifact::{Algorithm, Storage, StorageError, StorageOptions};

use crate::fixtures::{age, write};

fn storage(root: &Path, ttl: Duration, records: usize) -> Result<Storage> {
    Ok(Storage::new(&StorageOptions {
        storage_path: root.to_path_buf(),
        storage_adv_addr: Some("source-controller.flux-system.svc.cluster.local.".into()),
        artifact_retention_ttl: ttl,
        artifact_retention_records: records,
        ..StorageOptions::default()
    })?)
}

fn file_names(paths: &[PathBuf]) -> BTreeSet<String> {
    paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Writes artifacts named `<n>.tar.gz` aged as given; returns their storage paths.
fn seed(s: &Storage, ages: &[(&str, u64)]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (name, secs) in ages {
        let p = artifact_path("GitRepository", "flux-system", "podinfo", name);
        s.mkdir_all(&p)?;
        let stored = s.copy(&p, name.as_bytes())?;
        drop(s.lock(&p)?);
        age(&s.local_path(&stored.path)?, Duration::from_secs(*secs))?;
        out.push(p);
    }
    Ok(out)
}

#[test]
fn gc_deletes_expired_then_oldest_beyond_records() -> Result<()> {
    let root = tempfile::tempdir()?;
    let s = storage(root.path(), Duration::from_secs(60), 2)?;
    let paths = seed(
        &s,
        &[
            ("a.tar.gz", 600),
            ("b.tar.gz", 300),
            ("c.tar.gz", 30),
            ("d.tar.gz", 20),
            ("current.tar.gz", 0),
        ],
    )?;
    let current = &paths[4];
    let garbage = s.garbage_files(current, SystemTime::now())?;
    assert_eq!(
        file_names(&garbage),
        set(&["a.tar.gz", "b.tar.gz", "c.tar.gz"])
    );

    let deleted = s.garbage_collect(current)?;
    assert_eq!(
        file_names(&deleted),
        set(&["a.tar.gz", "b.tar.gz", "c.tar.gz"])
    );
    let dir = root.path().join("gitrepository/flux-system/podinfo");
    let left: BTreeSet<String> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        left,
        set(&[
            "current.tar.gz",
            "current.tar.gz.lock",
            "d.tar.gz",
            "d.tar.gz.lock"
        ]),
        "lock files of deleted artifacts go too"
    );
    Ok(())
}

#[test]
fn gc_keeps_current_even_when_oldest_and_expired() -> Result<()> {
    let root = tempfile::tempdir()?;
    let s = storage(root.path(), Duration::from_secs(3600), 2)?;
    let paths = seed(
        &s,
        &[
            ("current.tar.gz", 7200),
            ("x.tar.gz", 40),
            ("y.tar.gz", 30),
            ("z.tar.gz", 20),
        ],
    )?;
    let garbage = s.garbage_files(&paths[0], SystemTime::now())?;
    assert_eq!(file_names(&garbage), set(&["x.tar.gz", "y.tar.gz"]));
    Ok(())
}

#[test]
fn gc_with_few_files_only_drops_expired() -> Result<()> {
    let root = tempfile::tempdir()?;
    let s = storage(root.path(), Duration::from_secs(60), 2)?;
    let paths = seed(&s, &[("old.tar.gz", 120), ("current.tar.gz", 0)])?;
    let garbage = s.garbage_files(&paths[1], SystemTime::now())?;
    assert_eq!(file_names(&garbage), set(&["old.tar.gz"]));
    let s = storage(root.path(), Duration::from_secs(600), 2)?;
    assert!(s.garbage_files(&paths[1], SystemTime::now())?.is_empty());
    Ok(())
}

#[test]
fn archive_verify_symlink_and_remove() -> Result<()> {
    let root = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    write(src.path(), "deploy/app.yaml", "kind: ConfigMap\n")?;
    let s = storage(root.path(), Duration::from_secs(60), 2)?;
    let p = artifact_path("OCIRepository", "apps", "podinfo", "abc.tar.gz");
    s.mkdir_all(&p)?;
    let stored = {
        let _lock = s.lock(&p)?;
        s.archive(&p, src.path(), None)?
    };
    assert_eq!(stored.path, "ocirepository/apps/podinfo/abc.tar.gz");
    assert_eq!(
        stored.url,
        "http://source-controller.flux-system.svc.cluster.local./ocirepository/apps/podinfo/abc.tar.gz"
    );
    let local = s.local_path(&stored.path)?;
    let bytes = std::fs::read(&local)?;
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.digest, Algorithm::Sha256.digest_bytes(&bytes));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&local)?.permissions().mode() & 0o777,
        0o600
    );
    assert!(s.artifact_exists(&p));
    s.verify(&p, &stored.digest)?;

    // Tampering is detected.
    std::fs::write(&local, b"tampered")?;
    assert!(matches!(
        s.verify(&p, &stored.digest),
        Err(StorageError::Verify { .. })
    ));

    // Stable symlink.
    let url = s.symlink(&p, "latest.tar.gz")?;
    assert_eq!(
        url,
        "http://source-controller.flux-system.svc.cluster.local./ocirepository/apps/podinfo/latest.tar.gz"
    );
    let link = local.with_file_name("latest.tar.gz");
    assert!(std::fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(std::fs::read(&link)?, b"tampered");
    assert!(!s.artifact_exists("ocirepository/apps/podinfo/latest.tar.gz"));

    // Remove all but current keeps the symlink and the artifact.
    let other = artifact_path("OCIRepository", "apps", "podinfo", "old.tar.gz");
    s.copy(&other, &b"old"[..])?;
    let removed = s.remove_all_but_current(&p)?;
    assert_eq!(
        file_names(&removed),
        set(&["old.tar.gz", "abc.tar.gz.lock"])
    );
    assert!(s.artifact_exists(&p));

    // Object deletion removes the directory.
    let dir = s.remove_all(&p)?;
    assert_eq!(dir, Some(root.path().join("ocirepository/apps/podinfo")));
    assert!(!s.artifact_exists(&p));
    assert_eq!(s.remove_all(&p)?, None);
    Ok(())
}

#[test]
fn other_digest_algorithms_and_atomic_write_mode() -> Result<()> {
    let root = tempfile::tempdir()?;
    let s = Storage::new(&StorageOptions {
        storage_path: root.path().to_path_buf(),
        artifact_digest_algo: Algorithm::Blake3,
        storage_addr: "127.0.0.1:9090".into(),
        ..StorageOptions::default()
    })?;
    let p = artifact_path("HelmRepository", "ns", "repo", "index.yaml");
    s.mkdir_all(&p)?;
    let stored = s.atomic_write_file(&p, &b"apiVersion: v1\n"[..], 0o640)?;
    assert_eq!(
        stored.digest,
        Algorithm::Blake3.digest_bytes(b"apiVersion: v1\n")
    );
    assert_eq!(
        stored.url,
        "http://127.0.0.1:9090/helmrepository/ns/repo/index.yaml"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.local_path(&p)?)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // No temporary files are left behind.
    let entries: Vec<_> = std::fs::read_dir(root.path().join("helmrepository/ns/repo"))?.collect();
    assert_eq!(entries.len(), 1);
    Ok(())
}

#[test]
fn lock_is_exclusive() -> Result<()> {
    let root = tempfile::tempdir()?;
    let s = storage(root.path(), Duration::from_secs(60), 2)?;
    let p = artifact_path("Bucket", "ns", "b", "x.tar.gz");
    s.mkdir_all(&p)?;
    let held = s.lock(&p)?;
    assert!(s.try_lock(&p)?.is_none(), "second lock must not be granted");
    drop(held);
    assert!(s.try_lock(&p)?.is_some());
    Ok(())
}

#[test]
fn storage_path_must_exist() {
    let err = Storage::new(&StorageOptions {
        storage_path: PathBuf::from("/nonexistent/flux-storage"),
        storage_adv_addr: Some("x".into()),
        ..StorageOptions::default()
    });
    assert!(matches!(err, Err(StorageError::InvalidStoragePath { .. })));
}

#[test]
fn copy_to_path_moves_a_sub_path_of_an_artifact() -> Result<()> {
    let root = tempfile::tempdir()?;
    let src = tempfile::tempdir()?;
    write(src.path(), "deploy/base/app.yaml", "kind: A\n")?;
    write(src.path(), "deploy/base/nested/b.yaml", "kind: B\n")?;
    write(src.path(), "other.yaml", "kind: C\n")?;
    let s = storage(root.path(), Duration::from_secs(60), 2)?;
    let p = artifact_path("GitRepository", "ns", "included", "x.tar.gz");
    s.mkdir_all(&p)?;
    s.archive(&p, src.path(), None)?;

    let work = tempfile::tempdir()?;
    let to = work.path().join("vendor/included");
    s.copy_to_path(&p, "./deploy/base", &to)?;
    assert_eq!(std::fs::read_to_string(to.join("app.yaml"))?, "kind: A\n");
    assert_eq!(
        std::fs::read_to_string(to.join("nested/b.yaml"))?,
        "kind: B\n"
    );
    assert!(!to.join("other.yaml").exists());
    // The temporary directory is gone.
    let names: Vec<_> = std::fs::read_dir(work.path().join("vendor"))?.collect::<Result<_, _>>()?;
    assert_eq!(names.len(), 1);

    // Everything, and `..` cannot climb out of the artifact.
    let all = work.path().join("all");
    s.copy_to_path(&p, "../../..", &all)?;
    assert!(all.join("other.yaml").is_file());

    let missing = s.copy_to_path(&p, "nope", &work.path().join("x"));
    assert!(
        matches!(missing, Err(StorageError::SubPathNotFound { .. })),
        "{missing:?}"
    );
    Ok(())
}
