//! Bounded recursion, output size and iteration counts: errors, never crashes.

use gotemplate::{FuncError, FuncMap, Limits, Templates, Value, func, sprig_funcs};

fn with_include() -> Templates {
    let mut funcs = sprig_funcs();
    funcs.insert(
        "include".into(),
        func(|ctx, a| {
            let name = a.first().and_then(Value::as_str).unwrap_or("").to_string();
            let data = a.get(1).cloned().unwrap_or_default();
            ctx.execute_template(&name, &data)
                .map(Value::from)
                .map_err(FuncError::from)
        }),
    );
    funcs.insert(
        "tpl".into(),
        func(|ctx, a| {
            let src = a.first().and_then(Value::as_str).unwrap_or("").to_string();
            let data = a.get(1).cloned().unwrap_or_default();
            ctx.execute_source("gotpl", &src, &data)
                .map(Value::from)
                .map_err(FuncError::from)
        }),
    );
    Templates::new(funcs)
}

#[test]
fn recursive_template_call_is_an_error() {
    let mut t = Templates::new(FuncMap::new());
    t.parse(
        "a",
        r#"{{ define "r" }}x{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
    )
    .unwrap();
    let e = t.execute("a", &Value::Nil).unwrap_err().to_string();
    assert!(e.contains("exceeded maximum template depth (400)"), "{e}");
}

#[test]
fn cyclic_include_is_an_error() {
    let mut t = with_include();
    t.parse(
        "a",
        r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#,
    )
    .unwrap();
    let e = t.execute("a", &Value::Nil).unwrap_err();
    assert!(e.to_string().contains("error calling include"), "{e}");
    assert!(
        e.innermost()
            .to_string()
            .contains("exceeded maximum template depth"),
        "{e}"
    );
}

#[test]
fn cyclic_tpl_is_an_error() {
    let mut t = with_include();
    t.parse("a", r#"{{ tpl "{{ tpl . . }}" "{{ tpl . . }}" }}"#)
        .unwrap();
    let e = t.execute("a", &Value::Nil).unwrap_err();
    assert!(
        e.innermost()
            .to_string()
            .contains("exceeded maximum template depth"),
        "{e}"
    );
}

#[test]
fn deep_nesting_in_source_is_a_parse_error() {
    let mut t = Templates::new(FuncMap::new());
    let src = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let e = t.parse("p", &src).unwrap_err().to_string();
    assert!(e.contains("nesting too deep"), "{e}");
    let src = format!(
        "{}{}",
        "{{ if true }}".repeat(5000),
        "{{ end }}".repeat(5000)
    );
    let e = t.parse("q", &src).unwrap_err().to_string();
    assert!(e.contains("nesting too deep"), "{e}");
}

#[test]
fn output_size_is_bounded() {
    let mut t = Templates::new(sprig_funcs());
    t.set_limits(Limits {
        max_output_bytes: 1000,
        ..Limits::default()
    });
    t.parse("o", "{{ range until 100 }}0123456789abcdef{{ end }}")
        .unwrap();
    let e = t.execute("o", &Value::Nil).unwrap_err().to_string();
    assert!(e.contains("output exceeds the limit of 1000 bytes"), "{e}");
    t.parse("r", r#"{{ repeat 100000 "ab" }}"#).unwrap();
    let e = t.execute("r", &Value::Nil).unwrap_err().to_string();
    assert!(e.contains("output exceeds the limit"), "{e}");
}

#[test]
fn range_iterations_are_bounded() {
    let mut t = Templates::new(sprig_funcs());
    t.set_limits(Limits {
        max_range_iterations: 50,
        ..Limits::default()
    });
    t.set_go_compat(gotemplate::GoCompat::Go125);
    t.parse("o", "{{ range 1000000000 }}{{ end }}").unwrap();
    let e = t.execute("o", &Value::Nil).unwrap_err().to_string();
    assert!(e.contains("range iteration limit exceeded"), "{e}");
    let e = {
        t.parse("u", "{{ until 1000000000000 }}").unwrap();
        t.execute("u", &Value::Nil).unwrap_err().to_string()
    };
    assert!(e.contains("exceeds the limit"), "{e}");
}

#[test]
fn self_referencing_map_prints_without_crashing() {
    let mut t = Templates::new(sprig_funcs());
    t.parse(
        "c",
        r#"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ len (printf "%v" $d) | lt 0 }} {{ toJson $d }}"#,
    )
    .unwrap();
    let out = t.execute("c", &Value::Nil).unwrap();
    assert!(out.starts_with("true "), "{out}");
}

#[test]
fn comparing_cyclic_maps_does_not_crash() {
    let mut t = Templates::new(sprig_funcs());
    t.parse(
        "c",
        r#"{{ $a := dict }}{{ $_ := set $a "s" $a }}{{ $b := dict }}{{ $_ := set $b "s" $b }}{{ deepEqual $a $b }} {{ has $a (list $b) }} {{ deepEqual $a $a }}"#,
    )
    .unwrap();
    let out = t.execute("c", &Value::Nil).unwrap();
    assert_eq!(out, "false false true");
    let d = format!("{:?}", t.execute("c", &Value::Nil).map(|_| ()));
    assert!(d.contains("Ok"));
}

#[test]
fn deepest_accepted_nesting_executes_on_a_small_stack() {
    // 190 nested calls parse (the limit is 200) and must also execute on a 2 MiB thread
    let src = format!("{{{{ {}0{} }}}}", "(add1 ".repeat(190), ")".repeat(190));
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut t = Templates::new(sprig_funcs());
            t.parse("n", &src).map_err(|e| e.to_string())?;
            t.execute("n", &Value::Nil).map_err(|e| e.to_string())
        })
        .unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), "190");
    let src = format!(
        "{}x{}",
        "{{ if true }}".repeat(190),
        "{{ end }}".repeat(190)
    );
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut t = Templates::new(sprig_funcs());
            t.parse("n", &src).map_err(|e| e.to_string())?;
            t.execute("n", &Value::Nil).map_err(|e| e.to_string())
        })
        .unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), "x");
}
