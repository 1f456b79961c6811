//! Fuzz the patch parsers and appliers: the input is split into an object and a patch; every
//! entry point must return `Ok` or `Err`, never panic.
#![no_main]

use flux_merge::{json_patch, schema, strategic};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (left, right) = text.split_once('\n').unwrap_or((&text, "{}"));
    let (Ok(object), Ok(patch)) = (serde_json::from_str::<Value>(left), serde_json::from_str::<Value>(right)) else {
        return;
    };
    let ty = schema::SchemaSet::builtin()
        .for_object(&object)
        .or_else(|| schema::for_kind("apps/v1", "Deployment"));
    let _ = strategic::apply(&object, &patch, ty);
    let _ = strategic::apply(&object, &patch, None);
    let _ = strategic::create_two_way_patch(&object, &patch, ty);
    let _ = strategic::create_three_way_patch(&object, &patch, &object, ty, false);
    let _ = json_patch::apply_json_patch(&object, &patch);
    let _ = json_patch::apply_merge_patch(&object, &patch);
});
