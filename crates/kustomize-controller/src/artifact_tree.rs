//! A verified artifact decoded once into memory, and the per-build filesystem layered over
//! it.
//!
//! Kustomizations sharing one source revision used to extract the whole artifact to disk on
//! every reconcile; with N Kustomizations over one repository of N directories that is
//! O(N²) work. The artifact is now extracted once per digest (by flux-artifact's extractor,
//! with all its rules: no absolute paths, no `..`, no links, entry limits), read into an
//! [`ArtifactTree`] shared through an `Arc`, and each build runs on a [`LayeredFs`]: the
//! shared tree plus the few files Flux's overlay writes for that one Kustomization.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flux_artifact::ExtractOptions;
use flux_kustomize::Filesystem;
use flux_kustomize::fs::clean_path;

use crate::overlay::OverlayFs;

/// The virtual directory the artifact's files live under; build errors name paths
/// relative to it.
pub const ARTIFACT_ROOT: &str = "/artifact";

/// Why an artifact could not be decoded into memory.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The scratch directory for extraction could not be created.
    #[error("tmp dir error: {0}")]
    TempDir(#[source] io::Error),
    /// flux-artifact refused or failed to extract the archive.
    #[error(transparent)]
    Extract(#[from] flux_artifact::extract::ExtractError),
    /// Reading back an extracted file or directory failed.
    #[error("reading extracted '{path}': {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The regular files and directories of one artifact, in memory, under [`ARTIFACT_ROOT`].
#[derive(Debug, Default)]
pub struct ArtifactTree {
    files: HashMap<PathBuf, Arc<[u8]>>,
    /// Every directory with its entries (full paths), sorted by name.
    dirs: HashMap<PathBuf, Vec<PathBuf>>,
}

impl ArtifactTree {
    /// Extracts the tar.gz `archive` with flux-artifact's safe extractor into a scratch
    /// directory, reads it into memory and removes the scratch directory.
    pub fn extract(archive: &[u8], options: &ExtractOptions) -> Result<Self, TreeError> {
        let scratch = tempfile::Builder::new()
            .prefix("kustomization-")
            .tempdir()
            .map_err(TreeError::TempDir)?;
        flux_artifact::extract::extract(archive, scratch.path(), options)?;
        Self::read_dir_tree(scratch.path())
    }

    /// Reads the regular files and directories under `dir` (links are not followed; the
    /// extractor refuses them anyway).
    pub fn read_dir_tree(dir: &Path) -> Result<Self, TreeError> {
        let mut tree = Self::default();
        tree.read_into(dir, &clean_path(Path::new(ARTIFACT_ROOT)))?;
        Ok(tree)
    }

    fn read_into(&mut self, disk: &Path, virt: &Path) -> Result<(), TreeError> {
        let read = |path: &Path, source| TreeError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut children = Vec::new();
        let mut names = Vec::new();
        for entry in std::fs::read_dir(disk).map_err(|e| read(disk, e))? {
            let entry = entry.map_err(|e| read(disk, e))?;
            names.push(entry.file_name());
        }
        names.sort();
        for name in names {
            let disk_path = disk.join(&name);
            let virt_path = virt.join(&name);
            let kind = std::fs::symlink_metadata(&disk_path)
                .map_err(|e| read(&disk_path, e))?
                .file_type();
            if kind.is_dir() {
                self.read_into(&disk_path, &virt_path)?;
            } else if kind.is_file() {
                let bytes = std::fs::read(&disk_path).map_err(|e| read(&disk_path, e))?;
                self.files.insert(virt_path.clone(), Arc::from(bytes));
            } else {
                continue;
            }
            children.push(virt_path);
        }
        self.dirs.insert(virt.to_path_buf(), children);
        Ok(())
    }

    /// The directory holding the artifact's files.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(ARTIFACT_ROOT)
    }

    /// How many regular files the artifact holds.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The total size of the files, for cache accounting and logs.
    pub fn content_bytes(&self) -> usize {
        self.files.values().map(|b| b.len()).sum()
    }
}

/// One build's filesystem: the shared artifact tree plus the files written for this build.
/// Writes never touch the shared tree.
#[derive(Debug)]
pub struct LayeredFs {
    base: Arc<ArtifactTree>,
    written: BTreeMap<PathBuf, Vec<u8>>,
}

impl LayeredFs {
    /// A layer over `base` with nothing written yet.
    pub fn new(base: Arc<ArtifactTree>) -> Self {
        Self {
            base,
            written: BTreeMap::new(),
        }
    }
}

fn not_found() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no such file or directory")
}

impl Filesystem for LayeredFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        let p = clean_path(path);
        if let Some(bytes) = self.written.get(&p) {
            return Ok(bytes.clone());
        }
        if let Some(bytes) = self.base.files.get(&p) {
            return Ok(bytes.to_vec());
        }
        if self.base.dirs.contains_key(&p) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        Err(not_found())
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.base.dirs.contains_key(&clean_path(path))
    }
    fn is_file(&self, path: &Path) -> bool {
        let p = clean_path(path);
        self.written.contains_key(&p) || self.base.files.contains_key(&p)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let p = clean_path(path);
        if self.is_file(&p) || self.is_dir(&p) {
            Ok(p)
        } else {
            Err(not_found())
        }
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        let p = clean_path(path);
        let mut entries = self.base.dirs.get(&p).cloned().ok_or_else(not_found)?;
        let mut added = false;
        for written in self.written.keys() {
            if written.parent() == Some(p.as_path()) && !self.base.files.contains_key(written) {
                entries.push(written.clone());
                added = true;
            }
        }
        if added {
            entries.sort();
            entries.dedup();
        }
        Ok(entries)
    }
}

