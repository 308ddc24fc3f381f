//! The HTTP server: health, readiness, metrics and signed media, and (in `chorus serve`)
//! the REST API; the web UI mounts here.

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
    /// Serves signed media URLs at `/media/{id}` (none: the route answers 404).
    pub media: Option<chorus_core::media::MediaLibrary>,
}

/// Health, readiness, metrics and signed media: what every process serves (`chorus worker
/// --metrics-bind` serves only this).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/media/{id}", get(media))
        .with_state(state)
}

/// [`router`] with the REST API: what `chorus serve` serves.
pub fn router_with(state: AppState, api: crate::api::ApiState) -> Router {
    router(state).merge(crate::api::router(api))
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

/// A media asset for a platform that fetches it (Instagram, TikTok, Pinterest): only with a
/// valid, unexpired signature (`?exp=…&sig=…`, made by [`chorus_core::media::UrlSigner`]);
/// anything else is a 403 that names no asset. The bytes stream from storage.
async fn media(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    let forbidden = |why: String| (StatusCode::FORBIDDEN, format!("{why}\n")).into_response();
    let (Some(library), Some(signer)) = (s.media.as_ref(), s.media.as_ref().and_then(|m| m.signer())) else {
        return (StatusCode::NOT_FOUND, "no media is served here\n").into_response();
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return forbidden("the media URL is not one Chorus made".into());
    };
    if let Err(e) = signer.check(
        id,
        q.get("exp").map(String::as_str),
        q.get("sig").map(String::as_str),
        chrono::Utc::now(),
    ) {
        return forbidden(e.to_string());
    }
    let asset = match s.store.media_asset(id).await {
        Ok(a) => a,
        Err(_) => return (StatusCode::NOT_FOUND, "the media asset was removed\n").into_response(),
    };
    let size = asset.byte_size.max(0) as u64;
    match library.storage().stream(&asset.storage_key, 0..size).await {
        Ok(stream) => (
            StatusCode::OK,
            [
                (axum::http::header::CONTENT_TYPE, asset.mime_type.clone()),
                (axum::http::header::CONTENT_LENGTH, size.to_string()),
                (axum::http::header::CACHE_CONTROL, "private, max-age=300".to_owned()),
            ],
            axum::body::Body::from_stream(stream),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(asset = %id, error = %e, "cannot read a media asset for a platform");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the media storage cannot be read now\n",
            )
                .into_response()
        }
    }
}
