//! One Mastodon server (docs/plugins/mastodon.md): statuses, the account's timeline and a
//! status's counters, with a bearer token per account, the 500-character limit (every URL
//! counts as 23, as Mastodon counts), `Idempotency-Key`, replies that must point at an
//! existing status, ISO 639-1 `language`, and 300 statuses per account per 3 hours with
//! `X-RateLimit-*` headers whose reset is an ISO 8601 time. Several can run at once, each
//! its own server with its own accounts, as the fediverse is.
//!
//! Media uploads (`/api/v2/media`) are not simulated: they are refused with 422 and a
//! message saying so, never accepted and dropped.

use crate::fault::{self, FaultShapes, Faults};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A status the server accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub id: String,
    pub account_id: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    pub language: Option<String>,
    /// The token it was posted with (tests check a token reached only its own server).
    pub token: String,
}

#[derive(Debug, Clone)]
struct Account {
    id: String,
    username: String,
}

#[derive(Default)]
struct Inner {
    domain: String,
    tokens: HashMap<String, Account>,
    statuses: Vec<Status>,
    counts: HashMap<String, (u64, u64, u64)>,
    /// (account, key) → (status id, when): Mastodon keeps a key for an hour.
    idempotency: HashMap<(String, String), (String, Instant)>,
    /// Statuses per account in the current window, and when the window ends.
    windows: HashMap<String, (u32, DateTime<Utc>)>,
    status_limit: u32,
    next_id: u64,
}

/// A running fake Mastodon server.
#[derive(Clone)]
pub struct MastodonFake {
    pub base_url: String,
    pub faults: Faults,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct Shapes;

impl FaultShapes for Shapes {
    fn server_error(&self, status: u16) -> Response {
        error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "Service Unavailable",
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let reset = Utc::now() + chrono::Duration::seconds(i64::from(retry_after) + 1);
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        rate_headers(r.headers_mut(), 300, 0, reset);
        r
    }
}

const WINDOW: Duration = Duration::from_secs(3 * 3600);
const IDEMPOTENCY: Duration = Duration::from_secs(3600);
const MAX_CHARS: usize = 500;
const URL_CHARS: usize = 23;

impl MastodonFake {
    /// Starts a server named `domain` (it appears in status URLs) on a free loopback port.
    pub async fn start(domain: &str) -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            domain: domain.to_owned(),
            status_limit: 300,
            next_id: 110_000_000_000_000_001,
            ..Inner::default()
        }));
        let router = Router::new()
            .route("/api/v1/statuses", post(create_status))
            .route("/api/v1/statuses/{id}", get(get_status))
            .route("/api/v1/accounts/verify_credentials", get(verify_credentials))
            .route("/api/v1/accounts/{id}/statuses", get(timeline))
            .route("/api/v2/media", post(no_media))
            .with_state(inner.clone());
        let (base_url, faults) = fault::launch(router, Shapes).await?;
        Ok(Self {
            base_url,
            faults,
            inner,
        })
    }

    /// Gives `token` to the account `account_id` (`@username` on this server).
    pub fn grant(&self, token: &str, account_id: &str, username: &str) {
        self.lock().tokens.insert(
            token.to_owned(),
            Account {
                id: account_id.to_owned(),
                username: username.to_owned(),
            },
        );
    }

    /// Every status accepted, oldest first.
    pub fn statuses(&self) -> Vec<Status> {
        self.lock().statuses.clone()
    }

    /// The counters `GET /api/v1/statuses/:id` reports for a status.
    pub fn set_counts(&self, id: &str, favourites: u64, reblogs: u64, replies: u64) {
        self.lock().counts.insert(id.to_owned(), (favourites, reblogs, replies));
    }

    /// Statuses an account may post per 3 hours (300 by default, as Mastodon's).
    pub fn set_status_limit(&self, n: u32) {
        self.lock().status_limit = n;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

/// Mastodon's error shape: `{"error": "..."}`.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn rate_headers(h: &mut HeaderMap, limit: u32, remaining: u32, reset: DateTime<Utc>) {
    let reset = reset.to_rfc3339_opts(SecondsFormat::Millis, true);
    for (k, v) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

fn account_of(inner: &Inner, headers: &HeaderMap) -> Result<(String, Account), Response> {
    let token = crate::bearer(headers).ok_or_else(|| error(StatusCode::UNAUTHORIZED, "The access token is invalid"))?;
    let account = inner
        .tokens
        .get(&token)
        .cloned()
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "The access token is invalid"))?;
    Ok((token, account))
}

/// A status's length as Mastodon counts it: characters, every URL as 23.
fn mastodon_length(text: &str) -> usize {
    let urls = chorus_text::text::find_urls(text);
    let in_urls: usize = urls.iter().map(|r| text[r.clone()].chars().count()).sum();
    text.chars().count() - in_urls + urls.len() * URL_CHARS
}

