//! Flux's kustomization generator: before building `spec.path`, kustomize-controller writes
//! the Kustomization's `targetNamespace`, `namePrefix`, `nameSuffix`, `patches`, `images`
//! and `components` into the directory's kustomization file (generating one listing the
//! manifests when the directory has none). This edits the extracted copy only: the
//! controller writes into a per-build in-memory layer ([`crate::artifact_tree::LayeredFs`]),
//! `flux build kustomization` into its scratch copy on disk ([`write_overlay`]).

use std::path::{Path, PathBuf};

use flux_api::kustomize::KustomizationSpec;
use flux_kustomize::{DiskFs, Filesystem};
use serde_json::{Map, Value, json};

/// The kustomization file names kustomize accepts, in its order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why the overlay could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// Reading a file or directory failed.
    #[error("reading '{path}': {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The existing kustomization file is not a YAML mapping.
    #[error("parsing '{path}': {reason}")]
    Parse { path: PathBuf, reason: String },
    /// Writing the kustomization file failed.
    #[error("writing '{path}': {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A component listed in `spec.components` does not exist.
    #[error("component path '{0}' not found")]
    MissingComponent(String),
}

/// A filesystem the overlay can be written to: kustomize's read side plus writes.
pub trait OverlayFs: Filesystem {
    /// Creates or replaces the regular file `path` (its directory exists).
    fn write_file(&mut self, path: &Path, bytes: Vec<u8>) -> std::io::Result<()>;
    /// Whether anything (file or directory) exists at `path`.
    fn exists(&self, path: &Path) -> bool;
}

