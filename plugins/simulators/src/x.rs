//! X API v2 (docs/plugins/x.md): `POST /2/tweets`, the v2 chunked media upload, the user's
//! timeline and post metrics, with OAuth 2 scopes, RFC 7807 problems, weighted length,
//! duplicate-content and cashtag rules, reply rules and `x-rate-limit-*` headers; and the
//! OAuth 2 token endpoint's refresh grant (`POST /2/oauth2/token`, [`crate::oauth`]) with
//! X's single-use, rotating refresh tokens.

use crate::fault::{self, FaultShapes, Faults};
pub use crate::oauth::TokenRequest;
use crate::oauth::{self, TokenEndpoint};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Scopes a full Chorus connection asks for.
pub const ALL_SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

/// A post the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Tweet {
    pub id: String,
    pub author_id: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    pub media_ids: Vec<String>,
}

/// Per-post figures the fake reports (set them with [`XFake::set_metrics`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TweetMetrics {
    pub impressions: u64,
    pub likes: u64,
    pub replies: u64,
    pub retweets: u64,
    pub quotes: u64,
    pub bookmarks: u64,
    pub url_clicks: u64,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    username: String,
    scopes: Vec<String>,
    /// Tokens minted by the token endpoint expire; tokens from [`XFake::grant`] do not.
    expires: Option<Instant>,
}

/// X's token endpoint: refresh tokens are single-use and rotate, and a bad one gets
/// `invalid_request` (not RFC 6749's `invalid_grant`) with this description.
const TOKEN_ENDPOINT: oauth::Config = oauth::Config {
    path: "/2/oauth2/token",
    rotate_refresh_tokens: true,
    bad_token_error: "invalid_request",
    bad_token_description: "Value passed for the token was invalid.",
    access_token_prefix: "x-at-",
    refresh_token_prefix: "x-rt-",
    client_id_field: "client_id",
    basic_allowed: true,
    body_credentials_allowed: true,
    authorize_path: "/i/oauth2/authorize",
    pkce_required: true,
    scope_separator: " ",
};

#[derive(Debug)]
enum MediaState {
    /// Initialized, receiving segments.
    Uploading,
    /// Finalized; STATUS polls left before it succeeds (0: ready).
    Processing(u32),
    Succeeded,
}

