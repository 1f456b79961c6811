//! Safe extraction of artifact tarballs for consumers (kustomize-controller,
//! helm-controller, source-watcher, `include` copies).
//!
//! Every entry is checked before anything is written: names must be relative, without
//! `..` components or backslashes; writes never go through a symlink; symlinks and hard
//! links are rejected by default (as fluxcd/pkg `tar.Untar` does) and, when allowed, must
//! stay inside the destination; devices, FIFOs and other special entries are refused; the
//! total declared size (default 100 MiB, upstream's `DefaultMaxUntarSize`) and the number
//! of entries are capped. Each refusal is a typed [`ExtractError`] naming the entry.
//! The `*_verified` functions check the digest of the compressed bytes before extracting.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::read::GzDecoder;

use crate::digest::{Digest, DigestError, DigestWriter};

/// Upstream's default cap on the total size of extracted entries (100 MiB).
pub const DEFAULT_MAX_UNTAR_SIZE: u64 = 100 << 20;
/// Default cap on the number of entries (upstream has none; see the README).
pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;

/// What to do with symlink and hard-link entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkPolicy {
    /// Fail on any link entry (upstream's default).
    #[default]
    Reject,
    /// Drop link entries silently (upstream's `WithSkipSymlinks`).
    Skip,
    /// Create links whose target stays inside the destination; fail on any other.
    AllowWithinRoot,
}

/// Extraction limits and policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Cap on the sum of entry sizes; `None` disables it (kustomize-controller's setting).
    pub max_total_size: Option<u64>,
    /// Cap on the number of entries; `None` disables it.
    pub max_entries: Option<u64>,
    /// Link handling.
    pub links: LinkPolicy,
    /// The input is gzip-compressed (default); `false` reads a plain tar stream.
    pub gzip: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            max_total_size: Some(DEFAULT_MAX_UNTAR_SIZE),
            max_entries: Some(DEFAULT_MAX_ENTRIES),
            links: LinkPolicy::Reject,
            gzip: true,
        }
    }
}

/// The kind of a link entry, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A symbolic link.
    Symlink,
    /// A hard link.
    Hardlink,
}

impl std::fmt::Display for LinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LinkKind::Symlink => "symlink",
            LinkKind::Hardlink => "hard link",
        })
    }
}

