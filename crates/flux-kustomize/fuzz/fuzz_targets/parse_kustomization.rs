//! Kustomization parsing must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = flux_kustomize::Kustomization::parse(std::path::Path::new("kustomization.yaml"), &text);
});