#[derive(Debug)]
struct Media {
    owner: String,
    media_type: String,
    total_bytes: u64,
    segments: BTreeMap<u32, usize>,
    state: MediaState,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, User>,
    tweets: Vec<Tweet>,
    /// (author, text) of every post, for the duplicate-content rule in constant time.
    texts: std::collections::HashSet<(String, String)>,
    metrics: HashMap<String, TweetMetrics>,
    media: HashMap<String, Media>,
    next_id: u64,
    /// (user, endpoint) → (remaining, reset epoch seconds).
    budgets: HashMap<(String, &'static str), (u32, u64)>,
    /// Posts per 15 minutes per user (X documents both 100 and 200; configurable).
    post_limit: u32,
}

/// A running fake of the X API.
#[derive(Clone)]
pub struct XFake {
    pub base_url: String,
    pub faults: Faults,
    inner: Arc<Mutex<Inner>>,
    oauth: TokenEndpoint,
}

#[derive(Clone)]
struct Shapes;

impl FaultShapes for Shapes {
    fn server_error(&self, status: u16) -> Response {
        problem(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "about:blank",
            "Service Unavailable",
            "Service Unavailable",
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "about:blank",
            "Too Many Requests",
            "Too Many Requests",
        );
        // The window ends no sooner than `retry_after` seconds from now (rounded up).
        set_rate_headers(r.headers_mut(), 100, 0, now_secs() + u64::from(retry_after) + 1);
        r
    }
}

impl XFake {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 1_860_000_000_000_000_000,
            post_limit: 100,
            ..Inner::default()
        }));
        let router = Router::new()
            .route("/2/tweets", post(create_tweet).get(lookup_tweets))
            .route("/2/tweets/{id}", get(lookup_tweet))
            .route("/2/users/me", get(me))
            .route("/2/users/{id}/tweets", get(timeline))
            .route("/2/media/upload/initialize", post(media_initialize))
            .route("/2/media/upload/{id}/append", post(media_append))
            .route("/2/media/upload/{id}/finalize", post(media_finalize))
            .route("/2/media/upload", get(media_status))
            .with_state(inner.clone());
        let minted = inner.clone();
        let oauth = TokenEndpoint::new(
            TOKEN_ENDPOINT,
            Arc::new(move |token: &str, grant: &oauth::Grant, expires_in: u64| {
                let mut g = minted.lock().expect("x fake lock");
                if g.tokens.contains_key(token) {
                    return false;
                }
                let user = User {
                    id: grant.user_id.clone(),
                    username: grant.username.clone(),
                    scopes: grant.scopes.clone(),
                    expires: Some(Instant::now() + Duration::from_secs(expires_in)),
                };
                g.tokens.insert(token.to_owned(), user);
                true
            }),
        );
        // Merged before the fault layer: injected faults reach the token route too.
        let router = router.merge(oauth.router());
        let (base_url, faults) = fault::launch(router, Shapes).await?;
        Ok(Self {
            base_url,
            faults,
            inner,
            oauth,
        })
    }

    /// Registers the app's OAuth 2 client (replacing any); until then every token request
    /// gets 401 `invalid_client`. `client_secret: None` is a public (PKCE) client.
    pub fn register_client(&self, client_id: &str, client_secret: Option<&str>) {
        self.oauth.register_client(client_id, client_secret);
    }

    /// Issues `refresh_token` for the user with `scopes`; the token endpoint accepts it
    /// once (it rotates), minting an access token with the same user and scopes.
    pub fn grant_refresh(&self, refresh_token: &str, user_id: &str, username: &str, scopes: &[&str]) {
        self.oauth.grant_refresh(refresh_token, user_id, username, scopes);
    }

    /// The OAuth 2 endpoints (authorize and token): redirect URIs, who consents, live tokens.
    pub fn oauth(&self) -> &TokenEndpoint {
        &self.oauth
    }

    /// Every request the token endpoint answered, in arrival order (those answered by
    /// [`XFake::faults`] never reach it and are not listed).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.oauth.requests()
    }

    /// The next `n` token requests answer `status` with a problem body, spending no
    /// refresh token: a transient failure.
    pub fn fail_next_token_requests(&self, n: u32, status: u16) {
        self.oauth.fail_next(n, status);
    }

    /// The token endpoint waits this long before each answer (its decision is made on
    /// arrival), so two racing refreshes overlap.
    pub fn set_token_latency(&self, d: Duration) {
        self.oauth.set_latency(d);
    }

    /// `expires_in` (seconds) of access tokens minted from now on (default 7200); they stop
    /// working after it.
    pub fn set_access_token_lifetime(&self, secs: u64) {
        self.oauth.set_access_token_lifetime(secs);
    }

    /// The `error` for a bad or spent refresh token (default X's `invalid_request`; set
    /// `invalid_grant`, the RFC's, to check the host refuses on both).
    pub fn set_bad_refresh_token_error(&self, error: &str) {
        self.oauth.set_bad_token_error(error);
    }

    /// Issues `token` for the user `username` (id `user_id`) with `scopes`.
    pub fn grant(&self, token: &str, user_id: &str, username: &str, scopes: &[&str]) {
        self.lock().tokens.insert(
            token.to_owned(),
            User {
                id: user_id.to_owned(),
                username: username.to_owned(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                expires: None,
            },
        );
    }

    /// Revokes `token` (as when it expires): the next use gets 401.
    pub fn revoke(&self, token: &str) {
        self.lock().tokens.remove(token);
    }

    /// Posts allowed per user per 15-minute window.
    pub fn set_post_limit(&self, n: u32) {
        self.lock().post_limit = n;
    }

    /// Every post accepted, oldest first.
    pub fn tweets(&self) -> Vec<Tweet> {
        self.lock().tweets.clone()
    }

    pub fn set_metrics(&self, id: &str, m: TweetMetrics) {
        self.lock().metrics.insert(id.to_owned(), m);
    }

    /// Adds a post by another user, for reply-rule tests.
    pub fn add_foreign_tweet(&self, author_id: &str, text: &str) -> String {
        let mut g = self.lock();
        let id = g.next();
        g.texts.insert((author_id.to_owned(), text.to_owned()));
        g.tweets.push(Tweet {
            id: id.clone(),
            author_id: author_id.to_owned(),
            text: text.to_owned(),
            in_reply_to: None,
            media_ids: vec![],
        });
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("x fake lock")
    }
}

