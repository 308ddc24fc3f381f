//! Who is calling, and what they may reach.
//!
//! Two ways in: a browser session (the `chorus_session` cookie from `POST /api/v1/session`,
//! HttpOnly and SameSite=Strict, with a synchronizer CSRF token every unsafe request must
//! echo in `X-CSRF-Token`), or an API token (`Authorization: Bearer chorus_…`), which carries
//! no ambient authority and so needs no CSRF token. [`Caller::access`] turns a caller and a
//! workspace into an [`Access`]: the workspace's tenant scope plus the roles that apply,
//! and it is the only way a handler reaches tenant data.

use super::problem::{ApiResult, Problem};
use super::{Api, ApiState};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use chorus_core::domain::Role;
use chorus_core::store::entity::{api_token, user};
use chorus_core::store::identity::secret_digest;
use chorus_core::store::{Store, Tenant};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "chorus_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser stays signed in.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::days(14);

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session { secret: String },
    Token(api_token::Model),
}

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: user::Model,
    pub via: Via,
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Any router whose state holds the API's (the demo's sandbox routes) can ask who calls.
impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    ApiState: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let api = &ApiState::from_ref(state);
        let identity = api.store.identity();
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let secret = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(Problem::unauthenticated)?;
            let token = identity
                .token(secret.trim())
                .await?
                .ok_or_else(Problem::unauthenticated)?;
            let user = api
                .store
                .users()
                .get(token.user_id)
                .await
                .map_err(|_| Problem::unauthenticated())?;
            return Ok(Caller {
                user,
                via: Via::Token(token),
            });
        }
        let secret = cookie(parts, SESSION_COOKIE).ok_or_else(Problem::unauthenticated)?;
        let signed_in = identity.session(&secret).await?.ok_or_else(Problem::unauthenticated)?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if sent.is_empty() || secret_digest(sent) != signed_in.session.csrf_token {
                return Err(Problem::new(StatusCode::FORBIDDEN, "csrf", "Missing or wrong CSRF token").detail(
                    "a signed-in browser must send the csrf_token from POST /api/v1/session in the X-CSRF-Token header",
                ));
            }
        }
        Ok(Caller {
            user: signed_in.user,
            via: Via::Session { secret },
        })
    }
}

/// What a caller may do in one workspace.
#[derive(Debug, Clone)]
pub struct Access {
    pub workspace_id: Uuid,
    /// The role over the whole workspace, if any.
    pub workspace_role: Option<Role>,
    /// Roles over single brands (a client approver's brand, a freelancer's).
    pub brand_roles: HashMap<Uuid, Role>,
    pub user_id: Uuid,
}

impl Access {
    /// The tenant scope every query of this request goes through.
    pub fn tenant<'a>(&self, store: &'a Store) -> Tenant<'a> {
        store.tenant(self.workspace_id)
    }

    /// The role that applies to `brand` (a brand's own role wins).
    pub fn role_in(&self, brand: Uuid) -> Option<Role> {
        self.brand_roles.get(&brand).copied().or(self.workspace_role)
    }

    /// Brands this caller is limited to; `None` when it sees the whole workspace.
    pub fn brand_limit(&self) -> Option<Vec<Uuid>> {
        self.workspace_role
            .is_none()
            .then(|| self.brand_roles.keys().copied().collect())
    }

    /// Refuses unless the caller's role in `brand` passes `allowed`. A brand the caller
    /// cannot see at all is "not found", exactly as another tenant's brand would be.
    pub fn require_in(&self, brand: Uuid, what: &str, allowed: fn(Role) -> bool) -> ApiResult<Role> {
        match self.role_in(brand) {
            None => Err(Problem::not_found()),
            Some(r) if allowed(r) => Ok(r),
            Some(r) => Err(Problem::forbidden(format!("a {} may not {what}", r.as_str()))),
        }
    }

    /// Refuses unless the caller's workspace-wide role passes `allowed`.
    pub fn require(&self, what: &str, allowed: fn(Role) -> bool) -> ApiResult<Role> {
        match self.workspace_role {
            Some(r) if allowed(r) => Ok(r),
            Some(r) => Err(Problem::forbidden(format!("a {} may not {what}", r.as_str()))),
            None => Err(Problem::forbidden(format!(
                "{what} needs a role over the whole workspace; yours is limited to some brands"
            ))),
        }
    }
}

