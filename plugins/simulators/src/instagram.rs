//! Instagram content publishing on the Graph API (docs/plugins/instagram.md): containers made
//! from media URLs that the fake really fetches (so an expired or altered signed URL fails
//! the post), the container state machine (`IN_PROGRESS` → `FINISHED` → `PUBLISHED`, and
//! `EXPIRED` after its lifetime), `media_publish` refused before `FINISHED`, carousels of
//! 2-10 finished child containers, caption, hashtag and mention limits, the 24-hour
//! publishing quota and `content_publishing_limit`, comments, the account's media list,
//! insights, and Meta's error envelope.

use crate::fault::{self, FaultShapes, Faults};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A post the fake published.
#[derive(Debug, Clone, PartialEq)]
pub struct IgMedia {
    pub id: String,
    pub user: String,
    pub caption: String,
    /// `IMAGE`, `VIDEO` (reels), or `CAROUSEL_ALBUM`.
    pub media_type: String,
    /// The URLs Instagram fetched the media from, in order.
    pub sources: Vec<String>,
    pub alt_texts: Vec<Option<String>>,
    pub permalink: String,
}

/// A comment the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct IgComment {
    pub id: String,
    pub media: String,
    pub text: String,
}

#[derive(Debug, Clone)]
struct Container {
    user: String,
    /// `IMAGE`, `REELS`, `VIDEO` (a carousel child), `CAROUSEL`.
    kind: String,
    caption: String,
    carousel_item: bool,
    children: Vec<String>,
    sources: Vec<String>,
    alt_texts: Vec<Option<String>>,
    created: Instant,
    /// Status polls left before processing ends.
    polls_left: u32,
    published: bool,
}

struct Inner {
    tokens: HashMap<String, String>,
    containers: HashMap<String, Container>,
    media: Vec<IgMedia>,
    comments: Vec<IgComment>,
    /// When each account published, for the 24-hour quota.
    publishes: Vec<(String, Instant)>,
    insights: HashMap<String, HashMap<String, u64>>,
    quota: u32,
    processing_polls: u32,
    container_ttl: Duration,
    next: u64,
    fetcher: reqwest::Client,
}

/// A running fake of Instagram's Graph API.
#[derive(Clone)]
pub struct InstagramFake {
    pub base_url: String,
    pub faults: Faults,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct Shapes;

impl FaultShapes for Shapes {
    fn server_error(&self, status: u16) -> Response {
        graph_error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
            true,
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let mut r = graph_error(
            StatusCode::BAD_REQUEST,
            80002,
            None,
            "There have been too many calls to this Instagram account.",
            true,
        );
        r.headers_mut().insert(
            "x-business-use-case-usage",
            crate::meta::usage_header("0", "instagram", 100, retry_after.div_ceil(60)),
        );
        r
    }
}

fn graph_error(status: StatusCode, code: u32, subcode: Option<u32>, message: &str, transient: bool) -> Response {
    crate::meta::graph_error("IGApiException", status, code, subcode, message, transient)
}

fn invalid(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, 100, None, message, false)
}

impl InstagramFake {
    pub async fn start() -> std::io::Result<Self> {
        let fetcher = crate::pull::client()?;
        let inner = Arc::new(Mutex::new(Inner {
            tokens: HashMap::new(),
            containers: HashMap::new(),
            media: Vec::new(),
            comments: Vec::new(),
            publishes: Vec::new(),
            insights: HashMap::new(),
            quota: 50,
            processing_polls: 1,
            container_ttl: Duration::from_secs(24 * 3600),
            next: 17_900_000_000_000_000,
            fetcher,
        }));
        let router = Router::new()
            .route("/{version}/{node}", get(node))
            .route("/{version}/{node}/media", post(create_container).get(list_media))
            .route("/{version}/{node}/media_publish", post(media_publish))
            .route("/{version}/{node}/content_publishing_limit", get(publishing_limit))
            .route("/{version}/{node}/comments", post(create_comment).get(list_comments))
            .route("/{version}/{node}/insights", get(insights))
            .with_state(inner.clone());
        let (base_url, faults) = fault::launch(router, Shapes).await?;
        Ok(Self {
            base_url,
            faults,
            inner,
        })
    }

    /// Issues an Instagram User token for the professional account `user`.
    pub fn grant(&self, token: &str, user: &str) {
        self.lock().tokens.insert(token.to_owned(), user.to_owned());
    }

    pub fn media(&self) -> Vec<IgMedia> {
        self.lock().media.clone()
    }

    pub fn comments(&self) -> Vec<IgComment> {
        self.lock().comments.clone()
    }

    /// Containers made so far (published or not).
    pub fn containers(&self) -> usize {
        self.lock().containers.len()
    }

