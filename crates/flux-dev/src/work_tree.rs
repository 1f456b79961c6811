//! The Git work tree `flux dev` points at: its root, the checked-out branch, the
//! Kustomization path relative to the root, and a cheap read of the branch head.

use std::path::{Component, Path, PathBuf};

/// Why the work tree could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkTreeError {
    /// PATH does not exist or cannot be resolved.
    #[error("resolving '{path}': {source}")]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// PATH is not inside a Git work tree.
    #[error("'{path}' is not inside a Git work tree: {source}")]
    Discover {
        path: PathBuf,
        #[source]
        source: gix::Error,
    },
    /// The repository is bare.
    #[error("'{path}' is a bare Git repository; flux dev needs a work tree")]
    Bare { path: PathBuf },
    /// HEAD cannot be read.
    #[error("reading HEAD of '{root}': {source}")]
    Head {
        root: PathBuf,
        #[source]
        source: gix::Error,
    },
    /// HEAD is detached or unborn: no branch to follow.
    #[error("HEAD of '{root}' is not on a branch (detached); check out a branch first")]
    Detached { root: PathBuf },
    /// The branch has no commit yet.
    #[error(
        "branch '{branch}' of '{root}' has no commit yet; commit something (or use --worktree)"
    )]
    Unborn { root: PathBuf, branch: String },
    /// PATH lies outside the work tree root.
    #[error("'{path}' is outside the Git work tree '{root}'")]
    Outside { path: PathBuf, root: PathBuf },
    /// `--path` is absolute or climbs out of the repository.
    #[error("--path '{path}' must be relative to the repository root and stay inside it")]
    BadPath { path: String },
    /// The Kustomization path is not a directory of the work tree.
    #[error("--path '{path}': '{dir}' is not a directory")]
    MissingPath { path: String, dir: PathBuf },
}

/// A located work tree.
#[derive(Debug, Clone)]
pub struct WorkTree {
    /// The work tree root (absolute, canonical).
    pub root: PathBuf,
    /// The `.git` directory.
    pub git_dir: PathBuf,
    /// The branch checked out when `flux dev` started (short name, e.g. `main`).
    pub branch: String,
    /// The Kustomization's `spec.path`, `./`-prefixed (`./` for the root).
    pub kustomization_path: String,
}

impl WorkTree {
    /// Finds the work tree containing `path`; `path_flag` is `--path` (relative to the
    /// root), else the path of `path` inside the work tree is used.
    pub fn locate(path: &Path, path_flag: Option<&str>) -> Result<Self, WorkTreeError> {
        let abs = std::fs::canonicalize(path).map_err(|source| WorkTreeError::Resolve {
            path: path.to_path_buf(),
            source,
        })?;
        let repo = gix::discover(&abs).map_err(|source| WorkTreeError::Discover {
            path: path.to_path_buf(),
            source,
        })?;
        let workdir = repo.workdir().ok_or_else(|| WorkTreeError::Bare {
            path: path.to_path_buf(),
        })?;
        let root = std::fs::canonicalize(workdir).map_err(|source| WorkTreeError::Resolve {
            path: workdir.to_path_buf(),
            source,
        })?;
        let git_dir = repo.git_dir().to_path_buf();
        let branch = head_branch(&repo, &root)?;
        let kustomization_path = match path_flag {
            Some(flag) => normalize_flag(flag)?,
            None => {
                let rel = abs
                    .strip_prefix(&root)
                    .map_err(|_| WorkTreeError::Outside {
                        path: abs.clone(),
                        root: root.clone(),
                    })?;
                dot_slash(rel)
            }
        };
        let dir = root.join(kustomization_path.trim_start_matches("./"));
        if !dir.is_dir() {
            return Err(WorkTreeError::MissingPath {
                path: kustomization_path,
                dir,
            });
        }
        Ok(Self {
            root,
            git_dir,
            branch,
            kustomization_path,
        })
    }

