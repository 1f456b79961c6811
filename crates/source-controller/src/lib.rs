//! source-controller: the Flux source-controller's GitRepository reconciler, on
//! flux-runtime. Git reads use gix; artifacts are packed, stored and served by
//! flux-artifact.
//!
//! * [`git_repository::GitRepositoryReconciler`]: the reconciler.
//! * [`reference`]: ref precedence, semver selection (Masterminds constraints from
//!   gotemplate's Sprig implementation), resolution against advertised refs.
//! * [`auth`]: credentials from `secretRef`.
//! * [`git`]: ls-refs, shallow fetch and tree checkout with gix.
//! * [`run`]: the controller plus the artifact file server, as `fluxd --controllers=source`
//!   runs it.

pub mod auth;
pub mod git;
pub mod git_repository;
pub mod reference;
pub mod verify;

use std::future::Future;
use std::sync::Arc;

use flux_api::source::GitRepository;
use flux_artifact::{Storage, StorageError, StorageOptions};
use flux_runtime::Runtime;

pub use git_repository::GitRepositoryReconciler;

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The storage directory could not be created.
    #[error("creating storage path '{path}'")]
    StoragePath {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The storage could not be opened.
    #[error("opening artifact storage")]
    Storage {
        #[source]
        source: StorageError,
    },
    /// The storage server address could not be bound.
    #[error("binding the artifact server to '{addr}'")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Opens (creating the directory) the artifact storage.
pub fn open_storage(options: &StorageOptions) -> Result<Storage, StartError> {
    std::fs::create_dir_all(&options.storage_path).map_err(|source| StartError::StoragePath {
        path: options.storage_path.clone(),
        source,
    })?;
    Storage::new(options).map_err(|source| StartError::Storage { source })
}

/// Binds `--storage-addr` (Go form `:9090` means all interfaces).
pub async fn bind_storage_server(addr: &str) -> Result<tokio::net::TcpListener, StartError> {
    let bind = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Runs the GitRepository controller and serves the storage on `listener` until
/// `shutdown` completes.
pub async fn run<F>(rt: Runtime, storage: Storage, listener: tokio::net::TcpListener, shutdown: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    flux_runtime::install_crypto_provider();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let root = storage.base_path().to_path_buf();
    let mut server_rx = rx.clone();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = server_rx.wait_for(|v| *v).await;
        };
        if let Err(e) = flux_artifact::server::serve(listener, &root, stop).await {
            tracing::error!(error = %e, "artifact server failed");
        }
    });
    let mut ctl_rx = rx;
    let reconciler = Arc::new(GitRepositoryReconciler::new(Arc::new(storage)));
    let controller =
        flux_runtime::controller::run::<GitRepository, _, _>(rt, reconciler, async move {
            let _ = ctl_rx.wait_for(|v| *v).await;
        });
    tokio::pin!(controller);
    tokio::select! {
        _ = &mut controller => {}
        _ = shutdown => {}
    }
    let _ = tx.send(true);
    let _ = server.await;
}
