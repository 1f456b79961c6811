//! Random token soup through the parser and executor: every input must give text or an
//! error, never a panic or a hang (a stable-toolchain companion to `fuzz/`).

use gotemplate::{Limits, MissingKey, Templates, Value, sprig_funcs};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    " ",
    "\n",
    ".",
    ".a",
    ".a.b",
    ".s",
    "$",
    "$x",
    "$i",
    ":=",
    "=",
    ",",
    "|",
    "(",
    ")",
    "\"str\"",
    "`raw`",
    "'c'",
    "1",
    "-2",
    "3.5",
    "0x1f",
    "1e3",
    "true",
    "nil",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"x\"",
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "\"%v %d %s %q\"",
    "eq",
    "lt",
    "default",
    "dict",
    "list",
    "set",
    "toJson",
    "upper",
    "trunc",
    "until",
    "repeat",
    "include",
    "tpl",
    "merge",
    "deepCopy",
    "text",
    "é☃",
];

fn templates() -> Templates {
    let mut t = Templates::new(sprig_funcs());
    t.set_missing_key(MissingKey::Zero);
    t.set_limits(Limits {
        max_output_bytes: 1 << 20,
        max_range_iterations: 10_000,
        ..Limits::default()
    });
    t
}

fn data() -> Value {
    Value::from_json(&serde_json::json!({"a": {"b": [1, "x", null]}, "s": "str", "n": 2}))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(idx in proptest::collection::vec(0..PIECES.len(), 0..40)) {
        let src: String = idx.iter().map(|i| PIECES[*i]).collect();
        let mut t = templates();
        if t.parse("soup", &src).is_ok() {
            let _ = t.execute("soup", &data());
        }
    }

    #[test]
    fn actions_from_pieces_never_panic(idx in proptest::collection::vec(0..PIECES.len(), 1..12)) {
        let inner: Vec<&str> = idx.iter().map(|i| PIECES[*i]).collect();
        let src = format!("{{{{ {} }}}}", inner.join(" "));
        let mut t = templates();
        if t.parse("action", &src).is_ok() {
            let _ = t.execute("action", &data());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,80}") {
        let mut t = templates();
        if t.parse("any", &src).is_ok() {
            let _ = t.execute("any", &data());
        }
    }
}
