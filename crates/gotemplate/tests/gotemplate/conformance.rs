//! Go text/template behaviour, from the package documentation.

use crate::support::{check, check_err, render, render_with};
use gotemplate::{FuncMap, MissingKey, Templates, Value};

#[test]
fn text_and_fields() {
    check("hello", "{}", "hello");
    check("{{.a}}", r#"{"a":"x"}"#, "x");
    check("{{.a.b}}", r#"{"a":{"b":2}}"#, "2");
    check("{{ .missing }}", "{}", "<no value>");
    check("{{ . }}", r#"{"b":1,"a":[1,"x"]}"#, "map[a:[1 x] b:1]");
    check("{{ .f }}", r#"{"f":1000000}"#, "1e+06");
    check("{{ .f }}", r#"{"f":3}"#, "3");
    check("{{ .f }}", r#"{"f":1.5}"#, "1.5");
    check(
        "{{ 3 }} {{ 1.5 }} {{ 0x10 }} {{ 'a' }} {{ 1e3 }}",
        "{}",
        "3 1.5 16 97 1000",
    );
    check(r#"{{ "a\tb" }} {{ `raw\n` }}"#, "{}", "a\tb raw\\n");
    check("{{ true }} {{ false }}", "{}", "true false");
    // hexadecimal floats (used by real charts: `mulf $x 0x1p60`), hex ints, underscores
    check(
        "{{ 0x1p60 }} {{ 0x1.8p1 }} {{ 0x1e }} {{ 1_000 }} {{ 0o17 }} {{ 0b101 }}",
        "{}",
        "1.152921504606847e+18 3 30 1000 15 5",
    );
}

#[test]
fn trim_markers_and_comments() {
    check("a  {{- 1 -}}  b", "{}", "a1b");
    check("a \n {{- /* c */ -}} \n b", "{}", "ab");
    check("a{{/* comment */}}b", "{}", "ab");
    check("{{- 3 }}\n", "{}", "3\n");
    check("{{-3}}", "{}", "-3");
    check("x\n{{- if true }}\ny{{ end }}", "{}", "x\ny");
}

#[test]
fn pipelines_and_variables() {
    check(r#"{{ "x" | printf "%s-%s" "a" }}"#, "{}", "a-x");
    check("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "{}", "12");
    check("{{ $ }}", r#"{"a":1}"#, "map[a:1]");
    check("{{ with .a }}{{ $.b }}{{ end }}", r#"{"a":1,"b":"r"}"#, "r");
    check("{{ (1) }}{{ (.a).b }}", r#"{"a":{"b":"c"}}"#, "1c");
    check("{{ $v := .a }}{{ $v.b }}", r#"{"a":{"b":"c"}}"#, "c");
    check("{{ if true }}{{ $x := 1 }}{{ $x }}{{ end }}", "{}", "1");
}

#[test]
fn if_else_with() {
    check("{{ if .a }}y{{ else }}n{{ end }}", r#"{"a":0}"#, "n");
    check(
        "{{ if .a }}y{{ else if .b }}b{{ else }}n{{ end }}",
        r#"{"a":"","b":[1]}"#,
        "b",
    );
    check(
        "{{ with .a }}{{ . }}{{ else }}none{{ end }}",
        r#"{"a":{}}"#,
        "none",
    );
    check(
        "{{ with .a }}{{ . }}{{ else with .b }}{{ . }}{{ end }}",
        r#"{"b":"B"}"#,
        "B",
    );
    check("{{ if and 1 0 }}y{{ else }}n{{ end }}", "{}", "n");
    check(
        "{{ or 0 \"\" \"x\" }} {{ and 1 2 }} {{ not 0 }}",
        "{}",
        "x 2 true",
    );
    // short-circuit: the failing call is never evaluated
    check("{{ or 1 (fail \"boom\") }}", "{}", "1");
    check("{{ and 0 (fail \"boom\") }}", "{}", "0");
}

#[test]
fn range_forms() {
    check("{{ range . }}{{ . }},{{ end }}", r#"[1,2,3]"#, "1,2,3,");
    check(
        "{{ range $i, $v := . }}{{ $i }}={{ $v }} {{ end }}",
        r#"["a","b"]"#,
        "0=a 1=b ",
    );
    check(
        "{{ range $k, $v := . }}{{ $k }}={{ $v }} {{ end }}",
        r#"{"b":2,"a":1,"c":3}"#,
        "a=1 b=2 c=3 ",
    );
    check(
        "{{ range .x }}y{{ else }}empty{{ end }}",
        r#"{"x":[]}"#,
        "empty",
    );
    check(
        "{{ range .missing }}y{{ else }}empty{{ end }}",
        "{}",
        "empty",
    );
    check(
        "{{ range . }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}",
        "{}",
        "",
    );
    // range over an integer: Go 1.22+ (Helm v4); Helm v3.17's Go 1.23 rejects it
    check_err(
        "{{ range 3 }}{{ . }}{{ end }}",
        "{}",
        "range can't iterate over 3",
    );
    let mut t = Templates::new(FuncMap::new());
    t.set_go_compat(gotemplate::GoCompat::Go125);
    t.parse(
        "r",
        "{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 2 }}{{ $i }}{{ end }}",
    )
    .unwrap();
    assert_eq!(t.execute("r", &Value::Nil).unwrap(), "012|01");
    check(
        "{{ $x := 0 }}{{ range list 1 2 }}{{ $x = . }}{{ end }}{{ $x }}",
        "{}",
        "2",
    );
    check(
        "{{ range list 1 2 3 4 5 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}",
        "{}",
        "13",
    );
}

#[test]
fn define_template_block() {
    check(
        r#"{{ define "T" }}<{{ . }}>{{ end }}{{ template "T" "x" }}{{ template "T" }}"#,
        "{}",
        "<x><<no value>>",
    );
    check(
        r#"{{ block "B" . }}default {{ .a }}{{ end }}"#,
        r#"{"a":1}"#,
        "default 1",
    );
    let mut t = Templates::new(FuncMap::new());
    t.parse("lib", r#"{{ define "x" }}one{{ end }}"#).unwrap();
    t.parse("lib2", r#"{{ define "x" }}two{{ end }}"#).unwrap();
    t.parse("main", r#"{{ template "x" }}"#).unwrap();
    assert_eq!(t.execute("main", &Value::Nil).unwrap(), "two");
    // an empty redefinition does not replace
    t.parse("lib3", r#"{{ define "x" }} {{ end }}"#).unwrap();
    assert_eq!(t.execute("main", &Value::Nil).unwrap(), "two");
    // variables do not leak into templates
    check_err(
        r#"{{ define "T" }}{{ $x }}{{ end }}{{ $x := 1 }}"#,
        "{}",
        "undefined variable \"$x\"",
    );
}

#[test]
fn comparisons() {
    check(
        "{{ eq 1 1 }} {{ eq \"a\" \"b\" }} {{ eq 1 2 3 1 }} {{ ne 1 2 }}",
        "{}",
        "true false true true",
    );
    check(
        "{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }}",
        "{}",
        "true true true false",
    );
    check("{{ eq .missing nil }}", "{}", "true");
    check("{{ eq .a \"x\" }}", "{}", "false");
    check_err("{{ eq 1 1.0 }}", "{}", "incompatible types for comparison");
    check_err("{{ lt true false }}", "{}", "invalid type for comparison");
    // values are float64: comparing with an int literal is an error in Go
    check_err(
        "{{ eq .n 1 }}",
        r#"{"n":1}"#,
        "incompatible types for comparison",
    );
}

#[test]
fn builtin_functions() {
    check("{{ len . }}", "[1,2]", "2");
    check("{{ len \"abc\" }}", "{}", "3");
    check("{{ index . 1 }}", r#"["a","b"]"#, "b");
    check("{{ index . \"k\" }}", r#"{"k":"v"}"#, "v");
    check("{{ index .a \"x\" 0 }}", r#"{"a":{"x":[7]}}"#, "7");
    check("{{ slice (list 1 2 3) 1 }}", "{}", "[2 3]");
    check("{{ print 1 2 \"a\" \"b\" 3 }}", "{}", "1 2ab3");
    check("{{ println 1 \"a\" }}", "{}", "1 a\n");
    check(
        "{{ printf \"%v|%5.2f|%-3d|%q\" .l 3.14159 7 \"q\" }}",
        r#"{"l":[1,"a"]}"#,
        "[1 a]| 3.14|7  |\"q\"",
    );
    check(
        "{{ html \"<a href='x'>&\\\"\" }}",
        "{}",
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
    );
    check("{{ js \"a'b<\" }}", "{}", "a\\'b\\u003C");
    check("{{ urlquery \"a b&c\" }}", "{}", "a+b%26c");
    check_err("{{ index . 5 }}", "[1]", "index out of range: 5");
    check_err("{{ index .missing \"a\" }}", "{}", "index of untyped nil");
    check_err("{{ len 3 }}", "{}", "len of type int");
    // Go's own slice (without Sprig, which replaces it)
    let mut t = Templates::new(FuncMap::new());
    t.parse("s", "{{ slice \"abcdef\" 1 3 }}").unwrap();
    assert_eq!(t.execute("s", &Value::Nil).unwrap(), "bc");
}

#[test]
fn missing_key_modes() {
    // Helm runs with missingkey=zero: a missing intermediate map is a nil pointer error
    let e = render_with("{{ .a.b }}", "{}", MissingKey::Zero)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "template: t:1:5: executing \"t\" at <.a.b>: nil pointer evaluating interface {}.b"
    );
    assert_eq!(
        render_with("{{ .a }}", "{}", MissingKey::Zero).unwrap(),
        "<no value>"
    );
    // parenthesised access stays quiet, as in Go
    assert_eq!(
        render_with("{{ (.a).b }}", "{}", MissingKey::Zero).unwrap(),
        "<no value>"
    );
    assert_eq!(
        render_with("{{ .a.b }}", "{}", MissingKey::Default).unwrap(),
        "<no value>"
    );
    let e = render_with("{{ .a }}", "{}", MissingKey::Error)
        .unwrap_err()
        .to_string();
    assert!(e.contains("map has no entry for key \"a\""), "{e}");
}

#[test]
fn exec_errors_carry_file_line_column() {
    let e = render("line1\n  {{ fail \"boom\" }}", "{}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "template: t:2:5: executing \"t\" at <fail \"boom\">: error calling fail: boom"
    );
    let e = render("{{ .a.b.c }}", r#"{"a":{"b":"s"}}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "template: t:1:5: executing \"t\" at <.a.b.c>: can't evaluate field c in type interface {}"
    );
    let e = render("{{ template \"nope\" }}", "{}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("template \"nope\" not defined"), "{e}");
    // the context is the whole command, untruncated (Go 1.23, checked against helm)
    let e = render("{{ fail \"a very long message here\" }}", "{}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("at <fail \"a very long message here\">"), "{e}");
    // a multi-field chain is positioned at its second field, as Go does
    let e = render("{{ .a.b.c.d }}", r#"{"a":{"b":{"c":1}}}"#)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("template: t:1:5:"), "{e}");
    // errors inside a define name the define and the file
    let mut t = Templates::new(gotemplate::sprig_funcs());
    t.parse(
        "_helpers.tpl",
        "{{ define \"h\" }}\n{{ fail \"x\" }}{{ end }}",
    )
    .unwrap();
    t.parse("main.yaml", "{{ template \"h\" }}").unwrap();
    let e = t.execute("main.yaml", &Value::Nil).unwrap_err().to_string();
    assert_eq!(
        e,
        "template: _helpers.tpl:2:3: executing \"h\" at <fail \"x\">: error calling fail: x"
    );
}

#[test]
fn parse_errors() {
    let cases = [
        ("{{ .x ", "unclosed action"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ if true }}", "unexpected EOF"),
        ("{{ nofunc 1 }}", "function \"nofunc\" not defined"),
        ("{{ $y }}", "undefined variable \"$y\""),
        ("{{ break }}", "{{break}} outside {{range}}"),
        ("{{ 1 | 2 }}", "non executable command in pipeline stage 2"),
        (
            "a\n{{ define \"x\" }}1{{ end }}{{ define \"x\" }}2{{ end }}",
            "multiple definition of template",
        ),
        ("{{/* x */ 1 }}", "comment ends before closing delimiter"),
        ("{{ \"abc }}", "unterminated quoted string"),
        ("{{ ) }}", "unexpected right paren"),
        ("{{ 3x }}", "bad number syntax"),
    ];
    for (src, want) in cases {
        check_err(src, "{}", want);
        let e = render(src, "{}").unwrap_err().to_string();
        assert!(e.starts_with("template: t:"), "{e}");
    }
    let e = render("a\nb\n{{ nofunc }}", "{}").unwrap_err().to_string();
    assert_eq!(e, "template: t:3: function \"nofunc\" not defined");
}

#[test]
fn non_function_with_args_errors() {
    check_err("{{ 1 2 }}", "{}", "can't give argument to non-function 1");
    check_err("{{ nil }}", "{}", "nil is not a command");
    check_err(
        "{{ .a 1 }}",
        r#"{"a":1}"#,
        "a is not a method but has arguments",
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Templates>();
    assert_send_sync::<Value>();
    let mut t = Templates::new(gotemplate::sprig_funcs());
    t.parse("t", "{{ range until 50 }}{{ . | add 1 }}{{ end }}")
        .unwrap();
    let t = std::sync::Arc::new(t);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            std::thread::spawn(move || t.execute("t", &Value::Nil).unwrap())
        })
        .collect();
    let outs: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
    assert!(outs[0].starts_with("12345"));
}

#[test]
fn actions_may_span_lines_and_trim_newlines() {
    check("{{ printf \"%s-%s\"\n   \"a\"\n   \"b\" }}", "{}", "a-b");
    check("a\n{{- /* multi\nline */ -}}\nb", "{}", "ab");
    check("x {{- \n 1 \n -}} y", "{}", "x1y");
}
