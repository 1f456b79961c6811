//! flux-object (work in progress).
