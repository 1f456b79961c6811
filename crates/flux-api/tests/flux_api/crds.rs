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
    (
        "GitRepository",
        "source.toolkit.fluxcd.io_gitrepositories.yaml",
    ),
    (
        "OCIRepository",
        "source.toolkit.fluxcd.io_ocirepositories.yaml",
    ),
    ("Bucket", "source.toolkit.fluxcd.io_buckets.yaml"),
    (
        "HelmRepository",
        "source.toolkit.fluxcd.io_helmrepositories.yaml",
    ),
    ("HelmChart", "source.toolkit.fluxcd.io_helmcharts.yaml"),
    (
        "ExternalArtifact",
        "source.toolkit.fluxcd.io_externalartifacts.yaml",
    ),
];

#[test]
fn generated_crds_match_upstream() -> anyhow::Result<()> {
    let ours = flux_api::crds::all_crds()?;
    let dir = upstream_dir();
    let mut failures = Vec::new();
    let mut matched = 0;
    for (kind, file) in KINDS {
        let text = std::fs::read_to_string(dir.join(file))
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.join(file).display()))?;
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
