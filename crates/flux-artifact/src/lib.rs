//! flux-artifact: the artifact format and store Flux controllers share.
//!
//! - [`archive`]: reproducible tar.gz of a directory (same content ⇒ same digest).
//! - [`digest`]: `<algorithm>:<hex>` digests (sha256, sha384, sha512, blake3, sha1).
//! - [`revision`]: revision strings (`main@sha1:<hex>`, `latest@sha256:<hex>`, legacy forms).
//! - [`source_ignore`]: `.sourceignore` / `spec.ignore` with Flux's defaults and precedence.
//! - [`storage`]: `<kind>/<namespace>/<name>/<file>` store, atomic writes, locks, GC, URLs.
//! - [`extract`]: the consumer-side extractor with traversal, link, type and size guards.
//! - `server` (feature `server`): the HTTP file server for `--storage-addr`.
//!
//! Everything except the server is synchronous and does no network I/O.

pub mod archive;
pub mod digest;
pub mod extract;
mod go_glob;
pub mod revision;
pub mod source_ignore;
pub mod storage;

#[cfg(feature = "server")]
pub mod server;

pub use archive::{PackError, PackFilter, PackOptions, PackSummary, pack_dir};
pub use digest::{Algorithm, Digest, DigestError, DigestWriter, Digester};
pub use extract::{
    ExtractError, ExtractOptions, ExtractSummary, LinkKind, LinkPolicy, extract, extract_verified,
    extract_verified_bytes, extract_verified_file,
};
pub use revision::{
    Revision, RevisionError, has_revision, revision_differs, transform_legacy_revision,
};
pub use source_ignore::{IgnoreError, IgnoreMatcher, IgnorePattern};
pub use storage::{ArtifactLock, Storage, StorageError, StorageOptions, StoredArtifact};
