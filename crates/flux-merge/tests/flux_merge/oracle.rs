//! The oracle corpus: cases recorded from `kubectl patch --local` (kubectl 1.33) by
//! `scripts/gen_oracle_corpus.py`. Ours must match every recorded output and refuse every patch
//! kubectl refused, except the differences listed in `KNOWN_DIFFERENCES` (also in README.md).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use flux_merge::{json_patch, schema, strategic};
use serde_json::Value;

const CORPUS: &str = include_str!("oracle/cases.jsonl");

/// Cases where we knowingly differ from kubectl, with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "deployment-unknown/unknown-list-merge",
        "kubectl refuses to merge under a field its Go structs lack; we merge it untyped (README, difference 1)",
    ),
    (
        "deployment-unknown/unknown-map-merge",
        "kubectl refuses to merge under a field its Go structs lack; we merge it untyped (README, difference 1)",
    ),
    (
        "deployment-unknown/unknown-scalar-in-unknown-map",
        "kubectl refuses to merge under a field its Go structs lack; we merge it untyped (README, difference 1)",
    ),
];

/// Cases where kubectl's failure comes from its own post-processing, not from the patch
/// engine: we return the patched value and kubectl refuses to print it.
const KUBECTL_POSTPROCESS_ERRORS: &[&str] = &["Object 'Kind' is missing"];

struct Case {
    name: String,
    kind: String,
    base: Value,
    patch: Value,
    expected: Option<Value>,
    error: Option<String>,
}

fn load() -> Result<Vec<Case>> {
    let mut lines = CORPUS.lines();
    let header: Value = serde_json::from_str(lines.next().context("empty corpus")?)?;
    let bases = header["bases"]
        .as_object()
        .context("corpus header has no bases")?;
    let mut cases = Vec::new();
    for line in lines {
        let c: Value = serde_json::from_str(line)?;
        let name = c["name"].as_str().context("case name")?.to_string();
        let base_name = c["base"].as_str().context("case base")?;
        cases.push(Case {
            kind: c["type"].as_str().context("case type")?.to_string(),
            base: bases
                .get(base_name)
                .with_context(|| format!("{name}: unknown base"))?
                .clone(),
            patch: c["patch"].clone(),
            expected: c.get("expected").cloned(),
            error: c.get("error").and_then(Value::as_str).map(str::to_string),
            name,
        });
    }
    Ok(cases)
}

fn ours(case: &Case) -> Result<Value, String> {
    match case.kind.as_str() {
        "strategic" => {
            let ty = schema::SchemaSet::builtin().for_object(&case.base);
            strategic::apply(&case.base, &case.patch, ty).map_err(|e| e.to_string())
        }
        "merge" => Ok(json_patch::apply_merge_patch(&case.base, &case.patch)),
        "json" => json_patch::apply_json_patch(&case.base, &case.patch).map_err(|e| e.to_string()),
        other => Err(format!("unknown patch type {other}")),
    }
}

#[test]
fn oracle_corpus_matches_kubectl() -> Result<()> {
    let cases = load()?;
    assert!(cases.len() >= 300, "corpus has only {} cases", cases.len());
    let known: BTreeMap<&str, &str> = KNOWN_DIFFERENCES.iter().copied().collect();
    let mut failures = Vec::new();
    let mut matched_known = Vec::new();
    let mut per_type: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        *per_type.entry(case.kind.clone()).or_default() += 1;
        let got = ours(case);
        let ok = match (&case.expected, &case.error, &got) {
            (Some(expected), _, Ok(got)) => expected == got,
            (None, Some(_), Err(_)) => true,
            (None, Some(err), Ok(_)) => KUBECTL_POSTPROCESS_ERRORS.iter().any(|p| err.contains(p)),
            _ => false,
        };
        match (ok, known.get(case.name.as_str())) {
            (true, None) => {}
            (true, Some(_)) => failures.push(format!(
                "{}: listed in KNOWN_DIFFERENCES but now matches kubectl; remove it",
                case.name
            )),
            (false, Some(_)) => matched_known.push(case.name.clone()),
            (false, None) => failures.push(format!(
                "{}:\n  patch:    {}\n  kubectl:  {}\n  ours:     {}",
                case.name,
                case.patch,
                case.expected
                    .as_ref()
                    .map(Value::to_string)
                    .or_else(|| case.error.clone())
                    .unwrap_or_default(),
                match &got {
                    Ok(v) => v.to_string(),
                    Err(e) => format!("error: {e}"),
                }
            )),
        }
    }
    eprintln!(
        "oracle corpus: {} cases {per_type:?}, {} known differences",
        cases.len(),
        matched_known.len()
    );
    if !failures.is_empty() {
        bail!(
            "{} of {} cases differ from kubectl:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

#[test]
fn corpus_covers_every_directive() -> Result<()> {
    let text = CORPUS;
    for needle in [
        "\"$patch\": \"delete\"",
        "\"$patch\": \"replace\"",
        "\"$patch\": \"merge\"",
        "\"$patch\": \"bogus\"",
        "$deleteFromPrimitiveList/",
        "$setElementOrder/",
        "$retainKeys",
        "\"op\": \"test\"",
        "\"op\": \"move\"",
        "\"op\": \"copy\"",
    ] {
        if !text.contains(needle) {
            bail!("corpus has no case using {needle}");
        }
    }
    Ok(())
}
