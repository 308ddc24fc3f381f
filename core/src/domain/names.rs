//! Identifiers people type: slugs for workspaces and brands, ids for platforms.

use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A URL- and CLI-friendly name: 1-64 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, value: &str) -> Result<Self, Invalid> {
        check_ident(field, value, 64)?;
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A platform's id as plugins declare it (`x`, `linkedin`, `facebook`, or a third-party
/// plugin's own such as `mastodon`): the same alphabet as a slug, at most 32 long.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlatformId(String);

impl PlatformId {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        check_ident("platform", value, 32)?;
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_ident(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if value.is_empty() || value.len() > max || !ok_chars || value.starts_with('-') || value.ends_with('-') {
        return Err(Invalid::new(
            field,
            format!(
                "{value:?} is not allowed: use 1-{max} lowercase letters, digits and '-', \
                 not starting or ending with '-' (e.g. \"acme-coffee\")"
            ),
        ));
    }
    Ok(())
}

macro_rules! string_newtype_impls {
    ($t:ident, $parse:expr) => {
        impl TryFrom<String> for $t {
            type Error = Invalid;
            fn try_from(s: String) -> Result<Self, Invalid> {
                $parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_newtype_impls!(Slug, |s: &str| Slug::parse("slug", s));
string_newtype_impls!(PlatformId, PlatformId::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lowercase_digits_and_dashes() {
        assert_eq!(Slug::parse("brand", "acme-coffee-2").unwrap().as_str(), "acme-coffee-2");
    }

    #[test]
    fn slug_rejects_uppercase_spaces_edges_and_length() {
        for bad in ["Acme", "acme coffee", "-acme", "acme-", "", &"a".repeat(65)] {
            let err = Slug::parse("brand", bad).unwrap_err();
            assert_eq!(err.field, "brand");
            assert!(err.message.contains("lowercase letters"), "{err}");
        }
    }

    #[test]
    fn platform_id_is_capped_at_32() {
        assert!(PlatformId::parse(&"x".repeat(32)).is_ok());
        assert!(PlatformId::parse(&"x".repeat(33)).is_err());
    }
}
