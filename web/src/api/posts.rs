//! Posts and their deliveries.

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use super::{ApiState, Page};
use axum::Json;
use axum::extract::State;
use chorus_core::domain::{DeliveryStatus, PostStatus, Role};
use chorus_core::store::entity::{delivery, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub author_id: Option<Uuid>,
    pub title: Option<String>,
    pub body: String,
    pub link: Option<String>,
    pub hashtags: Vec<String>,
    pub locale: String,
    #[schema(value_type = String, example = "scheduled")]
    pub status: PostStatus,
    pub revision: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<post::Model> for PostOut {
    fn from(p: post::Model) -> Self {
        Self {
            id: p.id,
            brand_id: p.brand_id,
            author_id: p.author_id,
            title: p.title,
            body: p.body,
            link: p.link,
            hashtags: p.hashtags.0,
            locale: p.locale,
            status: p.status,
            revision: p.revision,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    pub post_id: Uuid,
    pub social_account_id: Uuid,
    pub segment_id: Option<Uuid>,
    #[schema(value_type = String, example = "published")]
    pub status: DeliveryStatus,
    /// The text as adapted for the platform and segment.
    pub adapted_text: Option<String>,
    pub scheduled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The IANA zone the instant was planned in.
    pub timezone: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub error_kind: Option<String>,
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    pub plugin_id: Option<String>,
    pub plugin_version: Option<String>,
}

impl From<delivery::Model> for DeliveryOut {
    fn from(d: delivery::Model) -> Self {
        Self {
            id: d.id,
            post_id: d.post_id,
            social_account_id: d.social_account_id,
            segment_id: d.segment_id,
            status: d.status,
            adapted_text: d.adapted_text,
            scheduled_at: d.scheduled_at,
            timezone: d.timezone,
            attempts: d.attempts,
            last_error: d.last_error,
            error_kind: d.error_kind,
            remote_id: d.remote_id,
            remote_url: d.remote_url,
            published_at: d.published_at,
            plugin_id: d.plugin_id,
            plugin_version: d.plugin_version,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostQuery {
    /// Only this brand's posts.
    pub brand: Option<Uuid>,
    /// Only posts in this state (`draft`, `in_review`, `approved`, `scheduled`,
    /// `publishing`, `published`, `partially_published`, `failed`, `cancelled`).
    #[param(value_type = Option<String>)]
    pub status: Option<PostStatus>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// The workspace's posts, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/posts", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), PostQuery),
    responses((status = 200, body = Page<PostOut>), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<PostQuery>,
) -> ApiResult<Json<Page<PostOut>>> {
    let access = caller.access(&api, ws).await?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::invalid("limit", format!("{limit} is outside 1-200")));
    }
    let brands = match (q.brand, access.brand_limit()) {
        (Some(b), _) => {
            access.require_in(b, "read posts", |_| true)?;
            Some(vec![b])
        }
        (None, limit) => limit,
    };
    let mut posts = access
        .tenant(&api.store)
        .posts()
        .page(brands.as_deref(), q.status, q.cursor, limit + 1)
        .await?;
    let more = posts.len() as u64 > limit;
    posts.truncate(limit as usize);
    let next_cursor = more.then(|| posts.last().map(|p| p.id.to_string())).flatten();
    Ok(Json(Page {
        items: posts.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// One post.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/posts/{post}", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    responses((status = 200, body = PostOut), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn get(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<PostOut>> {
    let access = caller.access(&api, ws).await?;
    let p = access.tenant(&api.store).posts().get(id).await?;
    access.require_in(p.brand_id, "read posts", |_| true)?;
    Ok(Json(p.into()))
}

/// A post's deliveries: one per account and segment, with its state and outcome.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/posts/{post}/deliveries", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    responses((status = 200, body = Vec<DeliveryOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn deliveries(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Vec<DeliveryOut>>> {
    let access = caller.access(&api, ws).await?;
    let t = access.tenant(&api.store);
    let p = t.posts().get(id).await?;
    access.require_in(p.brand_id, "read posts", |_| true)?;
    let rows = t.deliveries().list_for_post(id).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// When a post goes out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WhenIn {
    /// At a wall-clock time in `timezone` (else the brand's zone), e.g. `2026-12-24 09:00`,
    /// or an instant with its offset. A time the clocks skip is refused, naming the next.
    At { time: String, timezone: Option<String> },
    /// As soon as a worker is free.
    Now,
    /// Each account's next free posting slot ("add to queue").
    NextSlot,
    /// On every slot of a 5-field cron rule (POSIX weekdays: 0 and 7 are Sunday) in
    /// `timezone` (else the brand's), until `until`.
    Every {
        cron: String,
        timezone: Option<String>,
        until: Option<String>,
    },
}

impl WhenIn {
    fn resolve(&self, brand_zone: &str) -> ApiResult<chorus_core::delivery::plan::When> {
        use chorus_core::delivery::plan::When;
        use chorus_core::domain::{CronSchedule, Zone};
        let zone = |z: &Option<String>| Zone::parse("when.timezone", z.as_deref().unwrap_or(brand_zone));
        Ok(match self {
            WhenIn::At { time, timezone } => {
                let z = zone(timezone).map_err(chorus_core::StoreError::from)?;
                When::At(z.instant("when.time", time).map_err(chorus_core::StoreError::from)?, z)
            }
            WhenIn::Now => When::Now,
            WhenIn::NextSlot => When::NextSlot,
            WhenIn::Every { cron, timezone, until } => {
                let z = zone(timezone).map_err(chorus_core::StoreError::from)?;
                When::Every {
                    cron: CronSchedule::parse(cron).map_err(|e| Problem::invalid("when.cron", e.to_string()))?,
                    zone: z,
                    until: until
                        .as_deref()
                        .map(|u| z.instant("when.until", u))
                        .transpose()
                        .map_err(chorus_core::StoreError::from)?,
                }
            }
        })
    }
}

/// One destination: an account, for one segment or (without) everyone who sees it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetIn {
    pub account_id: Uuid,
    pub segment_id: Option<Uuid>,
}

/// A post as composed once, with where and (optionally) when it goes. Previews take the
/// same body without `when`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeIn {
    pub brand_id: Uuid,
    pub body: String,
    pub title: Option<String>,
    pub link: Option<String>,
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// A BCP 47 tag such as `en` or `sv-SE` (default `en`).
    pub locale: Option<String>,
    /// Media asset ids, in order.
    #[serde(default)]
    pub media: Vec<Uuid>,
    /// Answers to the platforms' per-post choices, by platform id or account id:
    /// `{"pinterest": {"board": "123"}, "tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE"}}`.
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
    pub targets: Vec<TargetIn>,
    /// Schedule at once; without it the post stays a draft.
    pub when: Option<WhenIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedOut {
    pub post: PostOut,
    pub deliveries: Vec<DeliveryOut>,
    /// The brand requires approval: the post waits in review, its deliveries keep their times.
    pub held_for_approval: bool,
    /// Deliveries the request left alone, and why.
    pub not_changed: Vec<SkippedOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedOut {
    pub id: Uuid,
    pub status: String,
    pub reason: String,
}

impl From<chorus_core::delivery::plan::Planned> for PlannedOut {
    fn from(p: chorus_core::delivery::plan::Planned) -> Self {
        Self {
            post: p.post.into(),
            deliveries: p.deliveries.into_iter().map(Into::into).collect(),
            held_for_approval: p.held_for_approval,
            not_changed: p
                .not_changed
                .into_iter()
                .map(|s| SkippedOut {
                    id: s.id,
                    status: s.status,
                    reason: s.reason,
                })
                .collect(),
        }
    }
}

fn planner<'a>(api: &'a super::Api, access: &super::auth::Access) -> chorus_core::delivery::plan::Planner<'a> {
    chorus_core::delivery::plan::Planner::new(access.tenant(&api.store), &api.plugins)
}

/// Composes a post: each target adapted by its platform's plugin (nothing is stored when
/// one cannot be), then scheduled when `when` is given. Editors, admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/posts", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    request_body = ComposeIn,
    responses((status = 201, body = PlannedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn compose(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ComposeIn>,
) -> ApiResult<(axum::http::StatusCode, Json<PlannedOut>)> {
    let access = caller.access(&api, ws).await?;
    access.require_in(body.brand_id, "compose posts", Role::can_compose)?;
    let brand = access.tenant(&api.store).brands().get(body.brand_id).await?;
    let when = body.when.as_ref().map(|w| w.resolve(&brand.timezone)).transpose()?;
    let (draft, targets) = (body.draft()?, body.targets());
    // Accounts of another brand are refused by the planner ("not found" for this brand).
    let p = planner(&api, &access);
    let mut planned = p.compose(body.brand_id, Some(caller.user.id), draft, &targets).await?;
    if let Some(w) = when {
        planned = p.schedule(planned.post.id, w, Some(caller.user.id)).await?;
    }
    Ok((axum::http::StatusCode::CREATED, Json(planned.into())))
}

/// The post, once the caller's role in its brand allows `what` (a post of a brand the
/// caller cannot see is "not found", as another tenant's would be).
async fn post_in(
    api: &super::Api,
    access: &super::auth::Access,
    id: Uuid,
    what: &str,
    allowed: fn(Role) -> bool,
) -> ApiResult<chorus_core::store::entity::post::Model> {
    let post = access.tenant(&api.store).posts().get(id).await?;
    access.require_in(post.brand_id, what, allowed)?;
    Ok(post)
}

/// A post's new content; its targets stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditIn {
    /// The revision the editor last read (`GET` the post): if someone edited it since,
    /// the edit is refused with 409 and nothing changes.
    pub revision: i32,
    pub body: String,
    pub title: Option<String>,
    pub link: Option<String>,
    #[serde(default)]
    pub hashtags: Vec<String>,
    pub locale: Option<String>,
    #[serde(default)]
    pub media: Vec<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub options: Option<serde_json::Value>,
}

/// Replaces a post's content and adapts again every delivery that has not gone out
/// (published ones keep what they sent, listed in `not_changed`). When the brand requires
/// approval, an edited post goes back to draft, its deliveries held, until it is submitted
/// and approved again. Editors, admins and owners.
#[utoipa::path(put, path = "/api/v1/workspaces/{workspace}/posts/{post}", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    request_body = EditIn,
    responses((status = 200, body = PlannedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn edit(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<EditIn>,
) -> ApiResult<Json<PlannedOut>> {
    let access = caller.access(&api, ws).await?;
    post_in(&api, &access, id, "edit posts", Role::can_compose).await?;
    let draft = Content {
        body: &body.body,
        title: &body.title,
        link: &body.link,
        hashtags: &body.hashtags,
        locale: &body.locale,
        media: &body.media,
        options: &body.options,
    }
    .draft()?;
    let planned = planner(&api, &access)
        .edit(id, body.revision, Some(caller.user.id), draft)
        .await?;
    Ok(Json(planned.into()))
}

/// Schedules a post's deliveries that have not gone out. When the brand requires approval
/// and the post is not approved, it is submitted for review instead.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/posts/{post}/schedule", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    request_body = WhenIn,
    responses((status = 200, body = PlannedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn schedule(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(when): ApiJson<WhenIn>,
) -> ApiResult<Json<PlannedOut>> {
    let access = caller.access(&api, ws).await?;
    let post = post_in(&api, &access, id, "schedule posts", Role::can_compose).await?;
    let zone = access.tenant(&api.store).brands().get(post.brand_id).await?.timezone;
    let planned = planner(&api, &access)
        .schedule(id, when.resolve(&zone)?, Some(caller.user.id))
        .await?;
    Ok(Json(planned.into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// Why: optional when approving, required when rejecting (the author reads it).
    pub comment: Option<String>,
}

/// An approver (a client approver for their brand, an admin or owner) accepts a post in
/// review: its deliveries are scheduled at their planned times.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/posts/{post}/approve", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    request_body = DecisionIn,
    responses((status = 200, body = PlannedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn approve(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> ApiResult<Json<PlannedOut>> {
    let access = caller.access(&api, ws).await?;
    post_in(&api, &access, id, "approve posts", Role::can_approve).await?;
    let planned = planner(&api, &access)
        .approve(id, Some(caller.user.id), body.comment.as_deref())
        .await?;
    Ok(Json(planned.into()))
}

/// An approver sends a post in review back to its author with a comment.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/posts/{post}/reject", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    request_body = DecisionIn,
    responses((status = 200, body = PostOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn reject(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<DecisionIn>,
) -> ApiResult<Json<PostOut>> {
    let access = caller.access(&api, ws).await?;
    post_in(&api, &access, id, "reject posts", Role::can_approve).await?;
    let post = planner(&api, &access)
        .reject(id, Some(caller.user.id), body.comment.as_deref().unwrap_or(""))
        .await?;
    Ok(Json(post.into()))
}

/// Cancels a post's deliveries that have not gone out (published ones stay, named).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/posts/{post}/cancel", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    responses((status = 200, body = PlannedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn cancel(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<PlannedOut>> {
    let access = caller.access(&api, ws).await?;
    post_in(&api, &access, id, "cancel posts", Role::can_compose).await?;
    let p = planner(&api, &access);
    let (post, not_changed) = p.cancel(id, Some(caller.user.id)).await?;
    let deliveries = access.tenant(&api.store).deliveries().list_for_post(id).await?;
    Ok(Json(
        chorus_core::delivery::plan::Planned {
            post,
            deliveries,
            held_for_approval: false,
            not_changed,
        }
        .into(),
    ))
}

/// Retries a post's deliveries that did not publish (failed, dead, cancelled); published
/// ones are never sent again.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/posts/{post}/retry", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("post" = Uuid, Path, description = "Post id")),
    responses((status = 200, body = PlannedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn retry(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<PlannedOut>> {
    let access = caller.access(&api, ws).await?;
    post_in(&api, &access, id, "retry posts", Role::can_compose).await?;
    let planned = planner(&api, &access).retry(id, Some(caller.user.id)).await?;
    Ok(Json(planned.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarningOut {
    /// Stable, e.g. `text-truncated`, `hashtags-dropped`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewOut {
    pub account_id: Uuid,
    pub segment_id: Option<Uuid>,
    pub platform: String,
    pub handle: String,
    pub plugin_id: String,
    /// The text, or a thread's first part.
    pub text: String,
    /// Every part when the post became a thread.
    pub parts: Vec<String>,
    pub hashtags: Vec<String>,
    /// Media asset ids kept, in order.
    pub media: Vec<String>,
    /// The text's length by the platform's own rule (X's weighted count, …).
    pub length: u32,
    /// The native targeting that would be sent.
    #[schema(value_type = Option<Object>)]
    pub targeting: Option<serde_json::Value>,
    pub warnings: Vec<WarningOut>,
    /// Languages of the text, most specific first.
    pub languages: Vec<String>,
}

/// A post's content as the core validates it (hashtags, link, locale, options): what
/// composing and editing share.
struct Content<'a> {
    body: &'a str,
    title: &'a Option<String>,
    link: &'a Option<String>,
    hashtags: &'a [String],
    locale: &'a Option<String>,
    media: &'a [Uuid],
    options: &'a Option<serde_json::Value>,
}

impl Content<'_> {
    fn draft(&self) -> ApiResult<chorus_core::domain::PostDraft> {
        let mut draft = serde_json::json!({
            "body": self.body, "title": self.title, "link": self.link, "hashtags": self.hashtags, "media": self.media,
        });
        if let Some(l) = self.locale {
            draft["locale"] = l.clone().into();
        }
        if let Some(o) = self.options {
            draft["options"] = o.clone();
        }
        serde_json::from_value(draft).map_err(|e| Problem::invalid("options", e.to_string()))
    }
}

impl ComposeIn {
    fn draft(&self) -> ApiResult<chorus_core::domain::PostDraft> {
        Content {
            body: &self.body,
            title: &self.title,
            link: &self.link,
            hashtags: &self.hashtags,
            locale: &self.locale,
            media: &self.media,
            options: &self.options,
        }
        .draft()
    }

    fn targets(&self) -> Vec<chorus_core::delivery::plan::Target> {
        self.targets
            .iter()
            .map(|t| chorus_core::delivery::plan::Target {
                account_id: t.account_id,
                segment_id: t.segment_id,
            })
            .collect()
    }
}

/// The adapted variant of a draft for each chosen account and segment, computed by the
/// plugins that would publish it, with the platform's own length count and every warning.
/// Nothing is stored. Editors of the brand.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/previews", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    request_body = ComposeIn,
    responses((status = 200, body = Vec<PreviewOut>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn preview(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ComposeIn>,
) -> ApiResult<Json<Vec<PreviewOut>>> {
    let access = caller.access(&api, ws).await?;
    access.require_in(body.brand_id, "compose posts", Role::can_compose)?;
    if body.when.is_some() {
        return Err(Problem::invalid("when", "a preview is not scheduled; leave `when` out"));
    }
    let (draft, targets) = (body.draft()?, body.targets());
    let previews = planner(&api, &access).preview(body.brand_id, draft, &targets).await?;
    Ok(Json(
        previews
            .into_iter()
            .map(|p| PreviewOut {
                account_id: p.target.account_id,
                segment_id: p.target.segment_id,
                platform: p.platform,
                handle: p.handle,
                plugin_id: p.plugin_id,
                text: p.adapted.text,
                parts: p.adapted.parts,
                hashtags: p.adapted.hashtags,
                media: p.adapted.media,
                length: p.adapted.length,
                targeting: p.targeting,
                warnings: p
                    .adapted
                    .warnings
                    .into_iter()
                    .map(|w| WarningOut {
                        code: w.code,
                        message: w.message,
                    })
                    .collect(),
                languages: p.adapted.languages,
            })
            .collect(),
    ))
}
