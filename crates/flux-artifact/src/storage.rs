//! Artifact storage on the local filesystem, as source-controller (fluxcd/pkg
//! `artifact/storage`) lays it out: `<storage-path>/<lowercase kind>/<namespace>/<name>/<file>`,
//! atomic writes (temp file in the same directory, chmod, rename), a `<file>.lock` lock
//! per artifact, stable symlinks (`latest.tar.gz`, `index.yaml`) written as `<link>.tmp`
//! then renamed, URLs built from `--storage-adv-addr`, and retention GC
//! (`--artifact-retention-ttl`, `--artifact-retention-records`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::archive::{PackError, PackFilter, PackOptions, pack_dir};
use crate::digest::{Algorithm, Digest, DigestError, DigestWriter};

/// Environment variable read for `--storage-path`.
pub const ENV_STORAGE_PATH: &str = "STORAGE_PATH";
/// Environment variable read for `--storage-addr`.
pub const ENV_STORAGE_ADDRESS: &str = "STORAGE_ADDRESS";
/// Environment variable read for `--storage-adv-addr`.
pub const ENV_STORAGE_ADV_ADDR: &str = "STORAGE_ADV_ADDR";
/// Default `--artifact-digest-algo`.
pub const DEFAULT_ARTIFACT_DIGEST_ALGO: Algorithm = Algorithm::CANONICAL;
/// Default `--storage-path`.
pub const DEFAULT_STORAGE_PATH: &str = "/data";
/// Default `--storage-addr`.
pub const DEFAULT_STORAGE_ADDR: &str = ":9090";
/// Default `--artifact-retention-ttl` (1m).
pub const DEFAULT_ARTIFACT_RETENTION_TTL: Duration = Duration::from_secs(60);
/// Default `--artifact-retention-records`.
pub const DEFAULT_ARTIFACT_RETENTION_RECORDS: usize = 2;
/// Files looked at per artifact directory in one GC pass (upstream's `GarbageCountLimit`).
pub const GARBAGE_COUNT_LIMIT: usize = 1000;

/// Errors of storage operations.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The storage root is missing or not a directory.
    #[error("invalid dir path: {path}")]
    InvalidStoragePath { path: PathBuf },
    /// `--storage-addr` is not `host:port`.
    #[error("invalid storage address {addr:?}: {reason}")]
    InvalidStorageAddress { addr: String, reason: String },
    /// `0.0.0.0` was given and the host name could not be determined.
    #[error("0.0.0.0 specified in storage addr but hostname is invalid")]
    Hostname {
        #[source]
        source: io::Error,
    },
    /// The artifact path is empty.
    #[error("artifact path is empty")]
    EmptyArtifactPath,
    /// Creating the artifact directory failed.
    #[error("creating artifact directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Acquiring the artifact lock failed.
    #[error("acquiring lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Creating the temporary file for an atomic write failed.
    #[error("creating temporary file in {dir}")]
    CreateTemp {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Packing a directory into the artifact failed.
    #[error("archiving {dir} to {path}")]
    Archive {
        dir: PathBuf,
        path: PathBuf,
        #[source]
        source: PackError,
    },
    /// Writing artifact content failed.
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Setting the artifact file mode failed.
    #[error("setting mode of {path}")]
    Chmod {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Moving the temporary file into place failed.
    #[error("renaming {from} to {to}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Creating or replacing a symlink failed.
    #[error("linking {link} to {target}")]
    Symlink {
        link: PathBuf,
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Reading a stored artifact failed.
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The stored file does not have the recorded digest.
    #[error("verifying {path}")]
    Verify {
        path: PathBuf,
        #[source]
        source: DigestError,
    },
    /// Removing files failed.
    #[error("removing {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Unpacking a stored artifact failed.
    #[error("extracting {path}")]
    Extract {
        path: PathBuf,
        #[source]
        source: crate::extract::ExtractError,
    },
    /// The requested sub path is not in the artifact.
    #[error("path {sub_path:?} not found in artifact {path}")]
    SubPathNotFound { path: PathBuf, sub_path: String },
    /// Listing an artifact directory failed.
    #[error("walking {path}")]
    Walk {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Storage settings, named after the controller flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOptions {
    /// `--storage-path` (env `STORAGE_PATH`).
    pub storage_path: PathBuf,
    /// `--storage-addr` (env `STORAGE_ADDRESS`).
    pub storage_addr: String,
    /// `--storage-adv-addr` (env `STORAGE_ADV_ADDR`); derived from `storage_addr` when empty.
    pub storage_adv_addr: Option<String>,
    /// `--artifact-retention-ttl`.
    pub artifact_retention_ttl: Duration,
    /// `--artifact-retention-records`.
    pub artifact_retention_records: usize,
    /// `--artifact-digest-algo`.
    pub artifact_digest_algo: Algorithm,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            storage_path: PathBuf::from(DEFAULT_STORAGE_PATH),
            storage_addr: DEFAULT_STORAGE_ADDR.to_string(),
            storage_adv_addr: None,
            artifact_retention_ttl: DEFAULT_ARTIFACT_RETENTION_TTL,
            artifact_retention_records: DEFAULT_ARTIFACT_RETENTION_RECORDS,
            artifact_digest_algo: Algorithm::CANONICAL,
        }
    }
}

impl StorageOptions {
    /// The address advertised in artifact URLs: `storage_adv_addr` verbatim when set;
    /// otherwise `storage_addr` with an empty host replaced by `localhost` and `0.0.0.0`
    /// by `$HOSTNAME` (or the system host name).
    pub fn advertised_address(&self) -> Result<String, StorageError> {
        if let Some(adv) = self.storage_adv_addr.as_deref().filter(|a| !a.is_empty()) {
            return Ok(adv.to_string());
        }
        let (host, port) = split_host_port(&self.storage_addr)?;
        let host = match host.as_str() {
            "" => "localhost".to_string(),
            "0.0.0.0" => match std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()) {
                Some(h) => h,
                None => system_hostname()?,
            },
            _ => host,
        };
        Ok(join_host_port(&host, &port))
    }
}

fn system_hostname() -> Result<String, StorageError> {
    let name = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map_err(|source| StorageError::Hostname { source })?;
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(StorageError::Hostname {
            source: io::Error::new(io::ErrorKind::NotFound, "empty host name"),
        });
    }
    Ok(name)
}