impl Inner {
    fn next(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Checks the token and scopes, and spends one call of the endpoint's budget.
    fn authorize(
        &mut self,
        headers: &HeaderMap,
        scopes: &[&str],
        endpoint: &'static str,
        limit: u32,
    ) -> Result<(User, (u32, u32, u64)), Response> {
        let live = |u: &&User| u.expires.is_none_or(|e| Instant::now() < e);
        let Some(user) = crate::bearer(headers).and_then(|t| self.tokens.get(&t).filter(live).cloned()) else {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "about:blank",
                "Unauthorized",
                "Unauthorized",
            ));
        };
        if let Some(missing) = scopes.iter().find(|s| !user.scopes.iter().any(|u| u == *s)) {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "https://api.twitter.com/2/problems/client-forbidden",
                "Forbidden",
                &format!("You are not permitted to perform this action. The token lacks the {missing} scope."),
            ));
        }
        let now = now_secs();
        let budget = self
            .budgets
            .entry((user.id.clone(), endpoint))
            .or_insert((limit, now + 900));
        if budget.1 <= now {
            *budget = (limit, now + 900);
        }
        if budget.0 == 0 {
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "about:blank",
                "Too Many Requests",
                "Too Many Requests",
            );
            set_rate_headers(r.headers_mut(), limit, 0, budget.1);
            return Err(r);
        }
        budget.0 -= 1;
        Ok((user, (limit, budget.0, budget.1)))
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn set_rate_headers(h: &mut HeaderMap, limit: u32, remaining: u32, reset: u64) {
    for (k, v) in [
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", reset.to_string()),
    ] {
        h.insert(k, HeaderValue::from_str(&v).expect("digits"));
    }
}

/// An RFC 7807 problem, as X sends them (`application/problem+json`).
fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> Response {
    let body = json!({"type": kind, "title": title, "detail": detail, "status": status.as_u16()});
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/problem+json"));
    r
}

fn invalid_request(message: &str, parameter: &str) -> Response {
    let body = json!({
        "type": "https://api.twitter.com/2/problems/invalid-request",
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "status": 400,
        "errors": [{"message": message, "parameters": {parameter: []}}],
    });
    let mut r = (StatusCode::BAD_REQUEST, Json(body)).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/problem+json"));
    r
}

fn with_rate(mut r: Response, rate: (u32, u32, u64)) -> Response {
    set_rate_headers(r.headers_mut(), rate.0, rate.1, rate.2);
    r
}

/// X's weighted length, by `chorus-text`'s port of twitter-text 3.1.0, which a test checks
/// against X's own library (`tests/tests/twitter_text.rs`): the simulator enforces X's real
/// rule, not a second guess at it.
pub fn weighted_length(text: &str) -> usize {
    chorus_text::twitter_text::parse(text).weighted_length
}

const TWEET_KEYS: &[&str] = &[
    "text",
    "media",
    "poll",
    "reply",
    "quote_tweet_id",
    "reply_settings",
    "community_id",
    "share_with_followers",
    "geo",
    "for_super_followers_only",
    "nullcast",
    "card_uri",
    "direct_message_deep_link",
    "edit_options",
    "paid_partnership",
];

fn unknown_key(obj: &serde_json::Map<String, Value>, allowed: &[&str]) -> Option<String> {
    obj.keys().find(|k| !allowed.contains(&k.as_str())).cloned()
}

