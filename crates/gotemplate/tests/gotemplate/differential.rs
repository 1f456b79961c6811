//! Differential test against the real `helm` binary (v3.17.3): every expression in
//! `differential/cases.txt` is rendered by `helm template` and by this crate, and the
//! results must be identical.

use std::path::{Path, PathBuf};
use std::process::Command;

use gotemplate::{GoCompat, Map, MissingKey, Templates, Value, sprig_funcs};

fn get_helm(major: &str) -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tool = here.join("../../../shared/tools/get-helm");
    let out = Command::new(tool).arg(major).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// The helm binaries to compare with: `$HELM` alone when set, else v3.17.3 and v4.
/// Under `CI=true` a missing binary is a failure; elsewhere the test is skipped loudly.
fn helm_binaries() -> Vec<PathBuf> {
    if let Ok(p) = std::env::var("HELM") {
        return vec![PathBuf::from(p)];
    }
    let found: Vec<PathBuf> = ["3", "4"].iter().filter_map(|m| get_helm(m)).collect();
    if found.len() < 2 {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "helm v3 and v4 binaries not found (set HELM or provide ../shared/tools/get-helm)"
            );
        }
        eprintln!(
            "helm v3/v4 not all found: comparing with {} binaries",
            found.len()
        );
    }
    found
}

/// Runs `check` against every helm binary.
fn against_each_helm(check: fn(&Path)) {
    for helm in helm_binaries() {
        eprintln!("comparing with {}", helm.display());
        check(&helm);
    }
}

/// The Go release the helm binary was built with, as far as templates can tell.
fn go_compat(helm: &Path) -> GoCompat {
    let out = Command::new(helm).args(["version", "--short"]).output();
    match out {
        Ok(o) if String::from_utf8_lossy(&o.stdout).starts_with("v4") => GoCompat::Go125,
        _ => GoCompat::Go123,
    }
}

/// The first error of helm's stderr in Go's one-line form (helm v4 splits exec errors
/// over three lines: location, "executing … at <…>:", message).
fn helm_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let first = lines
        .first()
        .copied()
        .unwrap_or("")
        .trim_start_matches("Error: ");
    if lines.len() >= 3 && lines[1].starts_with("  executing ") {
        return format!("template: {first}: {} {}", lines[1].trim(), lines[2].trim());
    }
    first.to_string()
}

fn cases() -> Vec<String> {
    let text = include_str!("differential/cases.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn template_source(cases: &[String]) -> String {
    let mut src =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: diff\ndata:\n  out: |\n");
    for (i, c) in cases.iter().enumerate() {
        src.push_str(&format!("    c{i:03}: {{{{ printf \"%q\" ({c}) }}}}\n"));
    }
    src
}

fn case_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("    c"))
        .map(str::to_string)
        .collect()
}

#[test]
fn sprig_and_builtins_match_helm() {
    against_each_helm(sprig_and_builtins_match_helm_with);
}

fn sprig_and_builtins_match_helm_with(helm: &Path) {
    let cases = cases();
    let src = template_source(&cases);
    let values_json = include_str!("differential/values.json");

    let dir = std::env::temp_dir().join(format!("gotemplate-diff-{}", std::process::id()));
    let chart = dir.join("diffchart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: diffchart\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), values_json).unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), &src).unwrap();
    let out = Command::new(helm)
        .args(["template", "diff"])
        .arg(&chart)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "helm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = case_lines(&String::from_utf8_lossy(&out.stdout));

    let json: serde_json::Value = serde_json::from_str(values_json).unwrap();
    let mut data = Map::new();
    data.insert("Values".into(), Value::from_json(&json));
    let mut t = Templates::new(sprig_funcs());
    t.set_missing_key(MissingKey::Zero);
    t.set_go_compat(go_compat(helm));
    t.parse("diffchart/templates/cm.yaml", &src).unwrap();
    // SAFETY-free: jiff reads TZ for the local zone; the test sets it for helm only,
    // and the cases use explicit zones or values that do not depend on it.
    let got_text = t
        .execute("diffchart/templates/cm.yaml", &Value::map(data))
        .unwrap()
        .replace("<no value>", "");
    let got = case_lines(&got_text);
    assert_eq!(got.len(), want.len(), "line count differs");
    let mut diffs = Vec::new();
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        if g != w {
            diffs.push(format!("case {:?}\n  helm: {w}\n  ours: {g}", cases[i]));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} cases differ from helm:\n{}",
        diffs.len(),
        cases.len(),
        diffs.join("\n")
    );
}

