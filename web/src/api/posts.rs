//! Posts and their deliveries.

use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use super::{ApiState, Page};
use axum::Json;
use axum::extract::State;
use chorus_core::domain::{DeliveryStatus, PostStatus};
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