async fn create_tweet(State(s): Shared, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut g = s.lock().expect("x fake lock");
    let limit = g.post_limit;
    let (user, rate) = match g.authorize(&headers, &["tweet.read", "tweet.write", "users.read"], "tweets", limit) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let reject = |r: Response| with_rate(r, rate);
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return reject(invalid_request("The request body is not a JSON object.", "body"));
    };
    if let Some(k) = unknown_key(&req, TWEET_KEYS) {
        return reject(invalid_request(&format!("The `{k}` field is not allowed."), &k));
    }
    let text = req.get("text").and_then(Value::as_str).unwrap_or("").to_owned();
    let media_ids: Vec<String> = match req.get("media") {
        None => vec![],
        Some(Value::Object(m)) => {
            if let Some(k) = unknown_key(m, &["media_ids", "tagged_user_ids"]) {
                return reject(invalid_request(
                    &format!("The `media.{k}` field is not allowed."),
                    "media",
                ));
            }
            let ids: Vec<String> = m
                .get("media_ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if ids.is_empty() || ids.len() > 4 {
                return reject(invalid_request(
                    "Your media IDs are invalid: a post takes 1 to 4 items (maximum of 4 items).",
                    "media.media_ids",
                ));
            }
            ids
        }
        Some(_) => return reject(invalid_request("`media` must be an object.", "media")),
    };
    if !media_ids.is_empty() && req.contains_key("poll") {
        return reject(invalid_request("A post cannot carry both media and a poll.", "media"));
    }
    if text.trim().is_empty() && media_ids.is_empty() {
        return reject(invalid_request("A post needs text or media.", "text"));
    }
    if weighted_length(&text) > 280 {
        return reject(invalid_request("Your Tweet text is too long.", "text"));
    }
    if text.contains(chorus_text::twitter_text::is_invalid_char) {
        return reject(invalid_request("The Tweet text contains an invalid character.", "text"));
    }
    let cashtags = text
        .split_whitespace()
        .filter(|w| w.starts_with('$') && w[1..].chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .count();
    if cashtags > 1 {
        return reject(problem(
            StatusCode::FORBIDDEN,
            "about:blank",
            "Forbidden",
            "Posts on this access level may contain a maximum of one cashtag.",
        ));
    }
    for id in &media_ids {
        let ready = g
            .media
            .get(id)
            .is_some_and(|m| m.owner == user.id && matches!(m.state, MediaState::Succeeded));
        if !(ready && id.len() <= 19 && id.chars().all(|c| c.is_ascii_digit())) {
            return reject(invalid_request(
                &format!("Your media IDs are invalid: {id} is unknown, not yours, or not processed yet."),
                "media.media_ids",
            ));
        }
    }
    let mut in_reply_to = None;
    if let Some(reply) = req.get("reply") {
        let Some(obj) = reply.as_object() else {
            return reject(invalid_request("`reply` must be an object.", "reply"));
        };
        if let Some(k) = unknown_key(
            obj,
            &[
                "in_reply_to_tweet_id",
                "exclude_reply_user_ids",
                "auto_populate_reply_metadata",
            ],
        ) {
            return reject(invalid_request(
                &format!("The `reply.{k}` field is not allowed."),
                "reply",
            ));
        }
        let Some(parent_id) = obj.get("in_reply_to_tweet_id").and_then(Value::as_str) else {
            return reject(invalid_request("`reply.in_reply_to_tweet_id` is required.", "reply"));
        };
        let Some(parent) = g.tweets.iter().find(|t| t.id == parent_id) else {
            return reject(invalid_request("The post being replied to was not found.", "reply"));
        };
        // Self-serve rule since 2026-02: only replies the original author summoned, or to
        // one's own post (a thread).
        let summoned = parent.text.contains(&format!("@{}", user.username));
        if parent.author_id != user.id && !summoned {
            return reject(problem(
                StatusCode::FORBIDDEN,
                "about:blank",
                "Forbidden",
                "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
            ));
        }
        in_reply_to = Some(parent_id.to_owned());
    }
    if !text.is_empty() && g.texts.contains(&(user.id.clone(), text.clone())) {
        return reject(problem(
            StatusCode::FORBIDDEN,
            "about:blank",
            "Forbidden",
            "You are not allowed to create a Tweet with duplicate content.",
        ));
    }
    let id = g.next();
    g.texts.insert((user.id.clone(), text.clone()));
    g.tweets.push(Tweet {
        id: id.clone(),
        author_id: user.id.clone(),
        text: text.clone(),
        in_reply_to,
        media_ids,
    });
    with_rate(
        (StatusCode::CREATED, Json(json!({"data": {"id": id, "text": text}}))).into_response(),
        rate,
    )
}

