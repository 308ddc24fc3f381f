//! TikTok's Content Posting API v2 (docs/plugins/tiktok.md): creator info with the account's
//! privacy levels, direct-post video init with `FILE_UPLOAD` (the chunk arithmetic checked
//! as TikTok checks it) or `PULL_FROM_URL`, photo posts pulled from URLs the fake really
//! fetches (on verified URL prefixes only), chunked uploads on a separate upload origin
//! (206 per chunk, 201 at the end, 416 out of order, 403 after the URL's hour), the publish
//! status (`PROCESSING_UPLOAD`/`PROCESSING_DOWNLOAD` → `PUBLISH_COMPLETE`, or `FAILED` with
//! a reason), unaudited apps held to `SELF_ONLY`, per-token per-minute limits, the video
//! list and metrics, and TikTok's `{"data", "error": {"code", "message", "log_id"}}`.

use crate::fault::{self, FaultShapes, Faults};
pub use crate::oauth::TokenRequest;
use crate::oauth::{self, TokenEndpoint};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

/// TikTok's token endpoint: the app's id is `client_key`, sent with the secret as form
/// fields (no HTTP Basic); refresh tokens rotate (TikTok's pages since November 2026).
const TOKEN_ENDPOINT: oauth::Config = oauth::Config {
    path: "/v2/oauth/token/",
    rotate_refresh_tokens: true,
    bad_token_error: "invalid_grant",
    bad_token_description: "Refresh token is invalid or expired.",
    access_token_prefix: "act.fake",
    refresh_token_prefix: "rft.fake",
    client_id_field: "client_key",
    basic_allowed: false,
    body_credentials_allowed: true,
    authorize_path: "/v2/auth/authorize/",
    pkce_required: false,
    scope_separator: ",",
};

/// A post TikTok published.
#[derive(Debug, Clone, PartialEq)]
pub struct TikTokPost {
    pub id: String,
    pub publish_id: String,
    pub open_id: String,
    /// `VIDEO` or `PHOTO`.
    pub media_type: String,
    pub title: String,
    pub description: String,
    pub privacy_level: String,
    pub disable_comment: bool,
    /// Bytes received for a video upload (all of them, in order).
    pub video_bytes: u64,
    /// The URLs photos were pulled from.
    pub photo_urls: Vec<String>,
}

/// A TikTok account (a creator) and its token.
#[derive(Debug, Clone)]
pub struct Creator {
    pub open_id: String,
    pub username: String,
    /// Private accounts offer `FOLLOWER_OF_CREATOR` instead of `PUBLIC_TO_EVERYONE`.
    pub private: bool,
    pub max_video_post_duration_sec: u32,
    pub comment_disabled: bool,
    pub scopes: Vec<String>,
}

