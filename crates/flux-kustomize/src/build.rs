//! The build: load a kustomization, accumulate its resources, generators, components and
//! transformers recursively, then fix names and order the output, as `kustomize build` does.

use std::path::{Path, PathBuf};

use flux_merge::schema::SchemaSet;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::field_spec::{FieldSpec, TransformerConfig, merge_one};
use crate::fs::{Filesystem, clean_path};
use crate::generator::{self, FileSource, GeneratorKind};
use crate::kustomization::{
    GeneratorArgs, Image, KUSTOMIZATION_FILE_NAMES, Kustomization, Patch, Replacement,
    ReplacementField, Replica, Selector, Var,
};
use crate::legacy_order::LegacyOrder;
use crate::resource::Resource;
use crate::selector::find_by_any_id;
use crate::transform::{
    images, labels, name_affix, name_reference, namespace, patch, replacement, replicas, vars,
};

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Only files in or below the kustomization's directory (kustomize's default).
    #[default]
    RootOnly,
    /// Any file (as Flux builds).
    None,
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// File access restriction.
    pub load_restrictor: LoadRestrictor,
    /// Flux's behaviour: when the directory to build has no kustomization file, build one
    /// listing its manifests (kustomize itself fails instead).
    pub generate_kustomization: bool,
}

/// Resources plus what travels up with them.
struct Accumulator {
    resources: Vec<Resource>,
    config: TransformerConfig,
    /// Whether `config` holds more than kustomize's defaults.
    custom_config: bool,
    vars: Vec<Var>,
}

impl Accumulator {
    fn new() -> Self {
        Accumulator {
            resources: Vec::new(),
            config: TransformerConfig::defaults(),
            custom_config: false,
            vars: Vec::new(),
        }
    }

    fn append(&mut self, r: Resource, file: &Path) -> Result<(), Error> {
        let id = r.cur_id();
        if self.resources.iter().any(|x| x.cur_id().equals(&id)) {
            return Err(Error::DuplicateResource {
                id: id.to_string(),
                file: file.to_path_buf(),
            });
        }
        self.resources.push(r);
        Ok(())
    }

    fn merge(&mut self, other: Accumulator, file: &Path) -> Result<(), Error> {
        for r in other.resources {
            self.append(r, file)?;
        }
        if other.custom_config {
            self.config.merge(&other.config);
            self.custom_config = true;
        }
        for v in other.vars {
            self.add_var(v, file)?;
        }
        Ok(())
    }

    fn add_var(&mut self, v: Var, file: &Path) -> Result<(), Error> {
        if self.vars.iter().any(|x| x.name == v.name) {
            return Err(Error::field(
                file,
                "vars",
                format!("var '{}' already encountered", v.name),
            ));
        }
        self.vars.push(v);
        Ok(())
    }
}

/// A loaded kustomization.
struct Target {
    root: PathBuf,
    file: PathBuf,
    k: Kustomization,
}

struct Builder<'a> {
    fs: &'a dyn Filesystem,
    opts: &'a BuildOptions,
    stack: Vec<PathBuf>,
    schemas: Option<SchemaSet>,
    /// The top kustomization's directory (origin paths are relative to it).
    top: PathBuf,
    meta: BuildMetadata,
}

/// What the top kustomization's `buildMetadata` asks for.
#[derive(Debug, Clone, Copy, Default)]
struct BuildMetadata {
    origin: bool,
    transformers: bool,
    managed_by: bool,
}

