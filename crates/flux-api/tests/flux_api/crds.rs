//! Our generated CRDs compared with Flux 2.9's own (`/work/shared/reference/upstream-crds`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn upstream_dir() -> PathBuf {
    let from_env = std::env::var_os("FLUX_UPSTREAM_CRDS").map(PathBuf::from);
    from_env.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/upstream-crds")
    })
}

/// Differences we know of and accept: (CRD name, JSON path in our normalised view).
/// Each is explained in the crate README ("Differences from upstream").
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// Removes `description` from every schema node (not from property maps).
fn strip_descriptions(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.remove("description");
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (_, p) in props.iter_mut() {
            strip_descriptions(p);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = obj.get_mut(key) {
            strip_descriptions(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = obj.get_mut(key) {
            subs.iter_mut().for_each(strip_descriptions);
        }
    }
}

/// The parts of a CRD we compare, descriptions removed.
fn comparable_view(crd: &Value) -> Value {
    let mut versions = Vec::new();
    for v in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let mut schema = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or(Value::Null);
        strip_descriptions(&mut schema);
        versions.push(serde_json::json!({
            "name": v.get("name"),
            "served": v.get("served"),
            "storage": v.get("storage"),
            "deprecated": v.get("deprecated"),
            "additionalPrinterColumns": v.get("additionalPrinterColumns"),
            "subresources": v.get("subresources"),
            "schema": schema,
        }));
    }
    let mut annotations = crd
        .pointer("/metadata/annotations")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(a) = annotations.as_object_mut() {
        a.remove("controller-gen.kubebuilder.io/version");
        if a.is_empty() {
            annotations = Value::Null;
        }
    }
    serde_json::json!({
        "apiVersion": crd.get("apiVersion"),
        "kind": crd.get("kind"),
        "name": crd.pointer("/metadata/name"),
        "annotations": annotations,
        "group": crd.pointer("/spec/group"),
        "names": crd.pointer("/spec/names"),
        "scope": crd.pointer("/spec/scope"),
        "versions": versions,
    })
}

fn diff(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<(String, String)>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&p, x, y, out),
                    (x, y) => out.push((p, format!("ours={} upstream={}", short(x), short(y)))),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}/{i}"), x, y, out);
            }
        }
        _ if ours == theirs => {}
        _ => out.push((
            path.to_string(),
            format!("ours={} upstream={}", ours, theirs),
        )),
    }
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "<absent>".into(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 160 {
                format!("{}…", &s[..160])
            } else {
                s
            }
        }
    }
}

/// Kind → upstream file; the table of the 15 kinds we must match.
const KINDS: &[(&str, &str)] = &[
    ("GitRepository", "source.toolkit.fluxcd.io_gitrepositories"),
    ("OCIRepository", "source.toolkit.fluxcd.io_ocirepositories"),
    ("Bucket", "source.toolkit.fluxcd.io_buckets"),
    (
        "HelmRepository",
        "source.toolkit.fluxcd.io_helmrepositories",
    ),
    ("HelmChart", "source.toolkit.fluxcd.io_helmcharts"),
    (
        "ExternalArtifact",
        "source.toolkit.fluxcd.io_externalartifacts",
    ),
    (
        "ArtifactGenerator",
        "source.extensions.fluxcd.io_artifactgenerators",
    ),
    (
        "Kustomization",
        "kustomize.toolkit.fluxcd.io_kustomizations",
    ),
    ("HelmRelease", "helm.toolkit.fluxcd.io_helmreleases"),
    ("Provider", "notification.toolkit.fluxcd.io_providers"),
    ("Alert", "notification.toolkit.fluxcd.io_alerts"),
    ("Receiver", "notification.toolkit.fluxcd.io_receivers"),
    (
        "ImageRepository",
        "image.toolkit.fluxcd.io_imagerepositories",
    ),
    ("ImagePolicy", "image.toolkit.fluxcd.io_imagepolicies"),
    (
        "ImageUpdateAutomation",
        "image.toolkit.fluxcd.io_imageupdateautomations",
    ),
];