impl Creator {
    pub fn new(open_id: &str, username: &str) -> Self {
        Self {
            open_id: open_id.into(),
            username: username.into(),
            private: false,
            max_video_post_duration_sec: 600,
            comment_disabled: false,
            scopes: ["user.info.basic", "video.publish", "video.list"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn privacy_levels(&self) -> Vec<&'static str> {
        if self.private {
            vec!["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        } else {
            vec!["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        }
    }
}

#[derive(Debug, Clone)]
struct Publish {
    open_id: String,
    post: TikTokPost,
    /// `FILE_UPLOAD`: the declared plan and what arrived.
    size: u64,
    chunk: u64,
    chunks: u64,
    received: u64,
    upload_id: String,
    upload_token: String,
    created: Instant,
    /// Set when every byte (or every photo) arrived.
    complete: bool,
    polls_left: u32,
    failed: Option<String>,
    head: Vec<u8>,
}

impl Publish {
    /// A publish whose media TikTok pulled by URL (complete at once; `failed` says why a
    /// pull or its check failed).
    fn pulled(open_id: String, post: TikTokPost, polls: u32, failed: Option<String>) -> Self {
        Self {
            open_id,
            post,
            size: 0,
            chunk: 0,
            chunks: 0,
            received: 0,
            upload_id: String::new(),
            upload_token: String::new(),
            created: Instant::now(),
            complete: true,
            polls_left: polls,
            failed,
            head: vec![],
        }
    }
}

struct Inner {
    creators: HashMap<String, Creator>,
    publishes: HashMap<String, Publish>,
    posts: Vec<TikTokPost>,
    metrics: HashMap<String, (u64, u64, u64, u64)>,
    /// Per (token, endpoint): request times in the last minute.
    calls: HashMap<(String, &'static str), Vec<Instant>>,
    verified_prefixes: Vec<String>,
    unaudited: bool,
    processing_polls: u32,
    upload_ttl: Duration,
    upload_base: String,
    tokens_at_upload: u64,
    next: u64,
    fetcher: reqwest::Client,
}

/// A running fake of TikTok's Content Posting API, with its upload host beside it.
#[derive(Clone)]
pub struct TikTokFake {
    pub base_url: String,
    /// Where upload URLs point: the stand-in for `open-upload.tiktokapis.com`.
    pub upload_base: String,
    pub faults: Faults,
    pub upload_faults: Faults,
    inner: Arc<Mutex<Inner>>,
    oauth: TokenEndpoint,
}

#[derive(Clone)]
struct Shapes;

impl FaultShapes for Shapes {
    fn server_error(&self, status: u16) -> Response {
        error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "internal_error",
            "Something went wrong. Please try again later.",
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "The API rate limit was exceeded. Please try again later.",
        );
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        r
    }
}

/// TikTok's envelope for an error.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"data": {}, "error": {"code": code, "message": message, "log_id": "20261207FAKELOG"}})),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_params", message)
}

fn ok(data: Value) -> Response {
    Json(json!({"data": data, "error": {"code": "ok", "message": "", "log_id": "20261207FAKELOG"}})).into_response()
}

impl TikTokFake {
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            creators: HashMap::new(),
            publishes: HashMap::new(),
            posts: Vec::new(),
            metrics: HashMap::new(),
            calls: HashMap::new(),
            verified_prefixes: Vec::new(),
            unaudited: false,
            processing_polls: 1,
            upload_ttl: Duration::from_secs(3600),
            upload_base: String::new(),
            tokens_at_upload: 0,
            next: 7_400_000_000_000_000_000,
            fetcher: crate::pull::client()?,
        }));
        let uploads = Router::new()
            .route("/video/", put(upload_chunk))
            .layer(DefaultBodyLimit::disable())
            .with_state(inner.clone());
        let (upload_base, upload_faults) = fault::launch(uploads, Shapes).await?;
        lock(&inner).upload_base = upload_base.clone();
        let api = Router::new()
            .route("/v2/post/publish/creator_info/query/", post(creator_info))
            .route("/v2/post/publish/video/init/", post(video_init))
            .route("/v2/post/publish/content/init/", post(content_init))
            .route("/v2/post/publish/status/fetch/", post(status_fetch))
            .route("/v2/video/list/", post(video_list))
            .route("/v2/video/query/", post(video_query))
            .with_state(inner.clone());
        let minted = inner.clone();
        let oauth = TokenEndpoint::new(
            TOKEN_ENDPOINT,
            Arc::new(move |token: &str, grant: &oauth::Grant, _expires_in: u64| {
                let mut g = lock(&minted);
                if g.creators.contains_key(token) {
                    return false;
                }
                let mut c = Creator::new(&grant.user_id, &grant.username);
                c.scopes = grant.scopes.clone();
                g.creators.insert(token.to_owned(), c);
                true
            }),
        );
        let (base_url, faults) = fault::launch(api.merge(oauth.router()), Shapes).await?;
        Ok(Self {
            base_url,
            upload_base,
            faults,
            upload_faults,
            inner,
            oauth,
        })
    }

