//! The filesystem a build reads from: a trait, the real disk, and an in-memory tree for tests.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What a kustomize build needs from a filesystem. Paths handed in are absolute and clean.
pub trait Filesystem {
    /// The bytes of a regular file.
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// Whether `path` is a regular file.
    fn is_file(&self, path: &Path) -> bool;
    /// The path with symbolic links resolved; an error if it does not exist.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// The entries (full paths) of a directory, sorted by name.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>>;
}

/// The machine's real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl Filesystem for DiskFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            out.push(entry?.path());
        }
        out.sort();
        Ok(out)
    }
}

/// An in-memory tree of files (no symbolic links), for tests and embedders.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl MemFs {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; parent directories exist implicitly.
    pub fn add_file(&mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) {
        self.files
            .insert(clean_path(&absolute(path.as_ref())), content.into());
    }

    /// Builder form of [`MemFs::add_file`].
    pub fn with_file(mut self, path: impl AsRef<Path>, content: impl Into<Vec<u8>>) -> Self {
        self.add_file(path, content);
        self
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new("/").join(path)
    }
}

impl Filesystem for MemFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(&clean_path(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file or directory"))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let p = clean_path(path);
        self.files.keys().any(|f| f != &p && f.starts_with(&p))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&clean_path(path))
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = clean_path(path);
        if self.is_file(&p) || self.is_dir(&p) || p == Path::new("/") {
            Ok(p)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no such file or directory",
            ))
        }
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let p = clean_path(path);
        let mut out: Vec<PathBuf> = self
            .files
            .keys()
            .filter_map(|f| {
                let rest = f.strip_prefix(&p).ok()?;
                let first = rest.components().next()?;
                Some(p.join(first.as_os_str()))
            })
            .collect();
        out.dedup();
        Ok(out)
    }
}

/// Lexically cleans a path: removes `.`, resolves `..` against earlier parts.
pub fn clean_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_resolves_dots() {
        assert_eq!(
            clean_path(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(clean_path(Path::new("/a/..")), PathBuf::from("/"));
    }

    #[test]
    fn mem_fs_knows_files_and_dirs() {
        let fs = MemFs::new().with_file("/app/base/kustomization.yaml", "resources: []");
        assert!(fs.is_dir(Path::new("/app/base")));
        assert!(fs.is_dir(Path::new("/app")));
        assert!(fs.is_file(Path::new("/app/base/kustomization.yaml")));
        assert!(!fs.is_file(Path::new("/app/base")));
        assert!(fs.canonicalize(Path::new("/app/missing")).is_err());
        assert_eq!(
            fs.read_dir(Path::new("/app")).ok(),
            Some(vec![PathBuf::from("/app/base")])
        );
    }
}
