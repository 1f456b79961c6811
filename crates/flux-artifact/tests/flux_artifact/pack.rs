//! Reproducible packing: same content ⇒ same bytes ⇒ same digest.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use flux_artifact::{Algorithm, PackOptions, pack_dir};

use crate::fixtures::{age, chmod, list_tar_gz, names, require_tool, write};

fn sample_tree(root: &Path, mode_file: u32, mode_exe: u32) -> Result<()> {
    write(root, "README.md", "# hello\n")?;
    write(root, "apps/podinfo/deployment.yaml", "kind: Deployment\n")?;
    write(
        root,
        "apps/podinfo/kustomization.yaml",
        "resources: [deployment.yaml]\n",
    )?;
    write(root, "apps.yaml", "kind: Kustomization\n")?;
    write(root, "scripts/run.sh", "#!/bin/sh\necho hi\n")?;
    std::fs::create_dir_all(root.join("empty"))?;
    chmod(root, "README.md", mode_file)?;
    chmod(root, "apps.yaml", mode_file)?;
    chmod(root, "scripts/run.sh", mode_exe)?;
    std::os::unix::fs::symlink("README.md", root.join("link-to-readme"))?;
    Ok(())
}

fn pack(dir: &Path) -> Result<(Vec<u8>, flux_artifact::PackSummary)> {
    Ok(pack_dir(dir, Vec::new(), None, &PackOptions::default())?)
}

#[test]
fn same_tree_with_different_mtimes_and_modes_gives_identical_bytes() -> Result<()> {
    let a = tempfile::tempdir()?;
    let b = tempfile::tempdir()?;
    sample_tree(a.path(), 0o644, 0o755)?;
    sample_tree(b.path(), 0o600, 0o744)?;
    for rel in ["README.md", "apps.yaml", "apps/podinfo/deployment.yaml"] {
        age(&b.path().join(rel), Duration::from_secs(86_400 * 30))?;
    }
    let (bytes_a, sum_a) = pack(a.path())?;
    let (bytes_b, sum_b) = pack(b.path())?;
    assert_eq!(bytes_a, bytes_b, "archives differ byte-wise");
    assert_eq!(sum_a.digest, sum_b.digest);
    assert_eq!(sum_a.digest, Algorithm::Sha256.digest_bytes(&bytes_a));
    assert_eq!(sum_a.size, bytes_a.len() as u64);
    assert_eq!(sum_a.files, 5);
    assert_eq!(sum_a.dirs, 4);
    assert_eq!(sum_a.skipped_special, 1, "the symlink is skipped");

    // Changing one byte changes the digest.
    write(b.path(), "apps.yaml", "kind: Kustomization!\n")?;
    let (_, sum_c) = pack(b.path())?;
    assert_ne!(sum_a.digest, sum_c.digest);
    Ok(())
}

#[test]
fn headers_are_sanitised_and_ordered() -> Result<()> {
    let dir = tempfile::tempdir()?;
    sample_tree(dir.path(), 0o664, 0o751)?;
    let (bytes, _) = pack(dir.path())?;
    // gzip header: magic, deflate, no flags, zero mtime.
    assert_eq!(&bytes[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    let listing = list_tar_gz(&bytes)?;
    let got: Vec<(String, char, u32)> = listing
        .iter()
        .map(|l| (l.name.clone(), l.kind, l.mode))
        .collect();
    let want: Vec<(String, char, u32)> = [
        ("README.md", '0', 0o600),
        ("apps/", '5', 0o750),
        ("apps/podinfo/", '5', 0o750),
        ("apps/podinfo/deployment.yaml", '0', 0o600),
        ("apps/podinfo/kustomization.yaml", '0', 0o600),
        ("apps.yaml", '0', 0o600),
        ("empty/", '5', 0o750),
        ("scripts/", '5', 0o750),
        ("scripts/run.sh", '0', 0o700),
    ]
    .into_iter()
    .map(|(n, k, m)| (n.to_string(), k, m))
    .collect();
    assert_eq!(got, want);
    for l in &listing {
        assert_eq!((l.uid, l.gid, l.mtime), (0, 0, 0), "{}", l.name);
        assert_eq!(
            (l.username.as_str(), l.groupname.as_str()),
            ("", ""),
            "{}",
            l.name
        );
    }
    Ok(())
}

#[test]
fn long_names_and_other_algorithms() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let deep = format!("{}/file.yaml", ["segment-with-a-long-name"; 8].join("/"));
    write(dir.path(), &deep, "x: 1\n")?;
    let (bytes, _) = pack(dir.path())?;
    assert!(names(&bytes)?.contains(&deep));
    for algorithm in Algorithm::ALL {
        let options = PackOptions {
            digest_algorithm: algorithm,
            ..PackOptions::default()
        };
        let (bytes, summary) = pack_dir(dir.path(), Vec::new(), None, &options)?;
        assert_eq!(summary.digest, algorithm.digest_bytes(&bytes));
    }
    Ok(())
}

#[test]
fn missing_dir_is_an_error() {
    let err = pack_dir(
        Path::new("/nonexistent/flux-artifact"),
        Vec::new(),
        None,
        &PackOptions::default(),
    );
    assert!(matches!(
        err,
        Err(flux_artifact::PackError::InvalidDir { .. })
    ));
}

#[test]
fn gnu_tar_reads_our_archives() -> Result<()> {
    if !require_tool("tar")? {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    sample_tree(dir.path(), 0o644, 0o755)?;
    let (bytes, _) = pack(dir.path())?;
    let out = tempfile::tempdir()?;
    let archive = out.path().join("a.tar.gz");
    std::fs::write(&archive, &bytes)?;
    let listing = std::process::Command::new("tar")
        .arg("tzvf")
        .arg(&archive)
        .output()?;
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let text = String::from_utf8(listing.stdout)?;
    assert!(text.contains("-rwx------ 0/0"), "{text}");
    assert!(text.contains("drwxr-x--- 0/0"), "{text}");
    assert!(text.contains("1970-01-01"), "{text}");
    Ok(())
}

/// A sink that fails once more than `limit` bytes were written.
#[derive(Debug)]
struct FailingWriter {
    limit: usize,
    written: usize,
}

impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(std::io::Error::other("disk full (test)"));
        }
        self.written += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn writer_and_walk_errors_are_reported_not_hung() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // Enough incompressible-ish content to overflow a small sink.
    for i in 0..200 {
        let body: String = (0..2000)
            .map(|j| char::from(b'a' + ((i * 7 + j * 13) % 26) as u8))
            .collect();
        write(dir.path(), &format!("d{}/f{i}.txt", i % 5), &body)?;
    }
    let err = pack_dir(
        dir.path(),
        FailingWriter {
            limit: 4096,
            written: 0,
        },
        None,
        &PackOptions::default(),
    );
    match err {
        Err(flux_artifact::PackError::Finish { source }) => {
            assert!(source.to_string().contains("disk full"), "{source}")
        }
        other => panic!("expected Finish error, got {other:?}"),
    }

    // A walk error (non-UTF-8 name) closes the pipe and is reported as such.
    use std::os::unix::ffi::OsStrExt;
    let bad = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"bad-\xff-name"));
    std::fs::write(&bad, b"x")?;
    let err = pack_dir(dir.path(), Vec::new(), None, &PackOptions::default());
    assert!(
        matches!(err, Err(flux_artifact::PackError::NonUtf8Name { .. })),
        "{err:?}"
    );
    Ok(())
}
