//! Every Flux object in the shared fixtures parses into the typed structs and serialises
//! back to an equivalent object.
//!
//! Walked: every `.yaml`/`.yml` under a case's `input/`, plus the reference outputs
//! (`expected*.yaml`), all documents. Flux objects are documents whose apiVersion contains
//! `fluxcd.io`. Three classes are handled explicitly (and printed):
//! * objects at an older Flux apiVersion (`v1beta2`, `v2beta2`, …): Flux 2.9 rejects them;
//!   `parse_object` must fail with `UnservedVersion`, and the object must parse after
//!   `migrate_api_version` (what `flux migrate -f` does);
//! * kustomize patch files (listed under `patches:` of a kustomization in the same folder):
//!   partial objects, which must fail only because a required field is missing;
//! * Go-templated files (Helm chart templates, Flux test data) that are not YAML.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flux_api::ParseError;
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    std::env::var_os("FLUX_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

/// Inputs and reference outputs of every case.
fn yaml_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry?;
        let path = entry.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        let in_input = path.components().any(|c| c.as_os_str() == "input");
        let is_expected = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("expected"));
        if entry.file_type().is_file() && is_yaml && (in_input || is_expected) {
            files.push(path.to_path_buf());
        }
    }
    Ok(files)
}

/// Files named as patches by a kustomization in the same folder.
fn patch_files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut patches = BTreeSet::new();
    for name in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        let Ok(doc) = flux_object::yaml::parse_document(&text) else {
            continue;
        };
        for entry in doc
            .get("patches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = entry.get("path").and_then(Value::as_str) {
                patches.insert(dir.join(p));
            }
        }
        for entry in doc
            .get("patchesStrategicMerge")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(p) = entry.as_str() {
                patches.insert(dir.join(p));
            }
        }
    }
    patches
}

#[test]
fn fixture_flux_objects_round_trip() -> anyhow::Result<()> {
    let root = fixtures_dir();
    anyhow::ensure!(root.is_dir(), "fixtures not found at {}", root.display());
    let (mut found, mut exact, mut migrated, mut patches, mut templated) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in yaml_files(&root)? {
        let text = std::fs::read_to_string(&path)?;
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let docs = match flux_object::yaml::parse_documents(&text) {
            Ok(docs) => docs,
            Err(_) if text.contains("{{") => {
                templated += 1;
                continue;
            }
            Err(e) => anyhow::bail!("{rel}: {e}"),
        };
        let is_patch = path
            .parent()
            .is_some_and(|d| patch_files(d).contains(&path));
        for (i, doc) in docs.iter().enumerate() {
            let api_version = doc
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !(api_version.contains("toolkit.fluxcd.io") || api_version.contains("fluxcd.io")) {
                continue;
            }
            found += 1;
            let mut doc = doc.clone();
            let mut result = flux_api::parse_object(&doc);
            if matches!(result, Err(ParseError::UnservedVersion { .. }))
                && flux_api::migrate_api_version(&mut doc)
            {
                migrated += 1;
                println!(
                    "migrated {rel} doc {i}: {api_version} -> {}",
                    doc["apiVersion"]
                );
                result = flux_api::parse_object(&doc);
            } else {
                exact += 1;
            }
            match result {
                Ok(obj) => {
                    let back = obj.to_value()?;
                    if back != doc {
                        failures.push(format!(
                            "{rel} doc {i}: round trip differs:\n  in:  {doc}\n  out: {back}"
                        ));
                    }
                }
                Err(ParseError::InvalidField {
                    reason,
                    path: field,
                    ..
                }) if is_patch && reason == "required field is missing" => {
                    patches += 1;
                    println!("patch {rel} doc {i}: partial object (missing {field})");
                }
                Err(e) => failures.push(format!("{rel} doc {i}: {e}")),
            }
        }
    }
    println!(
        "fixture Flux objects: {found} found ({exact} at served versions, {migrated} migrated from older \
         versions, {patches} partial patch objects), {} failed; {templated} Go-templated files skipped",
        failures.len()
    );
    assert!(found > 0, "no Flux objects found under {}", root.display());
    assert!(exact > 0, "no Flux object at a served version found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}
