//! API tokens: issued to a person for an integration, shown once, stored hashed, revocable.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiJson, ApiPath};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chorus_core::domain::Role;
use chorus_core::store::entity::api_token;
use chorus_core::store::{AuditEntry, NewToken};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: Uuid,
    pub name: String,
    pub user_id: Uuid,
    pub brand_id: Option<Uuid>,
    #[schema(value_type = String, example = "editor")]
    pub role: Role,
    /// The secret's first characters, to tell tokens apart.
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<api_token::Model> for TokenOut {
    fn from(t: api_token::Model) -> Self {
        Self {
            id: t.id,
            name: t.name,
            user_id: t.user_id,
            brand_id: t.brand_id,
            role: t.role,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenIn {
    /// What uses the token, e.g. "Zapier" or "CI".
    pub name: String,
    /// `owner`, `admin`, `editor`, `viewer` or `client_approver`; never more than your own.
    #[schema(value_type = String, example = "editor")]
    pub role: Role,
    /// Limit the token to one brand.
    pub brand_id: Option<Uuid>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedTokenOut {
    /// The secret, shown this once: send it as `Authorization: Bearer …`.
    pub secret: String,
    pub token: TokenOut,
}

/// The workspace's tokens (owners and admins see all; others their own).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/tokens", tag = "tokens",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    responses((status = 200, body = Vec<TokenOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<TokenOut>>> {
    let access = caller.access(&api, ws).await?;
    let all = access.workspace_role.is_some_and(Role::can_administer);
    let tokens = access.tenant(&api.store).api_tokens().list().await?;
    Ok(Json(
        tokens
            .into_iter()
            .filter(|t| all || t.user_id == caller.user.id)
            .map(Into::into)
            .collect(),
    ))
}

/// Issues a token acting for the caller, with a role no greater than theirs.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/tokens", tag = "tokens",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    request_body = NewTokenIn,
    responses((status = 201, body = IssuedTokenOut), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn issue(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewTokenIn>,
) -> ApiResult<(StatusCode, Json<IssuedTokenOut>)> {
    let access = caller.access(&api, ws).await?;
    // A token issuing tokens gets no more than its own role.
    let held = match body.brand_id {
        Some(b) => access.role_in(b),
        None => access.workspace_role,
    };
    if let Some(h) = held
        && !h.covers(body.role)
    {
        return Err(Problem::invalid(
            "role",
            format!(
                "a token cannot do more than you: you are {}, the token asks for {}",
                h.as_str(),
                body.role.as_str()
            ),
        ));
    }
    let t = access.tenant(&api.store);
    let issued = t
        .api_tokens()
        .issue(NewToken {
            user_id: caller.user.id,
            name: body.name,
            role: body.role,
            brand_id: body.brand_id,
            expires_at: body.expires_at,
        })
        .await?;
    t.audit()
        .record(AuditEntry {
            actor: Some(caller.user.id),
            action: "token.issued",
            subject_kind: "api_token",
            subject_id: Some(issued.token.id),
            detail: serde_json::json!({ "name": issued.token.name, "role": issued.token.role.as_str() }),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenOut {
            secret: issued.secret,
            token: issued.token.into(),
        }),
    ))
}

/// Revokes a token at once (its owner, or an owner or admin).
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}/tokens/{token}", tag = "tokens",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("token" = Uuid, Path, description = "Token id")),
    responses((status = 200, body = TokenOut), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn revoke(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<TokenOut>> {
    let access = caller.access(&api, ws).await?;
    let t = access.tenant(&api.store);
    let token = t.api_tokens().list().await?.into_iter().find(|t| t.id == id);
    let admin = access.workspace_role.is_some_and(Role::can_administer);
    match token {
        Some(tok) if admin || tok.user_id == caller.user.id => {}
        _ => return Err(Problem::not_found()),
    }
    let revoked = t.api_tokens().revoke(id).await?;
    t.audit()
        .record(AuditEntry {
            actor: Some(caller.user.id),
            action: "token.revoked",
            subject_kind: "api_token",
            subject_id: Some(id),
            detail: serde_json::json!({ "name": revoked.name }),
        })
        .await?;
    Ok(Json(revoked.into()))
}