    /// Whether the Kustomization path holds `flux bootstrap`'s manifests
    /// (`gotk-sync.yaml` or `gotk-components.yaml`, at most 3 directories down).
    pub fn has_bootstrap_manifests(&self) -> bool {
        fn search(dir: &Path, depth: u8) -> bool {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return false;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name == "gotk-sync.yaml" || name == "gotk-components.yaml" {
                    return true;
                }
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && depth > 0 && name != ".git" && search(&entry.path(), depth - 1) {
                    return true;
                }
            }
            false
        }
        search(
            &self
                .root
                .join(self.kustomization_path.trim_start_matches("./")),
            3,
        )
    }

    /// The `file://` URL of the work tree's repository.
    pub fn url(&self) -> String {
        file_url(&self.root)
    }

    /// The branch HEAD is on now, and that branch's commit (hex), read afresh.
    pub fn head(&self) -> Result<(String, Option<String>), WorkTreeError> {
        let repo = gix::open(&self.git_dir).map_err(|source| WorkTreeError::Discover {
            path: self.git_dir.clone(),
            source,
        })?;
        let branch = head_branch(&repo, &self.root)?;
        let commit = branch_commit(&repo, &branch);
        Ok((branch, commit))
    }
}

/// The `file://` URL of a local directory.
pub fn file_url(dir: &Path) -> String {
    let text = dir
        .to_string_lossy()
        .replace('%', "%25")
        .replace(' ', "%20");
    format!("file://{text}")
}

fn head_branch(repo: &gix::Repository, root: &Path) -> Result<String, WorkTreeError> {
    let name = repo.head_name().map_err(|source| WorkTreeError::Head {
        root: root.to_path_buf(),
        source,
    })?;
    let Some(name) = name else {
        return Err(WorkTreeError::Detached {
            root: root.to_path_buf(),
        });
    };
    let full = name.as_bstr().to_string();
    match full.strip_prefix("refs/heads/") {
        Some(short) => Ok(short.to_string()),
        None => Err(WorkTreeError::Detached {
            root: root.to_path_buf(),
        }),
    }
}

/// The commit `refs/heads/<branch>` points at, if the branch exists.
pub fn branch_commit(repo: &gix::Repository, branch: &str) -> Option<String> {
    let full = format!("refs/heads/{branch}");
    let mut reference = repo.try_find_reference(full.as_str()).ok()??;
    reference.peel_to_id().ok().map(|id| id.to_string())
}

fn normalize_flag(flag: &str) -> Result<String, WorkTreeError> {
    let path = Path::new(flag);
    if path.is_absolute() {
        return Err(WorkTreeError::BadPath { path: flag.into() });
    }
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(WorkTreeError::BadPath { path: flag.into() });
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(WorkTreeError::BadPath { path: flag.into() });
            }
        }
    }
    Ok(format!("./{}", parts.join("/")))
}

fn dot_slash(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    format!("./{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_paths_are_normalized() {
        assert_eq!(
            normalize_flag("clusters/staging").ok(),
            Some("./clusters/staging".into())
        );
        assert_eq!(
            normalize_flag("./clusters/dev/").ok(),
            Some("./clusters/dev".into())
        );
        assert_eq!(normalize_flag(".").ok(), Some("./".into()));
        assert_eq!(normalize_flag("a/../b").ok(), Some("./b".into()));
        assert!(normalize_flag("../outside").is_err());
        assert!(normalize_flag("/abs").is_err());
    }

    #[test]
    fn relative_paths_get_a_dot_slash() {
        assert_eq!(dot_slash(Path::new("")), "./");
        assert_eq!(
            dot_slash(Path::new("examples/fleet/clusters/dev")),
            "./examples/fleet/clusters/dev"
        );
    }

    #[test]
    fn file_urls_escape_spaces() {
        assert_eq!(file_url(Path::new("/tmp/a b")), "file:///tmp/a%20b");
    }
}