fn status_json(domain: &str, s: &Status, username: &str) -> Value {
    json!({
        "id": s.id,
        "url": format!("https://{domain}/@{username}/{}", s.id),
        "content": format!("<p>{}</p>", html_escape(&s.text).replace('\n', "<br />")),
        "in_reply_to_id": s.in_reply_to,
        "language": s.language,
        "account": { "id": s.account_id, "username": username },
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn create_status(State(inner): Shared, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let (token, account) = match account_of(&g, &headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "This fake takes JSON bodies only");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "The body is not valid JSON");
    };
    let text = v["status"].as_str().unwrap_or("").to_owned();
    if v.get("media_ids")
        .is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty()))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: media is not simulated by this fake",
        );
    }
    if text.trim().is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Text can't be blank",
        );
    }
    let length = mastodon_length(&text);
    if length > MAX_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Validation failed: Text character limit of {MAX_CHARS} exceeded ({length})"),
        );
    }
    let in_reply_to = v["in_reply_to_id"].as_str().map(str::to_owned);
    if let Some(parent) = &in_reply_to {
        if !g.statuses.iter().any(|s| &s.id == parent) {
            return error(StatusCode::NOT_FOUND, "Record not found");
        }
    }
    let language = v["language"].as_str().map(str::to_owned);
    if let Some(l) = &language {
        if l.len() != 2 || !l.bytes().all(|b| b.is_ascii_lowercase()) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("Validation failed: Language {l:?} is not an ISO 639-1 code"),
            );
        }
    }
    let domain = g.domain.clone();
    // The same key from the same account within an hour: the status made the first time.
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| (account.id.clone(), k.to_owned()));
    if let Some((id, at)) = key.as_ref().and_then(|k| g.idempotency.get(k)) {
        if at.elapsed() < IDEMPOTENCY {
            let id = id.clone();
            if let Some(s) = g.statuses.iter().find(|s| s.id == id) {
                return (StatusCode::OK, Json(status_json(&domain, s, &account.username))).into_response();
            }
        }
    }
    let now = Utc::now();
    let limit = g.status_limit;
    let window = g
        .windows
        .entry(account.id.clone())
        .or_insert((0, now + chrono::Duration::from_std(WINDOW).unwrap_or_default()));
    if window.1 <= now {
        *window = (0, now + chrono::Duration::from_std(WINDOW).unwrap_or_default());
    }
    if window.0 >= limit {
        let reset = window.1;
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        rate_headers(r.headers_mut(), limit, 0, reset);
        return r;
    }
    window.0 += 1;
    let (used, reset) = *window;
    let id = g.next_id.to_string();
    g.next_id += 1;
    let status = Status {
        id: id.clone(),
        account_id: account.id.clone(),
        text,
        in_reply_to,
        language,
        token,
    };
    g.statuses.push(status.clone());
    if let Some(k) = key {
        g.idempotency.insert(k, (id, Instant::now()));
    }
    let mut r = (StatusCode::OK, Json(status_json(&domain, &status, &account.username))).into_response();
    rate_headers(r.headers_mut(), limit, limit - used, reset);
    r
}

async fn get_status(State(inner): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let g = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(r) = account_of(&g, &headers) {
        return r;
    }
    let Some(s) = g.statuses.iter().find(|s| s.id == id) else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    let username = g
        .tokens
        .values()
        .find(|a| a.id == s.account_id)
        .map_or("unknown".to_owned(), |a| a.username.clone());
    let (favourites, reblogs, replies) = g.counts.get(&id).copied().unwrap_or_default();
    let mut v = status_json(&g.domain, s, &username);
    v["favourites_count"] = favourites.into();
    v["reblogs_count"] = reblogs.into();
    v["replies_count"] = replies.into();
    Json(v).into_response()
}

async fn verify_credentials(State(inner): Shared, headers: HeaderMap) -> Response {
    let g = inner.lock().unwrap_or_else(|e| e.into_inner());
    match account_of(&g, &headers) {
        Ok((_, a)) => Json(json!({ "id": a.id, "username": a.username, "acct": a.username })).into_response(),
        Err(r) => r,
    }
}

async fn timeline(
    State(inner): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let g = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(r) = account_of(&g, &headers) {
        return r;
    }
    let Some(account) = g.tokens.values().find(|a| a.id == id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .min(40);
    let list: Vec<Value> = g
        .statuses
        .iter()
        .rev()
        .filter(|s| s.account_id == id)
        .take(limit)
        .map(|s| status_json(&g.domain, s, &account.username))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn no_media() -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Validation failed: media uploads are not simulated by this fake",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_count_23_whatever_their_length() {
        let url = format!("https://example.com/{}", "a".repeat(200));
        assert_eq!(mastodon_length(&format!("see {url}")), 4 + 23);
        assert_eq!(mastodon_length("héllo"), 5);
    }
}