/// Why an extraction stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Buffering the input to verify its digest failed.
    #[error("buffering artifact to verify its digest")]
    Buffer {
        #[source]
        source: io::Error,
    },
    /// The input does not have the expected digest (nothing was extracted).
    #[error("verifying artifact digest")]
    VerifyDigest {
        #[source]
        source: DigestError,
    },
    /// The destination exists and is not a directory.
    #[error("destination {path} must be a directory")]
    InvalidDestination { path: PathBuf },
    /// The destination could not be created or resolved.
    #[error("preparing destination {path}")]
    PrepareDestination {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The tar or gzip stream is malformed or could not be read.
    #[error("reading archive")]
    ReadArchive {
        #[source]
        source: io::Error,
    },
    /// The decompressed stream is larger than the limits allow (a compression bomb).
    #[error("decompressed archive stream exceeds {limit} bytes")]
    StreamTooLarge { limit: u64 },
    /// An entry name is empty, not UTF-8 or contains a backslash.
    #[error("tar entry {name:?} has an invalid name")]
    InvalidEntryName { name: String },
    /// An entry name is absolute.
    #[error("tar entry {name:?} has an absolute path")]
    AbsolutePath { name: String },
    /// An entry name has a `..` component.
    #[error("tar entry {name:?} escapes the destination with '..'")]
    PathTraversal { name: String },
    /// A link entry while links are rejected.
    #[error("tar entry {name:?} is a {kind}, which is not allowed in this context")]
    LinkNotAllowed { name: String, kind: LinkKind },
    /// A link whose target leaves the destination.
    #[error("tar entry {name:?} is a {kind} to {target:?}, outside the destination")]
    LinkEscapesRoot {
        name: String,
        kind: LinkKind,
        target: String,
    },
    /// A hard link to something that is not an extracted regular file.
    #[error("tar entry {name:?} is a hard link to {target:?}, which is not an extracted file")]
    HardlinkTargetMissing { name: String, target: String },
    /// A device, FIFO or other entry type that is never extracted.
    #[error("tar entry {name:?} has unsupported type {kind}")]
    UnsupportedEntryType { name: String, kind: String },
    /// Writing the entry would go through a symlink.
    #[error("tar entry {name:?} would be written through the symlink {link}")]
    ThroughSymlink { name: String, link: PathBuf },
    /// Writing the entry would replace an existing symlink.
    #[error("tar entry {name:?} would overwrite an existing symlink")]
    OverwritesSymlink { name: String },
    /// The total declared size went over the cap.
    #[error("tar entry {name:?} takes the archive over the max size of {limit} bytes")]
    TooLarge { name: String, limit: u64 },
    /// The number of entries went over the cap.
    #[error("tar entry {name:?} takes the archive over the max of {limit} entries")]
    TooManyEntries { name: String, limit: u64 },
    /// Creating or writing the entry on disk failed.
    #[error("writing tar entry {name:?} to {path}")]
    WriteEntry {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What an extraction wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Regular files written.
    pub files: u64,
    /// Directories created from entries.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Link entries skipped ([`LinkPolicy::Skip`]).
    pub skipped_links: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// Buffers `reader` into a temporary file while hashing it, checks `expected`, then
/// extracts. Nothing is written under `dest` when the digest differs.
pub fn extract_verified<R: Read>(
    mut reader: R,
    expected: &Digest,
    dest: &Path,
    options: &ExtractOptions,
) -> Result<ExtractSummary, ExtractError> {
    let buffer = tempfile::tempfile().map_err(|source| ExtractError::Buffer { source })?;
    let mut hashed = DigestWriter::new(buffer, expected.algorithm());
    io::copy(&mut reader, &mut hashed).map_err(|source| ExtractError::Buffer { source })?;
    let (mut buffer, actual, _) = hashed.finish();
    expected
        .check(actual)
        .map_err(|source| ExtractError::VerifyDigest { source })?;
    buffer
        .seek(SeekFrom::Start(0))
        .map_err(|source| ExtractError::Buffer { source })?;
    extract(buffer, dest, options)
}

/// Checks `expected` against `bytes`, then extracts them.
pub fn extract_verified_bytes(
    bytes: &[u8],
    expected: &Digest,
    dest: &Path,
    options: &ExtractOptions,
) -> Result<ExtractSummary, ExtractError> {
    expected
        .verify_bytes(bytes)
        .map_err(|source| ExtractError::VerifyDigest { source })?;
    extract(bytes, dest, options)
}

/// Checks the digest of the file at `archive`, then extracts it.
pub fn extract_verified_file(
    archive: &Path,
    expected: &Digest,
    dest: &Path,
    options: &ExtractOptions,
) -> Result<ExtractSummary, ExtractError> {
    let mut file = File::open(archive).map_err(|source| ExtractError::Buffer { source })?;
    expected
        .verify_reader(&mut file)
        .map_err(|source| ExtractError::VerifyDigest { source })?;
    file.seek(SeekFrom::Start(0))
        .map_err(|source| ExtractError::Buffer { source })?;
    extract(file, dest, options)
}

/// Extracts a (by default gzip-compressed) tar stream under `dest` without checking a
/// digest. `dest` is created when missing.
pub fn extract<R: Read>(
    reader: R,
    dest: &Path,
    options: &ExtractOptions,
) -> Result<ExtractSummary, ExtractError> {
    prepare_destination(dest)?;
    let limit = stream_limit(options);
    if options.gzip {
        let limited = LimitedReader::new(GzDecoder::new(reader), limit);
        Extractor::new(dest, options).run(limited)
    } else {
        Extractor::new(dest, options).run(LimitedReader::new(reader, limit))
    }
}

fn prepare_destination(dest: &Path) -> Result<(), ExtractError> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(ExtractError::InvalidDestination {
            path: dest.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(|source| ExtractError::PrepareDestination {
                path: dest.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(ExtractError::PrepareDestination {
            path: dest.to_path_buf(),
            source,
        }),
    }
}

/// Cap on decompressed bytes: content plus generous room for headers and long names.
fn stream_limit(options: &ExtractOptions) -> Option<u64> {
    match (options.max_total_size, options.max_entries) {
        (Some(size), Some(entries)) => Some(
            size.saturating_add(entries.saturating_mul(2048))
                .saturating_add(1 << 20),
        ),
        _ => None,
    }
}

struct LimitedReader<R> {
    inner: R,
    limit: Option<u64>,
    read: u64,
}

/// Marker carried inside the io::Error when the stream cap is hit.
#[derive(Debug)]
struct StreamCapReached;

impl std::fmt::Display for StreamCapReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed stream cap reached")
    }
}

impl std::error::Error for StreamCapReached {}

impl<R> LimitedReader<R> {
    fn new(inner: R, limit: Option<u64>) -> Self {
        LimitedReader {
            inner,
            limit,
            read: 0,
        }
    }
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if let Some(limit) = self.limit
            && self.read > limit
        {
            return Err(io::Error::other(StreamCapReached));
        }
        Ok(n)
    }
}

fn is_stream_cap(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.is::<StreamCapReached>())
}

