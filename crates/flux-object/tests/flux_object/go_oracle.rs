//! Checked against Go without a cluster: `kubectl label --local -f FILE -o json` decodes YAML
//! with sigs.k8s.io/yaml (go-yaml v2) and prints JSON; `-o yaml` writes YAML with go-yaml.

use std::process::Command;

use flux_object::yaml::{parse_document, to_yaml_string};
use serde_json::{Map, Value, json};

/// Plain and tagged scalars, one per line under `spec:` (each becomes `k<N>: <scalar>`).
const SCALARS: &[&str] = &[
    "yes",
    "Yes",
    "YES",
    "yEs",
    "no",
    "No",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "y",
    "Y",
    "n",
    "N",
    "true",
    "True",
    "TRUE",
    "tRue",
    "false",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "",
    "0755",
    "0x1F",
    "0X1f",
    "0o17",
    "0O17",
    "0b101",
    "-0b101",
    "1_000",
    "0x_1F",
    "+12",
    "-12",
    "08",
    "09.5",
    "1e3",
    "1E3",
    "-1.5e-3",
    "1.5",
    ".5",
    "+.5",
    "-.5",
    "1.",
    "1_000.5",
    "1e400",
    "1e-400",
    ".e5",
    "._5",
    "12:30",
    "1:20",
    "2001-12-14",
    "2001-12-14T21:59:43.10-05:00",
    "1.2.3",
    "v1.2",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "0xFFFFFFFFFFFFFFFF",
    "0x1FFFFFFFFFFFFFFFF",
    "0x",
    "=",
    "<<",
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1e-7",
    "1.0e+21",
    "100000000000000000000",
    "'yes'",
    "\"0755\"",
    "!!int \"12\"",
    "!!float 1",
    "!!float 1.5",
    "!!str 0755",
    "!!bool yes",
    "!!binary aGVsbG8=",
    "!!null ~",
    "!!str",
    "!custom 5",
    "! true",
    "!!timestamp 2001-12-14",
    "nan",
    "inf",
    ".NaN1",
    "+",
    "0b",
    "0o",
    "1__0",
];

/// Whole `spec` bodies: keys, merges, anchors, blocks.
const BODIES: &[&str] = &[
    "1: a\n  1.5: b\n  1e10: c\n  true: d\n  0x10: e\n  0755: f\n  -1: g\n  2.0: h",
    "yes: a\n  n: b\n  Yess: c",
    "b: &x {p: 1, q: 2}\n  c:\n    <<: *x\n    q: 3",
    "b: &x {p: 1}\n  d: &y {p: 2, r: 2}\n  c:\n    <<: [*x, *y]\n    s: 3",
    "a: &a [1, {x: y}]\n  b: *a\n  c: &s text\n  d: *s",
    "lit: |\n    line1\n     line2\n  keep: |+\n    a\n\n  strip: >-\n    folded\n    text\n  e: ''",
    "list:\n  - a\n  - - 1\n    - 2\n  - {k: [yes, no]}",
];

/// Inputs Go rejects; so must we.
const GO_ERRORS: &[&str] = &[
    "a: .inf",
    "a: -.Inf",
    "a: .nan",
    "~: x",
    "a: !!int abc",
    "a: !!null foo",
    "a: !!bool 1",
    "a: *nope",
    "<<: 5",
    "a: -",
];

fn kubectl_available() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required under CI=true"
        );
        eprintln!("skipping: kubectl is not installed");
    }
    ok
}

fn document(body: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nspec:\n  {body}\n")
}

/// Go's reading of `yaml`, or its error text.
fn go_read(yaml: &str) -> Result<Value, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("doc.yaml");
    std::fs::write(&file, yaml).map_err(|e| e.to_string())?;
    let output = Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "z=1", "-f"])
        .arg(&file)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut value: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    Ok(value["spec"].take())
}

/// Equal as Kubernetes sees them: kubectl's own decoding turns integers beyond i64 into
/// floats, so numbers compare by value.
fn same(ours: &Value, go: &Value) -> bool {
    match (ours, go) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => ours == go,
    }
}

