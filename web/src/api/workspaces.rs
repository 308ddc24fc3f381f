//! Workspaces the caller belongs to, their brands, and their audit log.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chorus_core::domain::{Role, WorkspaceKind};
use chorus_core::store::entity::{audit_log, brand, workspace};
use chorus_core::store::{AuditEntry, NewBrand};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceOut {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// `agency` or `company`.
    #[schema(value_type = String, example = "agency")]
    pub kind: WorkspaceKind,
}

impl From<&workspace::Model> for WorkspaceOut {
    fn from(w: &workspace::Model) -> Self {
        Self {
            id: w.id,
            slug: w.slug.clone(),
            name: w.name.clone(),
            kind: w.kind,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandOut {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The IANA zone the brand plans in.
    pub timezone: String,
    /// Posts wait for a client approver before they are scheduled.
    pub requires_approval: bool,
}

impl From<brand::Model> for BrandOut {
    fn from(b: brand::Model) -> Self {
        Self {
            id: b.id,
            slug: b.slug,
            name: b.name,
            timezone: b.timezone,
            requires_approval: b.requires_approval,
        }
    }
}

/// The workspaces the caller has a role in (a token: its own workspace).
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces",
    responses((status = 200, body = Vec<WorkspaceOut>), (status = 401, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(State(api): State<ApiState>, caller: Caller) -> ApiResult<Json<Vec<WorkspaceOut>>> {
    let mine = api.store.identity().memberships(caller.user.id).await?;
    let mut out = Vec::new();
    for w in api.store.workspaces().list().await? {
        if mine.iter().any(|m| m.workspace_id == w.id) && caller.access(&api, w.id).await.is_ok() {
            out.push((&w).into());
        }
    }
    Ok(Json(out))
}

/// One workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}", tag = "workspaces",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    responses((status = 200, body = WorkspaceOut), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn get(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
) -> ApiResult<Json<WorkspaceOut>> {
    caller.access(&api, ws).await?;
    let w = api
        .store
        .workspaces()
        .list()
        .await?
        .into_iter()
        .find(|w| w.id == ws)
        .ok_or_else(Problem::not_found)?;
    Ok(Json((&w).into()))
}

/// The brands the caller can see (a client approver: only their own).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands", tag = "workspaces",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    responses((status = 200, body = Vec<BrandOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn brands(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<BrandOut>>> {
    let access = caller.access(&api, ws).await?;
    let limit = access.brand_limit();
    let brands = access.tenant(&api.store).brands().list().await?;
    Ok(Json(
        brands
            .into_iter()
            .filter(|b| limit.as_ref().is_none_or(|l| l.contains(&b.id)))
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrandIn {
    /// Lowercase letters, digits and dashes; unique in the workspace.
    pub slug: String,
    pub name: String,
    /// An IANA zone such as `Europe/Stockholm`.
    pub timezone: String,
    #[serde(default)]
    pub requires_approval: bool,
}

/// Adds a brand (owners and admins).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands", tag = "workspaces",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    request_body = NewBrandIn,
    responses((status = 201, body = BrandOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn create_brand(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewBrandIn>,
) -> ApiResult<(StatusCode, Json<BrandOut>)> {
    let access = caller.access(&api, ws).await?;
    access.require("add brands", Role::can_administer)?;
    let t = access.tenant(&api.store);
    let mut b = t
        .brands()
        .create(NewBrand {
            slug: body.slug,
            name: body.name,
            timezone: body.timezone,
        })
        .await?;
    if body.requires_approval {
        b = t.brands().set_requires_approval(b.id, true).await?;
    }
    t.audit()
        .record(AuditEntry {
            actor: Some(caller.user.id),
            action: "brand.created",
            subject_kind: "brand",
            subject_id: Some(b.id),
            detail: serde_json::json!({ "slug": b.slug }),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(b.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_user_id: Option<Uuid>,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

impl From<audit_log::Model> for AuditOut {
    fn from(a: audit_log::Model) -> Self {
        Self {
            id: a.id,
            at: a.at,
            actor_user_id: a.actor_user_id,
            action: a.action,
            subject_kind: a.subject_kind,
            subject_id: a.subject_id,
            detail: a.detail,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this subject (a post, a brand, a token).
    pub subject: Option<Uuid>,
    /// At most this many, newest first (1-500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// The workspace's audit log, newest first (owners and admins).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/audit", tag = "audit",
    params(("workspace" = Uuid, Path, description = "Workspace id"), AuditQuery),
    responses((status = 200, body = Vec<AuditOut>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn audit(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditOut>>> {
    let access = caller.access(&api, ws).await?;
    access.require("read the audit log", Role::can_administer)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid("limit", format!("{limit} is outside 1-500")));
    }
    let rows = access.tenant(&api.store).audit().recent(q.subject, limit).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}
