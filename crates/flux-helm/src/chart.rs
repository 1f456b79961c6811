//! The chart model (`Chart.yaml`, templates, values, files, subcharts) and
//! loading from a directory or a `.tgz` archive, as Helm's `loader` does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::HelmError;
use crate::helmignore::IgnoreRules;
use crate::semver_range;
use crate::yaml_values;

/// Largest single file Helm loads (5 MiB).
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Largest decompressed archive Helm loads (100 MiB).
pub const MAX_CHART_SIZE: u64 = 100 * 1024 * 1024;

/// A file of a chart, its name relative to the chart root with `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// Relative path, `/`-separated.
    pub name: String,
    /// Contents (UTF-8 BOM removed).
    pub data: Vec<u8>,
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// URL.
    pub url: String,
}

/// A dependency entry of `Chart.yaml` (or `requirements.yaml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// Chart name (replaced by the alias once dependencies are processed).
    pub name: String,
    /// Version constraint.
    pub version: String,
    /// Repository URL.
    pub repository: String,
    /// Comma-separated value paths resolving to booleans.
    pub condition: String,
    /// Tags enabling or disabling the dependency.
    pub tags: Vec<String>,
    /// Computed while processing dependencies.
    pub enabled: bool,
    /// `import-values` entries: strings or `{child, parent}` maps.
    pub import_values: Vec<Value>,
    /// Alias.
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Chart name.
    pub name: String,
    /// Home page.
    pub home: String,
    /// Source URLs.
    pub sources: Vec<String>,
    /// Chart version (SemVer).
    pub version: String,
    /// Description.
    pub description: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Maintainers.
    pub maintainers: Vec<Maintainer>,
    /// Icon URL.
    pub icon: String,
    /// `v1` or `v2`.
    pub api_version: String,
    /// Condition (v1 charts).
    pub condition: String,
    /// Tags (v1 charts).
    pub tags: String,
    /// Application version.
    pub app_version: String,
    /// Deprecated flag.
    pub deprecated: bool,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Kubernetes version constraint.
    pub kube_version: String,
    /// Dependencies.
    pub dependencies: Vec<Dependency>,
    /// `application`, `library` or empty.
    pub chart_type: String,
    /// Whether `dependencies` was present at all (Helm distinguishes nil).
    pub has_dependencies: bool,
}

/// A loaded chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// `Chart.yaml`.
    pub metadata: Metadata,
    /// Files under `templates/`.
    pub templates: Vec<ChartFile>,
    /// `values.yaml`.
    pub values: Map<String, Value>,
    /// `values.schema.json`, raw.
    pub schema: Option<Vec<u8>>,
    /// Every other file (what `.Files` sees), in load order.
    pub files: Vec<ChartFile>,
    /// Subcharts (from `charts/`).
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.eq_ignore_ascii_case("library")
    }

    /// CRD files of this chart and its subcharts: (display path, file), the
    /// display path prefixed with `prefix` (the chart's full path).
    pub fn crd_objects(&self, prefix: &str) -> Vec<(String, &ChartFile)> {
        let mut out = Vec::new();
        for f in &self.files {
            if f.name.starts_with("crds/") && has_manifest_extension(&f.name) {
                out.push((format!("{prefix}/{}", f.name), f));
            }
        }
        for d in &self.dependencies {
            out.extend(d.crd_objects(&format!("{prefix}/charts/{}", d.name())));
        }
        out
    }
}

fn has_manifest_extension(name: &str) -> bool {
    let ext = match name.rfind('.') {
        Some(i) if !name[i..].contains('/') => &name[i..],
        _ => "",
    };
    ext.eq_ignore_ascii_case(".yaml")
        || ext.eq_ignore_ascii_case(".yml")
        || ext.eq_ignore_ascii_case(".json")
}