/// Templates from `differential/errors.txt` (separated by `----` lines) must fail in
/// helm and here with the same message (helm prints Go's error after "Error: ").
#[test]
fn execution_errors_match_helm() {
    against_each_helm(execution_errors_match_helm_with);
}

fn execution_errors_match_helm_with(helm: &Path) {
    let compat = go_compat(helm);
    let values_json = include_str!("differential/values.json");
    let json: serde_json::Value = serde_json::from_str(values_json).unwrap();
    let dir = std::env::temp_dir().join(format!("gotemplate-errs-{}", std::process::id()));
    let chart = dir.join("c");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), values_json).unwrap();
    let mut diffs = Vec::new();
    let cases: Vec<&str> = include_str!("differential/errors.txt")
        .split("\n----\n")
        .map(|c| c.trim_end_matches('\n'))
        .collect();
    for case in &cases {
        std::fs::write(chart.join("templates/x.yaml"), format!("{case}\n")).unwrap();
        let out = Command::new(helm)
            .args(["template", "r"])
            .arg(&chart)
            .output()
            .unwrap();
        let helm_msg = helm_error(&String::from_utf8_lossy(&out.stderr));

        let mut data = Map::new();
        data.insert("Values".into(), Value::from_json(&json));
        let mut t = Templates::new(sprig_funcs());
        t.set_missing_key(MissingKey::Zero);
        t.set_go_compat(compat);
        let ours = match t.parse("c/templates/x.yaml", &format!("{case}\n")) {
            Err(e) => e.to_string(),
            Ok(()) => match t.execute("c/templates/x.yaml", &Value::map(data)) {
                Err(e) => e.to_string(),
                Ok(s) => format!("(rendered {s:?})"),
            },
        };
        if out.status.success() || ours != helm_msg {
            diffs.push(format!("case {case:?}\n  helm: {helm_msg}\n  ours: {ours}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        diffs.is_empty(),
        "{} of {} error cases differ from helm:\n{}",
        diffs.len(),
        cases.len(),
        diffs.join("\n")
    );
}

/// Helm's `cleanupParseError`: `parse error at (LOCATION): LAST-PART`.
fn helm_parse_error(ours: &gotemplate::Error) -> String {
    let text = ours.to_string();
    let tokens: Vec<&str> = text.split(": ").collect();
    if tokens.len() < 2 {
        return text;
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

/// Templates from `differential/parse_errors.txt` fail (or render) exactly as in helm,
/// after helm's own rewording of parse errors.
#[test]
fn parse_errors_match_helm() {
    against_each_helm(parse_errors_match_helm_with);
}

fn parse_errors_match_helm_with(helm: &Path) {
    let compat = go_compat(helm);
    let dir = std::env::temp_dir().join(format!("gotemplate-perr-{}", std::process::id()));
    let chart = dir.join("c");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    let cases: Vec<&str> = include_str!("differential/parse_errors.txt")
        .split("\n----\n")
        .map(|c| c.trim_end_matches('\n'))
        .collect();
    let mut diffs = Vec::new();
    for case in &cases {
        let text = format!("{case}\n");
        std::fs::write(chart.join("templates/x.yaml"), &text).unwrap();
        let out = Command::new(helm)
            .args(["template", "r"])
            .arg(&chart)
            .output()
            .unwrap();
        let helm_msg = if out.status.success() {
            "OK".to_string()
        } else {
            helm_error(&String::from_utf8_lossy(&out.stderr))
        };
        let mut t = Templates::new(sprig_funcs());
        t.set_missing_key(MissingKey::Zero);
        t.set_go_compat(compat);
        let ours = match t.parse("c/templates/x.yaml", &text) {
            Err(e) => helm_parse_error(&e),
            Ok(()) => match t.execute("c/templates/x.yaml", &Value::map(Map::new())) {
                Err(e) => e.to_string(),
                Ok(_) => "OK".to_string(),
            },
        };
        if ours != helm_msg {
            diffs.push(format!("case {case:?}\n  helm: {helm_msg}\n  ours: {ours}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        diffs.is_empty(),
        "{} of {} parse cases differ from helm:\n{}",
        diffs.len(),
        cases.len(),
        diffs.join("\n")
    );
}

/// Whole template snippets from `differential/snippets.txt` render identically in helm
/// and here (each is a `define`, printed with `%q` through an `include`-like helper).
#[test]
fn template_snippets_match_helm() {
    against_each_helm(template_snippets_match_helm_with);
}

fn template_snippets_match_helm_with(helm: &Path) {
    let snippets: Vec<&str> = include_str!("differential/snippets.txt")
        .split("\n----\n")
        .map(|c| c.trim_end_matches('\n'))
        .collect();
    let mut src = String::new();
    for (i, s) in snippets.iter().enumerate() {
        src.push_str(&format!("{{{{- define \"s{i}\" }}}}{s}{{{{ end -}}}}\n"));
    }
    src.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: snippets\ndata:\n  out: |\n");
    for i in 0..snippets.len() {
        src.push_str(&format!(
            "    c{i:03}: {{{{ printf \"%q\" (include \"s{i}\" .) }}}}\n"
        ));
    }
    let values_json = include_str!("differential/values.json");
    let dir = std::env::temp_dir().join(format!("gotemplate-snip-{}", std::process::id()));
    let chart = dir.join("c");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), values_json).unwrap();
    std::fs::write(chart.join("templates/x.yaml"), &src).unwrap();
    let out = Command::new(helm)
        .args(["template", "r"])
        .arg(&chart)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "helm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = case_lines(&String::from_utf8_lossy(&out.stdout));

    let mut funcs = sprig_funcs();
    funcs.insert(
        "include".into(),
        gotemplate::func(|ctx, a| {
            let name = a.first().and_then(Value::as_str).unwrap_or("").to_string();
            let data = a.get(1).cloned().unwrap_or_default();
            ctx.execute_template(&name, &data)
                .map(Value::from)
                .map_err(gotemplate::FuncError::from)
        }),
    );
    let json: serde_json::Value = serde_json::from_str(values_json).unwrap();
    let mut data = Map::new();
    data.insert("Values".into(), Value::from_json(&json));
    let mut t = Templates::new(funcs);
    t.set_missing_key(MissingKey::Zero);
    t.set_go_compat(go_compat(helm));
    t.parse("c/templates/x.yaml", &src).unwrap();
    let got_text = t
        .execute("c/templates/x.yaml", &Value::map(data))
        .unwrap()
        .replace("<no value>", "");
    let got = case_lines(&got_text);
    assert_eq!(got.len(), want.len(), "line count differs");
    let diffs: Vec<String> = got
        .iter()
        .zip(want.iter())
        .enumerate()
        .filter(|(_, (g, w))| g != w)
        .map(|(i, (g, w))| format!("snippet {:?}\n  helm: {w}\n  ours: {g}", snippets[i]))
        .collect();
    assert!(
        diffs.is_empty(),
        "{} of {} snippets differ from helm:\n{}",
        diffs.len(),
        snippets.len(),
        diffs.join("\n")
    );
}