impl OverlayFs for LayeredFs {
    fn write_file(&mut self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        let p = clean_path(path);
        let parent_exists = p.parent().is_some_and(|parent| self.is_dir(parent));
        if self.is_dir(&p) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        }
        if !parent_exists {
            return Err(not_found());
        }
        self.written.insert(p, bytes);
        Ok(())
    }
    fn exists(&self, path: &Path) -> bool {
        let p = clean_path(path);
        self.is_file(&p) || self.is_dir(&p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Arc<ArtifactTree> {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("apps/a")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("empty")).expect("mkdir");
        std::fs::write(dir.path().join("apps/a/cm.yaml"), "kind: ConfigMap\n").expect("w");
        std::fs::write(dir.path().join("apps/readme.md"), "hi").expect("w");
        Arc::new(ArtifactTree::read_dir_tree(dir.path()).expect("read"))
    }

    #[test]
    fn reads_files_and_directories() {
        let fs = LayeredFs::new(tree());
        let root = Path::new(ARTIFACT_ROOT);
        assert!(fs.is_dir(root));
        assert!(fs.is_dir(&root.join("empty")));
        assert!(fs.is_dir(&root.join("apps/./a")));
        assert!(fs.is_file(&root.join("apps/a/cm.yaml")));
        assert!(!fs.is_file(&root.join("apps/a")));
        assert!(fs.read_file(&root.join("apps/a")).is_err());
        assert_eq!(
            fs.read_file(&root.join("apps/a/../a/cm.yaml")).ok(),
            Some(b"kind: ConfigMap\n".to_vec())
        );
        assert_eq!(
            fs.read_dir(&root.join("apps")).ok(),
            Some(vec![root.join("apps/a"), root.join("apps/readme.md")])
        );
        assert_eq!(fs.read_dir(&root.join("empty")).ok(), Some(Vec::new()));
        assert!(fs.read_dir(&root.join("missing")).is_err());
        assert!(fs.canonicalize(&root.join("missing")).is_err());
    }

    #[test]
    fn writes_stay_in_the_layer() {
        let base = tree();
        let root = Path::new(ARTIFACT_ROOT);
        let mut fs = LayeredFs::new(base.clone());
        fs.write_file(&root.join("apps/a/kustomization.yaml"), b"x".to_vec())
            .expect("write");
        fs.write_file(&root.join("apps/a/cm.yaml"), b"y".to_vec())
            .expect("overwrite");
        assert!(
            fs.write_file(&root.join("nope/k.yaml"), Vec::new())
                .is_err()
        );
        assert!(fs.write_file(&root.join("apps/a"), Vec::new()).is_err());
        assert_eq!(
            fs.read_dir(&root.join("apps/a")).ok(),
            Some(vec![
                root.join("apps/a/cm.yaml"),
                root.join("apps/a/kustomization.yaml")
            ])
        );
        assert_eq!(
            fs.read_file(&root.join("apps/a/cm.yaml")).ok(),
            Some(b"y".to_vec())
        );
        let fresh = LayeredFs::new(base);
        assert!(!fresh.is_file(&root.join("apps/a/kustomization.yaml")));
        assert_eq!(
            fresh.read_file(&root.join("apps/a/cm.yaml")).ok(),
            Some(b"kind: ConfigMap\n".to_vec())
        );
    }

    #[test]
    fn extracts_an_archive_and_refuses_garbage() {
        let src = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(src.path().join("base")).expect("mkdir");
        std::fs::write(src.path().join("base/cm.yaml"), "a: b\n").expect("w");
        let (archive, _) = flux_artifact::archive::pack_dir(
            src.path(),
            Vec::new(),
            None,
            &flux_artifact::archive::PackOptions::default(),
        )
        .expect("pack");
        let tree = ArtifactTree::extract(&archive, &ExtractOptions::default()).expect("tree");
        assert_eq!(tree.file_count(), 1);
        assert_eq!(tree.content_bytes(), 5);
        assert!(ArtifactTree::extract(b"not a tarball", &ExtractOptions::default()).is_err());
    }

    #[test]
    fn overlay_and_build_run_in_the_layer() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("apps/a")).expect("mkdir");
        std::fs::write(
            dir.path().join("apps/a/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n",
        )
        .expect("w");
        let base = Arc::new(ArtifactTree::read_dir_tree(dir.path()).expect("read"));
        let spec: flux_api::kustomize::KustomizationSpec = serde_json::from_value(
            serde_json::json!({"interval": "1m", "prune": true, "targetNamespace": "apps",
                "sourceRef": {"kind": "GitRepository", "name": "repo"}}),
        )
        .expect("spec");
        let target = Path::new(ARTIFACT_ROOT).join("apps/a");
        let mut fs = LayeredFs::new(base.clone());
        crate::overlay::write_overlay_in(&mut fs, &target, &spec).expect("overlay");
        let objects = flux_kustomize::build(
            &fs,
            &target,
            &flux_kustomize::BuildOptions {
                load_restrictor: flux_kustomize::LoadRestrictor::None,
                generate_kustomization: true,
            },
        )
        .expect("build");
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0]["metadata"]["namespace"], "apps");
        assert!(!LayeredFs::new(base).is_file(&target.join("kustomization.yaml")));
    }
}