/// Loads a chart from a directory or a `.tgz` file.
pub fn load(path: &Path) -> Result<Chart, HelmError> {
    let meta = std::fs::metadata(path).map_err(|source| HelmError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_dir() {
        load_dir(path)
    } else {
        let data = std::fs::read(path).map_err(|source| HelmError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if !data.starts_with(&[0x1f, 0x8b, 0x08]) {
            let name = path.display().to_string();
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                return Err(HelmError::LoadChart(format!(
                    "file '{name}' seems to be a YAML file, but expected a gzipped archive"
                )));
            }
            return Err(HelmError::LoadChart(format!(
                "file '{name}' does not appear to be a gzipped archive"
            )));
        }
        load_archive(&data)
    }
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
    data
}

/// Loads a chart directory, honouring its `.helmignore`.
pub fn load_dir(dir: &Path) -> Result<Chart, HelmError> {
    let ignore_file = dir.join(".helmignore");
    let mut rules = if ignore_file.is_file() {
        let text = std::fs::read_to_string(&ignore_file).map_err(|source| HelmError::Io {
            path: ignore_file.display().to_string(),
            source,
        })?;
        IgnoreRules::parse(&text).map_err(HelmError::LoadChart)?
    } else {
        IgnoreRules::default()
    };
    rules.add_defaults();
    let mut files = Vec::new();
    walk(dir, "", &rules, &mut files, 0)?;
    load_files(files)
}

fn walk(
    root: &Path,
    rel: &str,
    rules: &IgnoreRules,
    out: &mut Vec<ChartFile>,
    depth: usize,
) -> Result<(), HelmError> {
    if depth > 64 {
        return Err(HelmError::LoadChart(format!(
            "{}: directory nesting too deep (symlink loop?)",
            root.join(rel).display()
        )));
    }
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let io_err = |source| HelmError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let rel_name = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let full = root.join(&rel_name);
        // Follow symlinks, as Helm's sympath walker does.
        let meta = std::fs::metadata(&full).map_err(|source| HelmError::Io {
            path: full.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            if rules.ignore(&rel_name, true) {
                continue;
            }
            walk(root, &rel_name, rules, out, depth + 1)?;
            continue;
        }
        if rules.ignore(&rel_name, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(HelmError::LoadChart(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                full.display()
            )));
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(HelmError::LoadChart(format!(
                "chart file {name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        let data = std::fs::read(&full).map_err(|source| HelmError::Io {
            path: full.display().to_string(),
            source,
        })?;
        out.push(ChartFile {
            name: rel_name,
            data: strip_bom(data),
        });
    }
    Ok(())
}

/// Reads the files of a chart archive (`<chart>/...` entries, first path
/// component dropped), with Helm's size and path guards.
pub fn archive_files(data: &[u8]) -> Result<Vec<ChartFile>, HelmError> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut ar = tar::Archive::new(gz);
    let mut files = Vec::new();
    let mut remaining = MAX_CHART_SIZE;
    let entries = ar
        .entries()
        .map_err(|e| HelmError::LoadChart(format!("reading chart archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| HelmError::LoadChart(format!("reading chart archive: {e}")))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_longname()) {
            continue;
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let delim = if raw_name.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw_name.split(delim).collect();
        if parts.first() == Some(&"Chart.yaml") {
            return Err(HelmError::LoadChart(
                "chart yaml not in base directory".into(),
            ));
        }
        let joined = parts[1..].join("/");
        if joined.starts_with('/') {
            return Err(HelmError::LoadChart(
                "chart illegally contains absolute paths".into(),
            ));
        }
        let name = clean_path(&joined);
        if name == "." {
            return Err(HelmError::LoadChart(format!(
                "chart illegally contains content outside the base directory: {raw_name:?}"
            )));
        }
        if name.starts_with("..") {
            return Err(HelmError::LoadChart(
                "chart illegally references parent directory".into(),
            ));
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(HelmError::LoadChart(format!(
                "decompressed chart is larger than the maximum file size {MAX_CHART_SIZE}"
            )));
        }
        if size > MAX_FILE_SIZE {
            return Err(HelmError::LoadChart(format!(
                "decompressed chart file {raw_name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(remaining)
            .read_to_end(&mut buf)
            .map_err(|e| HelmError::LoadChart(format!("reading {raw_name}: {e}")))?;
        remaining = remaining.saturating_sub(buf.len() as u64);
        files.push(ChartFile {
            name,
            data: strip_bom(buf),
        });
    }
    if files.is_empty() {
        return Err(HelmError::LoadChart("no files in chart archive".into()));
    }
    Ok(files)
}

/// Loads a chart from `.tgz` bytes.
pub fn load_archive(data: &[u8]) -> Result<Chart, HelmError> {
    load_files(archive_files(data)?)
}

/// Go's `path.Clean` for relative paths.
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(l) if *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        ".".to_string()
    } else {
        out.join("/")
    }
}

/// Builds a chart from its files, as Helm's `LoadFiles`.
pub fn load_files(files: Vec<ChartFile>) -> Result<Chart, HelmError> {
    let mut c = Chart::default();
    let mut metadata: Option<Metadata> = None;
    if let Some(f) = files.iter().find(|f| f.name == "Chart.yaml") {
        metadata = Some(parse_metadata(&f.data)?);
    }
    let mut subcharts: BTreeMap<String, Vec<ChartFile>> = BTreeMap::new();
    for f in files {
        let name = f.name.clone();
        match name.as_str() {
            "Chart.yaml" | "Chart.lock" | "requirements.lock" => {
                if name == "requirements.lock"
                    && metadata.as_ref().is_some_and(|m| m.api_version == "v1")
                {
                    c.files.push(f);
                }
            }
            "values.yaml" => {
                c.values =
                    yaml_values::parse_values_yaml(&f.data).map_err(|reason| HelmError::Yaml {
                        context: "cannot load values.yaml".into(),
                        reason,
                    })?;
            }
            "values.schema.json" => c.schema = Some(f.data),
            "requirements.yaml" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                let v = yaml_values::parse_yaml_value(&String::from_utf8_lossy(&f.data)).map_err(
                    |reason| HelmError::Yaml {
                        context: "cannot load requirements.yaml".into(),
                        reason,
                    },
                )?;
                if let Some(deps) = v.get("dependencies") {
                    md.dependencies = parse_dependencies(deps)?;
                    md.has_dependencies = true;
                }
                if md.api_version == "v1" {
                    c.files.push(f);
                }
            }
            n if n.starts_with("templates/") => c.templates.push(f),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    c.files.push(f);
                    continue;
                }
                let rest = &n["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or("").to_string();
                subcharts.entry(cname).or_default().push(ChartFile {
                    name: rest.to_string(),
                    data: f.data,
                });
            }
            _ => c.files.push(f),
        }
    }
    let Some(md) = metadata else {
        return Err(HelmError::LoadChart("Chart.yaml file is missing".into()));
    };
    validate_metadata(&md)?;
    c.metadata = md;
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sub = if n.ends_with(".tgz") {
            let Some(file) = files.into_iter().next() else {
                continue;
            };
            if file.name != n {
                return Err(HelmError::LoadChart(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    c.name(),
                    file.name
                )));
            }
            load_archive(&file.data)
        } else {
            let buff: Vec<ChartFile> = files
                .into_iter()
                .filter_map(|f| {
                    let (_, rest) = f.name.split_once('/')?;
                    Some(ChartFile {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_files(buff)
        };
        let sub = sub.map_err(|e| {
            HelmError::LoadChart(format!("error unpacking subchart {n} in {}: {e}", c.name()))
        })?;
        c.dependencies.push(sub);
    }
    Ok(c)
}

/// A scalar as a Go string field receives it through sigs.k8s.io/yaml.
fn scalar_string(v: &Value, field: &str) -> Result<String, HelmError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(yaml_values::go_json_number(n)),
        other => Err(HelmError::Yaml {
            context: "cannot load Chart.yaml".into(),
            reason: format!(
                "error unmarshaling JSON: json: cannot unmarshal {} into Go struct field {field} of type string",
                yaml_values::go_json_kind(other)
            ),
        }),
    }
}

fn string_list(v: Option<&Value>, field: &str) -> Result<Vec<String>, HelmError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|x| scalar_string(x, field)).collect(),
        Some(other) => Err(HelmError::Yaml {
            context: "cannot load Chart.yaml".into(),
            reason: format!(
                "error unmarshaling JSON: json: cannot unmarshal {} into Go struct field {field} of type []string",
                yaml_values::go_json_kind(other)
            ),
        }),
    }
}

