//! IANA time zones. Instants are stored in UTC; the zone a person planned in is stored
//! beside them so "9:00 every Monday" stays 9:00 across daylight-saving changes.

use crate::Invalid;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A validated IANA zone name such as `Europe/Stockholm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Zone(Tz);

impl Zone {
    pub const UTC: Zone = Zone(Tz::UTC);

    pub fn parse(field: &str, name: &str) -> Result<Self, Invalid> {
        name.parse::<Tz>().map(Zone).map_err(|_| {
            Invalid::new(
                field,
                format!("{name:?} is not an IANA time zone; use a name like \"Europe/Stockholm\", \"America/New_York\" or \"UTC\""),
            )
        })
    }
    pub fn tz(self) -> Tz {
        self.0
    }
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// A wall-clock time in this zone (`2026-12-24 09:00`, `2026-12-24T09:00:30`), or an
    /// instant with its offset (`2026-12-24T09:00:00+01:00`, `…Z`). A wall time the clocks
    /// skip is refused with the time they jump to; one they pass twice is the first of the
    /// two. `field` names the input in the error.
    pub fn instant(self, field: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, Invalid> {
        use chrono::{LocalResult, NaiveDateTime, TimeZone, Utc};
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
            return Ok(t.with_timezone(&Utc));
        }
        let wall = [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s.trim(), f).ok())
        .ok_or_else(|| {
            Invalid::new(
                field,
                format!(
                    "{s:?} is not a time; write \"2026-12-24 09:00\" (in the zone given, else the brand's) \
                     or \"2026-12-24T09:00:00+01:00\""
                ),
            )
        })?;
        match self.0.from_local_datetime(&wall) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
            LocalResult::None => {
                let after = (1..=180)
                    .map(|m| wall + chrono::Duration::minutes(m))
                    .find(|w| matches!(self.0.from_local_datetime(w), LocalResult::Single(_)));
                Err(Invalid::new(
                    field,
                    format!(
                        "{s:?} does not exist in {}: the clocks skip it (daylight saving){}",
                        self.name(),
                        after
                            .map(|a| format!("; the next time that exists is {}", a.format("%Y-%m-%d %H:%M")))
                            .unwrap_or_default()
                    ),
                ))
            }
        }
    }
}

impl TryFrom<String> for Zone {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        Zone::parse("timezone", &s)
    }
}
impl From<Zone> for String {
    fn from(z: Zone) -> String {
        z.name().to_owned()
    }
}
impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iana_names_and_rejects_abbreviations() {
        assert_eq!(
            Zone::parse("timezone", "Europe/Stockholm").unwrap().name(),
            "Europe/Stockholm"
        );
        let err = Zone::parse("brand.timezone", "CEST").unwrap_err();
        assert_eq!(err.field, "brand.timezone");
        assert!(err.message.contains("IANA"));
    }
}