#[test]
fn generated_crds_match_upstream() -> anyhow::Result<()> {
    let ours = flux_api::crds::all_crds()?;
    let dir = upstream_dir();
    let mut failures = Vec::new();
    let mut matched = 0;
    for (kind, file) in KINDS {
        let file = format!("{file}.yaml");
        let text = std::fs::read_to_string(dir.join(&file))
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.join(&file).display()))?;
        let upstream = flux_object::yaml::parse_document(&text)?;
        let name = upstream
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(mine) = ours.iter().find(|c| flux_api::crds::crd_name(c) == name) else {
            failures.push(format!("{kind}: no generated CRD named {name}"));
            continue;
        };
        let mut diffs = Vec::new();
        diff(
            "",
            &comparable_view(mine),
            &comparable_view(&upstream),
            &mut diffs,
        );
        let unexpected: Vec<_> = diffs
            .iter()
            .filter(|(p, _)| {
                !KNOWN_DIFFERENCES
                    .iter()
                    .any(|(n, kp)| *n == name && kp == p)
            })
            .collect();
        if unexpected.is_empty() {
            matched += 1;
        }
        for (p, d) in unexpected {
            failures.push(format!("{kind} {p}: {d}"));
        }
    }
    println!("{matched}/{} CRDs match upstream", KINDS.len());
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn comparison_detects_a_changed_schema() -> anyhow::Result<()> {
    let ours = flux_api::crds::all_crds()?;
    let git = ours
        .iter()
        .find(|c| flux_api::crds::crd_name(c) == "gitrepositories.source.toolkit.fluxcd.io")
        .ok_or_else(|| anyhow::anyhow!("no GitRepository CRD"))?;
    let mut changed = git.clone();
    let url = changed
        .pointer_mut(
            "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/url/pattern",
        )
        .ok_or_else(|| anyhow::anyhow!("no url pattern"))?;
    *url = Value::String("^.*$".into());
    let mut diffs = Vec::new();
    diff(
        "",
        &comparable_view(&changed),
        &comparable_view(git),
        &mut diffs,
    );
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(diffs[0].0.ends_with("/properties/url/pattern"), "{diffs:?}");
    Ok(())
}

#[test]
fn every_schema_is_structural() -> anyhow::Result<()> {
    // Structural: every node has a type (or preserve-unknown-fields / int-or-string), no $ref,
    // no anyOf/oneOf/allOf/not carrying types at the top level of a node.
    fn check(path: &str, node: &Value, errors: &mut Vec<String>) {
        let Some(obj) = node.as_object() else {
            errors.push(format!("{path}: not an object"));
            return;
        };
        for bad in [
            "$ref",
            "definitions",
            "$defs",
            "anyOf",
            "oneOf",
            "allOf",
            "not",
            "nullable",
        ] {
            if obj.contains_key(bad) {
                errors.push(format!("{path}: has {bad}"));
            }
        }
        let typed = obj.get("type").and_then(Value::as_str).is_some();
        let free = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            || obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        if !typed && !free {
            errors.push(format!("{path}: no type"));
        }
        if let Some(Value::Object(props)) = obj.get("properties") {
            for (k, v) in props {
                check(&format!("{path}.{k}"), v, errors);
            }
        }
        if let Some(items) = obj.get("items") {
            check(&format!("{path}[]"), items, errors);
        }
        if let Some(ap @ Value::Object(_)) = obj.get("additionalProperties") {
            check(&format!("{path}{{}}"), ap, errors);
        }
    }
    let mut errors = Vec::new();
    for crd in flux_api::crds::all_crds()? {
        let name = flux_api::crds::crd_name(&crd).to_string();
        let schema = crd
            .pointer("/spec/versions/0/schema/openAPIV3Schema")
            .ok_or_else(|| anyhow::anyhow!("{name}: no schema"))?;
        check(&name, schema, &mut errors);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    Ok(())
}

/// The committed copies under `crates/flux-api/crds` equal the generated CRDs
/// (compared as data, so YAML formatting changes do not matter; `cargo xtask crds --check`
/// compares the text).
#[test]
fn committed_crds_are_fresh() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut committed = BTreeSet::new();
    for entry in
        std::fs::read_dir(&dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?
    {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("yaml") {
            committed.insert(
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    let mut stale = Vec::new();
    let mut generated = BTreeSet::new();
    for crd in flux_api::crds::all_crds()? {
        let name = flux_api::crds::crd_file_name(&crd);
        generated.insert(name.clone());
        match std::fs::read_to_string(dir.join(&name)) {
            Ok(text) => {
                if flux_object::yaml::parse_document(&text)? != crd {
                    stale.push(format!("{name}: differs"));
                }
            }
            Err(e) => stale.push(format!("{name}: {e}")),
        }
    }
    for extra in committed.difference(&generated) {
        stale.push(format!("{extra}: not generated any more"));
    }
    assert!(
        stale.is_empty(),
        "committed CRDs are stale, run `cargo xtask crds`:\n{}",
        stale.join("\n")
    );
    Ok(())
}
