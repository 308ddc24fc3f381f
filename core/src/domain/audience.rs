//! Audience vocabulary: how contacts relate to a brand, what they did, and the fixed lists
//! of values that platforms can target (so a segment built from them maps 1:1 to LinkedIn
//! and Facebook targeting).

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// A fixed list of allowed values, with the message that names them all.
pub struct Vocabulary {
    pub name: &'static str,
    pub values: &'static [&'static str],
}

impl Vocabulary {
    /// Accepts a value case-insensitively (spaces and `-` read as `_` where the list uses
    /// `_`) and returns its canonical spelling.
    pub fn check(&self, field: &str, value: &str) -> Result<&'static str, Invalid> {
        let wanted = value.trim().to_lowercase();
        let loose = wanted.replace([' ', '-'], "_");
        self.values
            .iter()
            .find(|v| **v == wanted || **v == loose)
            .copied()
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!(
                        "{value:?} is not a known {}; allowed: {}",
                        self.name,
                        self.values.join(", ")
                    ),
                )
            })
    }
}

/// The contact's relation to the brand; everyone but a prospect is a customer.
pub const RELATIONS: Vocabulary = Vocabulary {
    name: "relation",
    values: &["prospect", "customer", "loyal", "ambassador"],
};

/// Genders as platforms can target them, plus the honest "don't know" answers.
pub const GENDERS: Vocabulary = Vocabulary {
    name: "gender",
    values: &["female", "male", "non_binary", "other", "unknown"],
};

/// Company size bands, the same ranges LinkedIn's `staffCountRanges` uses (the list lives
/// in the SDK, so plugins read the values the core accepts).
pub const COMPANY_SIZES: Vocabulary = Vocabulary {
    name: "company size",
    values: chorus_text::vocab::COMPANY_SIZES,
};

/// Seniority levels, LinkedIn's ten (`urn:li:seniority:1..10` in this order).
pub const SENIORITIES: Vocabulary = Vocabulary {
    name: "seniority",
    values: chorus_text::vocab::SENIORITIES,
};

/// Job functions, LinkedIn's twenty-six (`urn:li:function:1..26` in this order).
pub const JOB_FUNCTIONS: Vocabulary = Vocabulary {
    name: "job function",
    values: chorus_text::vocab::JOB_FUNCTIONS,
};

/// What a contact did. Purchases carry money; engagement names its platform.
pub const EVENT_KINDS: Vocabulary = Vocabulary {
    name: "event kind",
    values: &[
        "purchase",
        "cart_abandoned",
        "signed_up",
        "clicked",
        "liked",
        "commented",
        "shared",
        "viewed",
    ],
};

/// Event kinds that happen on a social platform and must say which.
pub const ENGAGEMENT_KINDS: &[&str] = &["clicked", "liked", "commented", "shared", "viewed"];

/// The tag lists a contact carries (one row per tag in `contact_tags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagFacet {
    /// Psychographic: values such as `sustainability`.
    Values,
    /// Psychographic: lifestyles such as `outdoor`.
    Lifestyle,
    Interests,
}

impl TagFacet {
    pub const ALL: [TagFacet; 3] = [TagFacet::Values, TagFacet::Lifestyle, TagFacet::Interests];

    pub fn as_str(self) -> &'static str {
        match self {
            TagFacet::Values => "values",
            TagFacet::Lifestyle => "lifestyle",
            TagFacet::Interests => "interests",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The segmentation bases a segment draws on (see docs/segments.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Demographic,
    Geographic,
    Psychographic,
    Behavioural,
    Interest,
    Firmographic,
    Relation,
    Lookalike,
}

impl Basis {
    pub const ALL: [Basis; 8] = [
        Basis::Demographic,
        Basis::Geographic,
        Basis::Psychographic,
        Basis::Behavioural,
        Basis::Interest,
        Basis::Firmographic,
        Basis::Relation,
        Basis::Lookalike,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Demographic => "demographic",
            Basis::Geographic => "geographic",
            Basis::Psychographic => "psychographic",
            Basis::Behavioural => "behavioural",
            Basis::Interest => "interest",
            Basis::Firmographic => "firmographic",
            Basis::Relation => "relation",
            Basis::Lookalike => "lookalike",
        }
    }
}

/// How big a brand's audience is, which sets how small a segment may be before it is not
/// worth a tailored message (domain rule of thumb: 1,000 / 10,000 / 100,000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudienceScale {
    #[default]
    Small,
    Medium,
    Large,
}

