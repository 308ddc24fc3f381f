//! Errors as RFC 9457 problem details: what went wrong (`title`, `detail`), where
//! (`field`), and a stable `type` a client can branch on. Core errors map here once, so
//! every handler answers the same way the CLI words it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chorus_core::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `https://chorus.invalid/problems/invalid-input`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What was wrong in this request, and what is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The input that broke a rule, as the request named it (`email`, `hashtags[2]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before trying again (also in `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Every failure of a batch (an import's rows: `{line, column, message}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<serde_json::Value>,
}

const BASE: &str = "https://chorus.invalid/problems/";

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            kind: format!("{BASE}{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: None,
            field: None,
            retry_after: None,
            errors: None,
        }
    }

    pub fn with_errors(mut self, errors: serde_json::Value) -> Self {
        self.errors = Some(errors);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", "Invalid input")
            .field(field)
            .detail(detail)
    }

    /// No credentials, or ones that are not valid (any more).
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Sign in first").detail(
            "send the session cookie from POST /api/v1/session, or an API token as `Authorization: Bearer chorus_…`",
        )
    }

    /// The caller is known but its role does not allow this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed").detail(detail)
    }

    /// Not found, or not the caller's to see: the two are never told apart.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
    }

    pub fn too_many(retry_after: u64, detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests").detail(detail);
        p.retry_after = Some(retry_after);
        p
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on the server",
        )
        .detail("the error is in the server's log; the request changed nothing it did not report")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let mut res = (status, axum::Json(self)).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

impl From<chorus_core::Invalid> for Problem {
    fn from(i: chorus_core::Invalid) -> Self {
        Problem::invalid(i.field, i.message)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(i) => Problem::invalid(i.field, i.message),
            // The id is not echoed: "not found" must read the same for another tenant's row.
            StoreError::NotFound { kind, .. } => Problem::not_found().detail(format!("no such {kind} here")),
            StoreError::Conflict { kind, detail } => Problem::new(StatusCode::CONFLICT, "conflict", "Already exists")
                .detail(format!("{kind} already exists: {detail}")),
            e @ (StoreError::Stale { .. } | StoreError::IllegalTransition { .. }) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Not possible now").detail(e.to_string())
            }
            e @ (StoreError::Crypto { .. } | StoreError::Database(_)) => {
                tracing::error!(error = %e, "API request failed");
                Problem::internal()
            }
        }
    }
}

/// What handlers return.
pub type ApiResult<T> = Result<T, Problem>;

/// Errors answered outside the handlers (a timeout, a method the route does not take) as
/// problem details too, so a client parses one error format.
pub async fn bare_errors_as_problems(res: Response) -> Response {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let title = status.canonical_reason().unwrap_or("Error");
    let slug = title.to_lowercase().replace(' ', "-");
    let mut p = Problem::new(status, &slug, title);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        p = p.detail("this route does not take that method; /api/docs lists the ones it does");
    } else if status == StatusCode::REQUEST_TIMEOUT {
        p = p.detail("the request took too long and was stopped");
    }
    let mut out = p.into_response();
    if let Some(allow) = res.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