/// Go's `net.SplitHostPort`.
fn split_host_port(addr: &str) -> Result<(String, String), StorageError> {
    let bad = |reason: &str| StorageError::InvalidStorageAddress {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    if let Some(rest) = addr.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
        let port = after.strip_prefix(':').ok_or_else(|| bad("missing port"))?;
        return Ok((host.to_string(), port.to_string()));
    }
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("missing port"))?;
    if host.contains(':') {
        return Err(bad("too many colons"));
    }
    Ok((host.to_string(), port.to_string()))
}

fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `<lowercase kind>/<namespace>/<name>`.
pub fn artifact_dir(kind: &str, namespace: &str, name: &str) -> String {
    clean_join(&[&kind.to_lowercase(), namespace, name])
}

/// `<lowercase kind>/<namespace>/<name>/<file name>`.
pub fn artifact_path(kind: &str, namespace: &str, name: &str, file_name: &str) -> String {
    clean_join(&[&kind.to_lowercase(), namespace, name, file_name])
}

/// Go's `path.Join` for relative parts: joins with `/` and cleans `.`/`..`/empty
/// components (`..` never climbs above the start).
fn clean_join(parts: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in parts {
        for c in part.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
    }
    out.join("/")
}

/// A stored artifact as written by [`Storage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
    /// Path relative to the storage root (`gitrepository/ns/name/<sha>.tar.gz`).
    pub path: String,
    /// `http://<adv-addr>/<path>`.
    pub url: String,
    /// Digest of the file.
    pub digest: Digest,
    /// Size of the file in bytes.
    pub size: u64,
    /// When it was written.
    pub last_update_time: SystemTime,
}

/// An exclusive lock on one artifact (`<file>.lock`), released on drop.
#[derive(Debug)]
pub struct ArtifactLock {
    file: File,
    path: PathBuf,
}

impl ArtifactLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ArtifactLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// The artifact store.
#[derive(Debug, Clone)]
pub struct Storage {
    base_path: PathBuf,
    hostname: String,
    retention_ttl: Duration,
    retention_records: usize,
    digest_algorithm: Algorithm,
}

impl Storage {
    /// Opens the store; the storage path must be an existing directory.
    pub fn new(options: &StorageOptions) -> Result<Self, StorageError> {
        let hostname = options.advertised_address()?;
        match fs::metadata(&options.storage_path) {
            Ok(m) if m.is_dir() => {}
            _ => {
                return Err(StorageError::InvalidStoragePath {
                    path: options.storage_path.clone(),
                });
            }
        }
        Ok(Storage {
            base_path: options.storage_path.clone(),
            hostname,
            retention_ttl: options.artifact_retention_ttl,
            retention_records: options.artifact_retention_records,
            digest_algorithm: options.artifact_digest_algo,
        })
    }

