//! HTTP through the host, and the mapping from platform answers to the contract's errors.
//!
//! The host adds the account's token, enforces the manifest's hosts and caps sizes; the
//! plugin only builds requests and reads answers.

use crate::host::{self, Body, HttpError, HttpRequest, Method};
use crate::types::{PluginError, RateLimit};

/// A request being built.
#[derive(Debug, Clone)]
pub struct Request {
    inner: HttpRequest,
}

/// A platform's answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// As the platform sent them (names in any case).
    pub headers: Vec<(String, String)>,
    /// At most the host's response cap.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with `method` to `url` (absolute; a host the manifest declares).
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            inner: HttpRequest {
                method,
                url: url.into(),
                headers: Vec::new(),
                body: Body::Empty,
            },
        }
    }
    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }
    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }
    /// Adds a header (never `authorization`: the host adds the token).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.to_owned(), value.into()));
        self
    }
    /// A JSON body, with its content type.
    pub fn json(self, value: &serde_json::Value) -> Self {
        let mut r = self.header("content-type", "application/json");
        r.inner.body = Body::Bytes(value.to_string().into_bytes());
        r
    }
    /// An `application/x-www-form-urlencoded` body.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let encoded = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut r = self.header("content-type", "application/x-www-form-urlencoded");
        r.inner.body = Body::Bytes(encoded.into_bytes());
        r
    }
    /// Any body: bytes, a media slice the host streams, or multipart.
    pub fn body(mut self, body: Body) -> Self {
        self.inner.body = body;
        self
    }
    /// Sends through the host. Transport problems become typed errors; any HTTP status is
    /// returned as a [`Response`] (see [`Response::ok`]).
    pub fn send(self) -> Result<Response, PluginError> {
        match host::send(&self.inner) {
            Ok(r) => Ok(Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(HttpError::Denied(why)) => Err(PluginError::Denied(why)),
            Err(HttpError::Timeout) => Err(PluginError::Transient(format!("{} timed out", self.inner.url))),
            Err(HttpError::TooLarge(n)) => Err(PluginError::Transient(format!(
                "response from {} exceeded {n} bytes",
                self.inner.url
            ))),
            Err(HttpError::Transport(why)) => Err(PluginError::Transient(why)),
        }
    }
}

impl Response {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as JSON, or a transient error saying it was not JSON.
    pub fn json(&self) -> Result<serde_json::Value, PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PluginError::Transient(format!(
                "the platform answered {} with a body that is not JSON: {e}",
                self.status
            ))
        })
    }
    /// The response if it is a 2xx, else the typed error for its status.
    pub fn ok(self) -> Result<Self, PluginError> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(error_from_status(&self, &self.message()))
        }
    }
    /// Like [`Response::ok`], but the platform's own reading of an error comes first:
    /// `platform` returns the typed error for the answers it knows (an expired token
    /// reported as a 400, a duplicate reported as a 403), `None` for the rest, which get
    /// [`error_from_status`].
    ///
    /// ```text
    /// Request::post(url).json(&body).send()?.ok_with(|r| {
    ///     (r.status == 400 && r.message().contains("ExpiredToken"))
    ///         .then(|| PluginError::AuthExpired(r.message()))
    /// })?
    /// ```
    pub fn ok_with(self, platform: impl FnOnce(&Response) -> Option<PluginError>) -> Result<Self, PluginError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        Err(platform(&self).unwrap_or_else(|| error_from_status(&self, &self.message())))
    }

    /// The platform's own error message, from the usual JSON shapes, else the raw body.
    pub fn message(&self) -> String {
        let text = String::from_utf8_lossy(&self.body)
            .chars()
            .take(500)
            .collect::<String>();
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&self.body) else {
            return text;
        };
        // X problems put the generic text in `detail` and the specifics in `errors[]`.
        if let (Some(d), Some(e)) = (
            v.pointer("/detail").and_then(|d| d.as_str()),
            v.pointer("/errors/0/message").and_then(|e| e.as_str()),
        ) {
            return format!("{d} {e}");
        }
        let candidates = [
            v.pointer("/error/message"), // Meta, TikTok
            v.pointer("/detail"),        // X problem+json
            v.pointer("/errors/0/message"),
            v.pointer("/message"), // LinkedIn, Pinterest
            v.pointer("/error_description"),
            v.pointer("/error"), // Mastodon
            v.pointer("/title"),
        ];
        candidates
            .into_iter()
            .flatten()
            .find_map(|m| m.as_str().map(str::to_owned))
            .unwrap_or(text)
    }
}

/// Maps a non-2xx status to the error the scheduler can act on: 401 auth expired, 429 rate
/// limited (after `Retry-After`, or the `x-rate-limit-reset` epoch, else 60 s), 408/5xx
/// transient, other 4xx invalid input with the platform's message.
pub fn error_from_status(resp: &Response, message: &str) -> PluginError {
    match resp.status {
        401 => PluginError::AuthExpired(message.to_owned()),
        429 => PluginError::RateLimited(RateLimit {
            retry_after_seconds: retry_after(resp),
            message: message.to_owned(),
        }),
        408 | 500..=599 => PluginError::Transient(format!("{}: {message}", resp.status)),
        status => crate::invalid("request", format!("the platform refused it ({status}): {message}")),
    }
}

