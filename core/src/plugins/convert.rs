//! From Chorus's own types to the plugin contract's, in one place.

use super::bindings::types;
use crate::domain::{self, PortableAudience, ToneProfile};
use serde::{Deserialize, Serialize};

/// A segment as a plugin sees it: a name, a tone and a portable audience. This is also
/// the JSON accepted by `chorus preview --segment-file`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentView {
    pub id: String,
    pub name: String,
    pub tone: ToneProfile,
    pub audience: PortableAudience,
}

impl From<&SegmentView> for types::Segment {
    fn from(s: &SegmentView) -> Self {
        types::Segment {
            id: s.id.clone(),
            name: s.name.clone(),
            tone: (&s.tone).into(),
            audience: (&s.audience).into(),
        }
    }
}

impl From<&ToneProfile> for types::Tone {
    fn from(t: &ToneProfile) -> Self {
        types::Tone {
            formality: match t.formality {
                domain::Formality::Casual => types::Formality::Casual,
                domain::Formality::Neutral => types::Formality::Neutral,
                domain::Formality::Professional => types::Formality::Professional,
            },
            emoji: match t.emoji {
                domain::EmojiUse::Keep => types::EmojiUse::Keep,
                domain::EmojiUse::None => types::EmojiUse::None,
                domain::EmojiUse::Few => types::EmojiUse::Few,
            },
            max_hashtags: t.max_hashtags,
            hashtag_placement: match t.hashtag_placement {
                domain::HashtagPlacement::Inline => types::HashtagPlacement::Inline,
                domain::HashtagPlacement::End => types::HashtagPlacement::End,
                domain::HashtagPlacement::FirstComment => types::HashtagPlacement::FirstComment,
            },
            call_to_action: t.call_to_action.clone(),
            glossary: t
                .glossary
                .iter()
                .map(|g| types::GlossaryEntry {
                    term: g.term.clone(),
                    replacement: g.replacement.clone(),
                })
                .collect(),
            language_variant: t.language_variant.clone(),
        }
    }
}

impl types::Audience {
    /// No restriction: everyone the platform would show the post to.
    pub fn everyone() -> Self {
        (&PortableAudience::default()).into()
    }
}

impl From<&PortableAudience> for types::Audience {
    fn from(a: &PortableAudience) -> Self {
        types::Audience {
            mode: match a.mode {
                domain::TargetingMode::Restrict => types::TargetingMode::Restrict,
                domain::TargetingMode::Prefer => types::TargetingMode::Prefer,
            },
            countries: a.countries.clone(),
            regions: a.regions.clone(),
            cities: a.cities.clone(),
            age_min: a.age_min,
            age_max: a.age_max,
            genders: a.genders.clone(),
            languages: a.languages.clone(),
            industries: a.industries.clone(),
            seniorities: a.seniorities.clone(),
            job_functions: a.job_functions.clone(),
            company_sizes: a.company_sizes.clone(),
            interests: a.interests.clone(),
            estimated_size: a.estimated_size,
        }
    }
}

/// The contract's length rule as `chorus-text`'s (the host measures with the same code the
/// plugins use, so "fits" means the same thing on both sides).
impl From<types::LengthRule> for chorus_text::text::LengthRule {
    fn from(rule: types::LengthRule) -> Self {
        match rule {
            types::LengthRule::Characters => Self::Characters,
            types::LengthRule::Utf16 => Self::Utf16,
            types::LengthRule::Graphemes => Self::Graphemes,
            types::LengthRule::XWeighted => Self::XWeighted,
            types::LengthRule::Utf8Bytes => Self::Utf8Bytes,
        }
    }
}

/// An adaptation as stored with its delivery (JSON). Those stored before contract 0.2.0
/// lack its lists, which are empty for them.
pub fn stored_adaptation(mut v: serde_json::Value) -> Result<types::Adapted, serde_json::Error> {
    if let Some(o) = v.as_object_mut() {
        for key in ["fields", "extras", "languages"] {
            o.entry(key).or_insert_with(|| serde_json::Value::Array(vec![]));
        }
    }
    serde_json::from_value(v)
}

/// `text`'s length by the platform's rule.
pub fn measure(text: &str, rule: types::LengthRule) -> usize {
    chorus_text::text::measure(text, rule)
}

/// A media asset as plugins see it.
impl From<&crate::store::entity::media_asset::Model> for types::MediaRef {
    fn from(m: &crate::store::entity::media_asset::Model) -> Self {
        types::MediaRef {
            url: None,
            id: m.id.to_string(),
            kind: match m.kind {
                domain::MediaKind::Image => types::MediaKind::Image,
                domain::MediaKind::Video => types::MediaKind::Video,
                domain::MediaKind::Gif => types::MediaKind::Gif,
                domain::MediaKind::Document => types::MediaKind::Document,
            },
            mime_type: m.mime_type.clone(),
            byte_size: u64::try_from(m.byte_size).unwrap_or(0),
            width: m.width.and_then(|w| u32::try_from(w).ok()),
            height: m.height.and_then(|h| u32::try_from(h).ok()),
            duration_ms: m.duration_ms.and_then(|d| u32::try_from(d).ok()),
            alt_text: m.alt_text.clone(),
        }
    }
}