    /// The storage root.
    pub fn base_path(&self) -> &Path {
        &self.base_path
    }

    /// The advertised address used in URLs.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The digest algorithm for new artifacts.
    pub fn digest_algorithm(&self) -> Algorithm {
        self.digest_algorithm
    }

    /// The local file of an artifact path, confined to the storage root (`..` cannot
    /// climb above it).
    pub fn local_path(&self, artifact_path: &str) -> Result<PathBuf, StorageError> {
        let rel = clean_join(&[artifact_path]);
        if rel.is_empty() {
            return Err(StorageError::EmptyArtifactPath);
        }
        Ok(self.base_path.join(rel))
    }

    /// `http://<adv-addr>/<path>`, or `<adv-addr>/<path>` when the address has a scheme.
    pub fn artifact_url(&self, artifact_path: &str) -> String {
        let path = artifact_path.trim_start_matches('/');
        if self.hostname.starts_with("http://") || self.hostname.starts_with("https://") {
            format!("{}/{}", self.hostname, path)
        } else {
            format!("http://{}/{}", self.hostname, path)
        }
    }

    /// Rewrites the host of a URL to this store's advertised address (used when
    /// `--storage-adv-addr` changes). `None` when the URL has no `scheme://host`.
    pub fn set_hostname(&self, url: &str) -> Option<String> {
        let (scheme, rest) = url.split_once("://")?;
        let path_start = rest.find('/').unwrap_or(rest.len());
        let host = self
            .hostname
            .split_once("://")
            .map(|(_, h)| h)
            .unwrap_or(&self.hostname);
        Some(format!("{scheme}://{host}{}", &rest[path_start..]))
    }

    /// Creates the artifact's directory (mode 0700).
    pub fn mkdir_all(&self, artifact_path: &str) -> Result<PathBuf, StorageError> {
        let local = self.local_path(artifact_path)?;
        let dir = parent_of(&local);
        create_dir_all_private(&dir).map_err(|source| StorageError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Blocks until the artifact's `<file>.lock` is held exclusively.
    pub fn lock(&self, artifact_path: &str) -> Result<ArtifactLock, StorageError> {
        let (file, path) = self.open_lock_file(artifact_path)?;
        file.lock().map_err(|source| StorageError::Lock {
            path: path.clone(),
            source,
        })?;
        Ok(ArtifactLock { file, path })
    }

    /// Takes the artifact lock if it is free; `None` when another holder has it.
    pub fn try_lock(&self, artifact_path: &str) -> Result<Option<ArtifactLock>, StorageError> {
        let (file, path) = self.open_lock_file(artifact_path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ArtifactLock { file, path })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(source)) => Err(StorageError::Lock { path, source }),
        }
    }

