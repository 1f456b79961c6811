//! flux-dev: the whole GitOps loop on one machine (`flux dev [PATH]`): the embedded API
//! server, every controller in-process, a GitRepository + Kustomization named
//! `flux-system` pointing at a local Git work tree, and live status.
//!
//! Work in progress: see issue #8.
