//! `--worktree`: the files as they are on disk, committed or not (`.gitignore`
//! honoured), committed into a shadow bare repository under the data directory whenever
//! they change, so the GitRepository can point at it.
//!
//! Change detection is a fingerprint of (path, size, mtime, mode) over the walked files;
//! blobs are only read and written when the fingerprint moves, and a commit is only made
//! when the resulting tree differs from the last snapshot's.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use gix::objs::tree::EntryKind;

/// Why a snapshot failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The shadow repository could not be created or opened.
    #[error("opening the shadow repository '{dir}': {message}")]
    Open { dir: PathBuf, message: String },
    /// Walking the work tree failed.
    #[error("walking the work tree '{root}': {source}")]
    Walk {
        root: PathBuf,
        #[source]
        source: ignore::Error,
    },
    /// A file could not be read.
    #[error("reading '{path}': {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing objects or the branch into the shadow repository failed.
    #[error("writing the snapshot of '{path}' into the shadow repository: {source}")]
    Write {
        path: String,
        #[source]
        source: gix::Error,
    },
}

/// One file of the work tree.
struct WalkedFile {
    /// Path relative to the root, `/`-separated.
    relative: String,
    path: PathBuf,
    kind: EntryKind,
}

/// The shadow repository and what was last snapshotted.
pub struct ShadowRepo {
    dir: PathBuf,
    work_root: PathBuf,
    excluded: Vec<PathBuf>,
    last_fingerprint: Option<u64>,
}

impl ShadowRepo {
    /// Opens (creating) the bare shadow repository `dir` for the work tree `work_root`;
    /// `excluded` directories (the data directory) are never snapshotted.
    pub fn open(
        dir: &Path,
        work_root: &Path,
        excluded: Vec<PathBuf>,
    ) -> Result<Self, SnapshotError> {
        if !dir.join("HEAD").exists() {
            std::fs::create_dir_all(dir).map_err(|e| SnapshotError::Open {
                dir: dir.to_path_buf(),
                message: e.to_string(),
            })?;
            gix::init_bare(dir).map_err(|e| SnapshotError::Open {
                dir: dir.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            work_root: work_root.to_path_buf(),
            excluded,
            last_fingerprint: None,
        })
    }

    /// The shadow repository's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Snapshots the work tree into `refs/heads/<branch>` when it changed; returns the
    /// branch's commit (new or unchanged), or `None` when nothing was ever snapshotted.
    pub fn sync(&mut self, branch: &str) -> Result<Option<String>, SnapshotError> {
        let files = self.walk()?;
        let fingerprint = fingerprint(&files);
        let repo = gix::open(&self.dir).map_err(|e| SnapshotError::Open {
            dir: self.dir.clone(),
            message: e.to_string(),
        })?;
        let current = crate::work_tree::branch_commit(&repo, branch);
        if self.last_fingerprint == Some(fingerprint) && current.is_some() {
            return Ok(current);
        }
        let tree = write_tree(&repo, &files)?;
        let parent = current
            .as_deref()
            .and_then(|hex| gix::ObjectId::from_hex(hex.as_bytes()).ok());
        if let Some(parent) = parent {
            let same = repo
                .find_commit(parent)
                .ok()
                .and_then(|c| c.tree_id().ok())
                .is_some_and(|t| t.detach() == tree);
            if same {
                self.last_fingerprint = Some(fingerprint);
                return Ok(current);
            }
        }
        let seconds = jiff::Timestamp::now().as_second();
        let time = format!("{seconds} +0000");
        let signature = gix::actor::SignatureRef {
            name: "flux dev".into(),
            email: "flux-dev@localhost".into(),
            time: &time,
        };
        let reference = format!("refs/heads/{branch}");
        let commit = repo
            .commit_as(
                signature,
                signature,
                reference.as_str(),
                "flux dev: work tree snapshot",
                tree,
                parent,
            )
            .map_err(|source| SnapshotError::Write {
                path: reference.clone(),
                source,
            })?;
        self.last_fingerprint = Some(fingerprint);
        Ok(Some(commit.to_string()))
    }

    fn walk(&self) -> Result<Vec<WalkedFile>, SnapshotError> {
        let excluded = self.excluded.clone();
        let walker = ignore::WalkBuilder::new(&self.work_root)
            .hidden(false)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .parents(false)
            .ignore(false)
            .follow_links(false)
            .sort_by_file_path(|a, b| a.cmp(b))
            .filter_entry(move |entry| {
                entry.file_name() != ".git" && !excluded.iter().any(|dir| entry.path() == dir)
            })
            .build();
        let mut files = Vec::new();
        for entry in walker {
            let entry = entry.map_err(|source| SnapshotError::Walk {
                root: self.work_root.clone(),
                source,
            })?;
            let Some(file_type) = entry.file_type() else {
                continue;
            };
            let kind = if file_type.is_symlink() {
                EntryKind::Link
            } else if file_type.is_file() {
                if is_executable(entry.path()) {
                    EntryKind::BlobExecutable
                } else {
                    EntryKind::Blob
                }
            } else {
                continue;
            };
            let Ok(relative) = entry.path().strip_prefix(&self.work_root) else {
                continue;
            };
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if relative.is_empty() {
                continue;
            }
            files.push(WalkedFile {
                relative,
                path: entry.path().to_path_buf(),
                kind,
            });
        }
        Ok(files)
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    false
}

fn fingerprint(files: &[WalkedFile]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.relative.hash(&mut hasher);
        (file.kind as u16).hash(&mut hasher);
        if let Ok(meta) = std::fs::symlink_metadata(&file.path) {
            meta.len().hash(&mut hasher);
            if let Ok(modified) = meta.modified() {
                modified.hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

fn write_tree(
    repo: &gix::Repository,
    files: &[WalkedFile],
) -> Result<gix::ObjectId, SnapshotError> {
    let mut editor = repo
        .empty_tree()
        .edit()
        .map_err(|source| SnapshotError::Write {
            path: "/".into(),
            source,
        })?;
    for file in files {
        let bytes = if file.kind == EntryKind::Link {
            std::fs::read_link(&file.path)
                .map(|target| target.to_string_lossy().into_owned().into_bytes())
        } else {
            std::fs::read(&file.path)
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            // Deleted between the walk and the read: the next poll sees the deletion.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(SnapshotError::Read {
                    path: file.path.clone(),
                    source,
                });
            }
        };
        let blob = repo
            .write_blob(&bytes)
            .map_err(|source| SnapshotError::Write {
                path: file.relative.clone(),
                source,
            })?;
        editor
            .upsert(file.relative.as_str(), file.kind, blob.detach())
            .map_err(|source| SnapshotError::Write {
                path: file.relative.clone(),
                source,
            })?;
    }
    let tree = editor.write().map_err(|source| SnapshotError::Write {
        path: "/".into(),
        source,
    })?;
    Ok(tree.detach())
}