    /// Posts an account may publish per 24 hours (Instagram says 50; tests lower it).
    pub fn set_quota(&self, posts: u32) {
        self.lock().quota = posts;
    }

    /// Status polls a container answers `IN_PROGRESS` to before `FINISHED`.
    pub fn set_processing_polls(&self, polls: u32) {
        self.lock().processing_polls = polls;
    }

    /// Ends the processing of every container made so far (they answer `FINISHED`).
    pub fn finish_processing(&self) {
        for c in self.lock().containers.values_mut() {
            c.polls_left = 0;
        }
    }

    /// How long a container lives unpublished before it is `EXPIRED` (24 hours).
    pub fn set_container_ttl(&self, ttl: Duration) {
        self.lock().container_ttl = ttl;
    }

    pub fn set_insights(&self, media: &str, values: &[(&str, u64)]) {
        self.lock().insights.insert(
            media.to_owned(),
            values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn lock(s: &Arc<Mutex<Inner>>) -> std::sync::MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The account the request's token acts for, or Meta's 190.
fn user_of(inner: &Inner, headers: &HeaderMap, q: &HashMap<String, String>) -> Result<String, Response> {
    crate::bearer(headers)
        .or_else(|| q.get("access_token").cloned())
        .and_then(|t| inner.tokens.get(&t).cloned())
        .ok_or_else(|| {
            graph_error(
                StatusCode::BAD_REQUEST,
                190,
                Some(463),
                "Error validating access token: Session has expired or the token is invalid.",
                false,
            )
        })
}

/// The account of the token, which must be `node` itself (an account's own edges).
fn acting_as(inner: &Inner, headers: &HeaderMap, q: &HashMap<String, String>, node: &str) -> Result<String, Response> {
    let user = user_of(inner, headers, q)?;
    owns(&user, node)?;
    Ok(user)
}

fn owns(user: &str, node: &str) -> Result<(), Response> {
    if user == node {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::FORBIDDEN,
            10,
            None,
            &format!("(#10) The token is for account {user}, not {node}"),
            false,
        ))
    }
}

impl Inner {
    fn next_id(&mut self) -> String {
        self.next += 1;
        self.next.to_string()
    }

    fn used_quota(&self, user: &str) -> u32 {
        let day = Duration::from_secs(24 * 3600);
        self.publishes
            .iter()
            .filter(|(u, at)| u == user && at.elapsed() < day)
            .count() as u32
    }

    fn status(&self, c: &Container) -> &'static str {
        if c.published {
            "PUBLISHED"
        } else if c.created.elapsed() >= self.container_ttl {
            "EXPIRED"
        } else if c.polls_left > 0 {
            "IN_PROGRESS"
        } else {
            "FINISHED"
        }
    }
}

/// What Instagram's servers find at a media URL: `Ok`, or the subcode they would answer
/// with.
async fn fetch(client: &reqwest::Client, url: &str, video: bool) -> Result<(), (u32, String)> {
    let bytes = crate::pull::fetch(client, url).await.map_err(|e| (2_207_052, e))?;
    match (crate::pull::sniff(&bytes), video) {
        (Some("mp4"), true) | (Some("jpeg"), false) => Ok(()),
        (_, true) => Err((2_207_026, "The video format is not supported. Use MP4 or MOV.".into())),
        (_, false) => Err((2_207_005, "The image format is not supported. Use JPEG.".into())),
    }
}

fn hashtags(caption: &str) -> usize {
    caption
        .split_whitespace()
        .filter(|w| w.starts_with('#') && w.len() > 1)
        .count()
}

fn mentions(caption: &str) -> usize {
    caption
        .split_whitespace()
        .filter(|w| w.starts_with('@') && w.len() > 1)
        .count()
}

