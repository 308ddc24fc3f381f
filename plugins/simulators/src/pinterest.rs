//! Pinterest API v5 (docs/plugins/pinterest.md): Pins on the token's own boards with
//! PinCreate's limits (board and section ids `^\d+$`, title 100, description 800 or a
//! configured 500, link 2,048, alt text 500), images fetched from their URLs (one, or 2-5 in
//! `multiple_image_urls`), videos registered with `POST /v5/media`, uploaded as a multipart
//! POST with every signed parameter to a separate upload origin (the stand-in for Pinterest's
//! S3 bucket), processed `registered` → `processing` → `succeeded`, and pinned only with a
//! cover; a board's Pins, Pin analytics, and Pinterest's `{code, message}` errors.

use crate::fault::{self, FaultShapes, Faults};
pub use crate::oauth::TokenRequest;
use crate::oauth::{self, TokenEndpoint};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Pinterest's token endpoint: the app authenticates with HTTP Basic only (the spec's
/// `security: basic`); refresh tokens stay valid (continuous refresh).
const TOKEN_ENDPOINT: oauth::Config = oauth::Config {
    path: "/v5/oauth/token",
    rotate_refresh_tokens: false,
    bad_token_error: "invalid_grant",
    bad_token_description: "Invalid refresh token.",
    access_token_prefix: "pina_fake",
    refresh_token_prefix: "pinr_fake",
    client_id_field: "client_id",
    basic_allowed: true,
    body_credentials_allowed: false,
    authorize_path: "/oauth/",
    pkce_required: false,
    scope_separator: ",",
};

/// A Pin the fake created.
#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub id: String,
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: String,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// `image`, `multiple_images` or `video`.
    pub media_type: String,
    /// The URLs Pinterest fetched images from, in order.
    pub image_urls: Vec<String>,
    /// The registered video's id and the bytes it received.
    pub video: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
struct Video {
    user: String,
    /// The signed parameters the upload must carry back.
    params: HashMap<String, String>,
    bytes: u64,
    uploaded: bool,
    is_video: bool,
    polls_left: u32,
}

struct Inner {
    /// token → (user, scopes)
    tokens: HashMap<String, (String, Vec<String>)>,
    /// board id → (owner, name)
    boards: HashMap<String, (String, String)>,
    pins: Vec<Pin>,
    videos: HashMap<String, Video>,
    analytics: HashMap<String, HashMap<String, u64>>,
    description_limit: usize,
    processing_polls: u32,
    upload_base: String,
    tokens_at_upload: u64,
    next: u64,
    fetcher: reqwest::Client,
}

/// A running fake of Pinterest's API v5, with its upload bucket beside it.
#[derive(Clone)]
pub struct PinterestFake {
    pub base_url: String,
    /// Where video uploads go: the stand-in for
    /// `pinterest-media-upload.s3-accelerate.amazonaws.com`.
    pub upload_base: String,
    pub faults: Faults,
    inner: Arc<Mutex<Inner>>,
    oauth: TokenEndpoint,
}

#[derive(Clone)]
struct Shapes;

impl FaultShapes for Shapes {
    fn server_error(&self, status: u16) -> Response {
        error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            1,
            "Something went wrong on our end. Sorry about that.",
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, 8, "Rate limit exceeded.");
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        r
    }
}

/// Pinterest's error body: `{code, message}`.
fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, 1, message)
}