impl Caller {
    /// What this caller may do in `workspace`; a workspace it has no part in is "not found".
    pub async fn access(&self, api: &Api, workspace: Uuid) -> ApiResult<Access> {
        let user_id = self.user.id;
        let mut access = Access {
            workspace_id: workspace,
            workspace_role: None,
            brand_roles: HashMap::new(),
            user_id,
        };
        let memberships = api.store.identity().memberships(user_id).await?;
        for m in memberships.iter().filter(|m| m.workspace_id == workspace) {
            match m.brand_id {
                None => access.workspace_role = Some(m.role),
                Some(b) => {
                    access.brand_roles.insert(b, m.role);
                }
            }
        }
        if let Via::Token(t) = &self.via {
            if t.workspace_id != workspace {
                return Err(Problem::not_found());
            }
            // A token acts with its own role, and only while its user still holds one that
            // covers it (a person removed from a workspace takes their tokens' power along).
            let held = match t.brand_id {
                Some(b) => access.role_in(b),
                None => access.workspace_role,
            };
            if !held.is_some_and(|h| h.covers(t.role)) {
                return Err(Problem::not_found());
            }
            access.workspace_role = None;
            access.brand_roles.clear();
            match t.brand_id {
                Some(b) => {
                    access.brand_roles.insert(b, t.role);
                }
                None => access.workspace_role = Some(t.role),
            }
        }
        if access.workspace_role.is_none() && access.brand_roles.is_empty() {
            return Err(Problem::not_found());
        }
        Ok(access)
    }
}

/// Failed sign-ins per e-mail and per client address, in a sliding window: after too many,
/// sign-in answers 429 with `Retry-After` until the oldest failure leaves the window (a
/// guessing attack gets a handful of tries per quarter hour).
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    pub window: Duration,
    pub per_email: usize,
    pub per_address: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            failures: Mutex::default(),
            window: Duration::from_secs(15 * 60),
            per_email: 5,
            per_address: 30,
        }
    }
}

impl LoginLimiter {
    fn keys(email: &str, address: Option<IpAddr>) -> [(String, bool); 2] {
        [
            (format!("email:{}", email.trim().to_lowercase()), true),
            (
                format!("addr:{}", address.map(|a| a.to_string()).unwrap_or_default()),
                false,
            ),
        ]
    }

    /// Seconds until another try is allowed, if the limit is reached.
    pub fn blocked(&self, email: &str, address: Option<IpAddr>) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut wait = None;
        for (key, is_email) in Self::keys(email, address) {
            let limit = if is_email { self.per_email } else { self.per_address };
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= limit {
                    let oldest = times[times.len() - limit];
                    let left = self.window.saturating_sub(now.duration_since(oldest)).as_secs().max(1);
                    wait = Some(wait.map_or(left, |w: u64| w.max(left)));
                }
            }
        }
        wait
    }

    pub fn failed(&self, email: &str, address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a flood of distinct e-mails cannot grow the map without end.
        if failures.len() > 100_000 {
            let now = Instant::now();
            failures.retain(|_, t| t.last().is_some_and(|l| now.duration_since(*l) < self.window));
        }
        for (key, _) in Self::keys(email, address) {
            failures.entry(key).or_default().push(Instant::now());
        }
    }

    pub fn succeeded(&self, email: &str) {
        let key = format!("email:{}", email.trim().to_lowercase());
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
    }
}

/// The `Set-Cookie` value for a session (or for clearing it, with `max_age` 0).
pub fn session_cookie(secret: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}