async fn me(State(s): Shared, headers: HeaderMap) -> Response {
    let mut g = s.lock().expect("x fake lock");
    match g.authorize(&headers, &["users.read"], "me", 75) {
        Ok((u, rate)) => with_rate(
            Json(json!({"data": {"id": u.id, "username": u.username, "name": u.username}})).into_response(),
            rate,
        ),
        Err(r) => r,
    }
}

fn tweet_json(t: &Tweet, metrics: Option<&TweetMetrics>, fields: &str) -> Value {
    let mut v = json!({"id": t.id, "text": t.text, "author_id": t.author_id});
    let m = metrics.cloned().unwrap_or_default();
    if fields.contains("public_metrics") {
        v["public_metrics"] = json!({
            "retweet_count": m.retweets, "reply_count": m.replies, "like_count": m.likes,
            "quote_count": m.quotes, "bookmark_count": m.bookmarks, "impression_count": m.impressions,
        });
    }
    if fields.contains("non_public_metrics") {
        v["non_public_metrics"] = json!({"impression_count": m.impressions, "url_link_clicks": m.url_clicks});
    }
    v
}

async fn timeline(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut g = s.lock().expect("x fake lock");
    let (_, rate) = match g.authorize(&headers, &["tweet.read", "users.read"], "timeline", 900) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let max: usize = match q.get("max_results").map(|v| v.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (5..=100).contains(&n) => n,
        Some(_) => {
            return with_rate(
                invalid_request("`max_results` must be a number from 5 to 100.", "max_results"),
                rate,
            );
        }
    };
    let fields = q.get("tweet.fields").cloned().unwrap_or_default();
    let data: Vec<Value> = g
        .tweets
        .iter()
        .rev()
        .filter(|t| t.author_id == id)
        .take(max)
        .map(|t| tweet_json(t, g.metrics.get(&t.id), &fields))
        .collect();
    let count = data.len();
    with_rate(
        Json(json!({"data": data, "meta": {"result_count": count}})).into_response(),
        rate,
    )
}

async fn lookup_tweet(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    lookup(s, headers, vec![id], q).await
}

async fn lookup_tweets(State(s): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let ids: Vec<String> = q
        .get("ids")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    lookup(s, headers, ids, q).await
}

async fn lookup(s: Arc<Mutex<Inner>>, headers: HeaderMap, ids: Vec<String>, q: HashMap<String, String>) -> Response {
    let mut g = s.lock().expect("x fake lock");
    let (user, rate) = match g.authorize(&headers, &["tweet.read", "users.read"], "lookup", 900) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if ids.is_empty() || ids.len() > 100 {
        return with_rate(invalid_request("`ids` takes 1 to 100 post ids.", "ids"), rate);
    }
    let fields = q.get("tweet.fields").cloned().unwrap_or_default();
    if fields.contains("non_public_metrics") {
        if let Some(t) = g.tweets.iter().find(|t| ids.contains(&t.id) && t.author_id != user.id) {
            return with_rate(
                problem(
                    StatusCode::FORBIDDEN,
                    "https://api.twitter.com/2/problems/not-authorized-for-resource",
                    "Forbidden",
                    &format!("non_public_metrics are only available for your own posts, not {}", t.id),
                ),
                rate,
            );
        }
    }
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for id in &ids {
        match g.tweets.iter().find(|t| &t.id == id) {
            Some(t) => data.push(tweet_json(t, g.metrics.get(id), &fields)),
            None => errors.push(json!({"resource_id": id, "resource_type": "tweet", "title": "Not Found Error", "detail": format!("Could not find tweet with ids: [{id}]."), "type": "https://api.twitter.com/2/problems/resource-not-found"})),
        }
    }
    let mut body = json!({"data": data});
    if !errors.is_empty() {
        body["errors"] = errors.into();
    }
    with_rate(Json(body).into_response(), rate)
}

