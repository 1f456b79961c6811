//! The artifact file server (`--storage-addr`), behind the `server` feature.
//!
//! Serves GET/HEAD of files under the storage root (following the stable symlinks the
//! store writes), 404 for anything missing and for directories (no listings), refuses
//! `..` traversal, and answers `/` with an empty 200 so readiness probes that hit the
//! root (as Flux's Deployment does) succeed.

use std::future::Future;
use std::io;
use std::path::Path;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::services::ServeDir;

/// The router serving `storage_path`.
pub fn router(storage_path: &Path) -> Router {
    let files = ServeDir::new(storage_path)
        .append_index_html_on_directories(false)
        .redirect_to_trailing_slash(false);
    Router::new()
        .route("/", get(|| async { StatusCode::OK }))
        .fallback_service(files)
}

/// Serves `storage_path` on `listener` until `shutdown` completes.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    storage_path: &Path,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(storage_path))
        .with_graceful_shutdown(shutdown)
        .await
}