/// `POST /{ig-user}/media`: a container from an image, a video or carousel children.
async fn create_container(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let (user, fetcher) = {
        let g = lock(&s);
        match acting_as(&g, &headers, &q, &node) {
            Ok(u) => (u, g.fetcher.clone()),
            Err(r) => return r,
        }
    };
    let caption = q.get("caption").cloned().unwrap_or_default();
    let carousel_item = q.get("is_carousel_item").is_some_and(|v| v == "true");
    let kind = q.get("media_type").cloned().unwrap_or_else(|| "IMAGE".into());
    if carousel_item && !caption.is_empty() {
        return invalid("(#100) A carousel item takes no caption; set it on the carousel");
    }
    if caption.chars().count() > 2200 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            Some(2_207_010),
            "The caption is too long (over 2,200 characters).",
            false,
        );
    }
    if hashtags(&caption) > 30 {
        return invalid("(#100) The caption has more than 30 hashtags");
    }
    if mentions(&caption) > 20 {
        return invalid("(#100) The caption mentions more than 20 accounts");
    }
    let mut c = Container {
        user: user.clone(),
        kind: kind.clone(),
        caption,
        carousel_item,
        children: vec![],
        sources: vec![],
        alt_texts: vec![],
        created: Instant::now(),
        polls_left: 0,
        published: false,
    };
    match kind.as_str() {
        "CAROUSEL" => {
            let children: Vec<String> = q
                .get("children")
                .map(|c| {
                    c.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if !(2..=10).contains(&children.len()) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    Some(2_207_028),
                    &format!(
                        "The carousel has {} attachments; it takes between 2 and 10",
                        children.len()
                    ),
                    false,
                );
            }
            let g = lock(&s);
            for child in &children {
                let Some(cc) = g.containers.get(child) else {
                    return invalid(&format!("(#100) Child container {child} does not exist"));
                };
                if cc.user != user || !cc.carousel_item {
                    return invalid(&format!(
                        "(#100) Container {child} is not a carousel item of this account"
                    ));
                }
                if g.status(cc) != "FINISHED" {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        9007,
                        Some(2_207_027),
                        &format!("Child container {child} is not ready ({})", g.status(cc)),
                        false,
                    );
                }
                c.sources.extend(cc.sources.clone());
                c.alt_texts.extend(cc.alt_texts.clone());
            }
            c.children = children;
        }
        "IMAGE" | "REELS" | "VIDEO" | "STORIES" => {
            let video = kind != "IMAGE" && q.contains_key("video_url");
            let url = if video { q.get("video_url") } else { q.get("image_url") };
            let Some(url) = url.filter(|u| !u.is_empty()) else {
                return invalid(if kind == "IMAGE" {
                    "(#100) An image container needs image_url"
                } else {
                    "(#100) A video container needs video_url"
                });
            };
            if kind == "VIDEO" && !carousel_item {
                return invalid("(#100) media_type VIDEO is for carousel items; use REELS");
            }
            if let Err((sub, msg)) = fetch(&fetcher, url, video).await {
                return graph_error(StatusCode::BAD_REQUEST, 9004, Some(sub), &msg, false);
            }
            c.sources.push(url.clone());
            c.alt_texts.push(q.get("alt_text").cloned().filter(|a| !a.is_empty()));
        }
        other => {
            return invalid(&format!(
                "(#100) media_type {other:?} is not one of REELS, VIDEO, CAROUSEL, STORIES"
            ));
        }
    }
    let mut g = lock(&s);
    let day = Duration::from_secs(24 * 3600);
    let recent = g
        .containers
        .values()
        .filter(|c| c.user == user && c.created.elapsed() < day)
        .count();
    if recent >= 400 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            9,
            Some(2_207_042),
            "(#9) 400 containers in 24 hours",
            false,
        );
    }
    c.polls_left = g.processing_polls;
    let id = g.next_id();
    g.containers.insert(id.clone(), c);
    Json(json!({"id": id})).into_response()
}

/// `GET /{node}`: a container's status, or a published media's fields.
async fn node(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut g = lock(&s);
    let user = match user_of(&g, &headers, &q) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Some(m) = g.media.iter().find(|m| m.id == node) {
        if m.user != user {
            return owns(&user, &m.user).unwrap_err();
        }
        return Json(json!({"id": m.id, "permalink": m.permalink, "caption": m.caption, "media_type": m.media_type}))
            .into_response();
    }
    let status = match g.containers.get(&node) {
        Some(c) if c.user != user => return owns(&user, &c.user).unwrap_err(),
        Some(c) => g.status(c),
        None => return invalid(&format!("(#100) Object {node} does not exist")),
    };
    if status == "IN_PROGRESS"
        && let Some(c) = g.containers.get_mut(&node)
    {
        c.polls_left -= 1;
    }
    let detail = match status {
        "EXPIRED" => "Expired: the container was not published within 24 hours",
        "FINISHED" => "Finished",
        "PUBLISHED" => "Published",
        _ => "In progress",
    };
    Json(json!({"id": node, "status_code": status, "status": detail})).into_response()
}

