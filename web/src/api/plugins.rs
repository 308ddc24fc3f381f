//! The installed platform plugins and what the host lets each reach.

use super::ApiState;
use super::auth::Caller;
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PluginOut {
    pub id: String,
    pub name: String,
    pub version: String,
    /// The WIT contract version the component was built against.
    pub api_version: String,
    pub platform: String,
    pub author: String,
    /// The component's SHA-256.
    pub sha256: String,
    /// Hosts it may call.
    pub http_hosts: Vec<String>,
    /// Hosts that receive the account's credentials.
    pub credential_hosts: Vec<String>,
    /// Each account names its own server (federated platforms).
    pub account_api_base: bool,
}

/// Installed plugins (any signed-in caller).
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    responses((status = 200, body = Vec<PluginOut>), (status = 401, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(State(api): State<ApiState>, _caller: Caller) -> ApiResult<Json<Vec<PluginOut>>> {
    let mut out: Vec<PluginOut> = api
        .plugins
        .list()
        .map(|p| {
            let m = &p.manifest;
            PluginOut {
                id: m.id.clone(),
                name: m.name.clone(),
                version: m.version.clone(),
                api_version: m.api_version.clone(),
                platform: m.platform.clone(),
                author: m.author.clone(),
                sha256: p.sha256.clone(),
                http_hosts: m.capabilities.http_hosts.clone(),
                credential_hosts: m.capabilities.credential_hosts.clone(),
                account_api_base: m.capabilities.account_api_base,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(out))
}