const MEDIA_TYPES: &[&str] = &[
    "video/mp4",
    "video/webm",
    "video/mp2t",
    "video/quicktime",
    "text/srt",
    "text/vtt",
    "image/jpeg",
    "image/gif",
    "image/bmp",
    "image/png",
    "image/webp",
    "image/pjpeg",
    "image/tiff",
    "model/gltf-binary",
    "model/vnd.usdz+zip",
];

async fn media_initialize(State(s): Shared, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut g = s.lock().expect("x fake lock");
    let (user, rate) = match g.authorize(&headers, &["media.write"], "media", 1875) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return with_rate(invalid_request("The request body is not a JSON object.", "body"), rate);
    };
    if let Some(k) = unknown_key(
        &req,
        &[
            "media_type",
            "total_bytes",
            "media_category",
            "additional_owners",
            "shared",
        ],
    ) {
        return with_rate(invalid_request(&format!("The `{k}` field is not allowed."), &k), rate);
    }
    let media_type = req.get("media_type").and_then(Value::as_str).unwrap_or("");
    if !MEDIA_TYPES.contains(&media_type) {
        return with_rate(
            invalid_request(&format!("`media_type` {media_type:?} is not supported."), "media_type"),
            rate,
        );
    }
    let category = req
        .get("media_category")
        .and_then(Value::as_str)
        .unwrap_or("tweet_image");
    let cap: u64 = match category {
        "tweet_image" | "dm_image" => 5 * 1024 * 1024,
        "tweet_gif" | "dm_gif" => 15 * 1024 * 1024,
        "tweet_video" | "dm_video" | "amplify_video" => 512 * 1024 * 1024,
        "subtitles" => 1024 * 1024,
        other => {
            return with_rate(
                invalid_request(
                    &format!("`media_category` {other:?} is not supported."),
                    "media_category",
                ),
                rate,
            );
        }
    };
    let total = req.get("total_bytes").and_then(Value::as_u64).unwrap_or(0);
    if total == 0 || total > cap {
        return with_rate(
            invalid_request(
                &format!("`total_bytes` must be 1 to {cap} for {category}."),
                "total_bytes",
            ),
            rate,
        );
    }
    let id = g.next();
    g.media.insert(
        id.clone(),
        Media {
            owner: user.id,
            media_type: media_type.to_owned(),
            total_bytes: total,
            segments: BTreeMap::new(),
            state: MediaState::Uploading,
        },
    );
    with_rate(
        Json(json!({"data": {"id": id, "media_key": format!("3_{id}"), "expires_after_secs": 86400}})).into_response(),
        rate,
    )
}

async fn media_append(State(s): Shared, headers: HeaderMap, Path(id): Path<String>, mut form: Multipart) -> Response {
    let mut index: Option<i64> = None;
    let mut bytes: Option<usize> = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("segment_index") => index = field.text().await.ok().and_then(|t| t.trim().parse().ok()),
            Some("media") => bytes = field.bytes().await.ok().map(|b| b.len()),
            _ => {}
        }
    }
    let mut g = s.lock().expect("x fake lock");
    let (user, rate) = match g.authorize(&headers, &["media.write"], "media", 1875) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(m) = g.media.get_mut(&id).filter(|m| m.owner == user.id) else {
        return with_rate(invalid_request("The media id is not known.", "id"), rate);
    };
    if !matches!(m.state, MediaState::Uploading) {
        return with_rate(invalid_request("The media was already finalized.", "id"), rate);
    }
    let Some(index) = index.filter(|i| (0..=999).contains(i)) else {
        return with_rate(
            invalid_request("`segment_index` must be 0 to 999.", "segment_index"),
            rate,
        );
    };
    let Some(len) = bytes.filter(|n| *n > 0) else {
        return with_rate(invalid_request("The `media` part is missing or empty.", "media"), rate);
    };
    m.segments.insert(index as u32, len);
    with_rate(
        Json(json!({"data": {"expires_at": now_secs() + 86400}})).into_response(),
        rate,
    )
}