#[test]
fn scalars_read_as_go_reads_them() {
    if !kubectl_available() {
        return;
    }
    let body: Vec<String> = SCALARS
        .iter()
        .enumerate()
        .map(|(i, s)| format!("k{i}: {s}"))
        .collect();
    let yaml = document(&body.join("\n  "));
    let go = go_read(&yaml).unwrap_or_else(|e| panic!("kubectl failed: {e}\n{yaml}"));
    let ours = parse_document(&yaml).unwrap_or_else(|e| panic!("we failed: {e}"));
    let mut mismatches = Vec::new();
    for (i, scalar) in SCALARS.iter().enumerate() {
        let key = format!("k{i}");
        let (a, b) = (&ours["spec"][&key], &go[&key]);
        if !same(a, b) {
            mismatches.push(format!("{scalar:?}: ours {a}, go {b}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn structures_read_as_go_reads_them() {
    if !kubectl_available() {
        return;
    }
    for body in BODIES {
        let yaml = document(body);
        let go = go_read(&yaml).unwrap_or_else(|e| panic!("kubectl failed: {e}\n{yaml}"));
        let ours = parse_document(&yaml).unwrap_or_else(|e| panic!("we failed on {body:?}: {e}"));
        assert!(
            same(&ours["spec"], &go),
            "{body:?}: ours {}, go {go}",
            ours["spec"]
        );
    }
}

#[test]
fn go_errors_are_our_errors() {
    if !kubectl_available() {
        return;
    }
    for body in GO_ERRORS {
        let yaml = document(body);
        assert!(go_read(&yaml).is_err(), "kubectl accepted {body:?}");
        let ours = parse_document(&yaml);
        assert!(ours.is_err(), "{body:?}: we read {ours:?}");
    }
}

/// Strings whose style go-yaml's writer and ours agree on. (We also quote `=`, `<<`,
/// `1e400` and space-separated timestamps, for YAML 1.1 readers; see the README.)
const EMITTED_STRINGS: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "False",
    "NULL",
    "null",
    "~",
    "",
    "0755",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "1e3",
    "1.5",
    ".5",
    "1.",
    "-1",
    "+1",
    ".inf",
    "-.Inf",
    ".nan",
    "1:20",
    "2001-12-14",
    " lead",
    "trail ",
    "a: b",
    "a #b",
    "a#b",
    "- x",
    "-x",
    "-",
    "? x",
    "?x",
    ": x",
    ":x",
    ",x",
    "[x",
    "]x",
    "{x",
    "}x",
    "#x",
    "&x",
    "*x",
    "!x",
    "|x",
    ">x",
    "'x",
    "\"x",
    "%x",
    "@x",
    "`x",
    "---",
    "...",
    "--- x",
    "a:",
    "it's",
    "say \"hi\"",
    "back\\slash",
    "tab\there",
    "line1\nline2",
    "line1\nline2\n",
    "line1\n\n",
    "\nleading break",
    " indented\nnext",
    "trailing space \nx",
    "x\n ",
    "cr\rhere",
    "bell\u{7}",
    "nbsp\u{A0}x",
    "bom\u{FEFF}x",
    "emoji \u{1F600}",
    "ünïcödé",
    "1.2.3",
    "v1",
    "a b c",
    "http://example.com/a?b=c#d",
    "key=value",
    "${VAR}",
    "*",
    "{{ .Values }}",
    "1e+06",
    "0.5",
    "08",
    "Condition contains details for one aspect of the current state of this API Resource, with  two  spaces.",
    "key: value pairs are separated by a colon and a space, which makes this string need single quotes",
    "a tab\there and a long tail of words that goes well past the eighty column limit so it must fold  twice",
];

#[test]
fn strings_are_written_as_go_writes_them() {
    if !kubectl_available() {
        return;
    }
    let mut data = Map::new();
    for (i, s) in EMITTED_STRINGS.iter().enumerate() {
        data.insert(format!("k{i:03}"), json!(s));
    }
    let numbers = json!({"a": 1.5, "b": 1e-7, "c": 123456789.5, "d": 0.1, "e": -2.5e100, "f": 1e21, "g": 42, "h": -7});
    let list = json!(["x", {"b": 1, "c": [true, null]}, [], {}]);
    let input = json!({"apiVersion": "v1", "data": data, "kind": "ConfigMap",
        "list": list, "metadata": {"name": "x"}, "numbers": numbers});
    // kubectl adds the label; go-yaml v2 sorts keys, as this document already is.
    let mut ours = input.clone();
    ours["metadata"] = json!({"labels": {"z": "1"}, "name": "x"});
    let ours = to_yaml_string(&ours).expect("emits");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("doc.json");
    std::fs::write(&file, input.to_string()).expect("writes");
    let output = Command::new("kubectl")
        .args(["label", "--local", "-o", "yaml", "z=1", "-f"])
        .arg(&file)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let go = String::from_utf8_lossy(&output.stdout);
    let diff: Vec<String> = go
        .lines()
        .zip(ours.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("go:   {a}\nours: {b}"))
        .collect();
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    assert_eq!(go, ours);
}
