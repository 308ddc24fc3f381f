//! Facebook Pages on the Graph API (docs/plugins/facebook.md): `POST /{page}/feed` and `/photos`
//! with Page tokens, `targeting` / `feed_targeting` validated key by key, the Page's feed,
//! post fields and insights, Meta's error envelope with its codes, and the
//! `X-Business-Use-Case-Usage` header with code-32 throttling.

use crate::fault::{self, FaultShapes, Faults};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// A post the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct FbPost {
    pub id: String,
    pub page_id: String,
    pub message: String,
    pub link: Option<String>,
    /// Photo ids attached (unpublished photos, or the one photo of a photo post).
    pub photos: Vec<String>,
    pub targeting: Option<Value>,
    pub feed_targeting: Option<Value>,
    pub scheduled_publish_time: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostInsights {
    pub media_views_unique: u64,
    pub clicks: u64,
    pub reactions: u64,
    pub comments: u64,
    pub shares: u64,
}

#[derive(Debug, Clone)]
enum TokenKind {
    Page(String),
    User,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, TokenKind>,
    posts: Vec<FbPost>,
    /// Photo id → (page, published).
    photos: HashMap<String, (String, bool)>,
    insights: HashMap<String, PostInsights>,
    next: u64,
    /// Calls per page before code 32 (the real budget depends on engagement).
    page_budget: u32,
    page_calls: HashMap<String, u32>,
}

/// A running fake of the Graph API for Pages.
#[derive(Clone)]
pub struct FacebookFake {
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
            "Service temporarily unavailable",
            true,
        )
    }
    fn rate_limited(&self, retry_after: u32) -> Response {
        let mut r = graph_error(
            StatusCode::BAD_REQUEST,
            32,
            None,
            "(#32) Page request limit reached",
            true,
        );
        r.headers_mut().insert(
            "x-business-use-case-usage",
            crate::meta::usage_header("0", "pages", 100, retry_after.div_ceil(60)),
        );
        r
    }
}

fn graph_error(status: StatusCode, code: u32, subcode: Option<u32>, message: &str, transient: bool) -> Response {
    crate::meta::graph_error("GraphMethodException", status, code, subcode, message, transient)
}

impl FacebookFake {
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            next: 900_000_000_000,
            page_budget: 200,
            ..Inner::default()
        }));
        let router = Router::new()
            .route("/{version}/{node}", get(node_fields))
            .route("/{version}/{node}/feed", post(create_feed).get(page_feed))
            .route("/{version}/{node}/photos", post(create_photo))
            .route("/{version}/{node}/insights", get(insights))
            .with_state(inner.clone());
        let (base_url, faults) = fault::launch(router, Shapes).await?;
        Ok(Self {
            base_url,
            faults,
            inner,
        })
    }

    /// Issues a Page access token for `page_id`.
    pub fn grant_page(&self, token: &str, page_id: &str) {
        self.lock()
            .tokens
            .insert(token.to_owned(), TokenKind::Page(page_id.to_owned()));
    }

    /// Issues a user access token (which may not post to a Page's feed).
    pub fn grant_user(&self, token: &str) {
        self.lock().tokens.insert(token.to_owned(), TokenKind::User);
    }

    pub fn revoke(&self, token: &str) {
        self.lock().tokens.remove(token);
    }

    /// Calls a Page may make before the fake throttles it with code 32.
    pub fn set_page_budget(&self, calls: u32) {
        let mut g = self.lock();
        g.page_budget = calls;
        g.page_calls.clear();
    }

    pub fn posts(&self) -> Vec<FbPost> {
        self.lock().posts.clone()
    }

    pub fn set_insights(&self, post_id: &str, i: PostInsights) {
        self.lock().insights.insert(post_id.to_owned(), i);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("facebook fake lock")
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn token_of(headers: &HeaderMap, q: &HashMap<String, String>) -> Option<String> {
    crate::bearer(headers).or_else(|| q.get("access_token").cloned())
}

impl Inner {
    /// The Page the token acts for (only Page tokens may publish), with the usage header
    /// every answer carries; throttles with code 32 when the Page's budget is spent.
    fn page(
        &mut self,
        headers: &HeaderMap,
        q: &HashMap<String, String>,
        page_id: &str,
    ) -> Result<HeaderValue, Response> {
        let Some(kind) = token_of(headers, q).and_then(|t| self.tokens.get(&t).cloned()) else {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                190,
                Some(463),
                "Error validating access token: Session has expired or the token is invalid.",
                false,
            ));
        };
        match kind {
            TokenKind::User => {
                return Err(graph_error(
                    StatusCode::FORBIDDEN,
                    200,
                    None,
                    "(#200) Publishing to a Page requires a Page access token with pages_manage_posts",
                    false,
                ));
            }
            TokenKind::Page(p)
                if p != page_id && !page_id.starts_with(&format!("{p}_")) && !self.owned_by(page_id, &p) =>
            {
                return Err(graph_error(
                    StatusCode::FORBIDDEN,
                    200,
                    None,
                    &format!("(#200) The token is for Page {p}, not {page_id}"),
                    false,
                ));
            }
            TokenKind::Page(p) => {
                let budget = self.page_budget;
                let used = self.page_calls.entry(p.clone()).or_insert(0);
                *used += 1;
                let pct = (*used * 100 / budget.max(1)).min(100);
                let header = crate::meta::usage_header(&p, "pages", pct, if *used > budget { 5 } else { 0 });
                if *used > budget {
                    let mut r = graph_error(
                        StatusCode::BAD_REQUEST,
                        32,
                        None,
                        "(#32) Page request limit reached",
                        true,
                    );
                    r.headers_mut().insert("x-business-use-case-usage", header);
                    return Err(r);
                }
                Ok(header)
            }
        }
    }

    fn owned_by(&self, node: &str, page: &str) -> bool {
        self.photos.get(node).is_some_and(|(p, _)| p == page)
    }

    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

