//! What Meta's Graph API fakes (Facebook Pages, Instagram) share: the error envelope and
//! the `X-Business-Use-Case-Usage` header that says when a throttled caller may come back.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Meta's error envelope: `{"error": {"message", "type", "code", "error_subcode"?,
/// "fbtrace_id", "is_transient"}}`. `kind` is the `type` of errors other than 190
/// (`OAuthException`): `GraphMethodException` on Facebook, `IGApiException` on Instagram.
pub(crate) fn graph_error(
    kind: &str,
    status: StatusCode,
    code: u32,
    subcode: Option<u32>,
    message: &str,
    transient: bool,
) -> Response {
    let mut e = json!({"message": message, "type": if code == 190 { "OAuthException" } else { kind },
                       "code": code, "fbtrace_id": "AbCdEfFake", "is_transient": transient});
    if let Some(s) = subcode {
        e["error_subcode"] = s.into();
    }
    (status, Json(json!({"error": e}))).into_response()
}

/// `X-Business-Use-Case-Usage` for `owner`: usage in percent and the minutes until access
/// returns.
pub(crate) fn usage_header(owner: &str, kind: &str, percent: u32, regain_minutes: u32) -> HeaderValue {
    let v = json!({owner: [{"type": kind, "call_count": percent, "total_cputime": percent / 2,
                            "total_time": percent / 2, "estimated_time_to_regain_access": regain_minutes}]});
    HeaderValue::from_str(&v.to_string()).unwrap_or_else(|_| HeaderValue::from_static("{}"))
}
