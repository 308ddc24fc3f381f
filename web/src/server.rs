//! The HTTP server: health, readiness and metrics for now; the REST API and the web UI
//! mount here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chorus_core::store::Store;
use serde_json::json;
use std::time::Instant;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub plugins: std::sync::Arc<chorus_core::plugins::PluginRegistry>,
    pub started: Instant,
    /// The in-process engine's figures, for `/metrics` (none when this process runs no engine).
    pub stats: Option<std::sync::Arc<chorus_core::delivery::Stats>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Liveness: the process is up and serving. Does not touch the database.
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": s.started.elapsed().as_secs(),
    }))
}

/// Readiness: 200 only while the database answers, so a load balancer stops sending
/// traffic to a node that lost its database.
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok" }))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": "unreachable", "error": e.to_string() })),
        ),
    }
}

/// Prometheus scrape: queue depth per state, engine counters, outcomes, lateness.
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    match crate::metrics::render(&s.store, s.stats.as_deref()).await {
        Ok(text) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("metrics unavailable: {e}\n")).into_response(),
    }
}
