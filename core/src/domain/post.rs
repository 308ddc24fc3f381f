//! Posts: what a person composes once, before it is adapted per platform and segment.

use crate::Invalid;
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A post's lifecycle. Every allowed move is listed in [`PostStatus::allowed_next`]; the
/// store refuses any other, so no code path can skip approval or publish a cancelled post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    Draft,
    InReview,
    Approved,
    Scheduled,
    Publishing,
    Published,
    /// Some deliveries went out and some failed for good.
    PartiallyPublished,
    Failed,
    Cancelled,
}

impl PostStatus {
    /// The states a post may move to from this one.
    pub fn allowed_next(self) -> &'static [PostStatus] {
        use PostStatus::*;
        match self {
            // A company without client approval may approve its own draft directly.
            Draft => &[InReview, Approved, Cancelled],
            // Rejection sends a post back to draft with the reviewer's comment.
            InReview => &[Approved, Draft, Cancelled],
            // Editing an approved post reopens it.
            Approved => &[Scheduled, Draft, Cancelled],
            // Editing a scheduled post of a brand that requires approval reopens it.
            Scheduled => &[Publishing, Approved, Draft, Cancelled],
            Publishing => &[Published, PartiallyPublished, Failed],
            // Retrying the deliveries that failed.
            PartiallyPublished | Failed => &[Scheduled, Cancelled],
            Published => &[],
            Cancelled => &[Draft],
        }
    }

    pub fn can_move_to(self, next: PostStatus) -> bool {
        self.allowed_next().contains(&next)
    }

    /// Whether the post's content may still be edited (a scheduled post's deliveries that
    /// have not gone out are adapted again; those that went out keep what they sent).
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            PostStatus::Draft | PostStatus::InReview | PostStatus::Approved | PostStatus::Scheduled
        )
    }

    pub fn as_str(self) -> &'static str {
        use PostStatus::*;
        match self {
            Draft => "draft",
            InReview => "in_review",
            Approved => "approved",
            Scheduled => "scheduled",
            Publishing => "publishing",
            Published => "published",
            PartiallyPublished => "partially_published",
            Failed => "failed",
            Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for PostStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person composes: validated before it is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostDraft {
    pub body: String,
    #[serde(default)]
    pub link: Option<String>,
    /// Hashtags without `#`; `#` is accepted and stripped.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// A BCP 47 language tag such as `en`, `sv-SE` or `pt-BR`.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// Media assets in the order they should appear.
    #[serde(default)]
    pub media: Vec<Uuid>,
    #[serde(default)]
    pub campaign_id: Option<Uuid>,
    /// A title, for platforms that show one (a Pinterest Pin's, a TikTok photo post's).
    #[serde(default)]
    pub title: Option<String>,
    /// The person's answers to the platforms' per-post choices (a Pinterest board, a TikTok
    /// privacy level), by platform id or by account id (an account's own answers win).
    #[serde(default)]
    pub options: PostOptions,
}

/// Per-post choices, keyed first by a platform id (`tiktok`) or an account id, then by the
/// option's key (`privacy_level`). Each plugin declares its options in `describe`; the
/// plugin checks the values when it adapts the post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sea_orm::FromJsonQueryResult)]
pub struct PostOptions(pub std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>);

impl PostOptions {
    /// The answers an account's plugin sees: its platform's, then the account's own on top.
    pub fn for_account(&self, platform: &str, account: Uuid) -> Vec<(String, String)> {
        let mut out = self.0.get(platform).cloned().unwrap_or_default();
        if let Some(own) = self.0.get(&account.to_string()) {
            out.extend(own.clone());
        }
        out.into_iter().collect()
    }

    /// Sets `key` to `value` for `scope` (a platform id or an account id).
    pub fn set(&mut self, scope: &str, key: &str, value: &str) {
        self.0
            .entry(scope.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|m| m.is_empty())
    }
}

/// Longest title Chorus stores (platforms cut it to their own limit when they adapt).
pub const MAX_TITLE_CHARS: usize = 500;
const MAX_OPTION_CHARS: usize = 2_000;

fn default_locale() -> String {
    "en".to_owned()
}

/// Longest body Chorus stores; above every platform's own limit (Facebook's is the highest).
pub const MAX_BODY_CHARS: usize = 100_000;
const MAX_HASHTAG_CHARS: usize = 100;

impl PostDraft {
    /// Checks the draft and returns it normalised (hashtags without `#`, deduplicated
    /// case-insensitively, in their first spelling and order).
    pub fn validated(mut self) -> Result<Self, Invalid> {
        let chars = self.body.chars().count();
        if self.body.trim().is_empty() && self.media.is_empty() {
            return Err(Invalid::new("body", "a post needs text or at least one media asset"));
        }
        if chars > MAX_BODY_CHARS {
            return Err(Invalid::new(
                "body",
                format!("{chars} characters is too long; at most {MAX_BODY_CHARS} are allowed"),
            ));
        }
        if let Some(link) = &self.link {
            match url::Url::parse(link) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => {
                    return Err(Invalid::new(
                        "link",
                        format!("{link:?} is not an absolute http(s) URL such as \"https://example.com/page\""),
                    ));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut tags = Vec::with_capacity(self.hashtags.len());
        for (i, raw) in self.hashtags.iter().enumerate() {
            let tag = normalize_hashtag(raw).map_err(|m| Invalid::new(format!("hashtags[{i}]"), m))?;
            if seen.insert(tag.to_lowercase()) {
                tags.push(tag);
            }
        }
        self.hashtags = tags;
        check_locale(&self.locale)?;
        if let Some(t) = &self.title {
            let n = t.chars().count();
            if n > MAX_TITLE_CHARS {
                return Err(Invalid::new(
                    "title",
                    format!("{n} characters is too long; at most {MAX_TITLE_CHARS} are allowed"),
                ));
            }
            if t.trim().is_empty() {
                self.title = None;
            }
        }
        for (scope, answers) in &self.options.0 {
            let plausible = |s: &str| {
                !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            };
            if !plausible(scope) {
                return Err(Invalid::new(
                    "options",
                    format!("{scope:?} is neither a platform id (such as \"tiktok\") nor an account id"),
                ));
            }
            for (key, value) in answers {
                if !plausible(key) {
                    return Err(Invalid::new(
                        format!("options.{scope}"),
                        format!("{key:?} is not an option key (letters, digits, '_', '-' and '.')"),
                    ));
                }
                if value.chars().count() > MAX_OPTION_CHARS {
                    return Err(Invalid::new(
                        format!("options.{scope}.{key}"),
                        format!("the value is longer than {MAX_OPTION_CHARS} characters"),
                    ));
                }
            }
        }
        let mut media = std::collections::HashSet::new();
        if let Some(dup) = self.media.iter().find(|m| !media.insert(**m)) {
            return Err(Invalid::new("media", format!("asset {dup} is listed twice")));
        }
        Ok(self)
    }
}

/// Strips a leading `#` and checks a hashtag is one word of letters, digits and `_`.
pub fn normalize_hashtag(raw: &str) -> Result<String, String> {
    let tag = raw.trim().trim_start_matches('#');
    if tag.is_empty() {
        return Err(format!(
            "{raw:?} is empty; a hashtag needs at least one letter or digit"
        ));
    }
    if let Some(bad) = tag.chars().find(|c| !(c.is_alphanumeric() || *c == '_')) {
        return Err(format!(
            "{raw:?} contains {bad:?}; hashtags allow letters, digits and '_' only"
        ));
    }
    if tag.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{raw:?} is only digits; platforms do not link numeric hashtags"
        ));
    }
    if tag.chars().count() > MAX_HASHTAG_CHARS {
        return Err(format!("{raw:?} is longer than {MAX_HASHTAG_CHARS} characters"));
    }
    Ok(tag.to_owned())
}

