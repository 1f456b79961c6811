//! Writing small charts to temporary directories.

use std::path::{Path, PathBuf};

/// A chart written to a temporary directory.
pub struct ChartDir {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl ChartDir {
    /// Creates `<tmp>/<name>/` with the given files (relative paths).
    pub fn new(name: &str, files: &[(&str, &str)]) -> ChartDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join(name);
        for (rel, text) in files {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        }
        ChartDir {
            dir,
            name: name.to_string(),
        }
    }

    /// The chart's root directory.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }

    /// Writes an extra file next to the chart (e.g. a values override).
    pub fn write_beside(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::write(&p, text).expect("write");
        p
    }
}

/// A minimal Chart.yaml.
pub fn chart_yaml(name: &str) -> String {
    format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: \"1.0\"\n")
}

/// Renders with flux-helm like `helm template RELEASE CHART -n ns [-f files] [--set ...]`.
pub fn render(
    path: &Path,
    files: &[PathBuf],
    set: &[&str],
    extra: impl FnOnce(&mut flux_helm::TemplateOptions),
) -> Result<String, flux_helm::HelmError> {
    let chart = flux_helm::chart::load(path)?;
    let user = flux_helm::UserValues {
        files: files
            .iter()
            .map(|f| {
                (
                    f.display().to_string(),
                    std::fs::read(f).expect("read values"),
                )
            })
            .collect(),
        set: set.iter().map(|s| s.to_string()).collect(),
        ..flux_helm::UserValues::default()
    };
    let values = user.merge(&|p| std::fs::read_to_string(p).map_err(|e| e.to_string()))?;
    let mut opts = flux_helm::TemplateOptions::new("demo", "demo-ns");
    opts.kube_version = Some("1.33.0".into());
    extra(&mut opts);
    flux_helm::template::template(chart, &values, &opts)
}
