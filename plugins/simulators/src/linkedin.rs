//! LinkedIn Posts API (docs/plugins/linkedin.md): `POST /rest/posts` with its required headers and
//! `x-restli-id`, image upload via `initializeUpload`, `distribution.targetEntities` with the
//! 300-member minimum, the author's posts, share statistics and social actions, daily
//! throttles, and LinkedIn's `{message, serviceErrorCode, status}` errors.

use crate::fault::{self, FaultShapes, Faults};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The organization LinkedIn provides for testing: targeting needs 1 member, not 300.
pub const TEST_ORGANIZATION: &str = "urn:li:organization:2414183";

/// A post the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct LiPost {
    pub urn: String,
    pub author: String,
    /// As sent: "little text", reserved characters escaped.
    pub commentary: String,
    pub media: Vec<String>,
    pub target_entities: Option<Value>,
    /// Headers the request carried, for assertions.
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareStatistics {
    pub impressions: u64,
    pub unique_impressions: u64,
    pub clicks: u64,
    pub likes: u64,
    pub comments: u64,
    pub shares: u64,
}

#[derive(Debug, Clone)]
struct Member {
    person: String,
    organizations: Vec<String>,
    scopes: Vec<String>,
}

#[derive(Debug)]
struct Image {
    owner: String,
    /// 0: waiting for upload; 1: processing (one status read); 2: available.
    stage: u8,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, Member>,
    posts: Vec<LiPost>,
    images: HashMap<String, Image>,
    stats: HashMap<String, ShareStatistics>,
    followers: HashMap<String, u64>,
    next: u64,
    /// Posts per member per day (resets at 00:00 UTC on the real platform).
    daily_posts: u32,
    posted_today: HashMap<String, u32>,
}

/// A running fake of the LinkedIn REST API.
#[derive(Clone)]
pub struct LinkedInFake {
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
    fn rate_limited(&self, _retry_after: u32) -> Response {
        // LinkedIn promises no Retry-After or rate-limit headers.
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        )
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let code = status.as_u16();
    (
        status,
        Json(json!({"message": message, "serviceErrorCode": code as u32 * 100 + 4, "status": code})),
    )
        .into_response()
}

impl LinkedInFake {
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            next: 7_100_000_000_000_000_000,
            daily_posts: 150,
            ..Inner::default()
        }));
        let router = Router::new()
            .route("/rest/posts", post(create_post).get(find_posts))
            .route("/rest/images", post(initialize_upload))
            .route("/rest/images/{urn}", get(image_status))
            .route("/dms-uploads/{id}", put(upload_bytes))
            .route("/rest/organizationalEntityShareStatistics", get(share_statistics))
            .route("/rest/socialActions/{urn}", get(social_actions))
            .with_state(inner.clone());
        let (base_url, faults) = fault::launch(router, Shapes).await?;
        Ok(Self {
            base_url,
            faults,
            inner,
        })
    }

    /// Issues `token` for the member `person` (an `urn:li:person:` URN), administering
    /// `organizations`, with `scopes`.
    pub fn grant(&self, token: &str, person: &str, organizations: &[&str], scopes: &[&str]) {
        self.lock().tokens.insert(
            token.to_owned(),
            Member {
                person: person.to_owned(),
                organizations: organizations.iter().map(|s| s.to_string()).collect(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        );
    }

    pub fn revoke(&self, token: &str) {
        self.lock().tokens.remove(token);
    }

    /// How many members follow `organization` (targeting estimates are fractions of it).
    pub fn set_followers(&self, organization: &str, n: u64) {
        self.lock().followers.insert(organization.to_owned(), n);
    }

    pub fn set_daily_post_limit(&self, n: u32) {
        self.lock().daily_posts = n;
    }

    pub fn posts(&self) -> Vec<LiPost> {
        self.lock().posts.clone()
    }

    pub fn set_statistics(&self, urn: &str, s: ShareStatistics) {
        self.lock().stats.insert(urn.to_owned(), s);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("linkedin fake lock")
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

/// The checks every `/rest/*` call passes first: token, then the two required headers.
fn rest_member(g: &Inner, headers: &HeaderMap) -> Result<(Member, String), Response> {
    let Some(token) = crate::bearer(headers) else {
        return Err(error(StatusCode::UNAUTHORIZED, "Empty oauth2_access_token"));
    };
    let Some(member) = g.tokens.get(&token).cloned() else {
        return Err(error(StatusCode::UNAUTHORIZED, "Invalid access token"));
    };
    let version = headers
        .get("linkedin-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if version.len() != 6 || !version.chars().all(|c| c.is_ascii_digit()) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "A LinkedIn-Version header in the form YYYYMM is required for /rest APIs",
        ));
    }
    if headers.get("x-restli-protocol-version").and_then(|v| v.to_str().ok()) != Some("2.0.0") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "The X-Restli-Protocol-Version header must be 2.0.0",
        ));
    }
    Ok((member, version))
}

