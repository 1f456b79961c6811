//! flux-api (work in progress).