impl PinterestFake {
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            tokens: HashMap::new(),
            boards: HashMap::new(),
            pins: Vec::new(),
            videos: HashMap::new(),
            analytics: HashMap::new(),
            description_limit: 800,
            processing_polls: 1,
            upload_base: String::new(),
            tokens_at_upload: 0,
            next: 813_744_226_420_795_000,
            fetcher: crate::pull::client()?,
        }));
        let bucket = Router::new()
            .route("/", post(upload))
            .layer(DefaultBodyLimit::disable())
            .with_state(inner.clone());
        let upload_base = crate::serve(bucket).await?;
        lock(&inner).upload_base = upload_base.clone();
        let api = Router::new()
            .route("/v5/pins", post(create_pin))
            .route("/v5/pins/{id}/analytics", get(analytics))
            .route("/v5/media", post(register_media))
            .route("/v5/media/{id}", get(media_status))
            .route("/v5/boards/{id}/pins", get(board_pins))
            .with_state(inner.clone());
        let minted = inner.clone();
        let oauth = TokenEndpoint::new(
            TOKEN_ENDPOINT,
            Arc::new(move |token: &str, grant: &oauth::Grant, _expires_in: u64| {
                let mut g = lock(&minted);
                if g.tokens.contains_key(token) {
                    return false;
                }
                g.tokens
                    .insert(token.to_owned(), (grant.user_id.clone(), grant.scopes.clone()));
                true
            }),
        );
        let (base_url, faults) = fault::launch(api.merge(oauth.router()), Shapes).await?;
        Ok(Self {
            base_url,
            upload_base,
            faults,
            inner,
            oauth,
        })
    }

    /// Issues `token` for `user` with the scopes a publishing app asks for.
    pub fn grant(&self, token: &str, user: &str) {
        let scopes = [
            "boards:read",
            "boards:write",
            "pins:read",
            "pins:write",
            "user_accounts:read",
        ];
        self.grant_scopes(token, user, &scopes);
    }

    pub fn grant_scopes(&self, token: &str, user: &str, scopes: &[&str]) {
        self.lock().tokens.insert(
            token.to_owned(),
            (user.to_owned(), scopes.iter().map(|s| s.to_string()).collect()),
        );
    }

    /// Registers the app at the token endpoint (HTTP Basic only).
    pub fn register_client(&self, client_id: &str, client_secret: &str) {
        self.oauth.register_client(client_id, Some(client_secret));
    }

    /// Issues `refresh_token` for `user`.
    pub fn grant_refresh(&self, refresh_token: &str, user: &str, scopes: &[&str]) {
        self.oauth.grant_refresh(refresh_token, user, user, scopes);
    }

    /// The OAuth 2 endpoints (authorize and token): redirect URIs, who consents, live tokens.
    pub fn oauth(&self) -> &TokenEndpoint {
        &self.oauth
    }

    /// Every request the token endpoint answered.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.oauth.requests()
    }

    /// Gives `user` a board.
    pub fn add_board(&self, user: &str, board_id: &str, name: &str) {
        self.lock()
            .boards
            .insert(board_id.to_owned(), (user.to_owned(), name.to_owned()));
    }

    /// The description limit: 800 as the v5 spec says, or the 500 widely quoted.
    pub fn set_description_limit(&self, chars: usize) {
        self.lock().description_limit = chars;
    }

    /// Status reads an uploaded video answers `processing` to before `succeeded`.
    pub fn set_processing_polls(&self, polls: u32) {
        self.lock().processing_polls = polls;
    }

    /// Ends the processing of every video uploaded so far.
    pub fn finish_processing(&self) {
        for v in self.lock().videos.values_mut() {
            v.polls_left = 0;
        }
    }

    pub fn set_analytics(&self, pin: &str, values: &[(&str, u64)]) {
        self.lock().analytics.insert(
            pin.to_owned(),
            values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        );
    }

    pub fn pins(&self) -> Vec<Pin> {
        self.lock().pins.clone()
    }

    /// Videos registered so far.
    pub fn registrations(&self) -> usize {
        self.lock().videos.len()
    }

    /// Upload requests that carried an `Authorization` header (the bucket takes a signed
    /// policy; a token sent there leaked).
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

/// The user of the request's token, with `scopes` all granted.
fn user_of(g: &Inner, headers: &HeaderMap, scopes: &[&str]) -> Result<String, Response> {
    let token = crate::bearer(headers).unwrap_or_default();
    let Some((user, granted)) = g.tokens.get(&token) else {
        return Err(error(StatusCode::UNAUTHORIZED, 2, "Authentication failed."));
    };
    if let Some(missing) = scopes.iter().find(|s| !granted.iter().any(|g| g == *s)) {
        return Err(error(
            StatusCode::FORBIDDEN,
            3,
            &format!("Your application consumer type is not supported or the token lacks scope {missing}."),
        ));
    }
    Ok(user.clone())
}