fn may_post_as(m: &Member, author: &str) -> Result<(), String> {
    if author == m.person {
        return if m.scopes.iter().any(|s| s == "w_member_social") {
            Ok(())
        } else {
            Err("the token lacks the w_member_social scope".into())
        };
    }
    if m.organizations.iter().any(|o| o == author) {
        return if m.scopes.iter().any(|s| s == "w_organization_social") {
            Ok(())
        } else {
            Err("the token lacks the w_organization_social scope".into())
        };
    }
    Err(format!("the member is not allowed to act as {author}"))
}

/// Characters "little text" reserves; they must be backslash-escaped in `commentary`.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

fn unescaped_reserved(text: &str) -> Option<char> {
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        if RESERVED.contains(&c) {
            return Some(c);
        }
    }
    None
}

/// The text a reader sees: each backslash escape replaced by the character it escapes.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut escaped = false;
    for c in text.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// The members a target entity reaches: followers × the share each facet keeps (10 % per
/// value listed, OR within a facet, AND across facets).
fn estimate(followers: u64, entity: &serde_json::Map<String, Value>) -> u64 {
    let mut share = 1.0f64;
    for (_, values) in entity {
        let n = values.as_array().map_or(0, Vec::len);
        if n > 0 {
            share *= (n as f64 * 0.1).min(1.0);
        }
    }
    (followers as f64 * share).floor() as u64
}

const TARGET_FACETS: &[&str] = &[
    "geoLocations",
    "seniorities",
    "industries",
    "jobFunctions",
    "staffCountRanges",
    "interfaceLocales",
    "degrees",
    "fieldsOfStudy",
    "organizations",
];

const STAFF_RANGES: &[&str] = &[
    "SIZE_1",
    "SIZE_2_TO_10",
    "SIZE_11_TO_50",
    "SIZE_51_TO_200",
    "SIZE_201_TO_500",
    "SIZE_501_TO_1000",
    "SIZE_1001_TO_5000",
    "SIZE_5001_TO_10000",
    "SIZE_10001_OR_MORE",
];

fn check_target_entities(v: &Value, followers: u64, test_org: bool) -> Result<(), String> {
    let Some(list) = v.as_array() else {
        return Err("distribution.targetEntities must be an array".into());
    };
    for (i, e) in list.iter().enumerate() {
        let Some(obj) = e.as_object() else {
            return Err(format!("targetEntities[{i}] must be an object"));
        };
        for (k, vals) in obj {
            if !TARGET_FACETS.contains(&k.as_str()) {
                return Err(format!("targetEntities[{i}].{k} is not a targeting facet"));
            }
            let Some(vals) = vals.as_array() else {
                return Err(format!("targetEntities[{i}].{k} must be an array"));
            };
            for val in vals {
                let s = val.as_str().unwrap_or("");
                let ok = match k.as_str() {
                    "geoLocations" => urn_number(s, "urn:li:geo:").is_some(),
                    "seniorities" => urn_number(s, "urn:li:seniority:").is_some_and(|n| (1..=10).contains(&n)),
                    "industries" => urn_number(s, "urn:li:industry:").is_some(),
                    "jobFunctions" => urn_number(s, "urn:li:function:").is_some_and(|n| (1..=26).contains(&n)),
                    "staffCountRanges" => STAFF_RANGES.contains(&s),
                    _ => !s.is_empty(),
                };
                if !ok {
                    return Err(format!("targetEntities[{i}].{k} has an invalid value {val}"));
                }
            }
        }
        let minimum = if test_org { 1 } else { 300 };
        let reach = estimate(followers, obj);
        if reach < minimum {
            return Err(format!(
                "Each targeting segment requires a minimum of {minimum} members; targetEntities[{i}] reaches about {reach}"
            ));
        }
    }
    Ok(())
}

fn urn_number(s: &str, prefix: &str) -> Option<u64> {
    s.strip_prefix(prefix)?.parse().ok()
}

