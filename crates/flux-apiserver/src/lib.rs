//! flux-apiserver: an embedded, durable, Kubernetes-compatible API server.
//!
//! It serves discovery, CRUD, list/watch with resourceVersions and bookmarks, JSON and
//! merge patches, finalizers, namespaces and CRDs (validation, defaulting, pruning) over
//! HTTPS with a bearer token, or in-process as a `tower::Service`:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = flux_apiserver::ApiServer::in_memory()?;
//! let client = kube::Client::new(server.router(), "default");
//! # let _ = client; Ok(()) }
//! ```
//!
//! It knows nothing about Flux. See the README for what is served and what is not yet.

pub mod cel_rules;
pub mod crd;
pub mod defaults;
pub mod discovery;
pub mod field_validation;
pub mod formats;
pub mod object_meta;
pub mod openapi;
pub mod ownership;
pub mod protobuf;
pub mod rbac;
pub mod replica_controllers;
pub mod request;
pub mod resources;
pub mod schema;
pub mod selector;
pub mod server;
pub mod simulator;
pub mod status;
pub mod store;
pub mod table;
pub mod tls;
pub mod validation;
pub mod verbs;
pub mod watch;

pub use server::{Api, ApiServer, ServerError, kubeconfig, run_dev, write_kubeconfig};
pub use status::ApiError;
pub use store::{Durability, Store, StoreError};
pub use tls::{TlsError, TlsMaterial};