impl Inner {
    fn next_id(&mut self) -> String {
        self.next += 1;
        self.next.to_string()
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

async fn create_pin(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let (user, limit, fetcher) = {
        let g = lock(&s);
        match user_of(&g, &headers, &["boards:read", "pins:write"]) {
            Ok(u) => (u, g.description_limit, g.fetcher.clone()),
            Err(r) => return r,
        }
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return invalid(&format!("Invalid JSON body: {e}")),
    };
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    let Some(board) = text("board_id") else {
        return invalid("board_id is required");
    };
    if !is_id(&board) {
        return invalid(&format!(
            "Invalid parameters: \"{board}\" does not match pattern '^\\d+$' for board_id"
        ));
    }
    if let Some(sec) = text("board_section_id")
        && !is_id(&sec)
    {
        return invalid("Invalid parameters: board_section_id does not match pattern '^\\d+$'");
    }
    match lock(&s).boards.get(&board) {
        Some((owner, _)) if *owner == user => {}
        _ => return error(StatusCode::NOT_FOUND, 40, "Board not found."),
    }
    let chars = |k: &str| text(k).map_or(0, |t| t.chars().count());
    for (field, max) in [
        ("title", 100),
        ("description", limit),
        ("link", 2048),
        ("alt_text", 500),
    ] {
        if chars(field) > max {
            return invalid(&format!(
                "Invalid parameters: {field} is {} characters; constraint: maxLength={max}",
                chars(field)
            ));
        }
    }
    if let Some(link) = text("link")
        && url_parse(&link).is_none()
    {
        return invalid("Invalid parameters: link is not a valid URL");
    }
    let src = &v["media_source"];
    let mut pin = Pin {
        id: String::new(),
        board_id: board,
        board_section_id: text("board_section_id"),
        title: text("title"),
        description: text("description").unwrap_or_default(),
        link: text("link"),
        alt_text: text("alt_text"),
        media_type: String::new(),
        image_urls: vec![],
        video: None,
    };
    match src["source_type"].as_str() {
        Some("image_url") => {
            let Some(url) = src["url"].as_str() else {
                return invalid("media_source.url is required for image_url");
            };
            if let Err(r) = fetch_image(&fetcher, url).await {
                return r;
            }
            pin.media_type = "image".into();
            pin.image_urls.push(url.to_owned());
        }
        Some("multiple_image_urls") => {
            let items: Vec<&Value> = src["items"].as_array().into_iter().flatten().collect();
            if items.len() > 5 {
                return invalid("Invalid parameters: media_source.items; constraint: maxItems=5");
            }
            if items.len() < 2 {
                return invalid("Invalid parameters: media_source.items; constraint: minItems=2");
            }
            for item in items {
                let Some(url) = item["url"].as_str() else {
                    return invalid("media_source.items[].url is required");
                };
                if let Err(r) = fetch_image(&fetcher, url).await {
                    return r;
                }
                pin.image_urls.push(url.to_owned());
            }
            pin.media_type = "multiple_images".into();
        }
        Some("video_id") => {
            let Some(media_id) = src["media_id"].as_str() else {
                return invalid("media_source.media_id is required for video_id");
            };
            let has_cover = [
                "cover_image_url",
                "cover_image_content_type",
                "cover_image_key_frame_time",
            ]
            .iter()
            .any(|k| !src[*k].is_null());
            if !has_cover {
                return invalid(
                    "Invalid parameters: a video Pin needs cover_image_url or cover_image_content_type and cover_image_data",
                );
            }
            let g = lock(&s);
            match g.videos.get(media_id) {
                Some(m) if m.user == user && m.uploaded && m.is_video && m.polls_left == 0 => {
                    pin.video = Some((media_id.to_owned(), m.bytes));
                }
                Some(m) if m.user == user => {
                    return invalid(&format!(
                        "Media {media_id} is not ready (it has not finished processing)"
                    ));
                }
                _ => return error(StatusCode::NOT_FOUND, 50, "Media not found."),
            }
            pin.media_type = "video".into();
        }
        Some(other) => return invalid(&format!("media_source.source_type {other:?} is not supported")),
        None => return invalid("media_source is required"),
    }
    let mut g = lock(&s);
    pin.id = g.next_id();
    let out = json!({"id": pin.id, "created_at": "2026-12-07T00:00:00", "board_id": pin.board_id,
                     "title": pin.title, "description": pin.description, "link": pin.link,
                     "media": {"media_type": pin.media_type}});
    g.pins.push(pin);
    (StatusCode::CREATED, Json(out)).into_response()
}

fn url_parse(s: &str) -> Option<()> {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"))?;
    (!rest.is_empty() && !rest.starts_with('/')).then_some(())
}

/// What Pinterest's fetcher finds: an image, or the error it would answer with.
async fn fetch_image(client: &reqwest::Client, url: &str) -> Result<(), Response> {
    match crate::pull::fetch(client, url).await {
        Err(e) => Err(invalid(&format!("Unable to reach the URL: {e}"))),
        Ok(b) if matches!(crate::pull::sniff(&b), Some("jpeg" | "png" | "webp" | "gif")) => Ok(()),
        Ok(_) => Err(invalid(&format!("The file at {url} is not a supported image"))),
    }
}

async fn register_media(State(s): Shared, headers: HeaderMap, body: bytes::Bytes) -> Response {
    let mut g = lock(&s);
    let user = match user_of(&g, &headers, &["pins:write"]) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if v["media_type"].as_str() != Some("video") {
        return invalid("media_type must be \"video\"");
    }
    let id = g.next_id();
    let key = format!("uploads/{id}.mp4");
    let params: HashMap<String, String> = [
        ("key", key.as_str()),
        ("policy", "eyJmYWtlIjoicG9saWN5In0="),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-credential", "FAKE/20261207/us-east-1/s3/aws4_request"),
        ("x-amz-date", "20261207T000000Z"),
        ("x-amz-signature", &format!("sig{id}")),
        ("Content-Type", "multipart/form-data"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let polls = g.processing_polls;
    g.videos.insert(
        id.clone(),
        Video {
            user,
            params: params.clone(),
            bytes: 0,
            uploaded: false,
            is_video: false,
            polls_left: polls,
        },
    );
    let upload_url = format!("{}/", g.upload_base);
    (
        StatusCode::CREATED,
        Json(json!({"media_id": id, "media_type": "video", "upload_url": upload_url, "upload_parameters": params})),
    )
        .into_response()
}

/// The bucket: a POST policy upload, every signed field before the file, as S3 takes it.
async fn upload(State(s): Shared, headers: HeaderMap, mut form: Multipart) -> Response {
    let s3 = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"),
        )
            .into_response()
    };
    if headers.contains_key("authorization") {
        lock(&s).tokens_at_upload += 1;
    }
    let mut fields = HashMap::new();
    let mut file: Option<(u64, Vec<u8>)> = None;
    while let Ok(Some(mut field)) = form.next_field().await {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            let mut n = 0u64;
            let mut head = Vec::new();
            while let Ok(Some(chunk)) = field.chunk().await {
                if head.len() < 16 {
                    head.extend(chunk.iter().take(16 - head.len()));
                }
                n += chunk.len() as u64;
            }
            file = Some((n, head));
            // S3 ignores fields after the file.
            break;
        }
        fields.insert(name, field.text().await.unwrap_or_default());
    }
    let Some((bytes, head)) = file else {
        return s3(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "POST requires exactly one file upload per request.",
        );
    };
    let mut g = lock(&s);
    let Some((id, video)) = g
        .videos
        .iter_mut()
        .find(|(_, v)| fields.get("key") == v.params.get("key"))
    else {
        return s3(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Invalid according to Policy: no such key",
        );
    };
    if let Some((k, _)) = video.params.iter().find(|(k, v)| fields.get(*k) != Some(v)) {
        return s3(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("Invalid according to Policy: field {k} is missing or altered (media {id})"),
        );
    }
    video.bytes = bytes;
    video.uploaded = true;
    video.is_video = crate::pull::sniff(&head) == Some("mp4");
    StatusCode::NO_CONTENT.into_response()
}

async fn media_status(State(s): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut g = lock(&s);
    let user = match user_of(&g, &headers, &["pins:read"]) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(v) = g.videos.get_mut(&id).filter(|v| v.user == user) else {
        return error(StatusCode::NOT_FOUND, 50, "Media not found.");
    };
    let status = if !v.uploaded {
        "registered"
    } else if !v.is_video {
        "failed"
    } else if v.polls_left > 0 {
        v.polls_left -= 1;
        "processing"
    } else {
        "succeeded"
    };
    Json(json!({"media_id": id, "media_type": "video", "status": status})).into_response()
}

async fn board_pins(
    State(s): Shared,
    Path(board): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let g = lock(&s);
    let user = match user_of(&g, &headers, &["boards:read", "pins:read"]) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match g.boards.get(&board) {
        Some((owner, _)) if *owner == user => {}
        _ => return error(StatusCode::NOT_FOUND, 40, "Board not found."),
    }
    let size: usize = q.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(25);
    if !(1..=250).contains(&size) {
        return invalid("page_size takes 1 to 250");
    }
    let items: Vec<Value> = g
        .pins
        .iter()
        .rev()
        .filter(|p| p.board_id == board)
        .take(size)
        .map(|p| json!({"id": p.id, "title": p.title, "description": p.description, "link": p.link}))
        .collect();
    Json(json!({"items": items, "bookmark": null})).into_response()
}

async fn analytics(
    State(s): Shared,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let g = lock(&s);
    let user = match user_of(&g, &headers, &["boards:read", "pins:read"]) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let date = |k: &str| {
        q.get(k)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let (Some(start), Some(end)) = (date("start_date"), date("end_date")) else {
        return invalid("Invalid pins analytics parameters: start_date and end_date are YYYY-MM-DD");
    };
    let today = chrono::Utc::now().date_naive();
    if end < start || (today - start).num_days() > 90 || (end - start).num_days() > 90 {
        return invalid("Invalid pins analytics parameters: at most 90 days, starting within the last 90");
    }
    const KNOWN: &[&str] = &[
        "IMPRESSION",
        "OUTBOUND_CLICK",
        "PIN_CLICK",
        "SAVE",
        "SAVE_RATE",
        "TOTAL_COMMENTS",
        "TOTAL_REACTIONS",
        "USER_FOLLOW",
        "PROFILE_VISIT",
        "VIDEO_MRC_VIEW",
        "VIDEO_10S_VIEW",
        "VIDEO_START",
    ];
    let asked: Vec<&str> = q
        .get("metric_types")
        .map(|m| m.split(',').collect())
        .unwrap_or_default();
    if asked.is_empty() || asked.iter().any(|m| !KNOWN.contains(m)) {
        return invalid("Invalid pins analytics parameters: metric_types");
    }
    let Some(pin) = g.pins.iter().find(|p| p.id == id) else {
        return error(StatusCode::NOT_FOUND, 50, "Pin not found.");
    };
    match g.boards.get(&pin.board_id) {
        Some((owner, _)) if *owner == user => {}
        _ => return error(StatusCode::FORBIDDEN, 29, "Not authorized to access board or Pin."),
    }
    let values = g.analytics.get(&id);
    let summary: serde_json::Map<String, Value> = asked
        .iter()
        .filter_map(|m| Some((m.to_string(), json!(values?.get(*m)?))))
        .collect();
    Json(json!({"all": {"daily_metrics": [], "summary_metrics": summary, "lifetime_metrics": {}}})).into_response()
}
