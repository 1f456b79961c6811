//! What kustomize-controller would apply for a Kustomization, built from a local directory:
//! the Flux overlay (targetNamespace, patches, images, …), kustomize build, commonMetadata,
//! postBuild substitution and the owner labels. Used by `build` and `diff kustomization`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use flux_api::kustomize::KustomizationSpec;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use serde_json::Value;

use kustomize_controller::substitute;

/// The first ancestor of `dir` holding `.git`, else `dir` itself: what is copied so that
/// relative bases outside `dir` still resolve.
fn copy_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let meta = std::fs::metadata(&src).with_context(|| format!("reading {}", src.display()))?;
        if meta.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

/// The Kustomization's spec, parsed as kustomize-controller reads it.
pub fn parse_spec(ks: &Value) -> anyhow::Result<KustomizationSpec> {
    let spec = ks.get("spec").cloned().unwrap_or(Value::Null);
    serde_json::from_value(spec).context("invalid Kustomization spec")
}

/// postBuild variables: `substituteFrom` ConfigMaps/Secrets read from the cluster (skipped
/// when `client` is `None`, as upstream's `--dry-run`), then `substitute`.
pub async fn substitution_vars(
    spec: &KustomizationSpec,
    namespace: &str,
    client: Option<&kube::Client>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    let Some(post_build) = &spec.post_build else {
        return Ok(vars);
    };
    if let Some(client) = client {
        for reference in post_build.substitute_from.iter().flatten() {
            let optional = reference.optional.unwrap_or(false);
            let kind = format!("{:?}", reference.kind);
            let data: Option<BTreeMap<String, String>> = if kind == "Secret" {
                let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name)
                    .await
                    .with_context(|| format!("substitute from 'Secret/{}'", reference.name))?
                    .map(|s| {
                        s.data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .chain(s.string_data.unwrap_or_default())
                            .collect()
                    })
            } else {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
                api.get_opt(&reference.name)
                    .await
                    .with_context(|| format!("substitute from 'ConfigMap/{}'", reference.name))?
                    .map(|cm| cm.data.unwrap_or_default())
            };
            match data {
                Some(data) => vars.extend(data),
                None if optional => {}
                None => anyhow::bail!(
                    "substitute from '{kind}/{}' error: {kind} '{namespace}/{}' not found",
                    reference.name,
                    reference.name
                ),
            }
        }
    }
    vars.extend(post_build.substitute.clone().unwrap_or_default());
    substitute::check_var_names(&vars)?;
    Ok(vars)
}

/// Builds `path` as the Kustomization `name`/`namespace` with `spec` would be built.
pub fn build_objects(
    path: &Path,
    name: &str,
    namespace: &str,
    spec: &KustomizationSpec,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> anyhow::Result<Vec<Value>> {
    let dir = std::fs::canonicalize(path)
        .map_err(|_| anyhow::anyhow!("invalid resource path {:?}", path.display().to_string()))?;
    if !dir.is_dir() {
        anyhow::bail!("invalid resource path {:?}", path.display().to_string());
    }
    let root = copy_root(&dir);
    let relative = dir.strip_prefix(&root).unwrap_or(Path::new(""));
    let tmp = tempfile::Builder::new()
        .prefix("flux-build-")
        .tempdir()
        .context("creating a temporary directory")?;
    copy_tree(&root, tmp.path())?;
    let work = tmp.path().join(relative);
    kustomize_controller::overlay::write_overlay(&work, spec)?;
    let opts = flux_kustomize::BuildOptions {
        load_restrictor: flux_kustomize::LoadRestrictor::None,
        generate_kustomization: true,
    };
    let objects = flux_kustomize::build(&flux_kustomize::DiskFs, &work, &opts).map_err(|e| {
        anyhow::anyhow!(
            "kustomize build failed: {}",
            crate::cluster::one_line(&e).replace(
                &tmp.path().display().to_string(),
                &root.display().to_string()
            )
        )
    })?;
    let substitute_all = spec.post_build.as_ref().is_some_and(|pb| {
        !vars.is_empty()
            || pb.substitute_strategy == Some(flux_api::kustomize::SubstituteStrategy::Always)
    });
    let mut out = Vec::with_capacity(objects.len());
    for mut object in objects {
        if let Some(common) = &spec.common_metadata {
            for (field, entries) in [
                ("labels", &common.labels),
                ("annotations", &common.annotations),
            ] {
                if let Some(entries) = entries {
                    for (k, v) in entries {
                        set_metadata_entry(&mut object, field, k, v)?;
                    }
                }
            }
        }
        if substitute_all && !substitute::substitution_disabled(&object) {
            let text = flux_object::yaml::to_yaml_string(&object)?;
            let replaced = substitute::eval(&text, vars, strict).map_err(|e| {
                anyhow::anyhow!(
                    "post build failed for '{}': envsubst error: {e}",
                    subject(&object)
                )
            })?;
            object = flux_object::yaml::parse_document(&replaced)?;
        }
        set_metadata_entry(
            &mut object,
            "labels",
            "kustomize.toolkit.fluxcd.io/name",
            name,
        )?;
        set_metadata_entry(
            &mut object,
            "labels",
            "kustomize.toolkit.fluxcd.io/namespace",
            namespace,
        )?;
        out.push(object);
    }
    Ok(out)
}

/// Sets `metadata.<field>.<key>`, creating the maps; an object whose metadata or labels
/// are not maps is an error naming it.
fn set_metadata_entry(
    object: &mut Value,
    field: &str,
    key: &str,
    value: &str,
) -> anyhow::Result<()> {
    let who = subject(object);
    let Some(root) = object.as_object_mut() else {
        anyhow::bail!("a built document is not an object");
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        anyhow::bail!("{who}: metadata is not a map");
    };
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Default::default()));
    if map.is_null() {
        *map = Value::Object(Default::default());
    }
    let Some(map) = map.as_object_mut() else {
        anyhow::bail!("{who}: metadata.{field} is not a map");
    };
    map.insert(key.to_owned(), Value::String(value.to_owned()));
    Ok(())
}

fn subject(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// The build as upstream prints it: documents with sorted keys, separated by `---`.
pub fn to_yaml_stream(objects: &[Value]) -> anyhow::Result<String> {
    let sorted: Vec<Value> = objects.iter().map(crate::export_yaml::sorted).collect();
    Ok(flux_object::yaml::to_multi_doc_string(&sorted)?)
}