impl AudienceScale {
    pub fn min_segment_size(self) -> u64 {
        match self {
            AudienceScale::Small => 1_000,
            AudienceScale::Medium => 10_000,
            AudienceScale::Large => 100_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AudienceScale::Small => "small",
            AudienceScale::Medium => "medium",
            AudienceScale::Large => "large",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        match s {
            "small" => Ok(Self::Small),
            "medium" => Ok(Self::Medium),
            "large" => Ok(Self::Large),
            _ => Err(Invalid::new(
                field,
                format!(
                    "{s:?} is not an audience scale; allowed: small (segments from 1,000), medium (10,000), large (100,000)"
                ),
            )),
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased (`se` → `SE`).
pub fn country_code(field: &str, value: &str) -> Result<String, Invalid> {
    let v = value.trim().to_ascii_uppercase();
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err(Invalid::new(
            field,
            format!("{value:?} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. SE, US)"),
        ))
    }
}

/// An ISO 639-1 language code, lower-cased (`SV` → `sv`).
pub fn language_code(field: &str, value: &str) -> Result<String, Invalid> {
    let v = value.trim().to_ascii_lowercase();
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(v)
    } else {
        Err(Invalid::new(
            field,
            format!("{value:?} is not an ISO 639-1 language code (two letters, e.g. sv, en)"),
        ))
    }
}

/// A tag as stored: trimmed, lower-case, at most 64 characters.
pub fn tag(field: &str, value: &str) -> Result<String, Invalid> {
    let v = value.trim().to_lowercase();
    if v.is_empty() || v.chars().count() > 64 {
        return Err(Invalid::new(
            field,
            format!("{value:?} is not a tag: use 1-64 characters"),
        ));
    }
    Ok(v)
}

/// The number of decimals in a currency's minor unit (ISO 4217), for storing money exactly.
pub fn currency_exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Parses an amount such as `12.50` into minor units of `currency` (1250), exactly.
pub fn money_minor(field: &str, amount: &str, currency: &str) -> Result<i64, Invalid> {
    let exp = currency_exponent(currency);
    let bad = || {
        Invalid::new(
            field,
            format!("{amount:?} is not an amount in {currency}: use digits with at most {exp} decimals, e.g. 12.50"),
        )
    };
    let a = amount.trim();
    let (neg, a) = match a.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, a),
    };
    let (whole, frac) = a.split_once('.').unwrap_or((a, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > exp as usize {
        return Err(bad());
    }
    let scale = 10i64.pow(exp);
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = exp as usize)
            .parse()
            .map_err(|_| bad())?
    };
    let v = w.checked_mul(scale).and_then(|x| x.checked_add(f)).ok_or_else(bad)?;
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_parsed_exactly_in_minor_units() {
        assert_eq!(money_minor("amount", "12.5", "SEK").unwrap(), 1250);
        assert_eq!(money_minor("amount", "1200", "JPY").unwrap(), 1200);
        assert_eq!(money_minor("amount", "1.234", "KWD").unwrap(), 1234);
        assert_eq!(money_minor("amount", "-3.10", "EUR").unwrap(), -310);
        let err = money_minor("amount", "1.234", "EUR").unwrap_err();
        assert!(err.message.contains("at most 2 decimals"), "{err}");
        assert!(money_minor("amount", "12,50", "EUR").is_err());
        assert!(money_minor("amount", "", "EUR").is_err());
    }

    #[test]
    fn vocabularies_accept_loose_spellings_and_name_the_allowed_values() {
        assert_eq!(
            JOB_FUNCTIONS.check("f", "Information Technology").unwrap(),
            "information_technology"
        );
        assert_eq!(COMPANY_SIZES.check("f", "51-200").unwrap(), "51-200");
        let err = SENIORITIES.check("job.seniority", "boss").unwrap_err();
        assert_eq!(err.field, "job.seniority");
        assert!(err.message.contains("manager, director"), "{err}");
    }
}
