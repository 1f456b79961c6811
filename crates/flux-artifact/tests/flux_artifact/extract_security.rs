//! Extractor security: every hostile archive is refused with a typed error naming the
//! entry, and nothing lands outside the destination.

use std::path::Path;

use anyhow::Result;
use flux_artifact::{
    Algorithm, ExtractError, ExtractOptions, LinkKind, LinkPolicy, PackOptions, extract,
    extract_verified, extract_verified_bytes, extract_verified_file, pack_dir,
};

use crate::fixtures::{RawEntry, raw_tar_gz, require_tool, write};

fn allow_links() -> ExtractOptions {
    ExtractOptions {
        links: LinkPolicy::AllowWithinRoot,
        ..ExtractOptions::default()
    }
}

/// A sandbox: `outside/` next to `dest/`, so escapes are observable.
struct Sandbox {
    _tmp: tempfile::TempDir,
    dest: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn sandbox() -> Result<Sandbox> {
    let tmp = tempfile::tempdir()?;
    let dest = tmp.path().join("dest");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&dest)?;
    std::fs::create_dir_all(&outside)?;
    Ok(Sandbox {
        dest,
        outside,
        _tmp: tmp,
    })
}

fn nothing_outside(sb: &Sandbox) -> Result<()> {
    let parent = sb
        .dest
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no parent"))?;
    let mut names: Vec<String> = std::fs::read_dir(parent)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    assert_eq!(
        names,
        ["dest", "outside"],
        "something was written next to dest"
    );
    assert_eq!(
        std::fs::read_dir(&sb.outside)?.count(),
        0,
        "outside/ was written"
    );
    Ok(())
}