    /// Issues `token` for `creator`.
    pub fn grant(&self, token: &str, creator: Creator) {
        self.lock().creators.insert(token.to_owned(), creator);
    }

    /// Registers the app (its `client_key` and secret) at the token endpoint.
    pub fn register_client(&self, client_key: &str, client_secret: &str) {
        self.oauth.register_client(client_key, Some(client_secret));
    }

    /// Issues `refresh_token` for `open_id`; the token endpoint accepts it once (it rotates).
    pub fn grant_refresh(&self, refresh_token: &str, open_id: &str, username: &str, scopes: &[&str]) {
        self.oauth.grant_refresh(refresh_token, open_id, username, scopes);
    }

    /// The OAuth 2 endpoints (authorize and token): redirect URIs, who consents, live tokens.
    pub fn oauth(&self) -> &TokenEndpoint {
        &self.oauth
    }

    /// Every request the token endpoint answered.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.oauth.requests()
    }

    /// Stops accepting `token` (an access token that expired).
    pub fn revoke(&self, token: &str) {
        self.lock().creators.remove(token);
    }

    /// URL prefixes the app verified with TikTok: `PULL_FROM_URL` takes only these.
    pub fn verify_prefix(&self, prefix: &str) {
        self.lock().verified_prefixes.push(prefix.to_owned());
    }

    /// An app TikTok has not audited: everything it posts must be `SELF_ONLY`.
    pub fn set_unaudited(&self, unaudited: bool) {
        self.lock().unaudited = unaudited;
    }

    /// Status reads a complete upload answers "processing" to before it is published.
    pub fn set_processing_polls(&self, polls: u32) {
        self.lock().processing_polls = polls;
    }

    /// Ends the processing of every publish so far (their next status read completes them).
    pub fn finish_processing(&self) {
        for p in self.lock().publishes.values_mut() {
            p.polls_left = 0;
        }
    }

    /// How long an upload URL stays valid (an hour).
    pub fn set_upload_ttl(&self, ttl: Duration) {
        self.lock().upload_ttl = ttl;
    }

    pub fn set_metrics(&self, video: &str, likes: u64, comments: u64, shares: u64, views: u64) {
        self.lock()
            .metrics
            .insert(video.to_owned(), (likes, comments, shares, views));
    }

    pub fn posts(&self) -> Vec<TikTokPost> {
        self.lock().posts.clone()
    }

    /// Publishes started (`init` accepted), published or not.
    pub fn inits(&self) -> usize {
        self.lock().publishes.len()
    }

    /// Upload requests that carried an `Authorization` header (the upload URL is its own
    /// credential: a token sent there leaked).
    pub fn tokens_sent_to_upload(&self) -> u64 {
        self.lock().tokens_at_upload
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn lock(s: &Arc<Mutex<Inner>>) -> std::sync::MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The creator of the request's token, with the scope checked and the endpoint's
/// per-minute limit counted.
fn caller(
    g: &mut Inner,
    headers: &HeaderMap,
    scope: &[&str],
    endpoint: &'static str,
    per_minute: usize,
) -> Result<Creator, Response> {
    let token = crate::bearer(headers).unwrap_or_default();
    let Some(creator) = g.creators.get(&token).cloned() else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        ));
    };
    if !scope.is_empty() && !scope.iter().any(|s| creator.scopes.iter().any(|c| c == s)) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            &format!("The user did not authorize the scope required: {}", scope.join(" or ")),
        ));
    }
    let now = Instant::now();
    let calls = g.calls.entry((token, endpoint)).or_default();
    calls.retain(|t| now.duration_since(*t) < Duration::from_secs(60));
    if calls.len() >= per_minute {
        return Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            &format!("The API rate limit was exceeded: {endpoint} takes {per_minute} requests per minute per user"),
        ));
    }
    calls.push(now);
    Ok(creator)
}

fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, Response> {
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(invalid("Content-Type must be application/json; charset=UTF-8"));
    }
    serde_json::from_slice(body).map_err(|e| invalid(&format!("The request body is not valid JSON: {e}")))
}

fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

impl Inner {
    fn next_id(&mut self) -> String {
        self.next += 1;
        self.next.to_string()
    }

    /// The privacy level (and the unaudited rule), as TikTok checks them at init.
    fn check_privacy(&self, creator: &Creator, info: &Value) -> Result<String, Response> {
        let Some(level) = info["privacy_level"].as_str() else {
            return Err(invalid("post_info.privacy_level is required"));
        };
        if !creator.privacy_levels().contains(&level) {
            return Err(error(
                StatusCode::FORBIDDEN,
                "privacy_level_option_mismatch",
                &format!(
                    "privacy_level {level} is not among the creator's options ({})",
                    creator.privacy_levels().join(", ")
                ),
            ));
        }
        if self.unaudited && level != "SELF_ONLY" {
            return Err(error(
                StatusCode::FORBIDDEN,
                "unaudited_client_can_only_post_to_private_accounts",
                "Unaudited clients can only post with privacy_level SELF_ONLY",
            ));
        }
        Ok(level.to_owned())
    }

    fn verified(&self, url: &str) -> bool {
        self.verified_prefixes.iter().any(|p| url.starts_with(p.as_str()))
    }
}

async fn creator_info(State(s): Shared, headers: HeaderMap) -> Response {
    let mut g = lock(&s);
    let c = match caller(&mut g, &headers, &["video.publish"], "creator_info", 20) {
        Ok(c) => c,
        Err(r) => return r,
    };
    ok(json!({
        "creator_avatar_url": format!("https://p16.tiktokcdn.com/{}.jpeg", c.open_id),
        "creator_username": c.username,
        "creator_nickname": c.username,
        "privacy_level_options": c.privacy_levels(),
        "comment_disabled": c.comment_disabled,
        "duet_disabled": false,
        "stitch_disabled": true,
        "max_video_post_duration_sec": c.max_video_post_duration_sec,
    }))
}

/// The chunk arithmetic TikTok enforces: under 5 MB whole; else 5-64 MB chunks (a single
/// whole chunk up to 64 MB), `total_chunk_count = floor(video_size / chunk_size)`, 1-1000
/// chunks, the last (with the remainder) at most 128 MB.
fn check_chunks(size: u64, chunk: u64, count: u64) -> Result<(), String> {
    if size == 0 {
        return Err("video_size must be positive".into());
    }
    if size < 5 * MIB {
        return if chunk == size && count == 1 {
            Ok(())
        } else {
            Err(format!(
                "a video under 5 MB is uploaded whole: chunk_size {size}, total_chunk_count 1"
            ))
        };
    }
    let whole = count == 1 && chunk == size && size <= 64 * MIB;
    if !whole && !(5 * MIB..=64 * MIB).contains(&chunk) {
        return Err(format!("chunk_size {chunk} is outside 5 MB to 64 MB"));
    }
    if count != size / chunk {
        return Err(format!(
            "total_chunk_count {count} is not floor(video_size / chunk_size) = {}",
            size / chunk
        ));
    }
    if !(1..=1000).contains(&count) {
        return Err(format!("total_chunk_count {count} is outside 1 to 1000"));
    }
    if size - (count - 1) * chunk > 128 * MIB {
        return Err("the final chunk would exceed 128 MB".into());
    }
    Ok(())
}