async fn media_finalize(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut g = s.lock().expect("x fake lock");
    let (user, rate) = match g.authorize(&headers, &["media.write"], "media", 1875) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(m) = g.media.get_mut(&id).filter(|m| m.owner == user.id) else {
        return with_rate(invalid_request("The media id is not known.", "id"), rate);
    };
    let received: u64 = m.segments.values().map(|n| *n as u64).sum();
    let contiguous = m.segments.keys().enumerate().all(|(i, k)| i as u32 == *k);
    if received != m.total_bytes || !contiguous {
        return with_rate(
            invalid_request(
                &format!(
                    "Segments do not add up to provided total file size: received {received} of {} bytes.",
                    m.total_bytes
                ),
                "id",
            ),
            rate,
        );
    }
    // Images are ready at once; video and GIFs process (two STATUS polls here).
    let processing = !m.media_type.starts_with("image/") || m.media_type == "image/gif";
    m.state = if processing {
        MediaState::Processing(2)
    } else {
        MediaState::Succeeded
    };
    let mut data = json!({"id": id, "media_key": format!("3_{id}"), "size": received, "expires_after_secs": 86400});
    if processing {
        data["processing_info"] = json!({"state": "pending", "check_after_secs": 1});
    }
    with_rate(Json(json!({"data": data})).into_response(), rate)
}

async fn media_status(State(s): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut g = s.lock().expect("x fake lock");
    let (user, rate) = match g.authorize(&headers, &["media.write"], "media_status", 1000) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if q.get("command").map(String::as_str) != Some("STATUS") {
        return with_rate(invalid_request("`command` must be STATUS.", "command"), rate);
    }
    let id = q.get("media_id").cloned().unwrap_or_default();
    let Some(m) = g.media.get_mut(&id).filter(|m| m.owner == user.id) else {
        return with_rate(invalid_request("The media id is not known.", "media_id"), rate);
    };
    let info = match &mut m.state {
        MediaState::Uploading => return with_rate(invalid_request("The media is not finalized.", "media_id"), rate),
        MediaState::Processing(0) => {
            m.state = MediaState::Succeeded;
            json!({"state": "succeeded", "progress_percent": 100})
        }
        MediaState::Processing(n) => {
            *n -= 1;
            json!({"state": "in_progress", "check_after_secs": 1, "progress_percent": 50})
        }
        MediaState::Succeeded => json!({"state": "succeeded", "progress_percent": 100}),
    };
    with_rate(
        Json(json!({"data": {"id": id, "media_key": format!("3_{id}"), "processing_info": info}})).into_response(),
        rate,
    )
}

#[cfg(test)]
mod tests {
    use super::weighted_length;

    #[test]
    fn weighs_like_twitter_text() {
        assert_eq!(weighted_length("hello"), 5);
        assert_eq!(
            weighted_length("see https://example.com/a/very/long/path now"),
            4 + 23 + 4
        );
        assert_eq!(weighted_length("go to example.com."), 6 + 23 + 1);
        assert_eq!(weighted_length("日本"), 4);
        assert_eq!(weighted_length("👨‍👩‍👧‍👦!"), 3);
        assert_eq!(
            weighted_length("🧑🏿\u{200d}💻"),
            5,
            "newer than twemoji 11: parts and joiner"
        );
    }
}
