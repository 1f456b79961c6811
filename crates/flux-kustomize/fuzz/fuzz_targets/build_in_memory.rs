//! A whole build over fuzzed kustomization and resource files must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The input holds a kustomization and a resource file, split at the first NUL.
    let (k, r) = text.split_once('\0').unwrap_or((&text, ""));
    let fs = flux_kustomize::MemFs::new()
        .with_file("/k/kustomization.yaml", k)
        .with_file("/k/res.yaml", r)
        .with_file("/k/patch.yaml", r);
    let _ = flux_kustomize::build(&fs, std::path::Path::new("/k"), &Default::default());
});