async fn video_init(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (creator, fetcher) = {
        let mut g = lock(&s);
        match caller(&mut g, &headers, &["video.publish"], "video_init", 6) {
            Ok(c) => (c, g.fetcher.clone()),
            Err(r) => return r,
        }
    };
    let info = &v["post_info"];
    let src = &v["source_info"];
    let privacy = match lock(&s).check_privacy(&creator, info) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let title = info["title"].as_str().unwrap_or("");
    if utf16(title) > 2200 {
        return invalid(&format!(
            "post_info.title is {} UTF-16 runes; at most 2200 are allowed",
            utf16(title)
        ));
    }
    if !info["brand_content_toggle"].is_boolean() {
        return invalid("post_info.brand_content_toggle is required");
    }
    let mut p = TikTokPost {
        id: String::new(),
        publish_id: String::new(),
        open_id: creator.open_id.clone(),
        media_type: "VIDEO".into(),
        title: title.to_owned(),
        description: String::new(),
        privacy_level: privacy,
        disable_comment: info["disable_comment"].as_bool().unwrap_or(false),
        video_bytes: 0,
        photo_urls: vec![],
    };
    // A pull fetches before the state is locked again.
    let pulled = match (src["source"].as_str(), src["video_url"].as_str()) {
        (Some("PULL_FROM_URL"), Some(url)) => {
            if !lock(&s).verified(url) {
                return error(
                    StatusCode::FORBIDDEN,
                    "url_ownership_unverified",
                    "The video URL's domain or prefix is not verified for this app",
                );
            }
            Some(crate::pull::fetch(&fetcher, url).await)
        }
        _ => None,
    };
    let mut g = lock(&s);
    match src["source"].as_str() {
        Some("FILE_UPLOAD") => {
            let (Some(size), Some(chunk), Some(count)) = (
                src["video_size"].as_u64(),
                src["chunk_size"].as_u64(),
                src["total_chunk_count"].as_u64(),
            ) else {
                return invalid("source_info needs video_size, chunk_size and total_chunk_count");
            };
            if let Err(why) = check_chunks(size, chunk, count) {
                return invalid(&why);
            }
            let publish_id = format!("v_pub_file~v2-1.{}", g.next_id());
            let upload_id = g.next_id();
            let upload_token = format!("tok{}", g.next_id());
            let upload_url = format!(
                "{}/video/?upload_id={upload_id}&upload_token={upload_token}",
                g.upload_base
            );
            p.publish_id = publish_id.clone();
            let polls = g.processing_polls;
            g.publishes.insert(
                publish_id.clone(),
                Publish {
                    open_id: creator.open_id,
                    post: p,
                    size,
                    chunk,
                    chunks: count,
                    received: 0,
                    upload_id,
                    upload_token,
                    created: Instant::now(),
                    complete: false,
                    polls_left: polls,
                    failed: None,
                    head: vec![],
                },
            );
            ok(json!({"publish_id": publish_id, "upload_url": upload_url}))
        }
        Some("PULL_FROM_URL") => {
            let Some(pulled) = pulled else {
                return invalid("source_info.video_url is required for PULL_FROM_URL");
            };
            let publish_id = format!("v_pub_url~v2.{}", g.next_id());
            p.publish_id = publish_id.clone();
            let failed = match &pulled {
                Err(_) => Some("video_pull_failed".to_owned()),
                Ok(b) if crate::pull::sniff(b) != Some("mp4") => Some("file_format_check_failed".into()),
                Ok(_) => None,
            };
            p.video_bytes = pulled.map(|b| b.len() as u64).unwrap_or(0);
            let polls = g.processing_polls;
            g.publishes
                .insert(publish_id.clone(), Publish::pulled(creator.open_id, p, polls, failed));
            ok(json!({"publish_id": publish_id}))
        }
        other => invalid(&format!(
            "source_info.source {other:?} is not FILE_UPLOAD or PULL_FROM_URL"
        )),
    }
}

