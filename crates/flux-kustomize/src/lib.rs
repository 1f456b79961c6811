//! flux-kustomize (work in progress).
