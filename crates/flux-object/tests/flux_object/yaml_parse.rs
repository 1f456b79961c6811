//! Reading YAML the way sigs.k8s.io/yaml (go-yaml v2 + JSON) does.

use flux_object::yaml::{YamlError, parse_document, parse_documents};
use serde_json::{Value, json};

fn parse(src: &str) -> Value {
    match parse_document(src) {
        Ok(v) => v,
        Err(e) => panic!("parsing {src:?} failed: {e}"),
    }
}

fn parse_err(src: &str) -> (usize, String) {
    match parse_document(src) {
        Ok(v) => panic!("parsing {src:?} should fail, got {v}"),
        Err(YamlError::Parse { line, message }) => (line, message),
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
}

#[test]
fn yaml11_booleans_as_go_yaml_v2_reads_them() {
    let v = parse(
        "a: yes\nb: no\nc: on\nd: off\ne: y\nf: n\ng: Yes\nh: NO\ni: True\nj: FALSE\nk: yEs\nl: 'yes'\n",
    );
    assert_eq!(
        v,
        json!({"a": true, "b": false, "c": true, "d": false, "e": true, "f": false,
               "g": true, "h": false, "i": true, "j": false, "k": "yEs", "l": "yes"})
    );
}

#[test]
fn nulls() {
    let v = parse("a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: ''\ng: nUll\n");
    assert_eq!(
        v,
        json!({"a": null, "b": null, "c": null, "d": null, "e": null, "f": "", "g": "nUll"})
    );
}

#[test]
fn go_integers_octal_hex_binary_separators() {
    let v = parse(
        "mode: 0755\nhex: 0x1F\noct: 0o17\nbin: 0b101\nsep: 1_000\nneg: -42\npos: +7\nquoted: \"0755\"\nnine: 08\n",
    );
    assert_eq!(
        v,
        json!({"mode": 493, "hex": 31, "oct": 15, "bin": 5, "sep": 1000, "neg": -42, "pos": 7,
               "quoted": "0755", "nine": 8})
    );
}

#[test]
fn big_integers_become_floats_beyond_u64() {
    let v = parse(
        "a: 18446744073709551615\nb: 123456789012345678901234567890\nc: -9223372036854775808\n",
    );
    assert_eq!(v["a"], json!(u64::MAX));
    assert!(v["b"].is_f64(), "{}", v["b"]);
    assert_eq!(v["b"].as_f64(), Some(1.234_567_890_123_456_8e29));
    assert_eq!(v["c"], json!(i64::MIN));
}

#[test]
fn floats_and_whole_floats() {
    let v = parse("a: 1.5\nb: 1e3\nc: -2.5e-3\nd: .5\ne: 1.0\nf: 1e25\n");
    assert_eq!(v["a"], json!(1.5));
    // Go's JSON encoder writes whole floats as integers.
    assert_eq!(v["b"], json!(1000));
    assert_eq!(v["c"], json!(-0.0025));
    assert_eq!(v["d"], json!(0.5));
    assert_eq!(v["e"], json!(1));
    assert_eq!(v["f"].as_f64(), Some(1e25));
}

#[test]
fn infinity_and_nan_are_errors_with_line() {
    let (line, message) = parse_err("a: 1\nb: .inf\n");
    assert_eq!(line, 2);
    assert!(message.contains(".inf"), "{message}");
    let (line, _) = parse_err("x:\n  - 1\n  - -.Inf\n");
    assert_eq!(line, 3);
    let (line, _) = parse_err(".nan\n");
    assert_eq!(line, 1);
    // Quoted, they are strings.
    assert_eq!(parse("a: '.inf'\n"), json!({"a": ".inf"}));
}

#[test]
fn non_plain_scalars_are_strings() {
    let v = parse("a: 'true'\nb: \"123\"\nc: |\n  0755\nd: >-\n  yes\n");
    assert_eq!(
        v,
        json!({"a": "true", "b": "123", "c": "0755\n", "d": "yes"})
    );
}

#[test]
fn block_scalar_at_end_of_input_without_newline() {
    assert_eq!(parse("a: |\n  text"), json!({"a": "text"}));
}

#[test]
fn timestamps_and_versions_stay_strings() {
    let v = parse("a: 2001-12-14\nb: 1.2.3\nc: 12:30\n");
    assert_eq!(v, json!({"a": "2001-12-14", "b": "1.2.3", "c": "12:30"}));
}

#[test]
fn tags() {
    let v = parse(
        "a: !!str 123\nb: !!int \"42\"\nc: !!float 1\nd: !!bool yes\ne: !!null ''\nf: !!binary aGVsbG8=\ng: !custom 5\nh: ! true\ni: !!float 1.5\n",
    );
    assert_eq!(
        v,
        json!({"a": "123", "b": 42, "c": 1, "d": true, "e": null, "f": "hello", "g": "5",
               "h": "true", "i": 1.5})
    );
    let (line, message) = parse_err("a: 1\nb: !!int abc\n");
    assert_eq!(line, 2);
    assert!(message.contains("cannot decode"), "{message}");
}

#[test]
fn non_string_keys_become_strings() {
    // `y` is the boolean true in YAML 1.1, so as a key it reads as "true".
    assert_eq!(parse("y: 1\nn: 2\n"), json!({"true": 1, "false": 2}));
    let v = parse("1: a\ntrue: b\n1.5: d\n0x10: e\n1e10: f\n");
    assert_eq!(
        v,
        json!({"1": "a", "true": "b", "1.5": "d", "16": "e", "1e+10": "f"})
    );
    let v = parse("on: push\n");
    assert_eq!(v, json!({"true": "push"}));
    let (line, message) = parse_err("a: 1\n~: x\n");
    assert_eq!(line, 2);
    assert!(message.contains("unsupported map key"), "{message}");
}

#[test]
fn duplicate_keys_are_errors() {
    let (line, message) = parse_err("a: 1\nb: 2\na: 3\n");
    assert_eq!(line, 3);
    assert!(message.contains("already set in map"), "{message}");
    // Distinct spellings of the same boolean key collide too.
    let (line, _) = parse_err("true: 1\nyes: 2\n");
    assert_eq!(line, 2);
}

#[test]
fn merge_keys() {
    let v = parse(
        "base: &base\n  a: 1\n  b: 2\nother: &other\n  b: 20\n  c: 30\nm1:\n  <<: *base\n  b: 3\nm2:\n  <<: [*other, *base]\n  d: 4\nm3:\n  c: 0\n  <<: *other\n",
    );
    assert_eq!(v["m1"], json!({"a": 1, "b": 3}));
    assert_eq!(v["m2"], json!({"b": 20, "c": 30, "a": 1, "d": 4}));
    assert_eq!(v["m3"], json!({"c": 0, "b": 20}));
    let (line, message) = parse_err("a: &a 1\nb:\n  <<: *a\n");
    assert_eq!(line, 3);
    assert!(message.contains("map merge requires"), "{message}");
    // A quoted `<<` is an ordinary key.
    assert_eq!(parse("'<<': 1\n"), json!({"<<": 1}));
}

#[test]
fn anchors_and_aliases() {
    let v = parse("a: &x\n  k: [1, 2]\nb: *x\nc: &s hello\nd: *s\n");
    assert_eq!(
        v,
        json!({"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": "hello", "d": "hello"})
    );
    let (line, _) = parse_err("a: 1\nb: *missing\n");
    assert_eq!(line, 2);
}

#[test]
fn alias_bomb_is_rejected() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let prev = level - 1;
        let refs = vec![format!("*a{prev}"); 10].join(", ");
        src.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    let err = parse_document(&src).expect_err("billion laughs must be rejected");
    assert!(err.to_string().contains("excessive aliasing"), "{err}");
}