/// Photo posts: pulled from verified URLs only.
async fn content_init(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (creator, fetcher) = {
        let mut g = lock(&s);
        match caller(&mut g, &headers, &["video.publish", "video.upload"], "content_init", 6) {
            Ok(c) => (c, g.fetcher.clone()),
            Err(r) => return r,
        }
    };
    if v["media_type"].as_str() != Some("PHOTO") {
        return invalid("media_type must be PHOTO");
    }
    if !matches!(v["post_mode"].as_str(), Some("DIRECT_POST" | "MEDIA_UPLOAD")) {
        return invalid("post_mode must be DIRECT_POST or MEDIA_UPLOAD");
    }
    let info = &v["post_info"];
    let src = &v["source_info"];
    let privacy = match lock(&s).check_privacy(&creator, info) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let title = info["title"].as_str().unwrap_or("");
    let description = info["description"].as_str().unwrap_or("");
    if utf16(title) > 90 {
        return invalid("post_info.title takes at most 90 runes for a photo post");
    }
    if utf16(description) > 4000 {
        return invalid("post_info.description takes at most 4000 runes");
    }
    if src["source"].as_str() != Some("PULL_FROM_URL") {
        return invalid("photo posts take source PULL_FROM_URL only");
    }
    let urls: Vec<String> = src["photo_images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    if !(1..=35).contains(&urls.len()) {
        return invalid(&format!("photo_images has {} items; 1 to 35 are allowed", urls.len()));
    }
    let cover = src["photo_cover_index"].as_u64().unwrap_or(0);
    if cover as usize >= urls.len() {
        return invalid("photo_cover_index is outside photo_images");
    }
    if let Some(u) = urls.iter().find(|u| !lock(&s).verified(u)) {
        return error(
            StatusCode::FORBIDDEN,
            "url_ownership_unverified",
            &format!("{u}: the domain or prefix is not verified for this app"),
        );
    }
    let mut failed = None;
    for u in &urls {
        match crate::pull::fetch(&fetcher, u).await {
            Err(_) => failed = failed.or(Some("photo_pull_failed".to_owned())),
            Ok(b) if !matches!(crate::pull::sniff(&b), Some("jpeg" | "webp")) => {
                failed = failed.or(Some("file_format_check_failed".to_owned()));
            }
            Ok(_) => {}
        }
    }
    let mut g = lock(&s);
    let publish_id = format!("p_pub_url~v2.{}", g.next_id());
    let polls = g.processing_polls;
    let post = TikTokPost {
        id: String::new(),
        publish_id: publish_id.clone(),
        open_id: creator.open_id.clone(),
        media_type: "PHOTO".into(),
        title: title.into(),
        description: description.into(),
        privacy_level: privacy,
        disable_comment: info["disable_comment"].as_bool().unwrap_or(false),
        video_bytes: 0,
        photo_urls: urls,
    };
    g.publishes.insert(
        publish_id.clone(),
        Publish::pulled(creator.open_id, post, polls, failed),
    );
    ok(json!({"publish_id": publish_id}))
}

