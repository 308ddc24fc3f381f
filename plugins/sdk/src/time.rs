//! Time as platforms write it. The host's `now-ms` is the only clock a plugin has.

use chrono::{DateTime, SecondsFormat, Utc};

/// `ms` (milliseconds since the Unix epoch, as `now-ms` gives) as RFC 3339 in UTC with
/// milliseconds: `2026-12-07T10:36:54.123Z` (Bluesky's `createdAt`, most APIs' timestamps).
pub fn rfc3339(ms: u64) -> String {
    DateTime::<Utc>::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Now, as RFC 3339 (see [`rfc3339`]).
pub fn now_rfc3339() -> String {
    rfc3339(crate::host::now_ms())
}

/// The UTC calendar date of `ms`: `2026-12-07` (Pinterest's analytics ranges).
pub fn utc_date(ms: u64) -> String {
    DateTime::<Utc>::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .format("%Y-%m-%d")
        .to_string()
}

/// Milliseconds since the epoch of a timestamp a platform wrote: RFC 3339
/// (`2026-12-07T10:36:54Z`, `+01:00`) or an HTTP date (`Mon, 07 Dec 2026 10:36:54 GMT`).
pub fn parse_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let t = DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc2822(s))
        .ok()?;
    u64::try_from(t.timestamp_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_become_rfc3339_and_back() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_639_814_123), "2026-12-07T10:36:54.123Z");
        assert_eq!(parse_ms("2026-12-07T10:36:54.123Z"), Some(1_796_639_814_123));
        assert_eq!(parse_ms("2026-12-07T11:36:54+01:00"), Some(1_796_639_814_000));
        assert_eq!(parse_ms("Mon, 07 Dec 2026 10:36:54 GMT"), Some(1_796_639_814_000));
        assert_eq!(parse_ms("soon"), None);
        assert_eq!(utc_date(1_796_639_814_123), "2026-12-07");
    }
}