fn check_locale(locale: &str) -> Result<(), Invalid> {
    let mut parts = locale.split('-');
    let lang = parts.next().unwrap_or_default();
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if lang_ok && rest_ok && locale.len() <= 35 {
        Ok(())
    } else {
        Err(Invalid::new(
            "locale",
            format!("{locale:?} is not a BCP 47 language tag; use e.g. \"en\", \"sv-SE\" or \"pt-BR\""),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(body: &str) -> PostDraft {
        PostDraft {
            body: body.into(),
            locale: "en".into(),
            ..Default::default()
        }
    }

    #[test]
    fn published_and_publishing_cannot_be_cancelled_or_reopened() {
        assert!(PostStatus::Published.allowed_next().is_empty());
        assert!(!PostStatus::Publishing.can_move_to(PostStatus::Cancelled));
        assert!(
            !PostStatus::Draft.can_move_to(PostStatus::Scheduled),
            "scheduling needs approval first"
        );
        assert!(PostStatus::InReview.can_move_to(PostStatus::Draft));
    }

    #[test]
    fn hashtags_are_normalised_and_deduplicated_case_insensitively() {
        let d = PostDraft {
            hashtags: vec!["#Coffee".into(), "coffee".into(), "fika_time".into()],
            ..draft("hi")
        };
        assert_eq!(d.validated().unwrap().hashtags, vec!["Coffee", "fika_time"]);
    }

    #[test]
    fn rejects_hashtag_with_space_naming_its_index() {
        let d = PostDraft {
            hashtags: vec!["ok".into(), "two words".into()],
            ..draft("hi")
        };
        let err = d.validated().unwrap_err();
        assert_eq!(err.field, "hashtags[1]");
        assert!(err.message.contains("' '"), "{err}");
    }

    #[test]
    fn rejects_empty_post_relative_link_and_bad_locale() {
        assert_eq!(draft("  ").validated().unwrap_err().field, "body");
        let d = PostDraft {
            link: Some("/relative".into()),
            ..draft("hi")
        };
        assert_eq!(d.validated().unwrap_err().field, "link");
        let d = PostDraft {
            locale: "English".into(),
            ..draft("hi")
        };
        assert_eq!(d.validated().unwrap_err().field, "locale");
        assert!(
            PostDraft {
                locale: "sv-SE".into(),
                ..draft("hej")
            }
            .validated()
            .is_ok()
        );
    }

    #[test]
    fn media_only_post_is_allowed() {
        let d = PostDraft {
            media: vec![Uuid::now_v7()],
            ..draft("")
        };
        assert!(d.validated().is_ok());
    }

    #[test]
    fn options_are_the_platforms_then_the_accounts_own_and_are_checked() {
        let account = Uuid::now_v7();
        let mut o = PostOptions::default();
        o.set("tiktok", "privacy_level", "PUBLIC_TO_EVERYONE");
        o.set("tiktok", "comments", "off");
        o.set(&account.to_string(), "privacy_level", "SELF_ONLY");
        let mut got = o.for_account("tiktok", account);
        got.sort();
        assert_eq!(
            got,
            vec![
                ("comments".to_owned(), "off".to_owned()),
                ("privacy_level".to_owned(), "SELF_ONLY".to_owned())
            ]
        );
        assert_eq!(o.for_account("tiktok", Uuid::now_v7()).len(), 2);
        assert!(
            o.for_account("pinterest", account).len() == 1,
            "the account's own go everywhere it posts"
        );
        let mut d = draft("Hi");
        d.options.set("tik tok", "x", "y");
        assert_eq!(d.validated().unwrap_err().field, "options");
        let mut d = draft("Hi");
        d.title = Some("t".repeat(MAX_TITLE_CHARS + 1));
        assert_eq!(d.validated().unwrap_err().field, "title");
    }
}
