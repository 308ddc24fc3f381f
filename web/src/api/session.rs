//! Signing in and out with a password, and who the caller is.

use super::auth::{Caller, SESSION_TTL, Via, session_cookie};
use super::extract::ApiJson;
use super::problem::{ApiResult, Problem};
use super::{ApiState, workspaces::WorkspaceOut};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chorus_core::domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    pub user: UserOut,
    /// Send this in `X-CSRF-Token` with every request that changes something.
    pub csrf_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipOut {
    pub workspace: WorkspaceOut,
    /// None: the role covers the whole workspace.
    pub brand_id: Option<Uuid>,
    #[schema(value_type = String, example = "editor")]
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: UserOut,
    pub memberships: Vec<MembershipOut>,
    /// `session` or `token`.
    pub authenticated_by: String,
}

impl From<&chorus_core::store::entity::user::Model> for UserOut {
    fn from(u: &chorus_core::store::entity::user::Model) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
        }
    }
}

/// Signs in with e-mail and password: sets a new HttpOnly session cookie (any session the
/// browser had is not reused) and returns the CSRF token. Wrong e-mail and wrong password
/// answer alike; repeated failures are slowed down with 429.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = SignedIn),
        (status = 401, description = "Wrong e-mail or password", body = Problem),
        (status = 429, description = "Too many failed attempts", body = Problem),
    ))]
pub async fn sign_in(
    State(api): State<ApiState>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<Response> {
    let address = peer.map(|Extension(ConnectInfo(a))| a.ip());
    if let Some(wait) = api.logins.blocked(&body.email, address) {
        return Err(Problem::too_many(
            wait,
            "too many failed sign-ins; wait before trying again",
        ));
    }
    let identity = api.store.identity();
    let Some(user) = identity.check_password(&body.email, &body.password).await? else {
        api.logins.failed(&body.email, address);
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "Wrong e-mail or password",
        ));
    };
    api.logins.succeeded(&body.email);
    let opened = identity.open_session(user.id, SESSION_TTL).await?;
    let cookie = session_cookie(&opened.secret, SESSION_TTL.num_seconds(), api.settings.secure_cookies);
    tracing::info!(user = %user.id, "signed in");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SignedIn {
            user: (&user).into(),
            csrf_token: opened.csrf_token,
        }),
    )
        .into_response())
}

/// Signs out: ends this session and clears its cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem), (status = 403, description = "CSRF token missing", body = Problem), (status = 422, description = "Called with an API token, which is revoked instead", body = Problem)),
    security(("session" = [])))]
pub async fn sign_out(State(api): State<ApiState>, caller: Caller) -> ApiResult<Response> {
    let Via::Session { secret } = &caller.via else {
        return Err(Problem::invalid(
            "authorization",
            "API tokens are revoked, not signed out: DELETE /api/v1/workspaces/{workspace}/tokens/{token}",
        ));
    };
    api.store.identity().close_session(secret).await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = session_cookie("", 0, api.settings.secure_cookies).parse() {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// The caller and their roles in each workspace.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn me(State(api): State<ApiState>, caller: Caller) -> ApiResult<Json<Me>> {
    let mut memberships = Vec::new();
    let workspaces = api.store.workspaces().list().await?;
    match &caller.via {
        // A token acts with its own role in its one workspace (or brand), not its user's.
        Via::Token(t) => {
            if caller.access(&api, t.workspace_id).await.is_ok()
                && let Some(w) = workspaces.iter().find(|w| w.id == t.workspace_id)
            {
                memberships.push(MembershipOut {
                    workspace: w.into(),
                    brand_id: t.brand_id,
                    role: t.role,
                });
            }
        }
        Via::Session { .. } => {
            for m in api.store.identity().memberships(caller.user.id).await? {
                if let Some(w) = workspaces.iter().find(|w| w.id == m.workspace_id) {
                    memberships.push(MembershipOut {
                        workspace: w.into(),
                        brand_id: m.brand_id,
                        role: m.role,
                    });
                }
            }
        }
    }
    Ok(Json(Me {
        user: (&caller.user).into(),
        memberships,
        authenticated_by: match caller.via {
            Via::Session { .. } => "session",
            Via::Token(_) => "token",
        }
        .into(),
    }))
}
