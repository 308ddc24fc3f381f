//! A Bluesky PDS (docs/plugins/bluesky.md): app-password sessions
//! (`com.atproto.server.createSession`, `refreshSession`, access tokens that expire),
//! `com.atproto.repo.createRecord` for `app.bsky.feed.post` with the post's rules (300
//! graphemes and 3,000 UTF-8 bytes, an RFC 3339 `createdAt`, at most 3 `langs`, facets whose
//! byte ranges fall on UTF-8 boundaries inside the text and match what they mark, replies
//! whose root and parent exist, image embeds of uploaded blobs), `uploadBlob`,
//! `resolveHandle`, `getAuthorFeed`, `getPosts`, and `ratelimit-*` headers on 429. Errors
//! are XRPC's: `{"error": "InvalidRequest", "message": "..."}`.

use crate::fault::{self, FaultShapes, Faults};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const COLLECTION: &str = "app.bsky.feed.post";
const MAX_GRAPHEMES: usize = 300;
const MAX_BYTES: usize = 3000;
const MAX_IMAGE_BYTES: usize = 1_000_000;

/// A post the PDS stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub uri: String,
    pub cid: String,
    pub did: String,
    pub record: Value,
}

impl Post {
    pub fn text(&self) -> &str {
        self.record["text"].as_str().unwrap_or("")
    }
}

#[derive(Debug, Clone)]
struct Account {
    did: String,
    handle: String,
    password: String,
}

struct Token {
    did: String,
    expires: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    accounts: Vec<Account>,
    access: HashMap<String, Token>,
    /// Refresh tokens rotate: each works once.
    refresh: HashMap<String, String>,
    posts: Vec<Post>,
    blobs: HashMap<String, (String, usize)>,
    counts: HashMap<String, (u64, u64, u64, u64)>,
    access_ttl: Duration,
    /// createRecord calls per account before a 429, and the window's reset (epoch seconds).
    create_limit: Option<u32>,
    created: HashMap<String, u32>,
    sessions_created: u32,
    sessions_refreshed: u32,
    next: u64,
}

/// A running fake PDS.
#[derive(Clone)]
pub struct BlueskyFake {
    pub base_url: String,
    pub faults: Faults,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct Shapes;

impl FaultShapes for Shapes {
    fn server_error(&self, status: u16) -> Response {
        xrpc_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "InternalServerError",
            "Internal Server Error",
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let mut r = xrpc_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
        );
        rate_headers(
            r.headers_mut(),
            Utc::now().timestamp() as u64 + u64::from(retry_after) + 1,
        );
        r
    }
}