fn run(
    entries: &[RawEntry<'_>],
    options: &ExtractOptions,
) -> Result<(Sandbox, Result<(), ExtractError>)> {
    let sb = sandbox()?;
    let bytes = raw_tar_gz(entries)?;
    let res = extract(&bytes[..], &sb.dest, options).map(|_| ());
    Ok((sb, res))
}

#[test]
fn path_traversal_is_refused() -> Result<()> {
    for name in [
        "../outside/evil",
        "a/../../outside/evil",
        "..",
        "./../outside/x",
    ] {
        let (sb, res) = run(
            &[RawEntry::file(name, b"pwned")],
            &ExtractOptions::default(),
        )?;
        match res {
            Err(ExtractError::PathTraversal { name: n }) => assert_eq!(n, name),
            other => panic!("{name}: expected PathTraversal, got {other:?}"),
        }
        nothing_outside(&sb)?;
    }
    Ok(())
}

#[test]
fn absolute_paths_are_refused() -> Result<()> {
    let sb0 = sandbox()?;
    let target = format!("{}/evil", sb0.outside.display());
    let (sb, res) = run(
        &[RawEntry::file(&target, b"pwned")],
        &ExtractOptions::default(),
    )?;
    assert!(
        matches!(&res, Err(ExtractError::AbsolutePath { name }) if *name == target),
        "{res:?}"
    );
    nothing_outside(&sb)?;
    assert_eq!(std::fs::read_dir(&sb0.outside)?.count(), 0);
    Ok(())
}

#[test]
fn backslash_names_are_refused() -> Result<()> {
    let (_sb, res) = run(
        &[RawEntry::file("..\\evil", b"x")],
        &ExtractOptions::default(),
    )?;
    assert!(
        matches!(res, Err(ExtractError::InvalidEntryName { .. })),
        "{res:?}"
    );
    Ok(())
}

#[test]
fn links_are_refused_by_default() -> Result<()> {
    let (_sb, res) = run(
        &[RawEntry::symlink("l", "target")],
        &ExtractOptions::default(),
    )?;
    assert!(
        matches!(&res, Err(ExtractError::LinkNotAllowed { name, kind: LinkKind::Symlink }) if name == "l"),
        "{res:?}"
    );
    let (_sb, res) = run(
        &[RawEntry::file("f", b"x"), RawEntry::hardlink("h", "f")],
        &ExtractOptions::default(),
    )?;
    assert!(
        matches!(&res, Err(ExtractError::LinkNotAllowed { name, kind: LinkKind::Hardlink }) if name == "h"),
        "{res:?}"
    );
    // Skip policy drops them.
    let sb = sandbox()?;
    let bytes = raw_tar_gz(&[
        RawEntry::file("f", b"x"),
        RawEntry::symlink("l", "../../etc/passwd"),
        RawEntry::hardlink("h", "f"),
    ])?;
    let options = ExtractOptions {
        links: LinkPolicy::Skip,
        ..ExtractOptions::default()
    };
    let summary = extract(&bytes[..], &sb.dest, &options)?;
    assert_eq!((summary.files, summary.skipped_links), (1, 2));
    assert!(std::fs::symlink_metadata(sb.dest.join("l")).is_err());
    Ok(())
}

#[test]
fn symlink_escapes_are_refused() -> Result<()> {
    for target in [
        "../outside",
        "a/../../outside",
        "/etc/passwd",
        "sub/../../../outside",
    ] {
        let (sb, res) = run(&[RawEntry::symlink("link", target)], &allow_links())?;
        assert!(
            matches!(&res, Err(ExtractError::LinkEscapesRoot { name, kind: LinkKind::Symlink, target: t })
                if name == "link" && t == target),
            "{target}: {res:?}"
        );
        assert!(std::fs::symlink_metadata(sb.dest.join("link")).is_err());
        nothing_outside(&sb)?;
    }
    // A chain of links that each look contained but resolve outside on disk.
    let (sb, res) = run(
        &[
            RawEntry::dir("b/"),
            RawEntry::symlink("b/c", "."),
            RawEntry::symlink("x", "b/c/../.."),
        ],
        &allow_links(),
    )?;
    assert!(
        matches!(&res, Err(ExtractError::LinkEscapesRoot { name, .. }) if name == "x"),
        "{res:?}"
    );
    assert!(
        std::fs::symlink_metadata(sb.dest.join("x")).is_err(),
        "escaping link removed"
    );
    Ok(())
}

#[test]
fn writes_through_symlinks_are_refused() -> Result<()> {
    // A link inside the archive, then a file below it.
    let (sb, res) = run(
        &[
            RawEntry::dir("sub/"),
            RawEntry::symlink("link", "sub"),
            RawEntry::file("link/file", b"x"),
        ],
        &allow_links(),
    )?;
    assert!(
        matches!(&res, Err(ExtractError::ThroughSymlink { name, .. }) if name == "link/file"),
        "{res:?}"
    );
    nothing_outside(&sb)?;

    // A symlink already in the destination pointing outside.
    let sb = sandbox()?;
    std::os::unix::fs::symlink(&sb.outside, sb.dest.join("evil"))?;
    let bytes = raw_tar_gz(&[RawEntry::file("evil/pwned", b"x")])?;
    let res = extract(&bytes[..], &sb.dest, &ExtractOptions::default());
    assert!(
        matches!(res, Err(ExtractError::ThroughSymlink { .. })),
        "{res:?}"
    );
    let bytes = raw_tar_gz(&[RawEntry::file("evil", b"x")])?;
    let res = extract(&bytes[..], &sb.dest, &ExtractOptions::default());
    assert!(
        matches!(res, Err(ExtractError::OverwritesSymlink { .. })),
        "{res:?}"
    );
    assert_eq!(std::fs::read_dir(&sb.outside)?.count(), 0);
    Ok(())
}

#[test]
fn hardlink_escapes_are_refused() -> Result<()> {
    for target in ["../outside/secret", "/etc/passwd", "a/../../x"] {
        let (sb, res) = run(&[RawEntry::hardlink("h", target)], &allow_links())?;
        assert!(
            matches!(&res, Err(ExtractError::LinkEscapesRoot { name, kind: LinkKind::Hardlink, .. }) if name == "h"),
            "{target}: {res:?}"
        );
        nothing_outside(&sb)?;
    }
    let (_sb, res) = run(&[RawEntry::hardlink("h", "missing")], &allow_links())?;
    assert!(
        matches!(res, Err(ExtractError::HardlinkTargetMissing { .. })),
        "{res:?}"
    );
    // A contained hard link works.
    let sb = sandbox()?;
    let bytes = raw_tar_gz(&[
        RawEntry::file("d/f", b"content"),
        RawEntry::hardlink("g", "d/f"),
        RawEntry::symlink("s", "d/f"),
    ])?;
    let summary = extract(&bytes[..], &sb.dest, &allow_links())?;
    assert_eq!(
        (summary.files, summary.hardlinks, summary.symlinks),
        (1, 1, 1)
    );
    assert_eq!(std::fs::read(sb.dest.join("g"))?, b"content");
    assert_eq!(std::fs::read(sb.dest.join("s"))?, b"content");
    Ok(())
}

#[test]
fn devices_and_fifos_are_refused() -> Result<()> {
    for (kind, label) in [
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
        (tar::EntryType::Fifo, "fifo"),
    ] {
        let (sb, res) = run(&[RawEntry::special("dev", kind)], &allow_links())?;
        assert!(
            matches!(&res, Err(ExtractError::UnsupportedEntryType { name, kind }) if name == "dev" && kind == label),
            "{res:?}"
        );
        assert!(std::fs::symlink_metadata(sb.dest.join("dev")).is_err());
    }
    Ok(())
}

#[test]
fn tar_bomb_by_size_is_refused_before_writing() -> Result<()> {
    // Declares 101 MiB (over the 100 MiB default) without carrying the data.
    let (sb, res) = run(
        &[
            RawEntry::file("ok", b"fine"),
            RawEntry {
                declared_size: Some(101 << 20),
                ..RawEntry::file("bomb", b"")
            },
        ],
        &ExtractOptions::default(),
    )?;
    assert!(
        matches!(&res, Err(ExtractError::TooLarge { name, limit }) if name == "bomb" && *limit == 100 << 20),
        "{res:?}"
    );
    assert!(std::fs::symlink_metadata(sb.dest.join("bomb")).is_err());

    // Real data: 2 MiB of zeros (compresses to a few KiB) against a 1 MiB cap.
    let zeros = vec![0u8; 2 << 20];
    let options = ExtractOptions {
        max_total_size: Some(1 << 20),
        ..ExtractOptions::default()
    };
    let (_sb, res) = run(&[RawEntry::file("zeros", &zeros)], &options)?;
    assert!(
        matches!(&res, Err(ExtractError::TooLarge { name, .. }) if name == "zeros"),
        "{res:?}"
    );
    // Unlimited (kustomize-controller's setting) accepts it.
    let unlimited = ExtractOptions {
        max_total_size: None,
        ..ExtractOptions::default()
    };
    let (sb, res) = run(&[RawEntry::file("zeros", &zeros)], &unlimited)?;
    res?;
    assert_eq!(std::fs::metadata(sb.dest.join("zeros"))?.len(), 2 << 20);
    Ok(())
}

#[test]
fn tar_bomb_by_count_is_refused() -> Result<()> {
    let names: Vec<String> = (0..50).map(|i| format!("f{i:02}")).collect();
    let entries: Vec<RawEntry<'_>> = names.iter().map(|n| RawEntry::file(n, b"")).collect();
    let options = ExtractOptions {
        max_entries: Some(20),
        ..ExtractOptions::default()
    };
    let (sb, res) = run(&entries, &options)?;
    assert!(
        matches!(&res, Err(ExtractError::TooManyEntries { name, limit: 20 }) if name == "f20"),
        "{res:?}"
    );
    assert_eq!(std::fs::read_dir(&sb.dest)?.count(), 20);
    Ok(())
}

#[test]
fn decompression_bomb_in_headers_is_capped() -> Result<()> {
    // A 4 MiB PAX extended header is metadata the tar reader buffers; the stream cap
    // (content cap + per-entry allowance + 1 MiB) stops it.
    let pax = vec![b'a'; 4 << 20];
    let options = ExtractOptions {
        max_total_size: Some(0),
        max_entries: Some(1),
        ..ExtractOptions::default()
    };
    let (_sb, res) = run(
        &[
            RawEntry {
                kind: tar::EntryType::XHeader,
                ..RawEntry::file("pax", &pax)
            },
            RawEntry::file("f", b""),
        ],
        &options,
    )?;
    assert!(
        matches!(res, Err(ExtractError::StreamTooLarge { .. })),
        "{res:?}"
    );
    Ok(())
}

#[test]
fn digest_is_verified_before_anything_is_written() -> Result<()> {
    let src = tempfile::tempdir()?;
    write(src.path(), "a/b.yaml", "x: 1\n")?;
    let (bytes, summary) = pack_dir(src.path(), Vec::new(), None, &PackOptions::default())?;
    let wrong = Algorithm::Sha256.digest_bytes(b"something else");

    let tmp = tempfile::tempdir()?;
    let dest = tmp.path().join("dest");
    let res = extract_verified(&bytes[..], &wrong, &dest, &ExtractOptions::default());
    assert!(
        matches!(&res, Err(ExtractError::VerifyDigest { source: flux_artifact::DigestError::Mismatch { expected, actual } })
            if *expected == wrong && *actual == summary.digest),
        "{res:?}"
    );
    assert!(
        !dest.exists(),
        "nothing may be created on a digest mismatch"
    );
    let res = extract_verified_bytes(&bytes, &wrong, &dest, &ExtractOptions::default());
    assert!(matches!(res, Err(ExtractError::VerifyDigest { .. })));
    let file = tmp.path().join("a.tar.gz");
    std::fs::write(&file, &bytes)?;
    let res = extract_verified_file(&file, &wrong, &dest, &ExtractOptions::default());
    assert!(matches!(res, Err(ExtractError::VerifyDigest { .. })));
    assert!(!dest.exists());

    // The right digest (any algorithm) extracts the tree with the normalised modes.
    for algorithm in [Algorithm::Sha256, Algorithm::Sha512, Algorithm::Blake3] {
        let out = tmp.path().join(format!("ok-{algorithm}"));
        let digest = algorithm.digest_bytes(&bytes);
        let summary = extract_verified(&bytes[..], &digest, &out, &ExtractOptions::default())?;
        assert_eq!((summary.files, summary.dirs), (1, 1));
        assert_eq!(std::fs::read_to_string(out.join("a/b.yaml"))?, "x: 1\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("a/b.yaml"))?
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    Ok(())
}

#[test]
fn round_trip_and_gnu_tar_archives() -> Result<()> {
    let src = tempfile::tempdir()?;
    write(src.path(), "deep/er/x.yaml", "a")?;
    write(src.path(), "y.txt", "b")?;
    let (bytes, _) = pack_dir(src.path(), Vec::new(), None, &PackOptions::default())?;
    let out = tempfile::tempdir()?;
    extract(&bytes[..], out.path(), &ExtractOptions::default())?;
    assert_eq!(
        std::fs::read_to_string(out.path().join("deep/er/x.yaml"))?,
        "a"
    );

    if !require_tool("tar")? {
        return Ok(());
    }
    let archive = out.path().join("gnu.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(src.path())
        .arg(".")
        .status()?;
    assert!(status.success());
    let dest = out.path().join("from-gnu");
    let bytes = std::fs::read(&archive)?;
    extract(&bytes[..], &dest, &ExtractOptions::default())?;
    assert_eq!(std::fs::read_to_string(dest.join("y.txt"))?, "b");
    assert_eq!(std::fs::read_to_string(dest.join("deep/er/x.yaml"))?, "a");
    Ok(())
}

#[test]
fn destination_must_be_a_directory() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x")?;
    let bytes = raw_tar_gz(&[RawEntry::file("a", b"x")])?;
    let res = extract(&bytes[..], &file, &ExtractOptions::default());
    assert!(matches!(res, Err(ExtractError::InvalidDestination { .. })));
    let res = extract(
        &b"not gzip"[..],
        &tmp.path().join("d"),
        &ExtractOptions::default(),
    );
    assert!(
        matches!(res, Err(ExtractError::ReadArchive { .. })),
        "{res:?}"
    );
    let _ = Path::new("");
    Ok(())
}

#[test]
fn upstream_shaped_archives_extract() -> Result<()> {
    // source-controller writes a "." root entry and directory names without a slash.
    let sb = sandbox()?;
    let bytes = raw_tar_gz(&[
        RawEntry::dir("."),
        RawEntry::dir("apps"),
        RawEntry::file("apps/app.yaml", b"kind: ConfigMap\n"),
        RawEntry::dir("./apps/sub/"),
    ])?;
    let summary = extract(&bytes[..], &sb.dest, &ExtractOptions::default())?;
    assert_eq!((summary.files, summary.dirs), (1, 2));
    assert_eq!(
        std::fs::read(sb.dest.join("apps/app.yaml"))?,
        b"kind: ConfigMap\n"
    );
    assert!(sb.dest.join("apps/sub").is_dir());
    nothing_outside(&sb)?;
    Ok(())
}