/// Seconds to wait before trying again, from the headers platforms use (see
/// [`retry_after_at`]); 60 when the platform says nothing.
pub fn retry_after(resp: &Response) -> u32 {
    // The clock is read only for a header that names a time.
    wait(resp, &host::now_ms)
}

/// [`retry_after`] at `now_ms`. Read, first found wins:
/// - `Retry-After`: seconds, or an HTTP date (RFC 9110);
/// - `x-rate-limit-reset` (X), `x-ratelimit-reset` (Mastodon, Pinterest), `ratelimit-reset`
///   (Bluesky, the IETF RateLimit fields): a Unix time in seconds, a number of seconds
///   (numbers below 10⁹ cannot be a time since 2001), or an RFC 3339 time (Mastodon).
///
/// Waits are rounded up (a fraction of a second too long is harmless, too short is not)
/// and kept within 1 s to 24 h.
pub fn retry_after_at(resp: &Response, now_ms: u64) -> u32 {
    wait(resp, &|| now_ms)
}

fn wait(resp: &Response, now_ms: &dyn Fn() -> u64) -> u32 {
    let until = |at_ms: u64| at_ms.saturating_sub(now_ms()).div_ceil(1000);
    let read = |v: &str| -> Option<u64> {
        let v = v.trim();
        match v.parse::<u64>() {
            Ok(n) if n >= 1_000_000_000 => Some(until(n.saturating_mul(1000))),
            Ok(n) => Some(n),
            Err(_) => crate::time::parse_ms(v).map(until),
        }
    };
    [
        "retry-after",
        "x-rate-limit-reset",
        "x-ratelimit-reset",
        "ratelimit-reset",
    ]
    .iter()
    .find_map(|h| resp.header(h).and_then(read))
    .map_or(60, |s| s.clamp(1, 86_400) as u32)
}

/// Percent-encodes a query or form component.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        assert!(matches!(
            error_from_status(&resp(401, &[], ""), "x"),
            PluginError::AuthExpired(_)
        ));
        match error_from_status(&resp(429, &[("Retry-After", "17")], ""), "slow down") {
            PluginError::RateLimited(r) => assert_eq!((r.retry_after_seconds, r.message.as_str()), (17, "slow down")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            error_from_status(&resp(503, &[], ""), "x"),
            PluginError::Transient(_)
        ));
        assert!(matches!(
            error_from_status(&resp(400, &[], ""), "x"),
            PluginError::InvalidInput(_)
        ));
    }

    #[test]
    fn messages_come_from_each_platforms_error_shape() {
        assert_eq!(
            resp(400, &[], r#"{"error":{"message":"Invalid parameter","code":100}}"#).message(),
            "Invalid parameter"
        );
        assert_eq!(
            resp(403, &[], r#"{"title":"Forbidden","detail":"duplicate content"}"#).message(),
            "duplicate content"
        );
        assert_eq!(
            resp(422, &[], r#"{"message":"Too long","status":422}"#).message(),
            "Too long"
        );
        assert_eq!(
            resp(422, &[], r#"{"error":"Validation failed: Text too long"}"#).message(),
            "Validation failed: Text too long"
        );
        assert_eq!(resp(500, &[], "plain oops").message(), "plain oops");
    }

    #[test]
    fn every_common_rate_limit_header_gives_the_wait() {
        let now = 1_796_639_814_500; // 2026-12-07T10:36:54.500Z
        let wait = |h: &str, v: &str| retry_after_at(&resp(429, &[(h, v)], ""), now);
        assert_eq!(wait("Retry-After", "17"), 17);
        assert_eq!(
            wait("Retry-After", "Mon, 07 Dec 2026 10:37:24 GMT"),
            30,
            "an HTTP date, rounded up"
        );
        assert_eq!(wait("x-rate-limit-reset", "1796639844"), 30, "X: a Unix time");
        assert_eq!(
            wait("X-RateLimit-Reset", "2026-12-07T10:37:54.000Z"),
            60,
            "Mastodon: RFC 3339"
        );
        assert_eq!(wait("ratelimit-reset", "1796639904"), 90, "Bluesky: a Unix time");
        assert_eq!(wait("RateLimit-Reset", "45"), 45, "the IETF draft: seconds");
        assert_eq!(
            wait("ratelimit-reset", "1796639000"),
            1,
            "a time already past: at least 1 s"
        );
        assert_eq!(wait("x-unknown", "5"), 60, "nothing said: a minute");
        assert_eq!(wait("Retry-After", "9999999"), 86_400, "at most a day");
    }

    #[test]
    fn a_plugin_reads_its_platforms_errors_first() {
        let expired = resp(400, &[], r#"{"error":"ExpiredToken","message":"Token has expired"}"#);
        let e = expired
            .clone()
            .ok_with(|r| {
                (r.status == 400 && r.body.windows(12).any(|w| w == b"ExpiredToken"))
                    .then(|| PluginError::AuthExpired(r.message()))
            })
            .unwrap_err();
        assert!(
            matches!(e, PluginError::AuthExpired(ref m) if m == "Token has expired"),
            "{e:?}"
        );
        let other = resp(400, &[], r#"{"error":"InvalidRequest","message":"bad"}"#);
        assert!(matches!(
            other.ok_with(|_| None).unwrap_err(),
            PluginError::InvalidInput(_)
        ));
        assert_eq!(resp(200, &[], "{}").ok_with(|_| unreachable!()).unwrap().status, 200);
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(urlencode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
