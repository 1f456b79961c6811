//! Every fixture case built in-process: outputs must equal the recorded kustomize output
//! (compared as parsed documents), must-fail cases must fail.

use std::path::{Path, PathBuf};

use flux_kustomize::{BuildOptions, DiskFs, LoadRestrictor};

fn fixtures_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/kustomize");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_fixture_case_builds_like_kustomize() -> anyhow::Result<()> {
    let Some(dir) = fixtures_dir() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            anyhow::bail!(
                "fixtures not found next to the workspace (../shared/fixtures/kustomize)"
            );
        }
        eprintln!("skipping: ../shared/fixtures/kustomize not found");
        return Ok(());
    };
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    entries.sort();
    for case in entries {
        cases += 1;
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
        let entry = meta["entry"].as_str().unwrap_or(".");
        let none = meta["args"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x == "--load-restrictor=LoadRestrictionsNone")
        });
        let opts = BuildOptions {
            load_restrictor: if none {
                LoadRestrictor::None
            } else {
                LoadRestrictor::RootOnly
            },
            ..Default::default()
        };
        let result = flux_kustomize::build_to_yaml(&DiskFs, &case.join("input").join(entry), &opts);
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match (case.join("expected.yaml").is_file(), result) {
            (true, Ok(out)) => {
                let expected = std::fs::read_to_string(case.join("expected.yaml"))?;
                let want = flux_object::yaml::parse_documents(&expected)?;
                let got = flux_object::yaml::parse_documents(&out)?;
                if want != got {
                    failures.push(format!("{name}: output differs"));
                } else if out != expected {
                    failures.push(format!("{name}: same documents, but not byte-identical"));
                }
            }
            (true, Err(e)) => failures.push(format!("{name}: failed: {e}")),
            (false, Ok(_)) => failures.push(format!("{name}: must fail but built")),
            (false, Err(_)) => {}
        }
    }
    assert!(cases >= 66, "expected at least 66 cases, found {cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}