#[test]
fn multi_document_streams_drop_empty_documents() {
    let docs = parse_documents(
        "# leading comment\n---\na: 1\n---\n# only a comment\n---\n---\nb: 2\n...\n---\n- x\n",
    )
    .expect("parses");
    assert_eq!(docs, vec![json!({"a": 1}), json!({"b": 2}), json!(["x"])]);
    assert!(parse_documents("").expect("empty parses").is_empty());
    let err = parse_document("a: 1\n---\nb: 2\n").expect_err("two documents");
    assert!(err.to_string().contains("expected one document"), "{err}");
}

#[test]
fn syntax_errors_carry_line() {
    let (line, _) = parse_err("a: 1\nb: [1, 2\nc: 3\n");
    assert!(line >= 2, "line {line}");
    let (line, _) = parse_err("a: 1\n  b: 2\n");
    assert_eq!(line, 2);
    let (line, _) = parse_err("a:\n  - 1\n  - 2\n   c: 3\n");
    assert!(line >= 3, "line {line}");
}

#[test]
fn key_order_is_kept() {
    let v = parse("z: 1\na: 2\nm: 3\n");
    let keys: Vec<&String> = v
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn kubernetes_manifest() {
    let v = parse(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        ports:\n        - containerPort: 80\n",
    );
    assert_eq!(v["spec"]["replicas"], json!(3));
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        json!(80)
    );
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("nginx:1.25")
    );
}
