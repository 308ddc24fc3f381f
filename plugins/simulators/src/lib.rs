//! Loopback simulators of the social platforms' APIs: the platforms of `chorus serve --demo`
//! (the offline sandbox, so they ship with the product) and of the end-to-end tests.
//!
//! Each simulator serves one platform on `127.0.0.1` and enforces the contract that
//! `docs/plugins/<platform>.md` writes down from the platform's public documentation:
//! authentication and scopes,
//! required headers, field validation and limits with the platform's own error shapes,
//! duplicate content, media upload state machines, and rate limits with the platform's
//! headers. It records what it accepted, so tests can assert on the platform's view, and
//! takes switchable faults (5xx, 429, slow answers, dropped connections) through [`Faults`].
//!
//! A fake that accepts anything proves nothing: a request the real platform would refuse,
//! the fake refuses, with the status and body the platform would send.

pub mod bluesky;
pub mod facebook;
pub mod fault;
pub mod instagram;
pub mod linkedin;
pub mod mastodon;
mod meta;
pub mod oauth;
pub mod pinterest;
mod pull;
pub mod tiktok;
pub mod x;

pub use fault::{Fault, FaultMix, Faults};

/// Serves `router` on a free loopback port; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(format!("http://{addr}"))
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}
