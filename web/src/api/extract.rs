//! axum's extractors with their rejections as problem details, so a malformed body, query
//! or path answers like every other API error: what was wrong and where.

use super::problem::Problem;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct ApiJson<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct ApiQuery<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let detail = r.body_text();
        match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::new(status, "unsupported-media-type", "Send JSON")
                .detail("the body must be JSON with `Content-Type: application/json`"),
            StatusCode::PAYLOAD_TOO_LARGE => Problem::new(status, "too-large", "Request body too large").detail(detail),
            _ => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", "Invalid input")
                .field("body")
                .detail(detail),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-query", "Invalid query string")
            .field("query")
            .detail(r.body_text())
    }
}

impl From<PathRejection> for Problem {
    fn from(r: PathRejection) -> Self {
        // Ids are UUIDs: anything else names nothing here.
        Problem::not_found().detail(r.body_text())
    }
}