fn with_usage(mut r: Response, usage: HeaderValue) -> Response {
    r.headers_mut().insert("x-business-use-case-usage", usage);
    r
}

fn invalid(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, 100, None, message, false)
}

/// The body as an object, JSON or form-encoded (the Graph API takes either).
fn params(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if json_body {
        return match serde_json::from_slice(body) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        };
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut m = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(&v.replace('+', " "));
        // Objects arrive as JSON text inside form fields.
        let parsed = serde_json::from_str::<Value>(&v)
            .ok()
            .filter(|p| p.is_object() || p.is_array());
        m.insert(percent_decode(k), parsed.unwrap_or(Value::String(v)));
    }
    Some(m)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const TARGETING_KEYS: &[&str] = &[
    "geo_locations",
    "excluded_countries",
    "age_min",
    "age_max",
    "genders",
    "locales",
];
const FEED_TARGETING_KEYS: &[&str] = &[
    "geo_locations",
    "locales",
    "age_min",
    "age_max",
    "genders",
    "interests",
    "relationship_statuses",
    "education_statuses",
    "college_years",
    "interested_in",
];

fn check_targeting(name: &str, v: &Value, allowed: &[&str]) -> Result<(), String> {
    let Some(obj) = v.as_object() else {
        return Err(format!("(#100) Param {name} must be a JSON object"));
    };
    for (k, val) in obj {
        if !allowed.contains(&k.as_str()) {
            return Err(format!(
                "(#100) Param {name}[{k}] is not a valid targeting key for a Page post"
            ));
        }
        match k.as_str() {
            "age_min" | "age_max" => {
                if !val.as_u64().is_some_and(|a| (13..=65).contains(&a)) {
                    return Err(format!("(#100) Param {name}[{k}] must be between 13 and 65"));
                }
            }
            "genders" => {
                if !val
                    .as_array()
                    .is_some_and(|g| g.iter().all(|x| matches!(x.as_u64(), Some(1 | 2))))
                {
                    return Err(format!(
                        "(#100) Param {name}[genders] takes [1] (men) and/or [2] (women)"
                    ));
                }
            }
            "geo_locations" => {
                let Some(geo) = val.as_object() else {
                    return Err(format!("(#100) Param {name}[geo_locations] must be an object"));
                };
                for (gk, gv) in geo {
                    if !["countries", "regions", "cities", "zips"].contains(&gk.as_str()) {
                        return Err(format!("(#100) Param {name}[geo_locations][{gk}] is not valid"));
                    }
                    if gk == "countries"
                        && !gv.as_array().is_some_and(|c| {
                            c.iter().all(|x| {
                                x.as_str()
                                    .is_some_and(|s| s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase()))
                            })
                        })
                    {
                        return Err(format!(
                            "(#100) Param {name}[geo_locations][countries] takes ISO country codes"
                        ));
                    }
                }
            }
            "locales" | "interests" => {
                if !val
                    .as_array()
                    .is_some_and(|l| l.iter().all(|x| x.as_u64().is_some() || x.get("id").is_some()))
                {
                    return Err(format!("(#100) Param {name}[{k}] takes Meta's numeric ids"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn create_feed(
    State(s): Shared,
    Path((_v, page)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut g = s.lock().expect("facebook fake lock");
    let usage = match g.page(&headers, &q, &page) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(p) = params(&headers, &body) else {
        return with_usage(invalid("(#100) The body could not be parsed"), usage);
    };
    let message = p.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
    let link = p.get("link").and_then(Value::as_str).map(str::to_owned);
    let mut photos = Vec::new();
    if let Some(att) = p.get("attached_media") {
        for (i, a) in att.as_array().cloned().unwrap_or_default().iter().enumerate() {
            let id = a.get("media_fbid").and_then(Value::as_str).unwrap_or("");
            if !g
                .photos
                .get(id)
                .is_some_and(|(pg, published)| pg == &page && !published)
            {
                return with_usage(
                    invalid(&format!(
                        "(#100) attached_media[{i}] is not an unpublished photo of this Page"
                    )),
                    usage,
                );
            }
            photos.push(id.to_owned());
        }
    }
    if message.trim().is_empty() && link.is_none() && photos.is_empty() {
        return with_usage(invalid("(#100) Missing message or attachment"), usage);
    }
    if message.chars().count() > 63_206 {
        return with_usage(invalid("(#100) Name parameter too long"), usage);
    }
    for (name, allowed) in [("targeting", TARGETING_KEYS), ("feed_targeting", FEED_TARGETING_KEYS)] {
        if let Some(t) = p.get(name) {
            if let Err(m) = check_targeting(name, t, allowed) {
                return with_usage(invalid(&m), usage);
            }
        }
    }
    let published = p.get("published").is_none_or(|v| v != &json!(false) && v != "false");
    let scheduled = p
        .get("scheduled_publish_time")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
    if let Some(at) = scheduled {
        if published {
            return with_usage(invalid("(#100) scheduled_publish_time needs published=false"), usage);
        }
        let ahead = at - now_secs();
        if !(600..=30 * 86_400).contains(&ahead) {
            return with_usage(
                invalid("(#100) The specified scheduled publish time is invalid: between 10 minutes and 30 days ahead"),
                usage,
            );
        }
    }
    if !message.is_empty() && g.posts.iter().any(|x| x.page_id == page && x.message == message) {
        return with_usage(
            graph_error(StatusCode::BAD_REQUEST, 506, None, "Duplicate status message", false),
            usage,
        );
    }
    let id = format!("{page}_{}", g.next_id());
    for ph in &photos {
        if let Some(e) = g.photos.get_mut(ph) {
            e.1 = true;
        }
    }
    g.posts.push(FbPost {
        id: id.clone(),
        page_id: page.clone(),
        message,
        link,
        photos,
        targeting: p.get("targeting").cloned(),
        feed_targeting: p.get("feed_targeting").cloned(),
        scheduled_publish_time: scheduled,
    });
    let mut out = json!({"id": id});
    if q.get("fields").is_some_and(|f| f.contains("permalink_url")) {
        out["permalink_url"] = format!("https://www.facebook.com/{}", id.replace('_', "/posts/")).into();
    }
    with_usage(Json(out).into_response(), usage)
}

async fn create_photo(
    State(s): Shared,
    Path((_v, page)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut source: Option<usize> = None;
    while let Ok(Some(f)) = form.next_field().await {
        let name = f.name().unwrap_or("").to_owned();
        if name == "source" {
            source = f.bytes().await.ok().map(|b| b.len());
        } else if let Ok(t) = f.text().await {
            fields.insert(name, t);
        }
    }
    let mut g = s.lock().expect("facebook fake lock");
    let usage = match g.page(&headers, &q, &page) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(size) = source
        .filter(|n| *n > 0)
        .or_else(|| fields.contains_key("url").then_some(1))
    else {
        return with_usage(invalid("(#100) A photo needs source or url"), usage);
    };
    if size > 4 * 1024 * 1024 {
        return with_usage(
            graph_error(
                StatusCode::BAD_REQUEST,
                100,
                Some(1366046),
                "Photos should be smaller than 4 MB and saved as JPG, PNG",
                false,
            ),
            usage,
        );
    }
    let published = fields.get("published").is_none_or(|p| p != "false");
    let photo = g.next_id().to_string();
    g.photos.insert(photo.clone(), (page.clone(), published));
    if !published {
        return with_usage(Json(json!({"id": photo})).into_response(), usage);
    }
    let message = fields
        .get("caption")
        .or(fields.get("message"))
        .cloned()
        .unwrap_or_default();
    if !message.is_empty() && g.posts.iter().any(|x| x.page_id == page && x.message == message) {
        return with_usage(
            graph_error(StatusCode::BAD_REQUEST, 506, None, "Duplicate status message", false),
            usage,
        );
    }
    let mut targeting = None;
    let mut feed_targeting = None;
    for (name, allowed, slot) in [
        ("targeting", TARGETING_KEYS, &mut targeting),
        ("feed_targeting", FEED_TARGETING_KEYS, &mut feed_targeting),
    ] {
        if let Some(t) = fields.get(name) {
            let v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
            if let Err(m) = check_targeting(name, &v, allowed) {
                return with_usage(invalid(&m), usage);
            }
            *slot = Some(v);
        }
    }
    let post_id = format!("{page}_{}", g.next_id());
    g.posts.push(FbPost {
        id: post_id.clone(),
        page_id: page,
        message,
        link: None,
        photos: vec![photo.clone()],
        targeting,
        feed_targeting,
        scheduled_publish_time: None,
    });
    with_usage(Json(json!({"id": photo, "post_id": post_id})).into_response(), usage)
}

async fn page_feed(
    State(s): Shared,
    Path((_v, page)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut g = s.lock().expect("facebook fake lock");
    let usage = match g.page(&headers, &q, &page) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(25).min(100);
    let data: Vec<Value> = g
        .posts
        .iter()
        .rev()
        .filter(|p| p.page_id == page)
        .take(limit)
        .map(|p| json!({"id": p.id, "message": p.message, "permalink_url": format!("https://www.facebook.com/{}", p.id.replace('_', "/posts/"))}))
        .collect();
    with_usage(Json(json!({"data": data, "paging": {}})).into_response(), usage)
}

async fn node_fields(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut g = s.lock().expect("facebook fake lock");
    let page = node.split('_').next().unwrap_or("").to_owned();
    let usage = match g.page(&headers, &q, &page) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !g.posts.iter().any(|p| p.id == node) {
        return with_usage(
            graph_error(
                StatusCode::NOT_FOUND,
                100,
                Some(33),
                &format!("Unsupported get request. Object with ID '{node}' does not exist"),
                false,
            ),
            usage,
        );
    }
    let i = g.insights.get(&node).cloned().unwrap_or_default();
    with_usage(
        Json(json!({"id": node, "shares": {"count": i.shares},
                    "reactions": {"data": [], "summary": {"total_count": i.reactions}},
                    "comments": {"data": [], "summary": {"total_count": i.comments}}}))
        .into_response(),
        usage,
    )
}

async fn insights(
    State(s): Shared,
    Path((_v, node)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut g = s.lock().expect("facebook fake lock");
    let page = node.split('_').next().unwrap_or("").to_owned();
    let usage = match g.page(&headers, &q, &page) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let i = g.insights.get(&node).cloned().unwrap_or_default();
    let mut data = Vec::new();
    for m in q
        .get("metric")
        .map(|m| m.split(',').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let value = match m {
            "post_total_media_view_unique" => json!(i.media_views_unique),
            "post_clicks" => json!(i.clicks),
            "post_reactions_by_type_total" => json!({"like": i.reactions}),
            "post_impressions_unique" => {
                return with_usage(
                    invalid("(#100) post_impressions_unique was deprecated; use post_total_media_view_unique"),
                    usage,
                );
            }
            other => {
                return with_usage(
                    invalid(&format!(
                        "(#100) The value must be a valid insights metric, not {other}"
                    )),
                    usage,
                );
            }
        };
        data.push(json!({"name": m, "period": "lifetime", "values": [{"value": value}], "id": format!("{node}/insights/{m}/lifetime")}));
    }
    with_usage(Json(json!({"data": data, "paging": {}})).into_response(), usage)
}
