//! Reproducible tar.gz of a directory, as source-controller's storage `Archive` produces it:
//! only regular files and directories (symlinks, sockets, devices and FIFOs are skipped),
//! names relative to the root, uid/gid 0, empty owner names, zero timestamps, modes
//! normalised (directories 0750, files 0600, files with any exec bit 0700), entries in
//! lexical depth-first order, and a gzip header without name or timestamp. The same tree
//! content therefore always gives the same bytes and the same digest.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::digest::{Algorithm, Digest, DigestWriter};

/// Mode of regular files in an artifact.
pub const DEFAULT_FILE_MODE: u32 = 0o600;
/// Mode of directories in an artifact.
pub const DEFAULT_DIR_MODE: u32 = 0o750;
/// Mode of files that had any executable bit.
pub const DEFAULT_EXE_FILE_MODE: u32 = 0o700;

/// Errors packing a directory.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The source is missing or not a directory.
    #[error("invalid dir path: {path}")]
    InvalidDir { path: PathBuf },
    /// A directory could not be listed.
    #[error("listing directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A path's metadata could not be read.
    #[error("reading metadata of {path}")]
    Metadata {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file name is not UTF-8; archive names must be text.
    #[error("file name is not valid UTF-8: {path}")]
    NonUtf8Name { path: PathBuf },
    /// A file could not be opened.
    #[error("opening {path}")]
    OpenFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Writing an entry (header or data) failed, including a file that shrank or grew
    /// while it was being read.
    #[error("writing archive entry {name}")]
    WriteEntry {
        name: String,
        #[source]
        source: io::Error,
    },
    /// Finishing the tar stream or the gzip stream failed.
    #[error("finishing archive")]
    Finish {
        #[source]
        source: io::Error,
    },
}

/// Packing options.
#[derive(Debug, Clone, Copy)]
pub struct PackOptions {
    /// gzip level 0–9 (default 6, the level Go's and GNU gzip's default uses).
    pub compression_level: u32,
    /// Digest algorithm for the compressed bytes.
    pub digest_algorithm: Algorithm,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            compression_level: 6,
            digest_algorithm: Algorithm::CANONICAL,
        }
    }
}

/// What a pack produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSummary {
    /// Digest of the compressed bytes.
    pub digest: Digest,
    /// Size of the compressed bytes.
    pub size: u64,
    /// Regular files written.
    pub files: u64,
    /// Directories written.
    pub dirs: u64,
    /// Symlinks and special files skipped.
    pub skipped_special: u64,
    /// Entries dropped by the filter.
    pub filtered: u64,
}

/// Decides whether an entry is left out: gets the `/`-separated path relative to the
/// root and whether it is a directory; returns `true` to exclude. Excluding a directory
/// does not prune it: its entries are still offered one by one (as upstream's walk does),
/// so a later `!` pattern can bring a file back.
pub type PackFilter<'a> = &'a dyn Fn(&str, bool) -> bool;

/// Packs `dir` as a reproducible tar.gz into `out`, returning the writer and a summary.
pub fn pack_dir<W: Write>(
    dir: &Path,
    out: W,
    filter: Option<PackFilter<'_>>,
    options: &PackOptions,
) -> Result<(W, PackSummary), PackError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        _ => {
            return Err(PackError::InvalidDir {
                path: dir.to_path_buf(),
            });
        }
    }
    let hashed = DigestWriter::new(out, options.digest_algorithm);
    let gz = GzEncoder::new(hashed, Compression::new(options.compression_level.min(9)));
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Deterministic);
    let mut counts = Counts::default();
    walk(dir, "", &mut builder, filter, &mut counts)?;
    let gz = builder
        .into_inner()
        .map_err(|source| PackError::Finish { source })?;
    let hashed = gz.finish().map_err(|source| PackError::Finish { source })?;
    let (out, digest, size) = hashed.finish();
    Ok((
        out,
        PackSummary {
            digest,
            size,
            files: counts.files,
            dirs: counts.dirs,
            skipped_special: counts.skipped_special,
            filtered: counts.filtered,
        },
    ))
}

#[derive(Default)]
struct Counts {
    files: u64,
    dirs: u64,
    skipped_special: u64,
    filtered: u64,
}

fn walk<W: Write>(
    dir: &Path,
    prefix: &str,
    builder: &mut tar::Builder<W>,
    filter: Option<PackFilter<'_>>,
    counts: &mut Counts,
) -> Result<(), PackError> {
    let read_dir_err = |source| PackError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir_err)? {
        let entry = entry.map_err(read_dir_err)?;
        entries.push(entry);
    }
    // Byte order of names, like Go's filepath.Walk.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            return Err(PackError::NonUtf8Name { path });
        };
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(|source| PackError::Metadata {
            path: path.clone(),
            source,
        })?;
        let file_type = meta.file_type();
        if !(file_type.is_file() || file_type.is_dir()) {
            counts.skipped_special += 1;
            continue;
        }
        let excluded = filter.is_some_and(|f| f(&rel, file_type.is_dir()));
        if file_type.is_dir() {
            if excluded {
                counts.filtered += 1;
            } else {
                append_dir(builder, &rel)?;
                counts.dirs += 1;
            }
            walk(&path, &rel, builder, filter, counts)?;
        } else if excluded {
            counts.filtered += 1;
        } else {
            append_file(builder, &path, &rel, &meta)?;
            counts.files += 1;
        }
    }
    Ok(())
}

fn base_header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size);
    header
}

fn append_dir<W: Write>(builder: &mut tar::Builder<W>, rel: &str) -> Result<(), PackError> {
    let mut header = base_header(tar::EntryType::Directory, DEFAULT_DIR_MODE, 0);
    let name = format!("{rel}/");
    builder
        .append_data(&mut header, &name, io::empty())
        .map_err(|source| PackError::WriteEntry { name, source })
}

fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    rel: &str,
    meta: &fs::Metadata,
) -> Result<(), PackError> {
    let mode = if is_executable(meta) {
        DEFAULT_EXE_FILE_MODE
    } else {
        DEFAULT_FILE_MODE
    };
    let size = meta.len();
    let file = File::open(path).map_err(|source| PackError::OpenFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut header = base_header(tar::EntryType::Regular, mode, size);
    let data = ExactReader {
        inner: file.take(size),
        remaining: size,
    };
    builder
        .append_data(&mut header, rel, data)
        .map_err(|source| PackError::WriteEntry {
            name: rel.to_string(),
            source,
        })
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

/// Yields exactly the size recorded in the header, failing if the file got shorter
/// (a longer file is cut at the recorded size by `take`; the archive stays well formed).
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "file shrank while archiving: {} bytes missing",
                    self.remaining
                ),
            ));
        }
        self.remaining = self.remaining.saturating_sub(n as u64);
        Ok(n)
    }
}