async fn create_post(State(s): Shared, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut g = s.lock().expect("linkedin fake lock");
    let (member, version) = match rest_member(&g, &headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "The request body is not a JSON object");
    };
    let field = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or("");
    for k in ["author", "commentary", "visibility", "lifecycleState"] {
        if !req.contains_key(k) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("/{k} :: field is required but not found and has no default value"),
            );
        }
    }
    let author = field("author").to_owned();
    if let Err(why) = may_post_as(&member, &author) {
        return error(
            StatusCode::FORBIDDEN,
            &format!("Not enough permissions to create the post: {why}"),
        );
    }
    if !["PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"].contains(&field("visibility")) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "/visibility :: invalid enum value");
    }
    if field("lifecycleState") != "PUBLISHED" {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "/lifecycleState :: must be PUBLISHED");
    }
    let Some(dist) = req.get("distribution").and_then(Value::as_object) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/distribution :: field is required but not found",
        );
    };
    if !["MAIN_FEED", "NONE"].contains(&dist.get("feedDistribution").and_then(Value::as_str).unwrap_or("")) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/distribution/feedDistribution :: must be MAIN_FEED or NONE",
        );
    }
    let commentary = field("commentary").to_owned();
    // Counted as a Java server counts a string, in UTF-16 units, on the text the reader
    // sees (little text's escaping backslashes are markup).
    let shown = unescape(&commentary).encode_utf16().count();
    if shown > 3000 {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("/commentary :: length {shown} exceeds the maximum of 3000"),
        );
    }
    if let Some(c) = unescaped_reserved(&commentary) {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("/commentary :: the reserved character {c:?} must be escaped with a backslash"),
        );
    }
    let targets = dist
        .get("targetEntities")
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()));
    if let Some(t) = targets {
        if !author.starts_with("urn:li:organization:") {
            return error(
                StatusCode::BAD_REQUEST,
                "/distribution/targetEntities :: targeting is only available to organization authors",
            );
        }
        let followers = g.followers.get(&author).copied().unwrap_or(10_000);
        if let Err(why) = check_target_entities(t, followers, author == TEST_ORGANIZATION) {
            return error(StatusCode::BAD_REQUEST, &why);
        }
    }
    let mut media = Vec::new();
    if let Some(content) = req.get("content") {
        let ids: Vec<&str> = if let Some(m) = content.get("media") {
            vec![m.get("id").and_then(Value::as_str).unwrap_or("")]
        } else if let Some(mi) = content.get("multiImage") {
            let imgs = mi.get("images").and_then(Value::as_array).cloned().unwrap_or_default();
            if imgs.len() < 2 || imgs.len() > 20 {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "/content/multiImage/images :: 2 to 20 images",
                );
            }
            mi["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.get("id").and_then(Value::as_str).unwrap_or(""))
                .collect()
        } else {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "/content :: unsupported content type");
        };
        for id in ids {
            let ready = g.images.get(id).is_some_and(|i| i.stage == 2 && i.owner == author);
            if !ready {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("/content :: media {id:?} is not AVAILABLE for {author}"),
                );
            }
            media.push(id.to_owned());
        }
    }
    if let Some(dup) = g
        .posts
        .iter()
        .find(|p| p.author == author && p.commentary == commentary)
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Content is a duplicate of {}", dup.urn),
        );
    }
    let limit = g.daily_posts;
    let used = g.posted_today.entry(member.person.clone()).or_insert(0);
    if *used >= limit {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "Resource level throttle MEMBER DAY limit for calls to this resource is reached.",
        );
    }
    *used += 1;
    g.next += 1;
    let urn = format!("urn:li:share:{}", g.next);
    g.posts.push(LiPost {
        urn: urn.clone(),
        author,
        commentary,
        media,
        target_entities: targets.cloned(),
        version,
    });
    let mut r = StatusCode::CREATED.into_response();
    r.headers_mut()
        .insert("x-restli-id", HeaderValue::from_str(&urn).expect("ascii"));
    r
}

async fn find_posts(State(s): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let g = s.lock().expect("linkedin fake lock");
    let (member, _) = match rest_member(&g, &headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if q.get("q").map(String::as_str) != Some("author") {
        return error(StatusCode::BAD_REQUEST, "Query parameter q=author is required");
    }
    let author = q.get("author").cloned().unwrap_or_default();
    if may_post_as(&member, &author).is_err() {
        return error(
            StatusCode::FORBIDDEN,
            &format!("Not enough permissions to read the posts of {author}"),
        );
    }
    let count: usize = q.get("count").and_then(|c| c.parse().ok()).unwrap_or(10).min(100);
    let elements: Vec<Value> = g
        .posts
        .iter()
        .rev()
        .filter(|p| p.author == author)
        .take(count)
        .map(|p| json!({"id": p.urn, "author": p.author, "commentary": p.commentary, "lifecycleState": "PUBLISHED", "visibility": "PUBLIC"}))
        .collect();
    Json(json!({"elements": elements, "paging": {"start": 0, "count": count}})).into_response()
}

async fn initialize_upload(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let mut g = s.lock().expect("linkedin fake lock");
    let (member, _) = match rest_member(&g, &headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if q.get("action").map(String::as_str) != Some("initializeUpload") {
        return error(StatusCode::BAD_REQUEST, "action=initializeUpload is required");
    }
    let owner = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["initializeUploadRequest"]["owner"].as_str().map(str::to_owned));
    let Some(owner) = owner else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/initializeUploadRequest/owner :: field is required but not found",
        );
    };
    if let Err(why) = may_post_as(&member, &owner) {
        return error(
            StatusCode::FORBIDDEN,
            &format!("Not enough permissions to upload: {why}"),
        );
    }
    g.next += 1;
    let n = g.next;
    let urn = format!("urn:li:image:C4E10AQ{n}");
    g.images.insert(urn.clone(), Image { owner, stage: 0 });
    // The real upload URL is on www.linkedin.com; the fake serves it itself.
    let base = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    Json(json!({"value": {"uploadUrlExpiresAt": 1_999_999_999_000u64, "uploadUrl": format!("{base}/dms-uploads/{n}"), "image": urn}}))
        .into_response()
}

