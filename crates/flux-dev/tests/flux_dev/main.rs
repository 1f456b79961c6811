//! Integration tests of flux-dev (embedded API server + in-process controllers).

#[test]
fn crate_links() {
    assert_eq!(env!("CARGO_PKG_NAME"), "flux-dev");
}