/// `POST /{ig-user}/media_publish?creation_id=`.
async fn media_publish(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut g = lock(&s);
    let user = match acting_as(&g, &headers, &q, &node) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(id) = q.get("creation_id").cloned() else {
        return invalid("(#100) creation_id is required");
    };
    let Some(c) = g.containers.get(&id).cloned() else {
        return invalid(&format!("(#100) Container {id} does not exist"));
    };
    if c.user != user {
        return owns(&user, &c.user).unwrap_err();
    }
    if c.carousel_item {
        return invalid("(#100) A carousel item is published through its carousel");
    }
    match g.status(&c) {
        "FINISHED" => {}
        "EXPIRED" => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                9007,
                Some(2_207_008),
                "The media builder expired; make a new container",
                false,
            );
        }
        "PUBLISHED" => return invalid(&format!("(#100) Container {id} was already published")),
        _ => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                9007,
                Some(2_207_027),
                "Media ID is not available: the container is not finished processing",
                false,
            );
        }
    }
    if g.used_quota(&user) >= g.quota {
        return graph_error(
            StatusCode::BAD_REQUEST,
            9,
            Some(2_207_042),
            "You have reached the maximum number of posts allowed in 24 hours",
            false,
        );
    }
    let media_id = g.next_id();
    let media_type = match c.kind.as_str() {
        "CAROUSEL" => "CAROUSEL_ALBUM",
        "IMAGE" => "IMAGE",
        _ => "VIDEO",
    };
    g.media.push(IgMedia {
        id: media_id.clone(),
        user: user.clone(),
        caption: c.caption.clone(),
        media_type: media_type.into(),
        sources: c.sources.clone(),
        alt_texts: c.alt_texts.clone(),
        permalink: format!("https://www.instagram.com/p/{media_id}/"),
    });
    g.publishes.push((user, Instant::now()));
    if let Some(c) = g.containers.get_mut(&id) {
        c.published = true;
    }
    Json(json!({"id": media_id})).into_response()
}

async fn publishing_limit(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let g = lock(&s);
    let user = match acting_as(&g, &headers, &q, &node) {
        Ok(u) => u,
        Err(r) => return r,
    };
    Json(json!({"data": [{"quota_usage": g.used_quota(&user),
                          "config": {"quota_total": g.quota, "quota_duration": 86400}}]}))
    .into_response()
}

async fn list_media(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let g = lock(&s);
    let user = match acting_as(&g, &headers, &q, &node) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25).min(100);
    let data: Vec<Value> = g
        .media
        .iter()
        .rev()
        .filter(|m| m.user == user)
        .take(limit)
        .map(|m| json!({"id": m.id, "caption": m.caption, "permalink": m.permalink}))
        .collect();
    Json(json!({"data": data})).into_response()
}

async fn create_comment(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut g = lock(&s);
    let user = match user_of(&g, &headers, &q) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(m) = g.media.iter().find(|m| m.id == node) else {
        return invalid(&format!("(#100) Media {node} does not exist"));
    };
    if m.user != user {
        return owns(&user, &m.user).unwrap_err();
    }
    let text = q.get("message").cloned().unwrap_or_default();
    if text.trim().is_empty() {
        return invalid("(#100) message is required");
    }
    if text.chars().count() > 2200 || hashtags(&text) > 30 {
        return invalid("(#100) The comment is over 2,200 characters or 30 hashtags");
    }
    let id = g.next_id();
    g.comments.push(IgComment {
        id: id.clone(),
        media: node,
        text,
    });
    Json(json!({"id": id})).into_response()
}

async fn list_comments(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let g = lock(&s);
    if let Err(r) = user_of(&g, &headers, &q) {
        return r;
    }
    let data: Vec<Value> = g
        .comments
        .iter()
        .filter(|c| c.media == node)
        .map(|c| json!({"id": c.id, "text": c.text}))
        .collect();
    Json(json!({"data": data})).into_response()
}

async fn insights(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let g = lock(&s);
    let user = match user_of(&g, &headers, &q) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(m) = g.media.iter().find(|m| m.id == node) else {
        return invalid(&format!("(#100) Media {node} does not exist"));
    };
    if m.user != user {
        return owns(&user, &m.user).unwrap_err();
    }
    const KNOWN: &[&str] = &[
        "views",
        "reach",
        "saved",
        "likes",
        "comments",
        "shares",
        "total_interactions",
    ];
    let asked: Vec<&str> = q.get("metric").map(|m| m.split(',').collect()).unwrap_or_default();
    if let Some(bad) = asked.iter().find(|m| !KNOWN.contains(m)) {
        return invalid(&format!(
            "(#100) metric[0] must be one of the following values: {}; got {bad}",
            KNOWN.join(", ")
        ));
    }
    let values = g.insights.get(&node);
    // Missing data is an empty set, not zero.
    let data: Vec<Value> = asked
        .iter()
        .filter_map(|name| {
            let v = values?.get(*name)?;
            Some(json!({"name": name, "period": "lifetime", "values": [{"value": v}],
                        "id": format!("{node}/insights/{name}/lifetime")}))
        })
        .collect();
    Json(json!({"data": data})).into_response()
}
