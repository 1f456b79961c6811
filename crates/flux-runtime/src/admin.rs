//! The admin server: `/healthz` and `/readyz` (simple pings, as Flux's) and `/metrics`.

use std::future::Future;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

/// The admin router. Flux serves metrics on `--metrics-addr` and probes on
/// `--health-addr`; the same router can be bound to both.
pub fn router(metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(
                            CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        metrics.encode(),
                    )
                        .into_response()
                }
            }),
        )
}

/// Serves the admin router on `listener` until `shutdown` completes.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, router(metrics))
        .with_graceful_shutdown(shutdown)
        .await
}
