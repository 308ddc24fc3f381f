//! Social accounts and connecting them with OAuth 2 (the authorization-code flow).
//!
//! `POST …/brands/{brand}/connections` answers the platform's authorize URL; the person signs
//! in there and the platform sends their browser back to `GET /api/v1/oauth/callback` with a
//! code and the `state`. The callback needs no session: the platform's redirect is a
//! cross-site navigation, which a SameSite=Strict cookie does not ride along with. The
//! single-use, ten-minute, 256-bit `state` is the credential, and it carries who started the
//! flow, for which brand.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chorus_core::domain::Role;
use chorus_core::oauth::connect::{Begin, ConnectError};
use chorus_core::store::entity::social_account;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The route the platforms send people back to; register `PUBLIC_BASE` + this with each app.
pub const CALLBACK_PATH: &str = "/api/v1/oauth/callback";

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub platform: String,
    pub handle: String,
    /// The platform's own id (user id, page id, organization URN).
    pub remote_id: String,
    pub display_name: Option<String>,
    pub timezone: String,
    /// `connected`, `needs_reauth` (reconnect it), or `disconnected`.
    pub status: String,
    pub scopes: Vec<String>,
    /// When the access token expires (it is refreshed before, where the platform allows).
    pub credentials_expire_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<social_account::Model> for AccountOut {
    fn from(a: social_account::Model) -> Self {
        Self {
            id: a.id,
            brand_id: a.brand_id,
            platform: a.platform,
            handle: a.handle,
            remote_id: a.remote_id,
            display_name: a.display_name,
            timezone: a.timezone,
            status: a.status.to_string(),
            scopes: a.scopes.0,
            credentials_expire_at: a.credentials_expire_at,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Only this brand's accounts.
    pub brand: Option<Uuid>,
}

/// The workspace's social accounts (a brand-limited caller sees their brands' only), with
/// their connection status. Never their tokens.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/accounts", tag = "accounts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), AccountQuery),
    responses((status = 200, body = Vec<AccountOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<AccountOut>>> {
    let access = caller.access(&api, ws).await?;
    let accounts = access.tenant(&api.store).accounts();
    let rows = match q.brand {
        Some(b) => {
            access.require_in(b, "read accounts", Role::can_read)?;
            accounts.list_for_brand(b).await?
        }
        None => accounts.list().await?,
    };
    let limit = access.brand_limit();
    Ok(Json(
        rows.into_iter()
            .filter(|a| limit.as_ref().is_none_or(|l| l.contains(&a.brand_id)))
            .map(Into::into)
            .collect(),
    ))
}

/// Which account to connect. Until the plugin contract can ask the platform who signed in,
/// the person names the account (its handle and the platform's id for it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectIn {
    /// A platform id, e.g. `x`, `tiktok`, `pinterest` (`GET /api/v1/plugins`).
    pub platform: String,
    pub handle: String,
    /// The platform's own id for the account (user id, page id, organization URN).
    pub remote_id: String,
    pub display_name: Option<String>,
    /// The account's IANA zone for posting slots (default: the brand's).
    pub timezone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionOut {
    /// Send the person's browser here; the platform sends it back to the callback.
    pub authorize_url: String,
    /// The sign-in must be finished by then.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The callback registered with the platform's app.
    pub redirect_uri: String,
}

/// Starts connecting an account of the brand: answers the platform's authorize URL (the
/// plugin's scopes, `state`, and PKCE where the platform requires it). Admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands/{brand}/connections", tag = "accounts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    request_body = ConnectIn,
    responses((status = 201, body = ConnectionOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn connect(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<ConnectIn>,
) -> ApiResult<(StatusCode, Json<ConnectionOut>)> {
    let access = caller.access(&api, ws).await?;
    access.require_in(brand, "connect accounts", Role::can_manage_accounts)?;
    let tenant = access.tenant(&api.store);
    let timezone = match body.timezone {
        Some(z) => z,
        None => tenant.brands().get(brand).await?.timezone,
    };
    let plugin = api.plugins.for_platform(&body.platform, None).ok_or_else(|| {
        Problem::invalid(
            "platform",
            format!(
                "no plugin for {:?} is installed; GET /api/v1/plugins lists them",
                body.platform
            ),
        )
    })?;
    let redirect = redirect_uri(&api.settings.public_base)?;
    let started = api
        .connector
        .begin(
            tenant,
            plugin.description.oauth.as_ref(),
            Begin {
                brand_id: brand,
                user_id: caller.user.id,
                platform: body.platform,
                redirect_uri: redirect.clone(),
                handle: body.handle,
                remote_id: body.remote_id,
                display_name: body.display_name,
                timezone,
            },
        )
        .await
        .map_err(problem)?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectionOut {
            authorize_url: started.authorize_url.to_string(),
            expires_at: started.expires_at,
            redirect_uri: redirect.to_string(),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    /// Set by the platform instead of `code` when the person declined or the request was wrong.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the platform sends the person back. Redeems the code, seals the tokens into the
/// account (a new one, or the brand's account with that id, connected again) and answers
/// it. No session needed: the single-use `state` is the credential.
#[utoipa::path(get, path = "/api/v1/oauth/callback", tag = "accounts",
    params(CallbackQuery),
    responses((status = 200, body = AccountOut), (status = 400, body = Problem), (status = 502, body = Problem)))]
pub async fn callback(
    State(api): State<ApiState>,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> ApiResult<Json<AccountOut>> {
    let Some(state) = q.state.filter(|s| !s.is_empty()) else {
        return Err(
            Problem::new(StatusCode::BAD_REQUEST, "invalid-state", "No sign-in to finish")
                .detail("the platform's answer has no state; start connecting the account again"),
        );
    };
    if let Some(error) = q.error {
        let e = api
            .connector
            .fail(&api.store, &state, &error, q.error_description.as_deref())
            .await;
        return Err(problem(e));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return Err(Problem::invalid(
            "code",
            "the platform's answer has neither code nor error",
        ));
    };
    let plugins = api.plugins.clone();
    let account = api
        .connector
        .finish(
            &api.store,
            |platform| {
                plugins
                    .for_platform(platform, None)
                    .and_then(|p| p.description.oauth.clone())
            },
            &state,
            &code,
        )
        .await
        .map_err(problem)?;
    Ok(Json(account.into()))
}

fn redirect_uri(public_base: &str) -> ApiResult<url::Url> {
    url::Url::parse(&format!("{}{CALLBACK_PATH}", public_base.trim_end_matches('/'))).map_err(|e| {
        tracing::error!(error = %e, public_base, "the public base URL does not make a redirect URI");
        Problem::internal()
    })
}

fn problem(e: ConnectError) -> Problem {
    let detail = e.to_string();
    match e {
        ConnectError::NotOAuth { .. } | ConnectError::NoApp { .. } => Problem::invalid("platform", detail),
        ConnectError::UnknownState | ConnectError::Expired { .. } => {
            Problem::new(StatusCode::BAD_REQUEST, "invalid-state", "No sign-in to finish").detail(detail)
        }
        ConnectError::Denied { .. } => {
            Problem::new(StatusCode::BAD_REQUEST, "access-denied", "Not authorized").detail(detail)
        }
        ConnectError::Refused { .. } => {
            Problem::new(StatusCode::BAD_REQUEST, "code-refused", "The platform refused the code").detail(detail)
        }
        ConnectError::Transient(_) | ConnectError::BadUrl { .. } => Problem::new(
            StatusCode::BAD_GATEWAY,
            "platform-unavailable",
            "The platform could not be reached",
        )
        .detail(detail),
        ConnectError::Store(e) => e.into(),
    }
}
