//! Integration tests of kustomize-controller (one binary): the Kustomization controller
//! and source-controller's GitRepository controller on the embedded API server, with a
//! real Git repository served by `git http-backend`.

mod events;
mod fixtures;
mod layered;
mod lifecycle;
mod reconcile;
mod tenancy;