/// `PUT {upload_url}`: one chunk, in order, its range and length exactly as planned.
async fn upload_chunk(
    State(s): Shared,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // The body is read (counted, not kept) before anything is answered, as a server that
    // answers an upload only once it arrived.
    let mut stream = body.into_data_stream();
    let mut got = 0u64;
    let mut head = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return invalid("the chunk's body was cut off");
        };
        if head.len() < 16 {
            head.extend(chunk.iter().take(16 - head.len()));
        }
        got += chunk.len() as u64;
    }
    let upload_id = q.get("upload_id").cloned().unwrap_or_default();
    let token = q.get("upload_token").cloned().unwrap_or_default();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (publish_id, expected) = {
        let mut g = lock(&s);
        if headers.contains_key("authorization") {
            g.tokens_at_upload += 1;
        }
        let ttl = g.upload_ttl;
        let Some((id, p)) = g
            .publishes
            .iter()
            .find(|(_, p)| !p.upload_id.is_empty() && p.upload_id == upload_id && p.upload_token == token)
        else {
            return error(
                StatusCode::NOT_FOUND,
                "invalid_file_upload",
                "No upload task for this URL",
            );
        };
        if p.created.elapsed() >= ttl {
            return error(
                StatusCode::FORBIDDEN,
                "invalid_file_upload",
                "The upload URL has expired",
            );
        }
        if p.complete {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_file_upload",
                "The upload is already complete",
            );
        }
        let progress = |p: &Publish| {
            let mut r = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "invalid_file_upload",
                "Content-Range does not continue the upload",
            );
            if p.received > 0
                && let Ok(v) = HeaderValue::from_str(&format!("bytes 0-{}/{}", p.received - 1, p.size))
            {
                r.headers_mut().insert("content-range", v);
            }
            r
        };
        let Some(range) = header("content-range") else {
            return invalid("Content-Range is required");
        };
        let parsed = range.strip_prefix("bytes ").and_then(|r| {
            let (span, total) = r.split_once('/')?;
            let (a, b) = span.split_once('-')?;
            Some((
                a.parse::<u64>().ok()?,
                b.parse::<u64>().ok()?,
                total.parse::<u64>().ok()?,
            ))
        });
        let Some((first, last, total)) = parsed else {
            return invalid(&format!("Content-Range {range:?} is not bytes FIRST-LAST/TOTAL"));
        };
        if total != p.size || last < first || last >= total {
            return invalid(&format!("Content-Range {range:?} does not fit video_size {}", p.size));
        }
        if first != p.received {
            return progress(p);
        }
        let index = first / p.chunk.max(1);
        let want_end = if index + 1 >= p.chunks { p.size } else { first + p.chunk };
        if last + 1 != want_end {
            return invalid(&format!(
                "chunk {} must span bytes {first}-{} (chunk_size {}, the last chunk taking the remainder)",
                index + 1,
                want_end - 1,
                p.chunk
            ));
        }
        let length: Option<u64> = header("content-length").and_then(|l| l.parse().ok());
        if length != Some(last + 1 - first) {
            return invalid("Content-Length must equal the chunk's length in Content-Range");
        }
        if !matches!(
            header("content-type").as_deref(),
            Some("video/mp4" | "video/quicktime" | "video/webm")
        ) {
            return invalid("Content-Type must be video/mp4, video/quicktime or video/webm");
        }
        (id.clone(), last + 1 - first)
    };
    if got != expected {
        return invalid(&format!("received {got} bytes; Content-Length said {expected}"));
    }
    let mut g = lock(&s);
    let Some(p) = g.publishes.get_mut(&publish_id) else {
        return error(
            StatusCode::NOT_FOUND,
            "invalid_file_upload",
            "No upload task for this URL",
        );
    };
    if p.received == 0 {
        p.head = head;
    }
    p.received += got;
    let range = format!("bytes 0-{}/{}", p.received - 1, p.size);
    let status = if p.received == p.size {
        p.complete = true;
        p.post.video_bytes = p.received;
        if crate::pull::sniff(&p.head) != Some("mp4") {
            p.failed = Some("file_format_check_failed".into());
        }
        StatusCode::CREATED
    } else {
        StatusCode::PARTIAL_CONTENT
    };
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&range) {
        r.headers_mut().insert("content-range", v);
    }
    r
}

