//! The shared real-world fixtures (`../shared/fixtures`): every YAML input parses, and every
//! `kubectl kustomize` output reads and writes back byte for byte.

use std::path::{Path, PathBuf};

use flux_object::yaml::{YamlError, parse_documents, to_multi_doc_string};

/// `$FLUX_FIXTURES_DIR`, or `../shared/fixtures` next to the work tree. `None` (with a note)
/// outside CI when absent; a failure under `CI=true`.
fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FLUX_FIXTURES_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    );
    if dir.join("kustomize").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "fixtures not found at {} (set FLUX_FIXTURES_DIR)",
        dir.display()
    );
    eprintln!("skipping: fixtures not found at {}", dir.display());
    None
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            // Helm templates are Go templates, not YAML.
            if path.file_name().is_some_and(|n| n == "templates") {
                continue;
            }
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn kustomize_outputs_round_trip_byte_for_byte() {
    let Some(dir) = fixtures_dir() else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir.join("kustomize"))
        .expect("reads the kustomize fixtures")
        .filter_map(|e| e.ok().map(|e| e.path().join("expected.yaml")))
        .filter(|p| p.is_file())
        .collect();
    cases.sort();
    for path in cases {
        let text = std::fs::read_to_string(&path).expect("reads expected.yaml");
        let docs = match parse_documents(&text) {
            Ok(docs) => docs,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let written = to_multi_doc_string(&docs).expect("emits");
        checked += 1;
        if written != text {
            let line = text
                .lines()
                .zip(written.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |i| i + 1);
            failures.push(format!("{}: differs from line {line}", path.display()));
        }
    }
    assert!(checked >= 50, "only {checked} kustomize outputs found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_input_parses() {
    let Some(dir) = fixtures_dir() else {
        return;
    };
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    assert!(files.len() > 500, "only {} YAML files found", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("reads a fixture");
        if let Err(e) = parse_documents(&text) {
            failures.push((path.clone(), e));
        }
    }
    // The one input that is not valid YAML for Kubernetes: a `{{ .fluxns }}` flow mapping
    // used as a value, which makes a mapping key out of a mapping.
    let expected_bad = "err--flux2-diff-kustomization-missing-resource/input/deployment.yaml";
    let unexpected: Vec<String> = failures
        .iter()
        .filter(|(p, _)| !p.ends_with(expected_bad))
        .map(|(p, e)| format!("{}: {e}", p.display()))
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    if let Some((_, e)) = failures.iter().find(|(p, _)| p.ends_with(expected_bad)) {
        assert!(matches!(e, YamlError::Parse { line: 6, .. }), "{e}");
    }
}