impl OverlayFs for DiskFs {
    fn write_file(&mut self, path: &Path, bytes: Vec<u8>) -> std::io::Result<()> {
        std::fs::write(path, bytes)
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// Finds the kustomization file of `dir` on disk, if any.
pub fn find_kustomization_file(dir: &Path) -> Option<PathBuf> {
    find_kustomization_file_in(&DiskFs, dir)
}

/// Finds the kustomization file of `dir` in `fs`, if any.
pub fn find_kustomization_file_in(fs: &impl Filesystem, dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| fs.is_file(p))
}

fn read_text(fs: &impl Filesystem, path: &Path) -> Result<String, OverlayError> {
    let read = |source| OverlayError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = fs.read_file(path).map_err(read)?;
    String::from_utf8(bytes)
        .map_err(|e| read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Writes the Flux overlay fields of `spec` into `dir`'s kustomization file on disk,
/// generating the file when missing.
pub fn write_overlay(dir: &Path, spec: &KustomizationSpec) -> Result<(), OverlayError> {
    write_overlay_in(&mut DiskFs, dir, spec)
}

/// Writes the Flux overlay fields of `spec` into `dir`'s kustomization file in `fs`,
/// generating the file when missing.
pub fn write_overlay_in(
    fs: &mut impl OverlayFs,
    dir: &Path,
    spec: &KustomizationSpec,
) -> Result<(), OverlayError> {
    let (file, mut doc) = match find_kustomization_file_in(fs, dir) {
        Some(file) => {
            let text = read_text(fs, &file)?;
            let doc =
                flux_object::yaml::parse_document(&text).map_err(|e| OverlayError::Parse {
                    path: file.clone(),
                    reason: e.to_string(),
                })?;
            let doc = match doc {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                _ => {
                    return Err(OverlayError::Parse {
                        path: file,
                        reason: "not a mapping".into(),
                    });
                }
            };
            (file, doc)
        }
        None => {
            let mut resources = Vec::new();
            scan_manifests(fs, dir, dir, &mut resources)?;
            let mut map = Map::new();
            map.insert(
                "apiVersion".into(),
                json!("kustomize.config.k8s.io/v1beta1"),
            );
            map.insert("kind".into(), json!("Kustomization"));
            map.insert("resources".into(), json!(resources));
            (dir.join("kustomization.yaml"), map)
        }
    };
    if let Some(ns) = spec.target_namespace.as_deref().filter(|s| !s.is_empty()) {
        doc.insert("namespace".into(), json!(ns));
    }
    if let Some(prefix) = spec.name_prefix.as_deref().filter(|s| !s.is_empty()) {
        doc.insert("namePrefix".into(), json!(prefix));
    }
    if let Some(suffix) = spec.name_suffix.as_deref().filter(|s| !s.is_empty()) {
        doc.insert("nameSuffix".into(), json!(suffix));
    }
    if let Some(patches) = spec.patches.as_ref().filter(|p| !p.is_empty()) {
        let mut list = Vec::new();
        for patch in patches {
            let mut entry = Map::new();
            entry.insert("patch".into(), json!(patch.patch));
            if let Some(target) = &patch.target {
                entry.insert(
                    "target".into(),
                    serde_json::to_value(target).unwrap_or_default(),
                );
            }
            list.push(Value::Object(entry));
        }
        append(&mut doc, "patches", list);
    }
    if let Some(images) = spec.images.as_ref().filter(|i| !i.is_empty()) {
        let list = images
            .iter()
            .map(|image| serde_json::to_value(image).unwrap_or_default())
            .collect();
        append(&mut doc, "images", list);
    }
    if let Some(components) = spec.components.as_ref().filter(|c| !c.is_empty()) {
        let ignore_missing = spec.ignore_missing_components.unwrap_or(false);
        let mut wanted = Vec::new();
        for component in components {
            if !fs.exists(&dir.join(component)) {
                if ignore_missing {
                    continue;
                }
                return Err(OverlayError::MissingComponent(component.clone()));
            }
            wanted.push(json!(component));
        }
        append(&mut doc, "components", wanted);
    }
    // JSON is YAML: write the document back as JSON.
    let text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
    fs.write_file(&file, text.into_bytes())
        .map_err(|source| OverlayError::Write { path: file, source })
}

fn append(doc: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    let mut list = match doc.remove(key) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    list.extend(items);
    doc.insert(key.to_string(), Value::Array(list));
}

/// Flux's generated resource list: every `.yaml`/`.yml` file holding Kubernetes objects
/// (documents with `apiVersion` and `kind`), and sub-directories with a kustomization file
/// (not descended into).
fn scan_manifests(
    fs: &impl Filesystem,
    root: &Path,
    dir: &Path,
    out: &mut Vec<String>,
) -> Result<(), OverlayError> {
    let entries = fs.read_dir(dir).map_err(|source| OverlayError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let rel = |p: &Path| format!("./{}", p.strip_prefix(root).unwrap_or(p).display());
    for path in entries {
        if fs.is_dir(&path) {
            if find_kustomization_file_in(fs, &path).is_some() {
                out.push(rel(&path));
            } else {
                scan_manifests(fs, root, &path, out)?;
            }
            continue;
        }
        if !path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            continue;
        }
        let text = read_text(fs, &path)?;
        let docs = flux_object::yaml::parse_documents(&text).map_err(|e| OverlayError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if docs
            .iter()
            .any(|d| d.get("apiVersion").is_some() && d.get("kind").is_some())
        {
            out.push(rel(&path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: Value) -> KustomizationSpec {
        let mut base = json!({
            "interval": "1m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo"}
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        serde_json::from_value(base).expect("spec")
    }

    #[test]
    fn generates_and_extends() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.yaml"), "just: data\n").expect("write");
        write_overlay(
            dir.path(),
            &spec(json!({"targetNamespace": "apps", "namePrefix": "p-",
                "images": [{"name": "nginx", "newTag": "1.2"}]})),
        )
        .expect("overlay");
        let text = std::fs::read_to_string(dir.path().join("kustomization.yaml")).expect("read");
        let doc: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(doc["resources"], json!(["./cm.yaml"]));
        assert_eq!(doc["namespace"], "apps");
        assert_eq!(doc["namePrefix"], "p-");
        assert_eq!(doc["images"][0]["newTag"], "1.2");
    }

    #[test]
    fn missing_component_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("kustomization.yaml"), "resources: []\n").expect("w");
        let err = write_overlay(dir.path(), &spec(json!({"components": ["../nope"]})));
        assert!(matches!(err, Err(OverlayError::MissingComponent(_))));
    }
}