fn field_string(m: &Map<String, Value>, key: &str, field: &str) -> Result<String, HelmError> {
    m.get(key)
        .map_or(Ok(String::new()), |v| scalar_string(v, field))
}

/// The literal text of a top-level `key: value` line (comments stripped),
/// for string fields written as numbers: Go decodes them with their
/// original text (`appVersion: 1.10` stays `1.10`).
fn raw_top_level_scalar(text: &str, key: &str) -> Option<String> {
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let value = match rest.find(" #") {
            Some(i) => &rest[..i],
            None => rest,
        };
        let value = value.trim();
        if value.is_empty() || value.starts_with(['"', '\'', '|', '>', '&', '*', '!', '[', '{']) {
            return None;
        }
        return Some(value.to_string());
    }
    None
}

/// Like `field_string`, keeping a number's literal text from `text`.
fn field_string_literal(
    m: &Map<String, Value>,
    text: &str,
    key: &str,
    field: &str,
) -> Result<String, HelmError> {
    match m.get(key) {
        Some(Value::Number(_)) => match raw_top_level_scalar(text, key) {
            Some(raw) => Ok(raw),
            None => field_string(m, key, field),
        },
        _ => field_string(m, key, field),
    }
}

fn parse_dependencies(v: &Value) -> Result<Vec<Dependency>, HelmError> {
    let Value::Array(items) = v else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        return Err(HelmError::Yaml {
            context: "cannot load Chart.yaml".into(),
            reason: "dependencies must be a list".into(),
        });
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Object(m) = item else {
            return Err(HelmError::ChartMetadata(
                "dependencies must not contain empty or null nodes".into(),
            ));
        };
        out.push(Dependency {
            name: sanitize(&field_string(m, "name", "Dependency.name")?),
            version: sanitize(&field_string(m, "version", "Dependency.version")?),
            repository: sanitize(&field_string(m, "repository", "Dependency.repository")?),
            condition: sanitize(&field_string(m, "condition", "Dependency.condition")?),
            tags: string_list(m.get("tags"), "Dependency.tags")?
                .iter()
                .map(|t| sanitize(t))
                .collect(),
            enabled: m.get("enabled").and_then(Value::as_bool).unwrap_or(false),
            import_values: match m.get("import-values") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            },
            alias: field_string(m, "alias", "Dependency.alias")?,
        });
    }
    Ok(out)
}

