//! Parses arbitrary text as a template and, when it parses, executes it against a small
//! data set. Any panic, stack overflow or hang is a bug: bad input must be an error.
#![no_main]

use gotemplate::{Limits, MissingKey, Templates, Value, sprig_funcs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let mut t = Templates::new(sprig_funcs());
    t.set_missing_key(MissingKey::Zero);
    t.set_limits(Limits {
        max_output_bytes: 1 << 20,
        max_range_iterations: 100_000,
        ..Limits::default()
    });
    if t.parse("fuzz", src).is_err() {
        return;
    }
    let json = serde_json::json!({"a": {"b": [1, "x", null]}, "s": "str", "n": 2});
    let _ = t.execute("fuzz", &Value::from_json(&json));
});
