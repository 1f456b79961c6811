//! flux-apiserver (work in progress).
