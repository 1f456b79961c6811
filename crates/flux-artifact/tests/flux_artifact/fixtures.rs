//! Shared helpers: tree builders, tar listing, hand-made (malicious) tarballs.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Writes `content` at `root/rel`, creating parents.
pub fn write(root: &Path, rel: &str, content: &str) -> Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&path, content).with_context(|| format!("writing {}", path.display()))
}

/// Sets the unix mode of `root/rel`.
pub fn chmod(root: &Path, rel: &str, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join(rel), fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Sets the modification time of `path` to `age` ago.
pub fn age(path: &Path, age: Duration) -> Result<()> {
    let t = SystemTime::now() - age;
    let f = fs::File::options().write(true).open(path)?;
    f.set_modified(t)?;
    Ok(())
}

/// One entry of a tar listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub kind: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub size: u64,
    pub username: String,
    pub groupname: String,
}

/// Lists a tar.gz.
pub fn list_tar_gz(bytes: &[u8]) -> Result<Vec<Listed>> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let h = entry.header();
        let listed = Listed {
            name: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            kind: char::from(h.entry_type().as_byte()),
            mode: h.mode()?,
            uid: h.uid()?,
            gid: h.gid()?,
            mtime: h.mtime()?,
            size: h.size()?,
            username: h.username().ok().flatten().unwrap_or_default().to_string(),
            groupname: h.groupname().ok().flatten().unwrap_or_default().to_string(),
        };
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink)?;
        out.push(listed);
    }
    Ok(out)
}

/// Names in a tar.gz, in archive order.
pub fn names(bytes: &[u8]) -> Result<Vec<String>> {
    Ok(list_tar_gz(bytes)?.into_iter().map(|l| l.name).collect())
}

/// A raw entry for hand-made archives: any name, type and link name, no sanitising.
pub struct RawEntry<'a> {
    pub name: &'a str,
    pub kind: tar::EntryType,
    pub data: &'a [u8],
    /// Overrides the size field (to declare more than `data` holds).
    pub declared_size: Option<u64>,
    pub link: &'a str,
}

impl<'a> RawEntry<'a> {
    pub fn file(name: &'a str, data: &'a [u8]) -> Self {
        RawEntry {
            name,
            kind: tar::EntryType::Regular,
            data,
            declared_size: None,
            link: "",
        }
    }

    pub fn dir(name: &'a str) -> Self {
        RawEntry {
            kind: tar::EntryType::Directory,
            ..RawEntry::file(name, b"")
        }
    }

    pub fn symlink(name: &'a str, target: &'a str) -> Self {
        RawEntry {
            kind: tar::EntryType::Symlink,
            link: target,
            ..RawEntry::file(name, b"")
        }
    }

    pub fn hardlink(name: &'a str, target: &'a str) -> Self {
        RawEntry {
            kind: tar::EntryType::Link,
            link: target,
            ..RawEntry::file(name, b"")
        }
    }

    pub fn special(name: &'a str, kind: tar::EntryType) -> Self {
        RawEntry {
            kind,
            ..RawEntry::file(name, b"")
        }
    }
}

/// Builds an uncompressed tar from raw entries, bypassing the tar crate's path checks.
pub fn raw_tar(entries: &[RawEntry<'_>]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        let mut header = tar::Header::new_gnu();
        {
            let gnu = header.as_gnu_mut().context("gnu header")?;
            anyhow::ensure!(
                e.name.len() <= gnu.name.len(),
                "name too long for raw header"
            );
            gnu.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
            gnu.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        }
        header.set_entry_type(e.kind);
        header.set_mode(if e.kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_size(e.declared_size.unwrap_or(e.data.len() as u64));
        header.set_mtime(0);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        if e.declared_size.is_none() {
            out.extend_from_slice(e.data);
            let pad = (512 - e.data.len() % 512) % 512;
            out.extend(std::iter::repeat_n(0u8, pad));
        }
    }
    if entries.iter().all(|e| e.declared_size.is_none()) {
        out.extend(std::iter::repeat_n(0u8, 1024));
    }
    Ok(out)
}

/// gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

/// Raw entries as a tar.gz.
pub fn raw_tar_gz(entries: &[RawEntry<'_>]) -> Result<Vec<u8>> {
    gzip(&raw_tar(entries)?)
}

/// Whether an external tool is on PATH; in CI a missing tool is a failure.
pub fn require_tool(tool: &str) -> Result<bool> {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            anyhow::bail!("{tool} is required in CI but not found on PATH");
        }
        eprintln!("skipping: {tool} not found on PATH (set CI=true to make this fatal)");
    }
    Ok(found)
}
