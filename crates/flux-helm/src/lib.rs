//! flux-helm (work in progress).