impl BlueskyFake {
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            access_ttl: Duration::from_secs(2 * 3600),
            next: 1,
            ..Inner::default()
        }));
        let router = Router::new()
            .route("/xrpc/com.atproto.server.createSession", post(create_session))
            .route("/xrpc/com.atproto.server.refreshSession", post(refresh_session))
            .route("/xrpc/com.atproto.repo.createRecord", post(create_record))
            .route("/xrpc/com.atproto.repo.uploadBlob", post(upload_blob))
            .route("/xrpc/com.atproto.identity.resolveHandle", get(resolve_handle))
            .route("/xrpc/app.bsky.feed.getAuthorFeed", get(author_feed))
            .route("/xrpc/app.bsky.feed.getPosts", get(get_posts))
            .with_state(inner.clone());
        let (base_url, faults) = fault::launch(router, Shapes).await?;
        Ok(Self {
            base_url,
            faults,
            inner,
        })
    }

    /// An account `handle` (`did`) that signs in with `app_password`.
    pub fn add_account(&self, did: &str, handle: &str, app_password: &str) {
        self.lock().accounts.push(Account {
            did: did.into(),
            handle: handle.into(),
            password: app_password.into(),
        });
    }

    /// How long access tokens last (2 hours by default, as Bluesky's).
    pub fn set_access_ttl(&self, ttl: Duration) {
        self.lock().access_ttl = ttl;
    }

    /// Makes every access token issued so far expire now (the next call gets ExpiredToken).
    pub fn expire_access_tokens(&self) {
        for t in self.lock().access.values_mut() {
            t.expires = Utc::now() - chrono::Duration::seconds(1);
        }
    }

    /// Revokes every refresh token (the next refresh is refused; only signing in works).
    pub fn revoke_refresh_tokens(&self) {
        self.lock().refresh.clear();
    }

    /// Changes an account's app password (a person revoked the old one).
    pub fn set_password(&self, did: &str, app_password: &str) {
        if let Some(a) = self.lock().accounts.iter_mut().find(|a| a.did == did) {
            a.password = app_password.into();
        }
    }

    /// Posts each account may create before 429s.
    pub fn set_create_limit(&self, n: u32) {
        self.lock().create_limit = Some(n);
    }

    pub fn posts(&self) -> Vec<Post> {
        self.lock().posts.clone()
    }

    /// (sessions opened with a password, sessions refreshed).
    pub fn session_counts(&self) -> (u32, u32) {
        let g = self.lock();
        (g.sessions_created, g.sessions_refreshed)
    }

    pub fn set_counts(&self, uri: &str, likes: u64, reposts: u64, replies: u64, quotes: u64) {
        self.lock().counts.insert(uri.into(), (likes, reposts, replies, quotes));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

fn invalid(message: impl AsRef<str>) -> Response {
    xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", message.as_ref())
}

fn rate_headers(h: &mut HeaderMap, reset_epoch: u64) {
    for (k, v) in [
        ("ratelimit-limit", "5000".to_owned()),
        ("ratelimit-remaining", "0".to_owned()),
        ("ratelimit-reset", reset_epoch.to_string()),
        ("ratelimit-policy", "5000;w=3600".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
}

/// A token shaped like atproto's JWTs (the host reads `exp` to renew in time).
fn jwt(did: &str, exp: i64, scope: &str, n: u64) -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.fake-signature-{n}",
        b64(json!({ "typ": "at+jwt", "alg": "ES256K" })),
        b64(json!({ "scope": scope, "sub": did, "exp": exp, "jti": n }))
    )
}

fn issue(g: &mut Inner, did: &str) -> (String, String) {
    let n = g.next;
    g.next += 1;
    let expires = Utc::now() + chrono::Duration::from_std(g.access_ttl).unwrap_or_default();
    let access = jwt(did, expires.timestamp(), "com.atproto.access", n);
    let refresh = jwt(
        did,
        (Utc::now() + chrono::Duration::days(60)).timestamp(),
        "com.atproto.refresh",
        n,
    );
    g.access.insert(
        access.clone(),
        Token {
            did: did.into(),
            expires,
        },
    );
    g.refresh.insert(refresh.clone(), did.into());
    (access, refresh)
}

fn session_json(a: &Account, access: &str, refresh: &str) -> Value {
    json!({ "did": a.did, "handle": a.handle, "accessJwt": access, "refreshJwt": refresh, "active": true })
}

fn bearer_of(h: &HeaderMap) -> Option<String> {
    crate::bearer(h)
}

/// The DID an access token belongs to, or the XRPC error for it.
fn authed(g: &Inner, h: &HeaderMap) -> Result<String, Response> {
    let token =
        bearer_of(h).ok_or_else(|| xrpc_error(StatusCode::UNAUTHORIZED, "AuthMissing", "Authentication Required"))?;
    let t = g
        .access
        .get(&token)
        .ok_or_else(|| xrpc_error(StatusCode::BAD_REQUEST, "InvalidToken", "Token could not be verified"))?;
    if t.expires <= Utc::now() {
        return Err(xrpc_error(StatusCode::BAD_REQUEST, "ExpiredToken", "Token has expired"));
    }
    Ok(t.did.clone())
}

async fn create_session(State(inner): Shared, Json(body): Json<Value>) -> Response {
    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let (Some(id), Some(pw)) = (body["identifier"].as_str(), body["password"].as_str()) else {
        return invalid("Input must have the properties \"identifier\" and \"password\"");
    };
    let Some(a) = g
        .accounts
        .iter()
        .find(|a| (a.handle == id || a.did == id) && a.password == pw)
        .cloned()
    else {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    };
    g.sessions_created += 1;
    let (access, refresh) = issue(&mut g, &a.did);
    Json(session_json(&a, &access, &refresh)).into_response()
}

async fn refresh_session(State(inner): Shared, headers: HeaderMap) -> Response {
    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let Some(token) = bearer_of(&headers) else {
        return xrpc_error(StatusCode::UNAUTHORIZED, "AuthMissing", "Authentication Required");
    };
    let Some(did) = g.refresh.remove(&token) else {
        return xrpc_error(StatusCode::BAD_REQUEST, "ExpiredToken", "Token has been revoked");
    };
    let Some(a) = g.accounts.iter().find(|a| a.did == did).cloned() else {
        return xrpc_error(StatusCode::BAD_REQUEST, "AccountNotFound", "Account not found");
    };
    g.sessions_refreshed += 1;
    let (access, refresh) = issue(&mut g, &did);
    Json(session_json(&a, &access, &refresh)).into_response()
}

fn is_language_tag(t: &str) -> bool {
    let mut parts = t.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Why a post record breaks the lexicon or the PDS's rules, if it does.
fn check_record(g: &Inner, did: &str, r: &Value) -> Result<(), String> {
    if r["$type"] != COLLECTION {
        return Err(format!("Invalid record: $type must be {COLLECTION}"));
    }
    let text = r["text"]
        .as_str()
        .ok_or("Invalid record: record must have the property \"text\"")?;
    let graphemes = chorus_text::text::grapheme_len(text);
    if graphemes > MAX_GRAPHEMES {
        return Err(format!(
            "Invalid record: record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        ));
    }
    if text.len() > MAX_BYTES {
        return Err(format!(
            "Invalid record: record/text must not be longer than {MAX_BYTES} characters"
        ));
    }
    let created = r["createdAt"]
        .as_str()
        .ok_or("Invalid record: record must have the property \"createdAt\"")?;
    DateTime::parse_from_rfc3339(created)
        .map_err(|_| "Invalid record: record/createdAt must be an valid atproto datetime")?;
    if let Some(langs) = r.get("langs") {
        let langs = langs
            .as_array()
            .ok_or("Invalid record: record/langs must be an array")?;
        if langs.len() > 3 {
            return Err("Invalid record: record/langs must not have more than 3 elements".into());
        }
        if let Some(bad) = langs.iter().find(|l| !l.as_str().is_some_and(is_language_tag)) {
            return Err(format!(
                "Invalid record: record/langs has an invalid language tag {bad}"
            ));
        }
    }
    for (i, f) in r["facets"].as_array().into_iter().flatten().enumerate() {
        let (start, end) = (f["index"]["byteStart"].as_u64(), f["index"]["byteEnd"].as_u64());
        let (Some(start), Some(end)) = (start, end) else {
            return Err(format!(
                "Invalid record: record/facets/{i}/index must have byteStart and byteEnd"
            ));
        };
        let (start, end) = (start as usize, end as usize);
        if start >= end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(format!(
                "Invalid record: record/facets/{i}/index {start}..{end} is not a range of whole characters inside the text ({} bytes)",
                text.len()
            ));
        }
        let marked = &text[start..end];
        for feature in f["features"].as_array().into_iter().flatten() {
            let ok = match feature["$type"].as_str() {
                Some("app.bsky.richtext.facet#link") => feature["uri"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://")),
                Some("app.bsky.richtext.facet#mention") => {
                    feature["did"].as_str().is_some_and(|d| d.starts_with("did:")) && marked.starts_with('@')
                }
                Some("app.bsky.richtext.facet#tag") => feature["tag"]
                    .as_str()
                    .is_some_and(|t| marked == format!("#{t}") && t.len() <= 640),
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "Invalid record: record/facets/{i} does not match the text it marks ({marked:?}): {feature}"
                ));
            }
        }
    }
    if let Some(reply) = r.get("reply") {
        for end in ["root", "parent"] {
            let (uri, cid) = (reply[end]["uri"].as_str(), reply[end]["cid"].as_str());
            if !g
                .posts
                .iter()
                .any(|p| Some(p.uri.as_str()) == uri && Some(p.cid.as_str()) == cid)
            {
                return Err(format!("Invalid record: reply {end} {uri:?} does not exist"));
            }
        }
    }
    if let Some(embed) = r.get("embed") {
        if embed["$type"] != "app.bsky.embed.images" {
            return Err(format!("Invalid record: unsupported embed {}", embed["$type"]));
        }
        let images = embed["images"]
            .as_array()
            .ok_or("Invalid record: embed/images must be an array")?;
        if images.is_empty() || images.len() > 4 {
            return Err("Invalid record: embed/images must have 1 to 4 elements".into());
        }
        for (i, img) in images.iter().enumerate() {
            let link = img["image"]["ref"]["$link"].as_str().unwrap_or("");
            if !img["alt"].is_string() || !g.blobs.contains_key(link) {
                return Err(format!(
                    "Invalid record: embed/images/{i} needs an uploaded blob and an alt text"
                ));
            }
        }
    }
    let _ = did;
    Ok(())
}

async fn create_record(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let did = match authed(&g, &headers) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if body["repo"].as_str() != Some(did.as_str())
        && body["repo"].as_str() != g.accounts.iter().find(|a| a.did == did).map(|a| a.handle.as_str())
    {
        return invalid("Input/repo must be the session's own repo");
    }
    if body["collection"] != COLLECTION {
        return invalid(format!("Input/collection must be {COLLECTION}"));
    }
    if let Some(limit) = g.create_limit {
        if g.created.get(&did).copied().unwrap_or(0) >= limit {
            let mut r = xrpc_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimitExceeded",
                "Rate Limit Exceeded",
            );
            rate_headers(r.headers_mut(), Utc::now().timestamp() as u64 + 30);
            return r;
        }
    }
    if let Err(why) = check_record(&g, &did, &body["record"]) {
        return invalid(why);
    }
    *g.created.entry(did.clone()).or_default() += 1;
    let n = g.next;
    g.next += 1;
    let rkey = format!("3l{n:011}");
    let uri = format!("at://{did}/{COLLECTION}/{rkey}");
    let cid = format!("bafyreifake{n:020}");
    g.posts.push(Post {
        uri: uri.clone(),
        cid: cid.clone(),
        did,
        record: body["record"].clone(),
    });
    Json(json!({ "uri": uri, "cid": cid, "validationStatus": "valid" })).into_response()
}

async fn upload_blob(State(inner): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(r) = authed(&g, &headers) {
        return r;
    }
    let mime = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !mime.starts_with("image/") {
        return invalid(format!("This fake takes images only; got content-type {mime:?}"));
    }
    if body.len() > MAX_IMAGE_BYTES {
        return xrpc_error(StatusCode::PAYLOAD_TOO_LARGE, "BlobTooLarge", "This file is too large");
    }
    let n = g.next;
    g.next += 1;
    let link = format!("bafkreifakeblob{n:020}");
    g.blobs.insert(link.clone(), (mime.clone(), body.len()));
    Json(json!({ "blob": { "$type": "blob", "ref": { "$link": link }, "mimeType": mime, "size": body.len() } }))
        .into_response()
}

async fn resolve_handle(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let g = inner.lock().unwrap_or_else(|e| e.into_inner());
    let handle = q.get("handle").map(String::as_str).unwrap_or("");
    match g.accounts.iter().find(|a| a.handle == handle) {
        Some(a) => Json(json!({ "did": a.did })).into_response(),
        None => invalid("Unable to resolve handle"),
    }
}

fn post_view(g: &Inner, p: &Post) -> Value {
    let (likes, reposts, replies, quotes) = g.counts.get(&p.uri).copied().unwrap_or_default();
    let handle = g
        .accounts
        .iter()
        .find(|a| a.did == p.did)
        .map_or("", |a| a.handle.as_str());
    json!({
        "uri": p.uri, "cid": p.cid,
        "author": { "did": p.did, "handle": handle },
        "record": p.record,
        "likeCount": likes, "repostCount": reposts, "replyCount": replies, "quoteCount": quotes,
        "indexedAt": Utc::now().to_rfc3339(),
    })
}

async fn author_feed(State(inner): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let g = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(r) = authed(&g, &headers) {
        return r;
    }
    let actor = q.get("actor").cloned().unwrap_or_default();
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return invalid("limit must be between 1 and 100");
    }
    let feed: Vec<Value> = g
        .posts
        .iter()
        .rev()
        .filter(|p| p.did == actor || g.accounts.iter().any(|a| a.handle == actor && a.did == p.did))
        .take(limit)
        .map(|p| json!({ "post": post_view(&g, p) }))
        .collect();
    Json(json!({ "feed": feed })).into_response()
}

async fn get_posts(State(inner): Shared, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let g = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(r) = authed(&g, &headers) {
        return r;
    }
    // `uris` repeats (`?uris=a&uris=b`), at most 25.
    let uris: Vec<String> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "uris")
        .map(|(_, v)| v.into_owned())
        .collect();
    if uris.len() > 25 {
        return invalid("uris must not have more than 25 elements");
    }
    let posts: Vec<Value> = uris
        .iter()
        .filter_map(|u| g.posts.iter().find(|p| &p.uri == u))
        .map(|p| post_view(&g, p))
        .collect();
    Json(json!({ "posts": posts })).into_response()
}