    fn open_lock_file(&self, artifact_path: &str) -> Result<(File, PathBuf), StorageError> {
        let local = self.local_path(artifact_path)?;
        let mut name = local.into_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StorageError::Lock {
                path: path.clone(),
                source,
            })?;
        Ok((file, path))
    }

    /// Packs `dir` (with `filter`) into the artifact atomically and returns its record.
    pub fn archive(
        &self,
        artifact_path: &str,
        dir: &Path,
        filter: Option<PackFilter<'_>>,
    ) -> Result<StoredArtifact, StorageError> {
        let local = self.local_path(artifact_path)?;
        let options = PackOptions {
            digest_algorithm: self.digest_algorithm,
            ..PackOptions::default()
        };
        let (tmp, digest, size) =
            self.write_temp(&local, |file| {
                let (writer, summary) = pack_dir(dir, BufWriter::new(file), filter, &options)
                    .map_err(|source| StorageError::Archive {
                        dir: dir.to_path_buf(),
                        path: local.clone(),
                        source,
                    })?;
                finish_buffer(writer, &local)?;
                Ok((summary.digest, summary.size))
            })?;
        self.persist(tmp, &local, Some(0o600))?;
        Ok(self.record(artifact_path, digest, size))
    }

    /// Writes everything `reader` yields to the artifact atomically, with file `mode`.
    pub fn atomic_write_file<R: Read>(
        &self,
        artifact_path: &str,
        reader: R,
        mode: u32,
    ) -> Result<StoredArtifact, StorageError> {
        self.write_from_reader(artifact_path, reader, Some(mode))
    }

    /// Copies everything `reader` yields to the artifact atomically (default file mode).
    pub fn copy<R: Read>(
        &self,
        artifact_path: &str,
        reader: R,
    ) -> Result<StoredArtifact, StorageError> {
        self.write_from_reader(artifact_path, reader, None)
    }

    /// Copies a local file into the artifact atomically.
    pub fn copy_from_path(
        &self,
        artifact_path: &str,
        source: &Path,
    ) -> Result<StoredArtifact, StorageError> {
        let file = File::open(source).map_err(|e| StorageError::Read {
            path: source.to_path_buf(),
            source: e,
        })?;
        self.copy(artifact_path, file)
    }

    fn write_from_reader<R: Read>(
        &self,
        artifact_path: &str,
        mut reader: R,
        mode: Option<u32>,
    ) -> Result<StoredArtifact, StorageError> {
        let local = self.local_path(artifact_path)?;
        let algorithm = self.digest_algorithm;
        let (tmp, digest, size) = self.write_temp(&local, |file| {
            let mut w = DigestWriter::new(BufWriter::new(file), algorithm);
            io::copy(&mut reader, &mut w).map_err(|source| StorageError::Write {
                path: local.clone(),
                source,
            })?;
            let (writer, digest, size) = w.finish();
            finish_buffer(writer, &local)?;
            Ok((digest, size))
        })?;
        self.persist(tmp, &local, mode)?;
        Ok(self.record(artifact_path, digest, size))
    }

    fn write_temp<F>(
        &self,
        local: &Path,
        write: F,
    ) -> Result<(tempfile::NamedTempFile, Digest, u64), StorageError>
    where
        F: FnOnce(&mut File) -> Result<(Digest, u64), StorageError>,
    {
        let dir = parent_of(local);
        let prefix = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .tempfile_in(&dir)
            .map_err(|source| StorageError::CreateTemp {
                dir: dir.clone(),
                source,
            })?;
        let (digest, size) = write(tmp.as_file_mut())?;
        Ok((tmp, digest, size))
    }

    fn persist(
        &self,
        tmp: tempfile::NamedTempFile,
        local: &Path,
        mode: Option<u32>,
    ) -> Result<(), StorageError> {
        if let Some(mode) = mode {
            set_mode(tmp.path(), mode).map_err(|source| StorageError::Chmod {
                path: tmp.path().to_path_buf(),
                source,
            })?;
        }
        let from = tmp.path().to_path_buf();
        tmp.persist(local).map_err(|e| StorageError::Rename {
            from,
            to: local.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }

    fn record(&self, artifact_path: &str, digest: Digest, size: u64) -> StoredArtifact {
        let path = clean_join(&[artifact_path]);
        StoredArtifact {
            url: self.artifact_url(&path),
            path,
            digest,
            size,
            last_update_time: SystemTime::now(),
        }
    }

    /// Points `<artifact dir>/<link_name>` at the artifact (via `<link>.tmp` and a rename)
    /// and returns the link's URL.
    pub fn symlink(&self, artifact_path: &str, link_name: &str) -> Result<String, StorageError> {
        let local = self.local_path(artifact_path)?;
        let target = std::path::absolute(&local).unwrap_or_else(|_| local.clone());
        let dir = parent_of(&local);
        let link = dir.join(link_name);
        let mut tmp_name = link.clone().into_os_string();
        tmp_name.push(".tmp");
        let tmp_link = PathBuf::from(tmp_name);
        let link_err = |source| StorageError::Symlink {
            link: link.clone(),
            target: target.clone(),
            source,
        };
        match fs::remove_file(&tmp_link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(link_err(e)),
        }
        make_symlink(&target, &tmp_link).map_err(link_err)?;
        fs::rename(&tmp_link, &link).map_err(link_err)?;
        let rel_dir = clean_join(&[artifact_path, ".."]);
        Ok(self.artifact_url(&clean_join(&[&rel_dir, link_name])))
    }

    /// Upstream's `CopyToPath` (GitRepository `include`): unpacks the artifact without a
    /// size limit into a temporary directory next to `to_path`, then moves `sub_path` of
    /// it (confined to the artifact root; empty or `.` for everything) to `to_path`,
    /// creating `to_path`'s parent. An existing non-empty `to_path` is an error.
    pub fn copy_to_path(
        &self,
        artifact_path: &str,
        sub_path: &str,
        to_path: &Path,
    ) -> Result<(), StorageError> {
        let local = self.local_path(artifact_path)?;
        let parent = parent_of(to_path);
        fs::create_dir_all(&parent).map_err(|source| StorageError::CreateDir {
            path: parent.clone(),
            source,
        })?;
        let tmp = tempfile::Builder::new()
            .prefix(".flux-include-")
            .tempdir_in(&parent)
            .map_err(|source| StorageError::CreateTemp {
                dir: parent.clone(),
                source,
            })?;
        let unpack = tmp.path().join("unpack");
        let file = File::open(&local).map_err(|source| StorageError::Read {
            path: local.clone(),
            source,
        })?;
        let options = crate::extract::ExtractOptions {
            max_total_size: None,
            ..crate::extract::ExtractOptions::default()
        };
        crate::extract::extract(io::BufReader::new(file), &unpack, &options).map_err(|source| {
            StorageError::Extract {
                path: local.clone(),
                source,
            }
        })?;
        let rel = clean_join(&[sub_path]);
        let from = if rel.is_empty() {
            unpack.clone()
        } else {
            unpack.join(&rel)
        };
        if fs::symlink_metadata(&from).is_err() {
            return Err(StorageError::SubPathNotFound {
                path: local,
                sub_path: sub_path.to_string(),
            });
        }
        fs::rename(&from, to_path).map_err(|source| StorageError::Rename {
            from: from.clone(),
            to: to_path.to_path_buf(),
            source,
        })
    }

    /// Whether the artifact exists as a regular file (not a symlink).
    pub fn artifact_exists(&self, artifact_path: &str) -> bool {
        self.local_path(artifact_path)
            .ok()
            .and_then(|p| fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file())
    }

    /// Re-hashes the stored file against `digest` (algorithm taken from the digest).
    pub fn verify(&self, artifact_path: &str, digest: &Digest) -> Result<(), StorageError> {
        let local = self.local_path(artifact_path)?;
        let file = File::open(&local).map_err(|source| StorageError::Read {
            path: local.clone(),
            source,
        })?;
        digest
            .verify_reader(io::BufReader::new(file))
            .map_err(|source| StorageError::Verify {
                path: local,
                source,
            })
    }

    /// Removes the artifact file.
    pub fn remove(&self, artifact_path: &str) -> Result<(), StorageError> {
        let local = self.local_path(artifact_path)?;
        fs::remove_file(&local).map_err(|source| StorageError::Remove {
            path: local,
            source,
        })
    }

    /// Removes the artifact's whole directory (object deletion). Returns the directory if
    /// it existed.
    pub fn remove_all(&self, artifact_path: &str) -> Result<Option<PathBuf>, StorageError> {
        let dir = parent_of(&self.local_path(artifact_path)?);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(Some(dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Remove { path: dir, source }),
        }
    }

    /// Removes every file of the artifact's directory except the artifact itself
    /// (symlinks are kept). Returns the removed files.
    pub fn remove_all_but_current(
        &self,
        artifact_path: &str,
    ) -> Result<Vec<PathBuf>, StorageError> {
        let local = self.local_path(artifact_path)?;
        let mut files = Vec::new();
        collect_files(&parent_of(&local), &mut files, usize::MAX)?;
        let mut removed = Vec::new();
        for (path, _) in files {
            if path != local {
                fs::remove_file(&path).map_err(|source| StorageError::Remove {
                    path: path.clone(),
                    source,
                })?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// The files GC would delete for the artifact at `now`: every other file older than
    /// the TTL, plus the oldest others until at most `retention_records` files (the
    /// current one included) remain. Lock files and symlinks are never candidates; at
    /// most [`GARBAGE_COUNT_LIMIT`] files are considered.
    pub fn garbage_files(
        &self,
        artifact_path: &str,
        now: SystemTime,
    ) -> Result<Vec<PathBuf>, StorageError> {
        let local = self.local_path(artifact_path)?;
        let mut files = Vec::new();
        collect_files(&parent_of(&local), &mut files, GARBAGE_COUNT_LIMIT)?;
        files.retain(|(p, _)| p.extension().is_none_or(|e| e != "lock"));
        files.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let total = files.len();
        let mut garbage: Vec<PathBuf> = files
            .iter()
            .filter(|(p, modified)| {
                *p != local
                    && now.duration_since(*modified).unwrap_or(Duration::ZERO) > self.retention_ttl
            })
            .map(|(p, _)| p.clone())
            .collect();
        for (path, _) in &files {
            if total - garbage.len() <= self.retention_records {
                break;
            }
            if *path != local && !garbage.contains(path) {
                garbage.push(path.clone());
            }
        }
        Ok(garbage)
    }

    /// Deletes [`Storage::garbage_files`] (and their `.lock` files) and returns what was
    /// deleted.
    pub fn garbage_collect(&self, artifact_path: &str) -> Result<Vec<PathBuf>, StorageError> {
        let garbage = self.garbage_files(artifact_path, SystemTime::now())?;
        let mut deleted = Vec::new();
        for file in garbage {
            fs::remove_file(&file).map_err(|source| StorageError::Remove {
                path: file.clone(),
                source,
            })?;
            let mut lock = file.clone().into_os_string();
            lock.push(".lock");
            let lock = PathBuf::from(lock);
            if fs::symlink_metadata(&lock).is_ok() {
                fs::remove_file(&lock).map_err(|source| StorageError::Remove {
                    path: lock.clone(),
                    source,
                })?;
            }
            deleted.push(file);
        }
        Ok(deleted)
    }
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn finish_buffer(writer: BufWriter<&mut File>, local: &Path) -> Result<(), StorageError> {
    let write_err = |source| StorageError::Write {
        path: local.to_path_buf(),
        source,
    };
    let file = writer.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.flush().map_err(write_err)?;
    file.sync_all().map_err(write_err)
}

/// Regular files (not symlinks) under `dir`, recursively, with their modification times;
/// stops after `limit` files.
fn collect_files(
    dir: &Path,
    out: &mut Vec<(PathBuf, SystemTime)>,
    limit: usize,
) -> Result<(), StorageError> {
    let walk_err = |source| StorageError::Walk {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(walk_err(e)),
    };
    let mut sorted = Vec::new();
    for entry in entries {
        sorted.push(entry.map_err(walk_err)?);
    }
    sorted.sort_by_key(|e| e.file_name());
    for entry in sorted {
        if out.len() >= limit {
            return Ok(());
        }
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(walk_err)?;
        if meta.is_dir() {
            collect_files(&path, out, limit)?;
        } else if meta.is_file() {
            let modified = meta.modified().map_err(walk_err)?;
            out.push((path, modified));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn create_dir_all_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir_all_private(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symlinks need Unix",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() -> Result<(), StorageError> {
        assert_eq!(
            artifact_path("GitRepository", "flux-system", "podinfo", "abc.tar.gz"),
            "gitrepository/flux-system/podinfo/abc.tar.gz"
        );
        assert_eq!(artifact_dir("Bucket", "ns", "b"), "bucket/ns/b");
        assert_eq!(clean_join(&["a/../../b", "./c"]), "b/c");

        let mut options = StorageOptions {
            storage_path: std::env::temp_dir(),
            storage_adv_addr: Some("source-controller.flux-system.svc.cluster.local.".into()),
            ..StorageOptions::default()
        };
        let s = Storage::new(&options)?;
        assert_eq!(
            s.artifact_url("/gitrepository/a/b/c.tar.gz"),
            "http://source-controller.flux-system.svc.cluster.local./gitrepository/a/b/c.tar.gz"
        );
        assert_eq!(
            s.set_hostname("http://old:9090/x/y.tar.gz").as_deref(),
            Some("http://source-controller.flux-system.svc.cluster.local./x/y.tar.gz")
        );
        assert!(
            s.local_path("../../etc/passwd")?
                .starts_with(std::env::temp_dir())
        );

        options.storage_adv_addr = Some("https://files.example".into());
        let s = Storage::new(&options)?;
        assert_eq!(s.artifact_url("a/b"), "https://files.example/a/b");

        options.storage_adv_addr = None;
        options.storage_addr = ":9090".into();
        assert_eq!(options.advertised_address()?, "localhost:9090");
        options.storage_addr = "127.0.0.1:80".into();
        assert_eq!(options.advertised_address()?, "127.0.0.1:80");
        options.storage_addr = "[::1]:9090".into();
        assert_eq!(options.advertised_address()?, "[::1]:9090");
        options.storage_addr = "nope".into();
        assert!(matches!(
            options.advertised_address(),
            Err(StorageError::InvalidStorageAddress { .. })
        ));
        Ok(())
    }
}
