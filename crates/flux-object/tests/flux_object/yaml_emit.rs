//! Writing YAML the way go-yaml v3 / kustomize do, and reading our own output back.

use std::io::Write as _;
use std::process::{Command, Stdio};

use flux_object::yaml::{parse_document, parse_documents, to_multi_doc_string, to_yaml_string};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn emit(v: &Value) -> String {
    match to_yaml_string(v) {
        Ok(s) => s,
        Err(e) => panic!("emitting {v} failed: {e}"),
    }
}

const LONG_PLAIN: &str = "Condition contains details for one aspect of the current state of this API Resource, with  two  spaces here and there.";
const LONG_SINGLE: &str = "key: value pairs are separated by a colon and a space, which makes this string need single quotes when written out";
const LONG_DOUBLE: &str = "a tab\there and a long tail of words that goes well past the eighty column limit so it must fold somewhere  twice";

/// Strings that need care: YAML 1.1/1.2 look-alikes, indicators, whitespace, escapes.
fn tricky_strings() -> Vec<&'static str> {
    vec![
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
        "2001-12-14 21:59:43.10 -5",
        "=",
        "<<",
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
        "nel\u{85}x",
        "nbsp\u{A0}x",
        "bom\u{FEFF}x",
        "ls\u{2028}x",
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
        LONG_PLAIN,
        LONG_SINGLE,
        LONG_DOUBLE,
    ]
}

#[test]
fn kustomize_layout() {
    let v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "a", "labels": {"app": "web"}, "annotations": {}},
        "spec": {
            "containers": [
                {"name": "a", "args": ["--v=2", "-x"], "ports": [{"containerPort": 80}], "env": []},
            ],
            "matrix": [[1, 2], []],
        },
    });
    let want = "\
apiVersion: v1
kind: Pod
metadata:
  name: a
  labels:
    app: web
  annotations: {}
spec:
  containers:
  - name: a
    args:
    - --v=2
    - -x
    ports:
    - containerPort: 80
    env: []
  matrix:
  - - 1
    - 2
  - []
";
    assert_eq!(emit(&v), want);
}

#[test]
fn scalars_as_go_yaml_writes_them() {
    let v = json!({
        "int": 42, "neg": -7, "big": u64::MAX, "float": 1.5, "million": 1e6, "small": 1e-7,
        "t": true, "f": false, "nil": null, "s": "plain text",
    });
    let want = "\
int: 42
neg: -7
big: 18446744073709551615
float: 1.5
million: 1e+06
small: 1e-07
t: true
f: false
nil: null
s: plain text
";
    assert_eq!(emit(&v), want);
}

#[test]
fn strings_are_quoted_when_readers_would_misread_them() {
    let cases: &[(&str, &str)] = &[
        ("yes", "\"yes\""),
        ("on", "\"on\""),
        ("y", "\"y\""),
        ("0755", "\"0755\""),
        ("1e3", "\"1e3\""),
        ("null", "\"null\""),
        ("", "\"\""),
        ("1:20", "\"1:20\""),
        ("2001-12-14", "\"2001-12-14\""),
        ("<<", "\"<<\""),
        (" lead", "' lead'"),
        ("trail ", "'trail '"),
        ("a: b", "'a: b'"),
        ("a #b", "'a #b'"),
        ("- x", "'- x'"),
        ("*", "'*'"),
        ("it's", "it's"),
        ("'x", "'''x'"),
        ("a#b", "a#b"),
        ("-x", "-x"),
        ("tab\there", "\"tab\\there\""),
        ("nel\u{85}x", "\"nel\\Nx\""),
        ("emoji \u{1F600}", "\"emoji \\U0001F600\""),
        ("ünïcödé", "ünïcödé"),
        ("1.2.3", "1.2.3"),
        ("--- x", "'--- x'"),
    ];
    for (input, want) in cases {
        let got = emit(&json!({ "k": input }));
        assert_eq!(got, format!("k: {want}\n"), "string {input:?}");
    }
}

#[test]
fn multiline_strings_use_literal_blocks_when_exact() {
    let v = json!({"a": "x\ny", "b": "x\ny\n", "c": "x\n\n", "d": " x\ny", "e": "x \ny", "list": ["p\nq"]});
    let want = "\
a: |-
  x
  y
b: |
  x
  y
c: |+
  x

d: |2-
   x
  y
e: \"x \\ny\"
list:
- |-
  p
  q
";
    assert_eq!(emit(&v), want);
    // A multi-line key cannot be a simple key.
    let v = json!({"a\nb": 1});
    assert_eq!(parse_document(&emit(&v)).expect("reads back"), v);
}

