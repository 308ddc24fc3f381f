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
