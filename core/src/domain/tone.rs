//! A segment's tone profile and portable audience: what plugins read to adapt a post.
//! Stored as JSON on the segment; converted to the plugin contract's types by the host.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Formality {
    Casual,
    #[default]
    Neutral,
    Professional,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmojiUse {
    #[default]
    Keep,
    None,
    Few,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashtagPlacement {
    Inline,
    #[default]
    End,
    /// In a comment under the post where the platform has first comments (Instagram); at
    /// the end elsewhere.
    FirstComment,
}

/// How a segment wants to be spoken to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToneProfile {
    pub formality: Formality,
    pub emoji: EmojiUse,
    /// Hashtags to keep at most; `null` leaves it to the platform.
    pub max_hashtags: Option<u32>,
    pub hashtag_placement: HashtagPlacement,
    pub call_to_action: Option<String>,
    /// `{"term": "customers", "replacement": "members"}` pairs.
    pub glossary: Vec<GlossaryEntry>,
    /// e.g. `en-GB`.
    pub language_variant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlossaryEntry {
    pub term: String,
    pub replacement: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetingMode {
    /// Only the audience sees the post.
    Restrict,
    /// The feed favours the audience; others may still see it.
    #[default]
    Prefer,
}

/// The portable attributes of a segment that platforms may target natively.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortableAudience {
    pub mode: TargetingMode,
    /// ISO 3166-1 alpha-2, e.g. `SE`.
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub cities: Vec<String>,
    pub age_min: Option<u8>,
    pub age_max: Option<u8>,
    pub genders: Vec<String>,
    /// ISO 639-1, e.g. `sv`.
    pub languages: Vec<String>,
    pub industries: Vec<String>,
    pub seniorities: Vec<String>,
    pub job_functions: Vec<String>,
    pub company_sizes: Vec<String>,
    pub interests: Vec<String>,
    pub estimated_size: Option<u64>,
}
