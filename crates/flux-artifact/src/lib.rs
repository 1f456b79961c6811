//! flux-artifact (work in progress).