/// Helm's sanitizeString: whitespace becomes a space, non-printables go.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Parses `Chart.yaml`.
pub fn parse_metadata(data: &[u8]) -> Result<Metadata, HelmError> {
    let text = String::from_utf8_lossy(data);
    let v = yaml_values::parse_yaml_value(&text).map_err(|reason| HelmError::Yaml {
        context: "cannot load Chart.yaml".into(),
        reason,
    })?;
    let m = match v {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            return Err(HelmError::Yaml {
                context: "cannot load Chart.yaml".into(),
                reason: format!(
                    "error unmarshaling JSON: json: cannot unmarshal {} into Go value of type chart.Metadata",
                    yaml_values::go_json_kind(&other)
                ),
            });
        }
    };
    let mut maintainers = Vec::new();
    if let Some(Value::Array(a)) = m.get("maintainers") {
        for item in a {
            let Value::Object(mm) = item else {
                return Err(HelmError::ChartMetadata(
                    "maintainers must not contain empty or null nodes".into(),
                ));
            };
            maintainers.push(Maintainer {
                name: sanitize(&field_string(mm, "name", "Maintainer.name")?),
                email: sanitize(&field_string(mm, "email", "Maintainer.email")?),
                url: sanitize(&field_string(mm, "url", "Maintainer.url")?),
            });
        }
    }
    let mut annotations = BTreeMap::new();
    if let Some(Value::Object(a)) = m.get("annotations") {
        for (k, v) in a {
            annotations.insert(k.clone(), scalar_string(v, "Metadata.annotations")?);
        }
    }
    let mut api_version = field_string(&m, "apiVersion", "Metadata.apiVersion")?;
    if api_version.is_empty() {
        api_version = "v1".into();
    }
    let has_dependencies = m.get("dependencies").is_some_and(|d| !d.is_null());
    Ok(Metadata {
        name: sanitize(&field_string_literal(&m, &text, "name", "Metadata.name")?),
        home: sanitize(&field_string(&m, "home", "Metadata.home")?),
        sources: string_list(m.get("sources"), "Metadata.sources")?
            .iter()
            .map(|s| sanitize(s))
            .collect(),
        version: field_string_literal(&m, &text, "version", "Metadata.version")?,
        description: sanitize(&field_string(&m, "description", "Metadata.description")?),
        keywords: string_list(m.get("keywords"), "Metadata.keywords")?
            .iter()
            .map(|s| sanitize(s))
            .collect(),
        maintainers,
        icon: sanitize(&field_string(&m, "icon", "Metadata.icon")?),
        api_version,
        condition: sanitize(&field_string(&m, "condition", "Metadata.condition")?),
        tags: sanitize(&field_string(&m, "tags", "Metadata.tags")?),
        app_version: sanitize(&field_string_literal(
            &m,
            &text,
            "appVersion",
            "Metadata.appVersion",
        )?),
        deprecated: m
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        annotations,
        kube_version: sanitize(&field_string_literal(
            &m,
            &text,
            "kubeVersion",
            "Metadata.kubeVersion",
        )?),
        dependencies: match m.get("dependencies") {
            Some(d) => parse_dependencies(d)?,
            None => Vec::new(),
        },
        chart_type: field_string(&m, "type", "Metadata.type")?,
        has_dependencies,
    })
}