#[test]
fn long_lines_fold_at_80_columns_like_kustomize() {
    let v = json!({"spec": {"description": LONG_PLAIN, "args": [LONG_PLAIN]}});
    let want = "\
spec:
  description: Condition contains details for one aspect of the current state of this
    API Resource, with  two  spaces here and there.
  args:
  - Condition contains details for one aspect of the current state of this API Resource,
    with  two  spaces here and there.
";
    assert_eq!(emit(&v), want);
    // Keys are never folded.
    let key = LONG_PLAIN.replace(',', "");
    let text = emit(&json!({ key.clone(): 1 }));
    assert_eq!(text.lines().count(), 1, "{text}");
    // Quoted styles fold too, and read back unchanged.
    for s in [LONG_SINGLE, LONG_DOUBLE] {
        let v = json!({ "k": s });
        let text = emit(&v);
        assert!(text.lines().count() > 1, "{text}");
        assert_eq!(parse_document(&text).expect("reads back"), v);
    }
}

#[test]
fn empty_collections_and_root_scalars() {
    assert_eq!(emit(&json!({})), "{}\n");
    assert_eq!(emit(&json!([])), "[]\n");
    assert_eq!(emit(&json!(null)), "null\n");
    assert_eq!(emit(&json!("yes")), "\"yes\"\n");
    assert_eq!(
        emit(&json!([{"a": 1, "b": {"c": []}}])),
        "- a: 1\n  b:\n    c: []\n"
    );
}

#[test]
fn long_keys_use_explicit_indicator_and_read_back() {
    let key = "k".repeat(200);
    let mut map = Map::new();
    map.insert(key.clone(), json!({"x": [1, 2]}));
    map.insert("short".into(), json!("v"));
    let v = Value::Object(map);
    let text = emit(&v);
    assert_eq!(text, format!("? {key}\n: x:\n  - 1\n  - 2\nshort: v\n"));
    assert_eq!(parse_document(&text).expect("reads back"), v);
}

#[test]
fn multi_document_output() {
    let docs = vec![json!({"a": 1}), json!({"b": [1]})];
    let text = to_multi_doc_string(&docs).expect("emits");
    assert_eq!(text, "a: 1\n---\nb:\n- 1\n");
    assert_eq!(parse_documents(&text).expect("reads back"), docs);
}

#[test]
fn tricky_strings_round_trip_through_our_reader() {
    for s in tricky_strings() {
        let v = json!({ "k": s, "list": [s], s: "as key" });
        let text = emit(&v);
        let back = parse_document(&text).unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
        assert_eq!(back, v, "string {s:?} emitted as:\n{text}");
    }
}

#[test]
fn excessive_nesting_is_an_error_not_a_crash() {
    let mut v = json!(1);
    for _ in 0..600 {
        v = json!([v]);
    }
    assert!(to_yaml_string(&v).is_err());
}

/// PyYAML (YAML 1.1) must read our output to the same value.
#[test]
fn pyyaml_reads_tricky_strings_back() {
    let has_pyyaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pyyaml {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with PyYAML is required under CI=true (apt-get install python3-yaml)"
        );
        eprintln!("skipping: python3 with the yaml module is not installed");
        return;
    }
    let strings: Vec<Value> = tricky_strings().into_iter().map(Value::from).collect();
    let mut keyed = Map::new();
    for (i, s) in tricky_strings().into_iter().enumerate() {
        keyed.insert(s.to_string(), json!(i));
    }
    let doc = json!({"values": strings, "keys": keyed, "numbers": [1, -2, 1.5, 1e-7, 123456789.5, u64::MAX]});
    let text = emit(&doc);
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(text.as_bytes())
        .expect("writes to python3");
    let output = child.wait_with_output().expect("python3 finishes");
    assert!(
        output.status.success(),
        "PyYAML failed: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let back: Value = serde_json::from_slice(&output.stdout).expect("python3 prints JSON");
    assert_eq!(back["values"], doc["values"], "YAML was:\n{text}");
    assert_eq!(back["keys"], doc["keys"], "YAML was:\n{text}");
    // PyYAML (YAML 1.1) reads `1e-07` as a string: only the integers and dotted floats agree.
    assert_eq!(back["numbers"][0], json!(1));
    assert_eq!(back["numbers"][1], json!(-2));
    assert_eq!(back["numbers"][2], json!(1.5));
    assert_eq!(back["numbers"][5], json!(u64::MAX));
}

/// Values as our reader produces them: whole floats are integers (see the README).
fn arb_json() -> impl Strategy<Value = Value> {
    let string = prop_oneof![
        any::<String>(),
        proptest::sample::select(tricky_strings()).prop_map(str::to_string),
        "[ -~\\n\\t]{0,12}",
    ];
    let float = any::<f64>().prop_filter_map("finite, non-integral", |f| {
        (f.is_finite() && f.fract() != 0.0).then_some(f)
    });
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float.prop_map(Value::from),
        string.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((string.clone(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_emit_is_identity(v in arb_json()) {
        let text = to_yaml_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = parse_document(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- yaml ---\n{text}")))?;
        prop_assert_eq!(back, v, "yaml was:\n{}", text);
    }
}
