//! Reproducible tar.gz of a directory, as source-controller's storage `Archive` produces it:
//! only regular files and directories (symlinks, sockets, devices and FIFOs are skipped),
//! names relative to the root, uid/gid 0, empty owner names, zero timestamps, modes
//! normalised (directories 0750, files 0600, files with any exec bit 0700), entries in
//! lexical depth-first order, and a gzip header without name or timestamp. The same tree
//! content therefore always gives the same bytes and the same digest.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

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
///
/// The tree is walked and the tar stream built on the calling thread while a scoped
/// helper thread compresses and hashes (like `tar | gzip`); the output does not depend on
/// the scheduling.
pub fn pack_dir<W: Write + Send>(
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
    let algorithm = options.digest_algorithm;
    let level = Compression::new(options.compression_level.min(9));
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(CHANNEL_DEPTH);
        let compressor = scope.spawn(move || -> io::Result<(W, Digest, u64)> {
            let mut gz = GzEncoder::new(DigestWriter::new(out, algorithm), level);
            for chunk in rx {
                gz.write_all(&chunk)?;
            }
            Ok(gz.finish()?.finish())
        });

        let mut counts = Counts::default();
        // The builder owns the sender: it must be gone (channel closed) before joining.
        let produced = {
            let mut builder = tar::Builder::new(ChunkSender::new(tx));
            builder.mode(tar::HeaderMode::Deterministic);
            match walk(dir, "", &mut builder, filter, &mut counts) {
                Ok(()) => builder
                    .into_inner()
                    .and_then(ChunkSender::finish)
                    .map_err(|source| PackError::Finish { source }),
                Err(e) => Err(e),
            }
        };
        let compressed = compressor
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("compressor thread panicked")));
        match (produced, compressed) {
            (Ok(()), Ok((out, digest, size))) => Ok((
                out,
                PackSummary {
                    digest,
                    size,
                    files: counts.files,
                    dirs: counts.dirs,
                    skipped_special: counts.skipped_special,
                    filtered: counts.filtered,
                },
            )),
            // A failed compressor shows up as a broken channel on the producer side;
            // report the compressor's own error.
            (_, Err(source)) => Err(PackError::Finish { source }),
            (Err(e), Ok(_)) => Err(e),
        }
    })
}

/// Size of the tar chunks handed to the compressor thread.
const CHUNK_SIZE: usize = 256 * 1024;
/// Chunks in flight between the two threads.
const CHANNEL_DEPTH: usize = 8;

/// The tar side of the pipe: buffers the stream and sends it in chunks.
struct ChunkSender {
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
}

impl ChunkSender {
    fn new(tx: mpsc::SyncSender<Vec<u8>>) -> Self {
        ChunkSender {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK_SIZE),
        }
    }

    /// Sends the buffer as one chunk (a full `CHUNK_SIZE` one, or the final remainder).
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_SIZE));
        self.send(chunk)
    }

    fn send(&self, chunk: Vec<u8>) -> io::Result<()> {
        match &self.tx {
            Some(tx) => tx
                .send(chunk)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "compressor stopped")),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "stream closed")),
        }
    }

    /// Sends what is left and closes the channel.
    fn finish(mut self) -> io::Result<()> {
        self.send_buffer()?;
        self.tx = None;
        Ok(())
    }
}

/// The compressor always receives exactly `CHUNK_SIZE` bytes per write (the last one
/// excepted): deflate output can depend on how its input is split, and this keeps it
/// independent of file read sizes.
impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = CHUNK_SIZE - self.buf.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.buf.extend_from_slice(now);
            rest = later;
            if self.buf.len() == CHUNK_SIZE {
                self.send_buffer()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_do_not_depend_on_write_sizes() -> io::Result<()> {
        let data: Vec<u8> = (0..(CHUNK_SIZE * 2 + 1234))
            .map(|i| (i % 251) as u8)
            .collect();
        let collect = |pieces: &[usize]| -> io::Result<Vec<Vec<u8>>> {
            let (tx, rx) = mpsc::sync_channel(64);
            let mut sender = ChunkSender::new(tx);
            let mut at = 0;
            let mut k = 0;
            while at < data.len() {
                let n = pieces[k % pieces.len()].min(data.len() - at);
                sender.write_all(&data[at..at + n])?;
                at += n;
                k += 1;
            }
            sender.finish()?;
            Ok(rx.iter().collect())
        };
        let whole = collect(&[data.len()])?;
        let small = collect(&[1, 7, 512, 8192, 3])?;
        assert_eq!(whole, small);
        let sizes: Vec<usize> = whole.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![CHUNK_SIZE, CHUNK_SIZE, 1234]);
        Ok(())
    }
}