async fn status_fetch(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut g = lock(&s);
    let creator = match caller(&mut g, &headers, &["video.publish", "video.upload"], "status_fetch", 30) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(id) = v["publish_id"].as_str().map(str::to_owned) else {
        return invalid("publish_id is required");
    };
    let Some(p) = g.publishes.get(&id).cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_publish_id",
            "The publish_id does not exist",
        );
    };
    if p.open_id != creator.open_id {
        return error(
            StatusCode::BAD_REQUEST,
            "token_not_authorized_for_specified_publish_id",
            "The token does not own this publish_id",
        );
    }
    let pulled = p.upload_id.is_empty();
    let processing = if pulled {
        "PROCESSING_DOWNLOAD"
    } else {
        "PROCESSING_UPLOAD"
    };
    if !p.complete {
        return ok(json!({"status": processing, "uploaded_bytes": p.received, "publicaly_available_post_id": []}));
    }
    if let Some(reason) = &p.failed {
        return ok(json!({"status": "FAILED", "fail_reason": reason, "publicaly_available_post_id": []}));
    }
    if p.polls_left > 0 {
        if let Some(p) = g.publishes.get_mut(&id) {
            p.polls_left -= 1;
        }
        return ok(json!({"status": processing, "publicaly_available_post_id": []}));
    }
    // Published on the first complete read; the id is public for public posts only.
    let post_id = match g.posts.iter().find(|x| x.publish_id == id) {
        Some(x) => x.id.clone(),
        None => {
            let mut post = p.post.clone();
            post.id = g.next_id();
            let pid = post.id.clone();
            g.posts.push(post);
            pid
        }
    };
    let ids: Vec<u64> = if p.post.privacy_level == "PUBLIC_TO_EVERYONE" {
        post_id.parse().into_iter().collect()
    } else {
        vec![]
    };
    ok(json!({"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": ids,
              "uploaded_bytes": p.received}))
}

async fn video_list(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut g = lock(&s);
    let creator = match caller(&mut g, &headers, &["video.list"], "video_list", 600) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let max = v["max_count"].as_u64().unwrap_or(10);
    if !(1..=20).contains(&max) {
        return invalid("max_count takes 1 to 20");
    }
    let videos: Vec<Value> = g
        .posts
        .iter()
        .rev()
        .filter(|p| p.open_id == creator.open_id)
        .take(max as usize)
        .map(|p| {
            json!({"id": p.id, "title": p.title, "video_description": p.description,
                   "share_url": format!("https://www.tiktok.com/@{}/video/{}", creator.username, p.id)})
        })
        .collect();
    ok(json!({"videos": videos, "cursor": 0, "has_more": false}))
}

async fn video_query(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let v = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut g = lock(&s);
    let creator = match caller(&mut g, &headers, &["video.list"], "video_query", 600) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let ids: Vec<String> = v["filters"]["video_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i.as_str().map(str::to_owned))
        .collect();
    if !(1..=20).contains(&ids.len()) {
        return invalid("filters.video_ids takes 1 to 20 ids");
    }
    let videos: Vec<Value> = ids
        .iter()
        .filter(|id| g.posts.iter().any(|p| &p.id == *id && p.open_id == creator.open_id))
        .map(|id| {
            let (l, c, sh, vw) = g.metrics.get(id).copied().unwrap_or_default();
            json!({"id": id, "like_count": l, "comment_count": c, "share_count": sh, "view_count": vw})
        })
        .collect();
    ok(json!({"videos": videos, "cursor": 0, "has_more": false}))
}

#[cfg(test)]
mod tests {
    use super::check_chunks;

    const MB: u64 = 1_000_000;
    const MIB: u64 = super::MIB;

    #[test]
    fn chunk_arithmetic_is_tiktoks() {
        assert!(check_chunks(50_000_123, 10 * MB, 5).is_ok(), "TikTok's own example");
        assert!(check_chunks(3 * MB, 3 * MB, 1).is_ok(), "under 5 MB: whole");
        assert!(check_chunks(3 * MB, MB, 3).is_err(), "under 5 MB is never chunked");
        assert!(
            check_chunks(50_000_123, 10 * MB, 6).is_err(),
            "count is floor(size / chunk)"
        );
        assert!(check_chunks(50_000_123, 4 * MB, 12).is_err(), "chunks under 5 MB");
        assert!(check_chunks(200 * MIB, 100 * MIB, 2).is_err(), "chunks over 64 MB");
        assert!(check_chunks(60 * MIB, 60 * MIB, 1).is_ok(), "a whole video up to 64 MB");
        assert!(
            check_chunks(100 * MIB, 100 * MIB, 1).is_err(),
            "over 64 MB must be chunked"
        );
        assert!(
            check_chunks(6_000 * MIB, 5 * MIB, 1200).is_err(),
            "more than 1000 chunks"
        );
    }
}
