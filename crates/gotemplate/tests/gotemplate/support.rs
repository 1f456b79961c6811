//! Shared helpers: render a template with Sprig and JSON data.

use gotemplate::{Error, MissingKey, Templates, Value, sprig_funcs};

/// Renders `src` (template name "t") with `data` given as JSON (numbers become float64
/// as in Helm values).
pub fn render(src: &str, data: &str) -> Result<String, Error> {
    render_with(src, data, MissingKey::Default)
}

pub fn render_with(src: &str, data: &str, mk: MissingKey) -> Result<String, Error> {
    let json: serde_json::Value = serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
    let mut t = Templates::new(sprig_funcs());
    t.set_missing_key(mk);
    t.parse("t", src)?;
    t.execute("t", &Value::from_json(&json))
}

/// Asserts a render result.
#[track_caller]
pub fn check(src: &str, data: &str, want: &str) {
    match render(src, data) {
        Ok(got) => assert_eq!(got, want, "template {src:?}"),
        Err(e) => panic!("template {src:?} failed: {e}"),
    }
}

/// Asserts a render error whose text contains `want`.
#[track_caller]
pub fn check_err(src: &str, data: &str, want: &str) {
    match render(src, data) {
        Ok(got) => panic!("template {src:?} rendered {got:?}, expected error containing {want:?}"),
        Err(e) => {
            let s = e.to_string();
            assert!(
                s.contains(want),
                "template {src:?}: error {s:?} does not contain {want:?}"
            );
        }
    }
}