struct Extractor<'a> {
    dest: &'a Path,
    options: &'a ExtractOptions,
    summary: ExtractSummary,
    /// Directories under `dest` known to be real directories (not symlinks).
    known_dirs: HashSet<PathBuf>,
    /// Symlinks created, re-checked once every entry is written.
    created_symlinks: Vec<(String, PathBuf, String)>,
    started: SystemTime,
}

impl<'a> Extractor<'a> {
    fn new(dest: &'a Path, options: &'a ExtractOptions) -> Self {
        let mut known_dirs = HashSet::new();
        known_dirs.insert(dest.to_path_buf());
        Extractor {
            dest,
            options,
            summary: ExtractSummary::default(),
            known_dirs,
            created_symlinks: Vec::new(),
            started: SystemTime::now(),
        }
    }

    fn read_err(&self, source: io::Error) -> ExtractError {
        if is_stream_cap(&source) {
            ExtractError::StreamTooLarge {
                limit: stream_limit(self.options).unwrap_or(u64::MAX),
            }
        } else {
            ExtractError::ReadArchive { source }
        }
    }

    fn run<R: Read>(mut self, reader: R) -> Result<ExtractSummary, ExtractError> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| self.read_err(e))?;
        let mut count: u64 = 0;
        let mut total_size: u64 = 0;
        for entry in entries {
            let mut entry = entry.map_err(|e| self.read_err(e))?;
            let entry_type = entry.header().entry_type();
            if matches!(
                entry_type,
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
            ) {
                continue;
            }
            let raw_name = entry.path_bytes().into_owned();
            let name = String::from_utf8_lossy(&raw_name).into_owned();
            count += 1;
            if let Some(limit) = self.options.max_entries
                && count > limit
            {
                return Err(ExtractError::TooManyEntries { name, limit });
            }
            let size = entry.header().size().map_err(|e| self.read_err(e))?;
            total_size = total_size.saturating_add(size);
            if let Some(limit) = self.options.max_total_size
                && total_size > limit
            {
                return Err(ExtractError::TooLarge { name, limit });
            }
            if std::str::from_utf8(&raw_name).is_err() {
                return Err(ExtractError::InvalidEntryName { name });
            }
            let parts = relative_parts(&name)?;
            match entry_type {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.write_file(&mut entry, &name, &parts, size)?;
                }
                tar::EntryType::Directory => self.write_dir(&entry, &name, &parts)?,
                tar::EntryType::Symlink => self.write_symlink(&entry, &name, &parts)?,
                tar::EntryType::Link => self.write_hardlink(&entry, &name, &parts)?,
                other => {
                    return Err(ExtractError::UnsupportedEntryType {
                        name,
                        kind: entry_type_name(other),
                    });
                }
            }
        }
        self.recheck_symlinks()?;
        Ok(self.summary)
    }

    /// Ensures every ancestor of `parts` under dest is a real directory, creating missing
    /// ones; fails if one is a symlink.
    fn ensure_parent_dirs(
        &mut self,
        name: &str,
        parts: &[String],
    ) -> Result<PathBuf, ExtractError> {
        let mut dir = self.dest.to_path_buf();
        let parents = parts.len().saturating_sub(1);
        for part in &parts[..parents] {
            dir.push(part);
            self.ensure_dir(name, &dir, 0o750)?;
        }
        Ok(dir)
    }

    fn ensure_dir(&mut self, name: &str, dir: &Path, mode: u32) -> Result<(), ExtractError> {
        if self.known_dirs.contains(dir) {
            return Ok(());
        }
        match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(ExtractError::ThroughSymlink {
                    name: name.to_string(),
                    link: dir.to_path_buf(),
                });
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(ExtractError::WriteEntry {
                    name: name.to_string(),
                    path: dir.to_path_buf(),
                    source: io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "a non-directory is in the way",
                    ),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_dir_with_mode(dir, mode).map_err(|source| ExtractError::WriteEntry {
                    name: name.to_string(),
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            Err(source) => {
                return Err(ExtractError::WriteEntry {
                    name: name.to_string(),
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
        self.known_dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// Clears the way for a new non-directory at `path`: refuses symlinks and
    /// directories, unlinks an existing file (so hard links to it are not written through).
    fn clear_target(&self, name: &str, path: &Path) -> Result<(), ExtractError> {
        let write_err = |source| ExtractError::WriteEntry {
            name: name.to_string(),
            path: path.to_path_buf(),
            source,
        };
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(ExtractError::OverwritesSymlink {
                name: name.to_string(),
            }),
            Ok(m) if m.is_dir() => Err(write_err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a directory is in the way",
            ))),
            Ok(_) => fs::remove_file(path).map_err(write_err),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(write_err(source)),
        }
    }

    fn write_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        parts: &[String],
        size: u64,
    ) -> Result<(), ExtractError> {
        let Some(last) = parts.last() else {
            return Err(ExtractError::InvalidEntryName {
                name: name.to_string(),
            });
        };
        let path = self.ensure_parent_dirs(name, parts)?.join(last);
        self.clear_target(name, &path)?;
        let mode = entry.header().mode().map_err(|e| self.read_err(e))? & 0o777;
        let write_err = |source| ExtractError::WriteEntry {
            name: name.to_string(),
            path: path.clone(),
            source,
        };
        let mut file = create_file_with_mode(&path, mode).map_err(write_err)?;
        let written = io::copy(entry, &mut file).map_err(|e| {
            if is_stream_cap(&e) {
                self.read_err(e)
            } else {
                write_err(e)
            }
        })?;
        if written != size {
            return Err(write_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("wrote {written} bytes, header says {size}"),
            )));
        }
        if let Ok(mtime) = entry.header().mtime()
            && mtime > 0
        {
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(mtime);
            let _ = file.set_modified(t.min(self.started));
        }
        self.summary.files += 1;
        self.summary.bytes += written;
        Ok(())
    }

    fn write_dir<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        parts: &[String],
    ) -> Result<(), ExtractError> {
        if parts.is_empty() {
            return Ok(()); // "." or "./": the destination itself
        }
        let mode = entry.header().mode().map_err(|e| self.read_err(e))? & 0o777 | 0o700;
        let dir = self.ensure_parent_dirs(name, parts)?;
        let path = dir.join(&parts[parts.len() - 1]);
        self.ensure_dir(name, &path, mode)?;
        self.summary.dirs += 1;
        Ok(())
    }

    fn link_target<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        kind: LinkKind,
    ) -> Result<Option<String>, ExtractError> {
        match self.options.links {
            LinkPolicy::Reject => Err(ExtractError::LinkNotAllowed {
                name: name.to_string(),
                kind,
            }),
            LinkPolicy::Skip => Ok(None),
            LinkPolicy::AllowWithinRoot => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if target.is_empty() {
                    return Err(ExtractError::InvalidEntryName {
                        name: name.to_string(),
                    });
                }
                Ok(Some(target))
            }
        }
    }

    fn write_symlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        parts: &[String],
    ) -> Result<(), ExtractError> {
        let Some(target) = self.link_target(entry, name, LinkKind::Symlink)? else {
            self.summary.skipped_links += 1;
            return Ok(());
        };
        let escapes = || ExtractError::LinkEscapesRoot {
            name: name.to_string(),
            kind: LinkKind::Symlink,
            target: target.clone(),
        };
        let Some(last) = parts.last() else {
            return Err(escapes());
        };
        if target.starts_with('/') || target.contains('\\') {
            return Err(escapes());
        }
        // Resolve lexically from the link's directory.
        let mut resolved: Vec<&str> = parts[..parts.len() - 1]
            .iter()
            .map(String::as_str)
            .collect();
        for c in target.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if resolved.pop().is_none() {
                        return Err(escapes());
                    }
                }
                other => resolved.push(other),
            }
        }
        let path = self.ensure_parent_dirs(name, parts)?.join(last);
        self.clear_target(name, &path)?;
        make_symlink(&target, &path).map_err(|source| ExtractError::WriteEntry {
            name: name.to_string(),
            path: path.clone(),
            source,
        })?;
        self.created_symlinks
            .push((name.to_string(), path, target.clone()));
        self.summary.symlinks += 1;
        Ok(())
    }

    fn write_hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        name: &str,
        parts: &[String],
    ) -> Result<(), ExtractError> {
        let Some(target) = self.link_target(entry, name, LinkKind::Hardlink)? else {
            self.summary.skipped_links += 1;
            return Ok(());
        };
        let escapes = || ExtractError::LinkEscapesRoot {
            name: name.to_string(),
            kind: LinkKind::Hardlink,
            target: target.clone(),
        };
        let Some(last) = parts.last() else {
            return Err(escapes());
        };
        // Hard-link targets name another entry of the archive, relative to its root.
        let target_parts = relative_parts(&target).map_err(|_| escapes())?;
        if target_parts.is_empty() {
            return Err(escapes());
        }
        // The target must already be an extracted regular file reached through real
        // directories only.
        let mut target_path = self.dest.to_path_buf();
        for (i, part) in target_parts.iter().enumerate() {
            target_path.push(part);
            let is_last = i + 1 == target_parts.len();
            match fs::symlink_metadata(&target_path) {
                Ok(m) if !is_last && m.is_dir() => {}
                Ok(m) if is_last && m.is_file() => {}
                _ => {
                    return Err(ExtractError::HardlinkTargetMissing {
                        name: name.to_string(),
                        target: target.clone(),
                    });
                }
            }
        }
        let path = self.ensure_parent_dirs(name, parts)?.join(last);
        self.clear_target(name, &path)?;
        fs::hard_link(&target_path, &path).map_err(|source| ExtractError::WriteEntry {
            name: name.to_string(),
            path: path.clone(),
            source,
        })?;
        self.summary.hardlinks += 1;
        Ok(())
    }

    /// Once all entries exist, resolves every created symlink on disk: a chain of links can
    /// leave the destination even when each target looked fine on its own.
    fn recheck_symlinks(&self) -> Result<(), ExtractError> {
        if self.created_symlinks.is_empty() {
            return Ok(());
        }
        let root =
            fs::canonicalize(self.dest).map_err(|source| ExtractError::PrepareDestination {
                path: self.dest.to_path_buf(),
                source,
            })?;
        for (name, path, target) in &self.created_symlinks {
            if let Ok(real) = fs::canonicalize(path)
                && !real.starts_with(&root)
            {
                let _ = fs::remove_file(path);
                return Err(ExtractError::LinkEscapesRoot {
                    name: name.clone(),
                    kind: LinkKind::Symlink,
                    target: target.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Splits an entry name into safe components: no absolute paths, no `..`, no backslashes;
/// `.` and empty components are dropped.
fn relative_parts(name: &str) -> Result<Vec<String>, ExtractError> {
    if name.is_empty() || name.contains('\\') || name.contains('\0') {
        return Err(ExtractError::InvalidEntryName {
            name: name.to_string(),
        });
    }
    if name.starts_with('/') {
        return Err(ExtractError::AbsolutePath {
            name: name.to_string(),
        });
    }
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(ExtractError::PathTraversal {
                    name: name.to_string(),
                });
            }
            other => parts.push(other.to_string()),
        }
    }
    Ok(parts)
}

fn entry_type_name(t: tar::EntryType) -> String {
    match t {
        tar::EntryType::Char => "character device".to_string(),
        tar::EntryType::Block => "block device".to_string(),
        tar::EntryType::Fifo => "fifo".to_string(),
        tar::EntryType::GNUSparse => "GNU sparse file".to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(unix)]
fn create_dir_with_mode(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().mode(mode).create(dir)
}

#[cfg(not(unix))]
fn create_dir_with_mode(dir: &Path, _mode: u32) -> io::Result<()> {
    fs::create_dir(dir)
}

#[cfg(unix)]
fn create_file_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn create_file_with_mode(path: &Path, _mode: u32) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn make_symlink(target: &str, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_symlink(_target: &str, _path: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlinks are only extracted on Unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert!(matches!(
            relative_parts("/etc/passwd"),
            Err(ExtractError::AbsolutePath { .. })
        ));
        assert!(matches!(
            relative_parts("a/../../b"),
            Err(ExtractError::PathTraversal { .. })
        ));
        assert!(matches!(
            relative_parts(".."),
            Err(ExtractError::PathTraversal { .. })
        ));
        assert!(matches!(
            relative_parts("a\\b"),
            Err(ExtractError::InvalidEntryName { .. })
        ));
        assert_eq!(
            relative_parts("./a//b/").ok(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(relative_parts("./").ok(), Some(vec![]));
    }
}
