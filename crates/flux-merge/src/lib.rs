//! flux-merge (work in progress).