fn valid_alias(a: &str) -> bool {
    !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Helm's `Metadata.Validate`.
pub fn validate_metadata(md: &Metadata) -> Result<(), HelmError> {
    if md.api_version.is_empty() {
        return Err(HelmError::ChartMetadata(
            "chart.metadata.apiVersion is required".into(),
        ));
    }
    if md.name.is_empty() {
        return Err(HelmError::ChartMetadata(
            "chart.metadata.name is required".into(),
        ));
    }
    if md.name.contains('/') || md.name == "." || md.name == ".." {
        return Err(HelmError::ChartMetadata(format!(
            "chart.metadata.name {:?} is invalid",
            md.name
        )));
    }
    if md.version.is_empty() {
        return Err(HelmError::ChartMetadata(
            "chart.metadata.version is required".into(),
        ));
    }
    if semver_range::Version::parse(&md.version).is_err() {
        return Err(HelmError::ChartMetadata(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        )));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return Err(HelmError::ChartMetadata(
            "chart.metadata.type must be application or library".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for d in &md.dependencies {
        if !d.alias.is_empty() && !valid_alias(&d.alias) {
            return Err(HelmError::ChartMetadata(format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            )));
        }
        let key = if d.alias.is_empty() {
            &d.name
        } else {
            &d.alias
        };
        if !seen.insert(key.clone()) {
            return Err(HelmError::ChartMetadata(format!(
                "more than one dependency with name or alias {key:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, data: &str) -> ChartFile {
        ChartFile {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn loads_files_into_their_places() {
        let c = load_files(vec![
            file(
                "Chart.yaml",
                "apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: 1.10\n",
            ),
            file("values.yaml", "a: 1\n"),
            file("templates/x.yaml", "kind: A"),
            file("files/f.txt", "hi"),
            file("crds/c.yaml", "kind: CustomResourceDefinition"),
            file(
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            ),
            file("charts/sub/templates/y.yaml", "kind: B"),
        ])
        .expect("loads");
        assert_eq!(c.name(), "demo");
        assert_eq!(c.templates.len(), 1);
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!(c.dependencies[0].templates[0].name, "templates/y.yaml");
        assert_eq!(c.crd_objects("demo")[0].0, "demo/crds/c.yaml");
    }

    #[test]
    fn numeric_string_fields_keep_their_literal_text() {
        let md =
            parse_metadata(b"apiVersion: v2\nname: demo\nversion: 1.0\nappVersion: 1.10 # app\n")
                .expect("parses");
        assert_eq!(md.version, "1.0");
        assert_eq!(md.app_version, "1.10");
    }

    #[test]
    fn missing_chart_yaml_and_bad_version_are_errors() {
        let err = load_files(vec![file("values.yaml", "")]).expect_err("no Chart.yaml");
        assert_eq!(err.to_string(), "Chart.yaml file is missing");
        let err = load_files(vec![file(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: one\n",
        )])
        .expect_err("bad version");
        assert!(
            err.to_string()
                .contains("chart.metadata.version \"one\" is invalid"),
            "{err}"
        );
        let err = load_files(vec![file(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 1.0.0\ntype: foo\n",
        )])
        .expect_err("bad type");
        assert!(err.to_string().contains("application or library"), "{err}");
    }

    /// A tiny deterministic generator for garbage inputs.
    fn lcg(seed: &mut u64) -> u8 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as u8
    }

    const ALPHABET: &[u8] = b":- \n{}[]'\"#&*!|>a1";

    #[test]
    fn garbage_input_is_an_error_never_a_panic() {
        let mut seed = 7u64;
        for round in 0..200 {
            let len = (lcg(&mut seed) as usize) * 4;
            let junk: Vec<u8> = (0..len).map(|_| lcg(&mut seed)).collect();
            // Archives: gzip magic followed by junk, or junk alone.
            let mut gz = vec![0x1f, 0x8b, 0x08];
            gz.extend_from_slice(&junk);
            let _ = load_archive(&gz);
            let _ = load_archive(&junk);
            // Chart.yaml / values.yaml made of junk (or of YAML-ish characters).
            let yamlish: String = junk
                .iter()
                .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
                .collect();
            let files = vec![
                file(
                    "Chart.yaml",
                    &format!("apiVersion: v2\nname: x\nversion: 1.0.0\n{yamlish}"),
                ),
                file("values.yaml", &yamlish),
            ];
            let _ = load_files(files);
            let _ = parse_metadata(&junk);
            assert!(round < 200);
        }
    }

    #[test]
    fn loads_a_tgz_archive() {
        let mut tar_bytes = Vec::new();
        {
            let gz = flate2::write::GzEncoder::new(&mut tar_bytes, flate2::Compression::default());
            let mut b = tar::Builder::new(gz);
            for (name, data) in [
                (
                    "demo/Chart.yaml",
                    "apiVersion: v2\nname: demo\nversion: 1.0.0\n",
                ),
                ("demo/templates/a.yaml", "kind: A\n"),
            ] {
                let mut h = tar::Header::new_gnu();
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, name, data.as_bytes())
                    .expect("append");
            }
            b.into_inner().expect("tar").finish().expect("gz");
        }
        let c = load_archive(&tar_bytes).expect("loads");
        assert_eq!(c.name(), "demo");
        assert_eq!(c.templates[0].name, "templates/a.yaml");
    }
}