/// `to` relative to the directory `from` (both absolute and clean).
fn relative_path(from: &Path, to: &Path) -> String {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

fn transformations_text(list: &[(String, String)]) -> String {
    let mut out = String::new();
    for (file, kind) in list {
        out.push_str(&format!(
            "- configuredIn: {file}\n  configuredBy:\n    apiVersion: builtin\n    kind: {kind}\n"
        ));
    }
    out
}

/// Builds the kustomization in `dir` and returns the objects `kustomize build` prints.
pub fn build(fs: &dyn Filesystem, dir: &Path, opts: &BuildOptions) -> Result<Vec<Value>, Error> {
    let mut b = Builder {
        fs,
        opts,
        stack: Vec::new(),
        schemas: None,
        top: PathBuf::new(),
        meta: BuildMetadata::default(),
    };
    let root = fs.canonicalize(dir).map_err(|cause| Error::ReadFile {
        path: dir.to_path_buf(),
        cause,
    })?;
    if !fs.is_dir(&root) {
        return Err(Error::MissingKustomization { dir: root });
    }
    let t = if opts.generate_kustomization && b.find_kustomization_files(&root).is_empty() {
        b.generated_target(&root)?
    } else {
        b.load_target(&root)?
    };
    b.stack.push(root.clone());
    b.top = root.clone();
    for (i, m) in t.k.build_metadata.iter().enumerate() {
        match m.as_str() {
            "originAnnotations" => b.meta.origin = true,
            "transformerAnnotations" => b.meta.transformers = true,
            "managedByLabel" => b.meta.managed_by = true,
            other => {
                return Err(Error::field(
                    &t.file,
                    format!("buildMetadata[{i}]"),
                    format!(
                        "invalid option {other:?}: must be one of originAnnotations, transformerAnnotations, managedByLabel"
                    ),
                ));
            }
        }
    }
    b.load_openapi(&t)?;
    let mut ra = b.accumulate_target(&t, Accumulator::new())?;
    // Content-hash suffixes, once, at the top.
    for r in ra.resources.iter_mut() {
        if r.generated.as_ref().is_some_and(|g| g.hash_suffix) {
            let hash = generator::content_hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{hash}", r.name());
            r.set_name(&name);
        }
    }
    check_prev_ids(&ra.resources, &t.file)?;
    name_reference::apply(&mut ra.resources, &ra.config.name_reference)
        .map_err(|e| Error::field(&t.file, "nameReference", e))?;
    vars::resolve(&mut ra.resources, &ra.vars, &ra.config.var_reference)
        .map_err(|e| Error::field(&t.file, "vars", e))?;
    ra.resources
        .retain(|r| !r.has_annotation("config.kubernetes.io/local-config", "true"));
    for r in ra.resources.iter_mut() {
        let origin = r.origin.take();
        let transformations = std::mem::take(&mut r.transformations);
        let managed_by = b.meta.managed_by;
        let Some(md) = r.metadata_mut() else {
            continue;
        };
        for (key, text) in [
            ("config.kubernetes.io/origin", origin),
            (
                "alpha.config.kubernetes.io/transformations",
                (!transformations.is_empty()).then(|| transformations_text(&transformations)),
            ),
        ] {
            if let Some(text) = text {
                if !md.get("annotations").is_some_and(Value::is_object) {
                    md.insert("annotations".into(), Value::Object(Map::new()));
                }
                if let Some(Value::Object(a)) = md.get_mut("annotations") {
                    a.insert(key.into(), Value::String(text));
                }
            }
        }
        if managed_by {
            if !md.get("labels").is_some_and(Value::is_object) {
                md.insert("labels".into(), Value::Object(Map::new()));
            }
            if let Some(Value::Object(l)) = md.get_mut("labels") {
                l.insert(
                    "app.kubernetes.io/managed-by".into(),
                    Value::String("kustomize-(devel)".into()),
                );
            }
        }
    }
    // kustomize rewrites annotations while it tracks build state; an empty or null
    // `metadata.annotations` does not survive that.
    for r in ra.resources.iter_mut() {
        if let Some(Value::Object(md)) = r.obj.get_mut("metadata")
            && md
                .get("annotations")
                .is_some_and(|a| a.is_null() || a.as_object().is_some_and(Map::is_empty))
        {
            md.remove("annotations");
        }
    }
    let order = match &t.k.sort_options {
        None => Some(LegacyOrder::default()),
        Some(s) => match s.order.as_str() {
            "fifo" => {
                if s.legacy_sort_options.is_some() {
                    return Err(Error::field(
                        &t.file,
                        "sortOptions.legacySortOptions",
                        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
                    ));
                }
                None
            }
            "legacy" => Some(match &s.legacy_sort_options {
                Some(l) => LegacyOrder::new(l.order_first.clone(), l.order_last.clone()),
                None => LegacyOrder::default(),
            }),
            _ => {
                return Err(Error::field(
                    &t.file,
                    "sortOptions.order",
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ));
            }
        },
    };
    if let Some(o) = order {
        ra.resources
            .sort_by(|a, b| o.compare(&a.cur_id(), &b.cur_id()));
    }
    // kustomize writes objects through JSON maps: keys come out sorted.
    Ok(ra
        .resources
        .into_iter()
        .map(|r| sorted_keys(Value::Object(r.obj)))
        .collect())
}

/// The value with every mapping's keys in the order kustomize prints them (its output goes
/// through go-yaml v2, which sorts map keys "naturally").
fn sorted_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let entries: Vec<(String, Value)> = m.into_iter().collect();
            let entries = merge_sort(entries, &|a, b| go_yaml_key_order(&a.0, &b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}

/// A stable merge sort that tolerates comparators that are not total orders (the standard
/// library's sort may panic on those).
fn merge_sort<T>(mut v: Vec<T>, cmp: &dyn Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    if v.len() <= 1 {
        return v;
    }
    let right = v.split_off(v.len() / 2);
    let (left, right) = (merge_sort(v, cmp), merge_sort(right, cmp));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        let take_right = match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => cmp(b, a) == std::cmp::Ordering::Less,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right { r.next() } else { l.next() };
        if let Some(x) = next {
            out.push(x);
        }
    }
    out
}

/// go-yaml v2's map key order: at the first differing character, letters compare as
/// characters, a non-letter sorts before a letter, and runs of digits compare as numbers.
pub fn go_yaml_key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// kustomize stores previous ids as comma-separated annotations; a name, namespace or kind
/// holding a comma breaks them and kustomize stops with this error.
fn check_prev_ids(resources: &[Resource], file: &Path) -> Result<(), Error> {
    for r in resources {
        let count = |f: &dyn Fn(&crate::resource::ResId) -> &str| -> usize {
            r.prev_ids.iter().map(|id| f(id).split(',').count()).sum()
        };
        let names = count(&|id| &id.name);
        let namespaces = count(&|id| {
            if id.namespace.is_empty() {
                "default"
            } else {
                &id.namespace
            }
        });
        let kinds = count(&|id| &id.gvk.kind);
        if names != namespaces || names != kinds {
            return Err(Error::field(
                file,
                "resources",
                format!(
                    "panic: number of previous names, number of previous namespaces, number of previous kinds not equal (resource {})",
                    r.cur_id()
                ),
            ));
        }
    }
    Ok(())
}

fn is_remote(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.contains("://")
        || p.starts_with("git@")
        || p.starts_with("github.com/")
        || p.starts_with("gitlab.com/")
        || p.starts_with("bitbucket.org/")
        || p.contains("?ref=")
        || p.contains(".git//")
}

struct RootFiles<'a, 'b> {
    builder: &'a Builder<'b>,
    root: &'a Path,
}

impl FileSource for RootFiles<'_, '_> {
    fn load(&self, path: &str) -> Result<Vec<u8>, String> {
        self.builder
            .load_file(self.root, path)
            .map(|(_, b)| b)
            .map_err(|e| e.to_string())
    }
}

impl<'a> Builder<'a> {
    fn find_kustomization_files(&self, dir: &Path) -> Vec<PathBuf> {
        KUSTOMIZATION_FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| self.fs.is_file(p))
            .collect()
    }

    /// Flux's generated kustomization: every `.yaml`/`.yml` file below `root` that holds
    /// Kubernetes objects, and every sub-directory holding a kustomization (not descended).
    fn generated_target(&self, root: &Path) -> Result<Target, Error> {
        let mut resources = Vec::new();
        self.scan_manifests(root, root, &mut resources)?;
        let file = root.join("kustomization.yaml");
        Ok(Target {
            root: root.to_path_buf(),
            file,
            k: Kustomization {
                api_version: "kustomize.config.k8s.io/v1beta1".into(),
                kind: "Kustomization".into(),
                resources,
                ..Default::default()
            },
        })
    }

    fn scan_manifests(&self, root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), Error> {
        let entries = self.fs.read_dir(dir).map_err(|cause| Error::ReadFile {
            path: dir.to_path_buf(),
            cause,
        })?;
        let rel = |p: &Path| -> String {
            let r = p.strip_prefix(root).unwrap_or(p);
            format!("./{}", r.display())
        };
        for p in entries {
            if self.fs.is_dir(&p) {
                if self.find_kustomization_files(&p).is_empty() {
                    self.scan_manifests(root, &p, out)?;
                } else {
                    out.push(rel(&p));
                }
                continue;
            }
            let is_yaml = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if !is_yaml {
                continue;
            }
            let bytes = self.fs.read_file(&p).map_err(|cause| Error::ReadFile {
                path: p.clone(),
                cause,
            })?;
            self.parse_resources(&p, &bytes).map_err(|e| {
                e.nested(format!(
                    "failed to decode Kubernetes YAML from {}",
                    p.display()
                ))
            })?;
            out.push(rel(&p));
        }
        Ok(())
    }

    fn load_target(&self, root: &Path) -> Result<Target, Error> {
        let mut found = self.find_kustomization_files(root);
        let file = match found.len() {
            0 => {
                return Err(Error::MissingKustomization {
                    dir: root.to_path_buf(),
                });
            }
            1 => found.remove(0),
            _ => {
                return Err(Error::MultipleKustomizations {
                    dir: root.to_path_buf(),
                });
            }
        };
        let bytes = self.fs.read_file(&file).map_err(|cause| Error::ReadFile {
            path: file.clone(),
            cause,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let k = Kustomization::parse(&file, &text)?;
        Ok(Target {
            root: root.to_path_buf(),
            file,
            k,
        })
    }

    /// Reads a file named relative to a kustomization root, honouring the load restrictor.
    fn load_file(&self, root: &Path, rel: &str) -> Result<(PathBuf, Vec<u8>), Error> {
        let abs = clean_path(&root.join(rel));
        let canon = self
            .fs
            .canonicalize(&abs)
            .map_err(|cause| Error::ReadFile {
                path: abs.clone(),
                cause,
            })?;
        if self.opts.load_restrictor == LoadRestrictor::RootOnly && !canon.starts_with(root) {
            return Err(Error::LoadRestriction {
                file: canon,
                root: root.to_path_buf(),
            });
        }
        let bytes = self.fs.read_file(&canon).map_err(|cause| Error::ReadFile {
            path: canon.clone(),
            cause,
        })?;
        Ok((canon, bytes))
    }

    fn load_text(&self, t: &Target, rel: &str, field: &str) -> Result<String, Error> {
        let (_, b) = self
            .load_file(&t.root, rel)
            .map_err(|e| e.nested(format!("{}: field '{field}'", t.file.display())))?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    fn load_openapi(&mut self, t: &Target) -> Result<(), Error> {
        if let Some(p) = t.k.openapi.get("path") {
            let text = self.load_text(t, p, "openapi.path")?;
            let doc = flux_object::yaml::parse_document(&text)
                .map_err(|e| Error::field(&t.file, "openapi.path", e.to_string()))?;
            let mut set = SchemaSet::new();
            set.add_definitions(&doc)
                .map_err(|e| Error::field(&t.file, "openapi.path", e.to_string()))?;
            self.schemas = Some(set);
        }
        Ok(())
    }

    fn schemas(&self) -> &SchemaSet {
        self.schemas
            .as_ref()
            .unwrap_or_else(|| SchemaSet::builtin())
    }

    fn parse_resources(&self, file: &Path, bytes: &[u8]) -> Result<Vec<Resource>, Error> {
        let text = String::from_utf8_lossy(bytes);
        let text = crate::yaml_words::protect(&text);
        let docs = flux_object::yaml::parse_documents(&text).map_err(|e| Error::ParseResource {
            file: file.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut out = Vec::new();
        for d in docs {
            push_resource_doc(file, d, &mut out)?;
        }
        Ok(out)
    }

    fn accumulate_resources(
        &mut self,
        t: &Target,
        ra: &mut Accumulator,
        paths: &[String],
        field: &str,
    ) -> Result<(), Error> {
        for (i, p) in paths.iter().enumerate() {
            let field = format!("{field}[{i}]");
            if is_remote(p) {
                return Err(Error::RemoteResource {
                    file: t.file.clone(),
                    field,
                    url: p.clone(),
                });
            }
            let abs = clean_path(&t.root.join(p));
            if self.fs.is_dir(&abs) {
                let context = || {
                    format!(
                        "{}: field '{field}': accumulating resources from '{p}'",
                        t.file.display()
                    )
                };
                let sub = self
                    .accumulate_directory(&abs, None)
                    .map_err(|e| e.nested(context()))?;
                ra.merge(sub, &t.file).map_err(|e| e.nested(context()))?;
                continue;
            }
            let (file, bytes) = self.load_file(&t.root, p).map_err(|e| {
                e.nested(format!(
                    "{}: field '{field}': accumulating resources from '{p}'",
                    t.file.display()
                ))
            })?;
            let origin = self
                .meta
                .origin
                .then(|| format!("path: {}\n", relative_path(&self.top, &file)));
            for mut r in self.parse_resources(&file, &bytes)? {
                r.origin = origin.clone();
                ra.append(r, &t.file).map_err(|e| {
                    e.nested(format!(
                        "{}: field '{field}': merging resources from '{p}'",
                        t.file.display()
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// Builds a nested kustomization (or, with `parent`, a component over `parent`).
    fn accumulate_directory(
        &mut self,
        dir: &Path,
        parent: Option<Accumulator>,
    ) -> Result<Accumulator, Error> {
        let root = self.fs.canonicalize(dir).map_err(|cause| Error::ReadFile {
            path: dir.to_path_buf(),
            cause,
        })?;
        if self.stack.contains(&root) {
            return Err(Error::Cycle { dir: root });
        }
        let t = self.load_target(&root)?;
        let is_component = parent.is_some();
        if is_component && !t.k.is_component() {
            return Err(Error::field(
                &t.file,
                "kind",
                format!(
                    "expected kind 'Component' for path '{}' but got '{}'",
                    root.display(),
                    t.k.kind
                ),
            ));
        }
        if !is_component && t.k.is_component() {
            return Err(Error::field(
                &t.file,
                "kind",
                format!("expected kind != 'Component' for path '{}'", root.display()),
            ));
        }
        self.stack.push(root.clone());
        self.load_openapi(&t)?;
        let result = self.accumulate_target(&t, parent.unwrap_or_else(Accumulator::new));
        self.stack.pop();
        result
    }

    fn accumulate_target(&mut self, t: &Target, mut ra: Accumulator) -> Result<Accumulator, Error> {
        let k = &t.k;
        if !k.helm_charts.is_empty()
            || !k.helm_chart_inflation_generator.is_empty()
            || k.helm_globals.is_some()
        {
            return Err(Error::field(
                &t.file,
                "helmCharts",
                "Helm chart inflation is not supported (kustomize needs --enable-helm and a helm binary)",
            ));
        }
        if !k.validators.is_empty() {
            return Err(Error::ExternalPlugin {
                file: t.file.clone(),
                field: "validators".into(),
                kind: k.validators[0].clone(),
            });
        }
        self.accumulate_resources(t, &mut ra, &k.resources, "resources")?;
        for (i, c) in k.configurations.iter().enumerate() {
            let field = format!("configurations[{i}]");
            let text = self.load_text(t, c, &field)?;
            let cfg =
                TransformerConfig::parse(&text).map_err(|e| Error::field(&t.file, &field, e))?;
            ra.config.merge(&cfg);
            ra.custom_config = true;
        }
        // `crds:` files declare name references of custom kinds; they are read (so a missing
        // or unreadable file fails as in kustomize) but their declarations are not used.
        for (i, c) in k.crds.iter().enumerate() {
            let field = format!("crds[{i}]");
            let text = self.load_text(t, c, &field)?;
            flux_object::yaml::parse_documents(&text)
                .map_err(|e| Error::field(&t.file, &field, e.to_string()))?;
        }
        self.run_generators(t, &mut ra)?;
        for (i, c) in k.components.iter().enumerate() {
            if is_remote(c) {
                return Err(Error::RemoteResource {
                    file: t.file.clone(),
                    field: format!("components[{i}]"),
                    url: c.clone(),
                });
            }
            let dir = clean_path(&t.root.join(c));
            ra = self.accumulate_directory(&dir, Some(ra)).map_err(|e| {
                e.nested(format!(
                    "{}: field 'components[{i}]': accumulating component '{c}'",
                    t.file.display()
                ))
            })?;
        }
        self.run_transformers(t, &mut ra)?;
        for v in &k.vars {
            ra.add_var(v.clone(), &t.file)?;
            vars::bind(&mut ra.resources, v).map_err(|e| Error::field(&t.file, "vars", e))?;
        }
        Ok(ra)
    }

    fn absorb_generated(
        &self,
        t: &Target,
        ra: &mut Accumulator,
        mut r: Resource,
        field: &str,
    ) -> Result<(), Error> {
        let behavior = r
            .generated
            .as_ref()
            .map(|g| g.behavior.clone())
            .unwrap_or_else(|| "create".into());
        let id = r.cur_id();
        let found = find_by_any_id(&ra.resources, &id);
        match (found.len(), behavior.as_str()) {
            (0, "merge" | "replace") => Err(Error::field(
                &t.file,
                field,
                format!("id {id} does not exist; cannot merge or replace"),
            )),
            (0, "create") => ra.append(r, &t.file),
            (0, other) => Err(Error::field(
                &t.file,
                field,
                format!("invalid behavior '{other}' (must be create, merge or replace)"),
            )),
            (1, "merge" | "replace") => {
                let old = &ra.resources[found[0]];
                // Metadata: labels and annotations merge (new wins); name/namespace stay.
                for key in ["labels", "annotations"] {
                    let mut merged: Map<String, Value> = old
                        .obj
                        .get("metadata")
                        .and_then(|m| m.get(key))
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(new) = r
                        .obj
                        .get("metadata")
                        .and_then(|m| m.get(key))
                        .and_then(Value::as_object)
                    {
                        for (k, v) in new {
                            merged.insert(k.clone(), v.clone());
                        }
                    }
                    if let Some(md) = r.metadata_mut() {
                        if merged.is_empty() {
                            md.remove(key);
                        } else {
                            md.insert(key.into(), Value::Object(merged));
                        }
                    }
                }
                let (name, ns) = (old.name().to_string(), old.namespace().to_string());
                r.set_name(&name);
                r.set_namespace(&ns);
                if behavior == "merge" {
                    for key in ["data", "binaryData"] {
                        let mut merged: Map<String, Value> = old
                            .obj
                            .get(key)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        if let Some(new) = r.obj.get(key).and_then(Value::as_object) {
                            for (k, v) in new {
                                merged.insert(k.clone(), v.clone());
                            }
                        }
                        if !merged.is_empty() {
                            r.obj.insert(key.into(), Value::Object(merged));
                        }
                    }
                }
                r.prev_ids = old.prev_ids.clone();
                r.prefixes = old.prefixes.clone();
                r.suffixes = old.suffixes.clone();
                r.ref_var_names = old.ref_var_names.clone();
                r.transformations = old.transformations.clone();
                if behavior == "merge" && old.origin.is_some() {
                    r.origin = old.origin.clone();
                }
                // The name gets a hash only when both generators ask for one (checked
                // against kubectl kustomize for merge and replace).
                let old_hash = old.generated.as_ref().is_some_and(|g| g.hash_suffix);
                if let Some(g) = r.generated.as_mut() {
                    g.hash_suffix &= old_hash;
                }
                ra.resources[found[0]] = r;
                Ok(())
            }
            (1, _) => Err(Error::field(
                &t.file,
                field,
                format!("id {id} exists; behavior must be merge or replace"),
            )),
            _ => Err(Error::field(
                &t.file,
                field,
                format!("found multiple objects that could accept merge of {id}"),
            )),
        }
    }

    fn generate(
        &self,
        t: &Target,
        ra: &mut Accumulator,
        kind: GeneratorKind,
        args: &GeneratorArgs,
        field: &str,
    ) -> Result<(), Error> {
        let files = RootFiles {
            builder: self,
            root: &t.root,
        };
        let mut r = generator::generate(kind, args, t.k.generator_options.as_ref(), &files)
            .map_err(|e| Error::field(&t.file, field, e))?;
        if self.meta.origin {
            r.origin = Some(format!(
                "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {}\n",
                relative_path(&self.top, &t.file),
                match kind {
                    GeneratorKind::ConfigMap => "ConfigMapGenerator",
                    GeneratorKind::Secret => "SecretGenerator",
                }
            ));
        }
        self.absorb_generated(t, ra, r, field)
    }

    fn run_generators(&mut self, t: &Target, ra: &mut Accumulator) -> Result<(), Error> {
        for (i, g) in t.k.config_map_generator.iter().enumerate() {
            self.generate(
                t,
                ra,
                GeneratorKind::ConfigMap,
                g,
                &format!("configMapGenerator[{i}]"),
            )?;
        }
        for (i, g) in t.k.secret_generator.iter().enumerate() {
            self.generate(
                t,
                ra,
                GeneratorKind::Secret,
                g,
                &format!("secretGenerator[{i}]"),
            )?;
        }
        let configs = self.plugin_configs(t, &t.k.generators, "generators")?;
        for (i, c) in configs.iter().enumerate() {
            let field = format!("generators[{i}]");
            let kind = c.get("kind").and_then(Value::as_str).unwrap_or("");
            let gk = match kind {
                "ConfigMapGenerator" => GeneratorKind::ConfigMap,
                "SecretGenerator" => GeneratorKind::Secret,
                other => {
                    return Err(Error::ExternalPlugin {
                        file: t.file.clone(),
                        field,
                        kind: other.to_string(),
                    });
                }
            };
            let mut v = c.clone();
            let md = v.remove("metadata").unwrap_or(Value::Null);
            v.remove("apiVersion");
            v.remove("kind");
            v.remove("behavior").map(|b| v.insert("behavior".into(), b));
            for key in ["name", "namespace"] {
                if v.get(key).is_none()
                    && let Some(n) = md.get(key)
                {
                    v.insert(key.into(), n.clone());
                }
            }
            let mut val = Value::Object(v);
            crate::kustomization::strip_nulls(&mut val);
            let args: GeneratorArgs = serde_json::from_value(val)
                .map_err(|e| Error::field(&t.file, &field, e.to_string()))?;
            self.generate(t, ra, gk, &args, &field)?;
        }
        Ok(())
    }

    /// Plugin configuration objects named by `generators:`/`transformers:` (inline or files).
    fn plugin_configs(
        &mut self,
        t: &Target,
        entries: &[String],
        field: &str,
    ) -> Result<Vec<Map<String, Value>>, Error> {
        let mut out = Vec::new();
        if entries.is_empty() {
            return Ok(out);
        }
        let mut paths = Vec::new();
        for e in entries {
            let inline = e
                .contains('\n')
                .then(|| flux_object::yaml::parse_documents(e).ok())
                .flatten();
            match inline {
                Some(docs) => {
                    for d in docs {
                        if let Value::Object(m) = d {
                            out.push(m);
                        }
                    }
                }
                None => paths.push(e.clone()),
            }
        }
        let mut sub = Accumulator::new();
        self.accumulate_resources(t, &mut sub, &paths, field)?;
        out.extend(sub.resources.into_iter().map(|r| r.obj));
        Ok(out)
    }

    fn run_transformers(&mut self, t: &Target, ra: &mut Accumulator) -> Result<(), Error> {
        let k = &t.k;
        let f = &t.file;
        // patchesStrategicMerge
        for (i, p) in k.patches_strategic_merge.iter().enumerate() {
            let field = format!("patchesStrategicMerge[{i}]");
            let text = if p.contains('\n') {
                p.clone()
            } else {
                self.load_text(t, p, &field)?
            };
            let doc = patch::parse_patch(&text).map_err(|e| Error::field(f, &field, e))?;
            let doc = match doc {
                patch::PatchDoc::Strategic(_) => doc,
                patch::PatchDoc::Json(_) => {
                    return Err(Error::field(
                        f,
                        &field,
                        "a JSON patch is not a strategic merge patch",
                    ));
                }
            };
            patch::apply(
                &mut ra.resources,
                &doc,
                None,
                Default::default(),
                self.schemas(),
            )
            .map_err(|e| Error::field(f, &field, e))?;
        }
        // patches
        for (i, p) in k.patches.iter().enumerate() {
            self.apply_patch_entry(t, ra, p, &format!("patches[{i}]"))?;
        }
        namespace::apply(&mut ra.resources, &k.namespace, &ra.config.namespace)
            .map_err(|e| Error::field(f, "namespace", e))?;
        name_affix::apply(
            &mut ra.resources,
            &k.name_prefix,
            name_affix::Affix::Prefix,
            &ra.config.name_prefix,
        )
        .map_err(|e| Error::field(f, "namePrefix", e))?;
        name_affix::apply(
            &mut ra.resources,
            &k.name_suffix,
            name_affix::Affix::Suffix,
            &ra.config.name_suffix,
        )
        .map_err(|e| Error::field(f, "nameSuffix", e))?;
        for (i, l) in k.labels.iter().enumerate() {
            let field = format!("labels[{i}]");
            for key in l.pairs.keys() {
                if k.common_labels.contains_key(key) {
                    return Err(Error::field(
                        f,
                        &field,
                        format!("label name '{key}' exists in both commonLabels and labels"),
                    ));
                }
            }
            let mut specs: Vec<FieldSpec> = l.fields.iter().map(FieldSpec::from).collect();
            for fs in &ra.config.labels {
                merge_one(&mut specs, fs.clone());
            }
            if l.include_selectors {
                for fs in &ra.config.common_labels {
                    merge_one(&mut specs, fs.clone());
                }
            } else {
                if l.include_templates {
                    for fs in &ra.config.template_labels {
                        merge_one(&mut specs, fs.clone());
                    }
                }
                merge_one(
                    &mut specs,
                    FieldSpec {
                        gvk: Default::default(),
                        path: "metadata/labels".into(),
                        create: true,
                    },
                );
            }
            labels::apply(&mut ra.resources, &l.pairs, &specs)
                .map_err(|e| Error::field(f, &field, e))?;
        }
        labels::apply(
            &mut ra.resources,
            &k.common_labels,
            &ra.config.common_labels,
        )
        .map_err(|e| Error::field(f, "commonLabels", e))?;
        labels::apply(
            &mut ra.resources,
            &k.common_annotations,
            &ra.config.common_annotations,
        )
        .map_err(|e| Error::field(f, "commonAnnotations", e))?;
        for (i, p) in k.patches_json6902.iter().enumerate() {
            let field = format!("patchesJson6902[{i}]");
            let Some(target) = &p.target else {
                return Err(Error::field(
                    f,
                    &field,
                    "must specify a target for JSON patch",
                ));
            };
            let text = if !p.patch.is_empty() {
                p.patch.clone()
            } else {
                self.load_text(t, &p.path, &field)?
            };
            let ops = if text.trim_start().starts_with('[') {
                serde_json::from_str(&text).or_else(|_| {
                    flux_object::yaml::parse_document(&text).map_err(|e| e.to_string())
                })
            } else {
                flux_object::yaml::parse_document(&text).map_err(|e| e.to_string())
            }
            .map_err(|e| Error::field(f, &field, format!("unable to parse JSON patch: {e}")))?;
            patch::apply(
                &mut ra.resources,
                &patch::PatchDoc::Json(ops),
                Some(target),
                Default::default(),
                self.schemas(),
            )
            .map_err(|e| Error::field(f, &field, e))?;
        }
        for (i, r) in k.replicas.iter().enumerate() {
            replicas::apply(&mut ra.resources, r, &ra.config.replicas)
                .map_err(|e| Error::field(f, format!("replicas[{i}]"), e))?;
        }
        for (i, img) in k.images.iter().enumerate() {
            images::apply(&mut ra.resources, img, &ra.config.images)
                .map_err(|e| Error::field(f, format!("images[{i}]"), e))?;
        }
        for (i, rf) in k.replacements.iter().enumerate() {
            let field = format!("replacements[{i}]");
            for rep in self.load_replacements(t, rf, &field)? {
                replacement::apply(&mut ra.resources, &rep)
                    .map_err(|e| Error::field(f, &field, e))?;
            }
        }
        self.run_transformer_plugins(t, ra)?;
        check_prev_ids(&ra.resources, f)?;
        if self.meta.transformers {
            let here = relative_path(&self.top, &t.file);
            let mut kinds: Vec<&str> = Vec::new();
            if !k.patches_strategic_merge.is_empty() {
                kinds.push("PatchStrategicMergeTransformer");
            }
            kinds.extend(k.patches.iter().map(|_| "PatchTransformer"));
            if !k.namespace.is_empty() {
                kinds.push("NamespaceTransformer");
            }
            if !k.name_prefix.is_empty() {
                kinds.push("PrefixTransformer");
            }
            if !k.name_suffix.is_empty() {
                kinds.push("SuffixTransformer");
            }
            if !k.labels.is_empty() || !k.common_labels.is_empty() {
                kinds.extend(k.labels.iter().map(|_| "LabelTransformer"));
                kinds.push("LabelTransformer");
            }
            if !k.common_annotations.is_empty() {
                kinds.push("AnnotationsTransformer");
            }
            kinds.extend(
                k.patches_json6902
                    .iter()
                    .map(|_| "PatchJson6902Transformer"),
            );
            kinds.extend(k.replicas.iter().map(|_| "ReplicaCountTransformer"));
            kinds.extend(k.images.iter().map(|_| "ImageTagTransformer"));
            if !k.replacements.is_empty() {
                kinds.push("ReplacementTransformer");
            }
            for r in ra.resources.iter_mut() {
                r.transformations
                    .extend(kinds.iter().map(|kind| (here.clone(), kind.to_string())));
            }
        }
        Ok(())
    }

    fn load_replacements(
        &self,
        t: &Target,
        rf: &ReplacementField,
        field: &str,
    ) -> Result<Vec<Replacement>, Error> {
        if rf.path.is_empty() {
            return Ok(vec![Replacement {
                source: rf.source.clone(),
                targets: rf.targets.clone(),
            }]);
        }
        let text = self.load_text(t, &rf.path, field)?;
        let docs = flux_object::yaml::parse_documents(&text)
            .map_err(|e| Error::field(&t.file, field, e.to_string()))?;
        let mut out = Vec::new();
        for d in docs {
            let items = match d {
                Value::Array(a) => a,
                other => vec![other],
            };
            for mut it in items {
                crate::kustomization::strip_nulls(&mut it);
                let rep: Replacement = serde_json::from_value(it)
                    .map_err(|e| Error::field(&t.file, field, format!("{}: {e}", rf.path)))?;
                out.push(rep);
            }
        }
        Ok(out)
    }

    fn apply_patch_entry(
        &self,
        t: &Target,
        ra: &mut Accumulator,
        p: &Patch,
        field: &str,
    ) -> Result<(), Error> {
        let f = &t.file;
        let text = match (p.patch.trim().is_empty(), p.path.is_empty()) {
            (true, true) => {
                return Err(Error::field(f, field, "must specify one of patch and path"));
            }
            (false, false) => {
                return Err(Error::field(
                    f,
                    field,
                    "patch and path can't be set at the same time",
                ));
            }
            (false, true) => p.patch.trim().to_string(),
            (true, false) => self.load_text(t, &p.path, field).map_err(|e| {
                e.nested(format!(
                    "failed to get the patch file from path({})",
                    p.path
                ))
            })?,
        };
        let doc = patch::parse_patch(&text).map_err(|e| Error::field(f, field, e))?;
        patch::apply(
            &mut ra.resources,
            &doc,
            p.target.as_ref(),
            patch::PatchOptions::from_map(&p.options),
            self.schemas(),
        )
        .map_err(|e| Error::field(f, field, e))
    }

    /// `transformers:` entries: kustomize's built-in transformer kinds are run; anything
    /// else is an external plugin and refused.
    fn run_transformer_plugins(&mut self, t: &Target, ra: &mut Accumulator) -> Result<(), Error> {
        if t.k.transformers.is_empty() {
            return Ok(());
        }
        let configs = self.plugin_configs(t, &t.k.transformers, "transformers")?;
        let f = &t.file;
        for (i, c) in configs.iter().enumerate() {
            let field = format!("transformers[{i}]");
            let kind = c
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let get = |k: &str| c.get(k).cloned().unwrap_or(Value::Null);
            let de = |v: Value, what: &str| -> Result<Value, Error> {
                let mut v = v;
                crate::kustomization::strip_nulls(&mut v);
                if v.is_null() {
                    return Err(Error::field(f, &field, format!("{kind}: missing '{what}'")));
                }
                Ok(v)
            };
            let fs_list = |v: Value| -> Result<Option<Vec<FieldSpec>>, Error> {
                if v.is_null() {
                    return Ok(None);
                }
                let mut v = v;
                crate::kustomization::strip_nulls(&mut v);
                let a: Vec<crate::kustomization::FieldSpecArgs> = serde_json::from_value(v)
                    .map_err(|e| Error::field(f, &field, format!("{kind}.fieldSpecs: {e}")))?;
                Ok(Some(a.iter().map(FieldSpec::from).collect()))
            };
            let str_map = |v: Value| -> Result<std::collections::BTreeMap<String, String>, Error> {
                if v.is_null() {
                    return Ok(Default::default());
                }
                serde_json::from_value(v)
                    .map_err(|e| Error::field(f, &field, format!("{kind}: {e}")))
            };
            let fmap = |e: String| Error::field(f, &field, format!("{kind}: {e}"));
            match kind.as_str() {
                "PatchTransformer" => {
                    let mut pv = Map::new();
                    for k in ["path", "patch", "target", "options"] {
                        if let Some(v) = c.get(k) {
                            pv.insert(k.into(), v.clone());
                        }
                    }
                    let mut v = Value::Object(pv);
                    crate::kustomization::strip_nulls(&mut v);
                    let p: Patch = serde_json::from_value(v).map_err(|e| fmap(e.to_string()))?;
                    self.apply_patch_entry(t, ra, &p, &field)?;
                }
                "PatchStrategicMergeTransformer" => {
                    let mut texts = Vec::new();
                    if let Some(Value::String(p)) = c.get("patches") {
                        texts.push(p.clone());
                    }
                    if let Some(Value::Array(paths)) = c.get("paths") {
                        for p in paths {
                            if let Some(p) = p.as_str() {
                                texts.push(self.load_text(t, p, &field)?);
                            }
                        }
                    }
                    for text in texts {
                        let doc = patch::parse_patch(&text).map_err(fmap)?;
                        patch::apply(
                            &mut ra.resources,
                            &doc,
                            None,
                            Default::default(),
                            self.schemas(),
                        )
                        .map_err(fmap)?;
                    }
                }
                "PatchJson6902Transformer" => {
                    let target: Selector = serde_json::from_value(de(get("target"), "target")?)
                        .map_err(|e| fmap(e.to_string()))?;
                    let text = match (
                        c.get("jsonOp").and_then(Value::as_str),
                        c.get("path").and_then(Value::as_str),
                    ) {
                        (Some(op), _) => op.to_string(),
                        (None, Some(p)) => self.load_text(t, p, &field)?,
                        _ => return Err(fmap("must specify jsonOp or path".into())),
                    };
                    let doc = patch::parse_patch(&text).map_err(fmap)?;
                    patch::apply(
                        &mut ra.resources,
                        &doc,
                        Some(&target),
                        Default::default(),
                        self.schemas(),
                    )
                    .map_err(fmap)?;
                }
                "NamespaceTransformer" => {
                    let ns = c
                        .get("metadata")
                        .and_then(|m| m.get("namespace"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let specs =
                        fs_list(get("fieldSpecs"))?.unwrap_or_else(|| ra.config.namespace.clone());
                    namespace::apply(&mut ra.resources, &ns, &specs).map_err(fmap)?;
                }
                "PrefixTransformer" | "SuffixTransformer" | "PrefixSuffixTransformer" => {
                    let prefix = c
                        .get("prefix")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let suffix = c
                        .get("suffix")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let specs = fs_list(get("fieldSpecs"))?;
                    let pspecs = specs
                        .clone()
                        .unwrap_or_else(|| ra.config.name_prefix.clone());
                    let sspecs = specs.unwrap_or_else(|| ra.config.name_suffix.clone());
                    name_affix::apply(
                        &mut ra.resources,
                        &prefix,
                        name_affix::Affix::Prefix,
                        &pspecs,
                    )
                    .map_err(fmap)?;
                    name_affix::apply(
                        &mut ra.resources,
                        &suffix,
                        name_affix::Affix::Suffix,
                        &sspecs,
                    )
                    .map_err(fmap)?;
                }
                "LabelTransformer" => {
                    let pairs = str_map(get("labels"))?;
                    let specs = fs_list(get("fieldSpecs"))?
                        .unwrap_or_else(|| ra.config.common_labels.clone());
                    labels::apply(&mut ra.resources, &pairs, &specs).map_err(fmap)?;
                }
                "AnnotationsTransformer" => {
                    let pairs = str_map(get("annotations"))?;
                    let specs = fs_list(get("fieldSpecs"))?
                        .unwrap_or_else(|| ra.config.common_annotations.clone());
                    labels::apply(&mut ra.resources, &pairs, &specs).map_err(fmap)?;
                }
                "ImageTagTransformer" => {
                    let img: Image = serde_json::from_value(de(get("imageTag"), "imageTag")?)
                        .map_err(|e| fmap(e.to_string()))?;
                    let specs =
                        fs_list(get("fieldSpecs"))?.unwrap_or_else(|| ra.config.images.clone());
                    images::apply(&mut ra.resources, &img, &specs).map_err(fmap)?;
                }
                "ReplicaCountTransformer" => {
                    let r: Replica = serde_json::from_value(de(get("replica"), "replica")?)
                        .map_err(|e| fmap(e.to_string()))?;
                    let specs =
                        fs_list(get("fieldSpecs"))?.unwrap_or_else(|| ra.config.replicas.clone());
                    replicas::apply(&mut ra.resources, &r, &specs).map_err(fmap)?;
                }
                "ReplacementTransformer" => {
                    let list: Vec<ReplacementField> =
                        serde_json::from_value(de(get("replacements"), "replacements")?)
                            .map_err(|e| fmap(e.to_string()))?;
                    for rf in &list {
                        for rep in self.load_replacements(t, rf, &field)? {
                            replacement::apply(&mut ra.resources, &rep).map_err(fmap)?;
                        }
                    }
                }
                _ => {
                    return Err(Error::ExternalPlugin {
                        file: t.file.clone(),
                        field,
                        kind,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Adds one parsed document (expanding `List` kinds) to `out`.
fn push_resource_doc(file: &Path, d: Value, out: &mut Vec<Resource>) -> Result<(), Error> {
    match d {
        Value::Null => Ok(()),
        Value::Object(m) => {
            if m.is_empty() {
                return Ok(());
            }
            let kind = m
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if kind.ends_with("List") && m.get("items").is_some_and(Value::is_array) {
                if let Some(Value::Array(items)) = m.get("items") {
                    for it in items.clone() {
                        push_resource_doc(file, it, out)?;
                    }
                }
                return Ok(());
            }
            if kind.is_empty() {
                return Err(Error::ParseResource {
                    file: file.to_path_buf(),
                    reason: "missing Resource metadata: a document has no 'kind'".into(),
                });
            }
            let r = Resource::new(m);
            if r.name().is_empty() {
                return Err(Error::ParseResource {
                    file: file.to_path_buf(),
                    reason: format!("missing metadata.name in a {kind} object"),
                });
            }
            out.push(r);
            Ok(())
        }
        other => Err(Error::ParseResource {
            file: file.to_path_buf(),
            reason: format!(
                "a document is not a mapping (found {})",
                match other {
                    Value::Array(_) => "a list",
                    Value::String(_) => "a string",
                    _ => "a scalar",
                }
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    fn run(fs: &MemFs, dir: &str) -> Result<Vec<Value>, Error> {
        build(fs, Path::new(dir), &BuildOptions::default())
    }

    #[test]
    fn overlay_with_generator_prefix_and_name_reference() {
        let fs = MemFs::new()
            .with_file("/app/base/kustomization.yaml", "resources: [deploy.yaml]\n")
            .with_file(
                "/app/base/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: nginx, envFrom: [{configMapRef: {name: cfg}}]}]\n",
            )
            .with_file(
                "/app/overlay/kustomization.yaml",
                "resources: [../base]\nnamePrefix: dev-\nnamespace: dev\nconfigMapGenerator:\n- name: cfg\n  literals: [a=b]\nimages:\n- name: nginx\n  newTag: '1.25'\n",
            );
        let out = run(&fs, "/app/overlay").map_err(|e| e.to_string());
        let out = out.unwrap_or_default();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["kind"], "ConfigMap");
        let cm_name = out[0]["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(cm_name.starts_with("dev-cfg-"), "{cm_name}");
        assert_eq!(out[1]["metadata"]["namespace"], "dev");
        let c = &out[1]["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.25");
        assert_eq!(c["envFrom"][0]["configMapRef"]["name"], cm_name.as_str());
    }

    #[test]
    fn file_outside_root_is_refused_by_default() {
        let fs = MemFs::new()
            .with_file(
                "/app/x.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            )
            .with_file("/app/k/kustomization.yaml", "resources: [../x.yaml]\n");
        assert!(matches!(
            run(&fs, "/app/k"),
            Err(Error::Nested { cause, .. }) if matches!(*cause, Error::LoadRestriction { .. })
        ));
        let ok = build(
            &fs,
            Path::new("/app/k"),
            &BuildOptions {
                load_restrictor: LoadRestrictor::None,
                ..Default::default()
            },
        );
        assert_eq!(ok.map(|v| v.len()).ok(), Some(1));
    }

    #[test]
    fn remote_resources_and_plugins_are_refused() {
        let fs = MemFs::new().with_file(
            "/k/kustomization.yaml",
            "resources: [https://github.com/org/repo//deploy?ref=v1]\n",
        );
        assert!(matches!(run(&fs, "/k"), Err(Error::RemoteResource { .. })));
        let fs = MemFs::new()
            .with_file("/k/kustomization.yaml", "transformers: [plugin.yaml]\n")
            .with_file(
                "/k/plugin.yaml",
                "apiVersion: someteam.example.com/v1\nkind: Tshirt\nmetadata: {name: x}\n",
            );
        assert!(matches!(run(&fs, "/k"), Err(Error::ExternalPlugin { .. })));
    }

    #[test]
    fn missing_kustomization_and_cycles_are_errors() {
        let fs = MemFs::new().with_file("/k/a.yaml", "a: b\n");
        assert!(matches!(
            run(&fs, "/k"),
            Err(Error::MissingKustomization { .. })
        ));
        let fs = MemFs::new()
            .with_file("/a/kustomization.yaml", "resources: [../b]\n")
            .with_file("/b/kustomization.yaml", "resources: [../a]\n");
        let err = run(&fs, "/a").map_err(|e| e.to_string());
        assert!(err.is_err_and(|e| e.contains("cycle")));
    }

    #[test]
    fn build_metadata_origin_and_managed_by() {
        let fs = MemFs::new()
            .with_file("/r/base/kustomization.yaml", "resources: [cm.yaml]\n")
            .with_file(
                "/r/base/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            )
            .with_file(
                "/r/ov/kustomization.yaml",
                "resources: [../base]\nbuildMetadata: [originAnnotations, managedByLabel]\n",
            );
        let out = run(&fs, "/r/ov").unwrap_or_default();
        let md = &out[0]["metadata"];
        assert_eq!(
            md["annotations"]["config.kubernetes.io/origin"],
            "path: ../base/cm.yaml\n"
        );
        assert_eq!(
            md["labels"]["app.kubernetes.io/managed-by"],
            "kustomize-(devel)"
        );
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/c/d.yaml")),
            "../c/d.yaml"
        );
    }

    #[test]
    fn output_keys_follow_go_yaml_order() {
        use std::cmp::Ordering::Less;
        assert_eq!(
            go_yaml_key_order("ARTIFACT_RETENTION", "ARTIFACTS_PROXY"),
            Less
        );
        assert_eq!(go_yaml_key_order("item2", "item10"), Less);
        assert_eq!(go_yaml_key_order("Z", "a"), Less);
        assert_eq!(go_yaml_key_order("a", "ab"), Less);
        let v = sorted_keys(
            serde_json::json!({"kind": 1, "apiVersion": 2, "data": {"b10": 1, "b9": 2}}),
        );
        assert_eq!(
            v.to_string(),
            r#"{"apiVersion":2,"data":{"b9":2,"b10":1},"kind":1}"#
        );
    }

    #[test]
    fn flux_generates_a_missing_kustomization() {
        let fs = MemFs::new()
            .with_file(
                "/r/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            )
            .with_file("/r/notes.txt", "not yaml")
            .with_file(
                "/r/sub/b.yml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: b}\n",
            )
            .with_file(
                "/r/app/kustomization.yaml",
                "resources: [c.yaml]\nnamePrefix: app-\n",
            )
            .with_file(
                "/r/app/c.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            );
        assert!(matches!(
            run(&fs, "/r"),
            Err(Error::MissingKustomization { .. })
        ));
        let opts = BuildOptions {
            generate_kustomization: true,
            ..Default::default()
        };
        let out = build(&fs, Path::new("/r"), &opts).unwrap_or_default();
        let names: Vec<&str> = out
            .iter()
            .filter_map(|o| o["metadata"]["name"].as_str())
            .collect();
        assert_eq!(names, vec!["a", "app-c", "b"]);
    }

    #[test]
    fn components_transform_parent_resources() {
        let fs = MemFs::new()
            .with_file(
                "/k/kustomization.yaml",
                "resources: [cm.yaml]\ncomponents: [../c]\n",
            )
            .with_file("/k/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
            .with_file(
                "/c/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels: {from: component}\n",
            );
        let out = run(&fs, "/k").unwrap_or_default();
        assert_eq!(
            out.first().map(|o| o["metadata"]["labels"]["from"].clone()),
            Some(Value::from("component"))
        );
    }
}