async fn upload_bytes(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut g = s.lock().expect("linkedin fake lock");
    if crate::bearer(&headers)
        .and_then(|t| g.tokens.get(&t).cloned())
        .is_none()
    {
        return error(StatusCode::UNAUTHORIZED, "Invalid access token");
    }
    let urn = format!("urn:li:image:C4E10AQ{id}");
    let Some(img) = g.images.get_mut(&urn) else {
        return error(StatusCode::NOT_FOUND, "No such upload");
    };
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "The upload is empty");
    }
    if img.stage == 0 {
        img.stage = 1;
    }
    StatusCode::CREATED.into_response()
}

async fn image_status(State(s): Shared, headers: HeaderMap, Path(urn): Path<String>) -> Response {
    let mut g = s.lock().expect("linkedin fake lock");
    let (member, _) = match rest_member(&g, &headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if !member
        .scopes
        .iter()
        .any(|s| s == "w_organization_social" || s == "r_organization_social")
    {
        return error(
            StatusCode::FORBIDDEN,
            "Accessing this image resource is forbidden. Please check your permissions for this resource",
        );
    }
    let Some(img) = g.images.get_mut(&urn) else {
        return error(StatusCode::NOT_FOUND, &format!("Image {urn} not found"));
    };
    let status = match img.stage {
        0 => "WAITING_UPLOAD",
        1 => {
            img.stage = 2;
            "PROCESSING"
        }
        _ => "AVAILABLE",
    };
    Json(json!({"id": urn, "status": status, "owner": img.owner})).into_response()
}

fn stats_json(s: &ShareStatistics) -> Value {
    json!({"impressionCount": s.impressions, "uniqueImpressionsCount": s.unique_impressions, "clickCount": s.clicks,
           "likeCount": s.likes, "commentCount": s.comments, "shareCount": s.shares,
           "engagement": if s.impressions == 0 { 0.0 } else { (s.clicks + s.likes + s.comments + s.shares) as f64 / s.impressions as f64 }})
}

async fn share_statistics(State(s): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let g = s.lock().expect("linkedin fake lock");
    let (member, _) = match rest_member(&g, &headers) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let org = q.get("organizationalEntity").cloned().unwrap_or_default();
    if q.get("q").map(String::as_str) != Some("organizationalEntity") || !org.starts_with("urn:li:organization:") {
        return error(
            StatusCode::BAD_REQUEST,
            "q=organizationalEntity with an organization URN is required",
        );
    }
    if !member.organizations.contains(&org) || !member.scopes.iter().any(|s| s == "r_organization_social") {
        return error(
            StatusCode::FORBIDDEN,
            "Not enough permissions to read this organization's statistics",
        );
    }
    let list = q.get("shares").cloned().unwrap_or_default();
    let Some(inner) = list.strip_prefix("List(").and_then(|l| l.strip_suffix(')')) else {
        return error(StatusCode::BAD_REQUEST, "shares must be List(urn,...)");
    };
    let elements: Vec<Value> = inner
        .split(',')
        .filter(|u| !u.is_empty())
        .filter_map(|u| {
            let urn = u.replace("%3A", ":").replace("%3a", ":");
            g.posts.iter().find(|p| p.urn == urn && p.author == org).map(|_| {
                let st = g.stats.get(&urn).cloned().unwrap_or_default();
                json!({"share": urn, "organizationalEntity": org, "totalShareStatistics": stats_json(&st)})
            })
        })
        .collect();
    Json(json!({"elements": elements, "paging": {"start": 0, "count": 10}})).into_response()
}

async fn social_actions(State(s): Shared, headers: HeaderMap, Path(urn): Path<String>) -> Response {
    let g = s.lock().expect("linkedin fake lock");
    if let Err(r) = rest_member(&g, &headers) {
        return r;
    }
    if !g.posts.iter().any(|p| p.urn == urn) {
        return error(StatusCode::NOT_FOUND, &format!("{urn} not found"));
    }
    let st = g.stats.get(&urn).cloned().unwrap_or_default();
    Json(json!({"target": urn, "likesSummary": {"totalLikes": st.likes}, "commentsSummary": {"aggregatedTotalComments": st.comments}}))
        .into_response()
}
