//! Meta's Graph API (Facebook Pages, Instagram): one request, and Meta's error envelope read
//! into the contract's typed errors. The code, not the HTTP status, says what happened (an
//! expired token is a 400 with code 190); throttling says when to come back in the
//! `X-Business-Use-Case-Usage` header. Facts: developers.facebook.com/docs/graph-api/guides/error-handling
//! and /docs/graph-api/overview/rate-limiting.

use crate::http::{Request, Response, error_from_status};
use crate::invalid;
use crate::types::{PluginError, RateLimit};
use serde_json::Value;

/// Sends `req` to the Graph API of `platform` (named in error messages) and returns the JSON
/// answer, or Meta's error as a typed error.
pub fn graph(platform: &str, req: Request) -> Result<Value, PluginError> {
    let resp = req.send()?;
    if (200..300).contains(&resp.status) {
        return resp.json();
    }
    Err(graph_error(platform, &resp))
}

/// Meta's error envelope (`{"error": {"code", "error_subcode", "message", "is_transient"}}`)
/// as a typed error:
///
/// - 190 (invalid or expired token), subcode 33 or 460-467: the token is dead;
/// - 4, 17, 32, 613, 80000-80014 (application, user, Page and business use-case limits):
///   rate limited until the usage header's regain time (5 minutes without one);
/// - Instagram's 2207042 (the daily publishing limit): rate limited for an hour, since the
///   24-hour window moves;
/// - 1, 2, `is_transient`, 5xx, and Instagram's "try again" subcodes (2207003 media download
///   timeout, 2207027 and 2207082 "retry later", 2207052 and 2207077 media fetch failures):
///   transient;
/// - anything else: the input was refused, with Meta's code, subcode and message.
pub fn graph_error(platform: &str, resp: &Response) -> PluginError {
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let e = &v["error"];
    let message = e["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| resp.message());
    let Some(code) = e["code"].as_u64() else {
        return error_from_status(resp, &message);
    };
    let subcode = e["error_subcode"].as_u64();
    match (code, subcode) {
        (190, _) | (_, Some(33 | 460..=467)) => PluginError::AuthExpired(message),
        (_, Some(2_207_042)) => PluginError::RateLimited(RateLimit {
            retry_after_seconds: regain_after(resp).unwrap_or(3600),
            message,
        }),
        (4 | 17 | 32 | 613 | 80_000..=80_014, _) => PluginError::RateLimited(RateLimit {
            retry_after_seconds: regain_after(resp).unwrap_or(300),
            message,
        }),
        (1 | 2, _) | (_, Some(2_207_003 | 2_207_027 | 2_207_052 | 2_207_077 | 2_207_082)) => {
            PluginError::Transient(message)
        }
        _ if e["is_transient"].as_bool() == Some(true) || resp.status >= 500 => PluginError::Transient(message),
        _ => invalid(
            "request",
            format!(
                "{platform} refused it (code {code}{}): {message}",
                subcode.map(|s| format!(", subcode {s}")).unwrap_or_default()
            ),
        ),
    }
}

/// Seconds until Meta lets the caller in again, from `X-Business-Use-Case-Usage`
/// (`estimated_time_to_regain_access`, in minutes), at least a minute.
pub fn regain_after(resp: &Response) -> Option<u32> {
    let usage: Value = serde_json::from_str(resp.header("x-business-use-case-usage")?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["estimated_time_to_regain_access"].as_u64())
        .max()?;
    Some((minutes * 60).max(60) as u32)
}

/// The lifetime value of the insight `name` in an `/insights` answer
/// (`{"data": [{"name", "values": [{"value"}]}]}`); `None` when Meta has no data for it
/// (it sends an empty set, not zero).
pub fn insight(answer: &Value, name: &str) -> Option<u64> {
    answer["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == name)
        .and_then(|m| m["values"][0]["value"].as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, error: Value, usage: Option<&str>) -> Response {
        Response {
            status,
            headers: usage
                .map(|u| vec![("X-Business-Use-Case-Usage".to_owned(), u.to_owned())])
                .unwrap_or_default(),
            body: json!({ "error": error }).to_string().into_bytes(),
        }
    }

    #[test]
    fn meta_codes_and_subcodes_become_typed_errors() {
        let dead = answer(
            400,
            json!({"code": 190, "error_subcode": 463, "message": "expired"}),
            None,
        );
        assert!(matches!(graph_error("Instagram", &dead), PluginError::AuthExpired(_)));
        let usage =
            r#"{"17841400000000001":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":7}]}"#;
        let throttled = answer(400, json!({"code": 80002, "message": "too many calls"}), Some(usage));
        match graph_error("Instagram", &throttled) {
            PluginError::RateLimited(r) => assert_eq!(r.retry_after_seconds, 420),
            other => panic!("{other:?}"),
        }
        let daily = answer(
            400,
            json!({"code": 9, "error_subcode": 2_207_042, "message": "limit"}),
            None,
        );
        match graph_error("Instagram", &daily) {
            PluginError::RateLimited(r) => assert_eq!(r.retry_after_seconds, 3600),
            other => panic!("{other:?}"),
        }
        let fetch = answer(
            400,
            json!({"code": 9004, "error_subcode": 2_207_052, "message": "fetch failed"}),
            None,
        );
        assert!(matches!(graph_error("Instagram", &fetch), PluginError::Transient(_)));
        let caption = answer(
            400,
            json!({"code": 100, "error_subcode": 2_207_010, "message": "Caption is too long"}),
            None,
        );
        match graph_error("Instagram", &caption) {
            PluginError::InvalidInput(i) => assert_eq!(
                i.message,
                "Instagram refused it (code 100, subcode 2207010): Caption is too long"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_insight_without_data_is_none_not_zero() {
        let v = json!({"data": [{"name": "reach", "values": [{"value": 12}]}]});
        assert_eq!(insight(&v, "reach"), Some(12));
        assert_eq!(insight(&v, "saved"), None);
    }
}
