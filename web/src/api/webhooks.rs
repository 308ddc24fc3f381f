//! Webhook subscriptions of a workspace and their delivery logs. Admins and owners.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiJson, ApiPath};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chorus_core::domain::Role;
use chorus_core::store::entity::{webhook, webhook_delivery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<webhook::Model> for WebhookOut {
    fn from(w: webhook::Model) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events.0,
            enabled: w.enabled,
            created_at: w.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookIn {
    /// Where events are POSTed: https on a public host.
    pub url: String,
    /// Any of `post.published`, `post.failed`, `approval.requested`, `approval.decided`,
    /// `account.needs_reauth`.
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookOut {
    /// The signing secret, shown this once: verify `Chorus-Signature` with it.
    pub secret: String,
    pub webhook: WebhookOut,
}

async fn admin(api: &super::Api, caller: &Caller, ws: Uuid) -> ApiResult<super::auth::Access> {
    let access = caller.access(api, ws).await?;
    access.require("manage webhooks", Role::can_administer)?;
    Ok(access)
}

/// The workspace's webhooks.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/webhooks", tag = "webhooks",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    responses((status = 200, body = Vec<WebhookOut>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<WebhookOut>>> {
    let access = admin(&api, &caller, ws).await?;
    let rows = access.tenant(&api.store).webhooks().list().await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Subscribes a URL to events. The URL is checked like a plugin's host: https on a public
/// address (private, loopback and link-local addresses only when the operator allows them).
/// Answers the signing secret once.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/webhooks", tag = "webhooks",
    params(("workspace" = Uuid, Path, description = "Workspace id")),
    request_body = NewWebhookIn,
    responses((status = 201, body = CreatedWebhookOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn create(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewWebhookIn>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookOut>)> {
    let access = admin(&api, &caller, ws).await?;
    let url = chorus_core::webhooks::check_target(&body.url, api.settings.webhooks_allow_private)
        .map_err(|e| Problem::invalid("url", e.to_string()))?;
    let t = access.tenant(&api.store);
    let created = t
        .webhooks()
        .create(url.as_str(), &body.events, Some(caller.user.id))
        .await?;
    t.audit()
        .record(chorus_core::store::AuditEntry {
            actor: Some(caller.user.id),
            action: "webhook.created",
            subject_kind: "webhook",
            subject_id: Some(created.webhook.id),
            detail: serde_json::json!({ "url": created.webhook.url, "events": created.webhook.events.0 }),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookOut {
            secret: created.secret,
            webhook: created.webhook.into(),
        }),
    ))
}

/// Removes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}/webhooks/{webhook}", tag = "webhooks",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("webhook" = Uuid, Path, description = "Webhook id")),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn delete(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let access = admin(&api, &caller, ws).await?;
    access.tenant(&api.store).webhooks().delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryOut {
    pub id: Uuid,
    pub event: String,
    /// `pending` (waiting for its next attempt), `sending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The body sent (and signed).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<webhook_delivery::Model> for WebhookDeliveryOut {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: d.id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            payload: serde_json::from_str(&d.payload).unwrap_or_default(),
        }
    }
}

/// A webhook's delivery log, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/webhooks/{webhook}/deliveries", tag = "webhooks",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("webhook" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, body = Vec<WebhookDeliveryOut>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn deliveries(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Vec<WebhookDeliveryOut>>> {
    let access = admin(&api, &caller, ws).await?;
    let rows = access.tenant(&api.store).webhooks().deliveries(id, 100).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}
