//! Hashtags and mentions: finding them in text, normalising and deduplicating them.

use crate::text::find_urls;
use std::collections::HashSet;
use std::ops::Range;

/// A hashtag without `#` if `raw` is a valid one: letters, digits and `_`, not only digits.
pub fn normalize_hashtag(raw: &str) -> Option<String> {
    let tag = raw.trim().trim_start_matches('#');
    let valid = !tag.is_empty()
        && tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !tag.chars().all(|c| c.is_ascii_digit());
    valid.then(|| tag.to_owned())
}

/// Keeps the first spelling of each tag, comparing case-insensitively, in order.
pub fn dedupe(tags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    tags.into_iter().filter(|t| seen.insert(t.to_lowercase())).collect()
}

/// Hashtags written in `text` (without `#`), in order, outside URLs.
pub fn extract_hashtags(text: &str) -> Vec<String> {
    sigil_words(text, '#', |c| c.is_alphanumeric() || c == '_')
        .into_iter()
        .filter_map(|(_, w)| normalize_hashtag(w))
        .collect()
}

/// Mentions written in `text` (without `@`), such as `chorus` or `chorus@mastodon.social`.
pub fn extract_mentions(text: &str) -> Vec<String> {
    sigil_words(text, '@', mention_char)
        .into_iter()
        .map(|(_, w)| w.trim_end_matches(['.', '-', '@']).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Byte ranges (including the `#`) of the hashtags in `text`.
pub fn hashtag_spans(text: &str) -> Vec<Range<usize>> {
    sigil_words(text, '#', |c| c.is_alphanumeric() || c == '_')
        .into_iter()
        .filter(|(_, w)| normalize_hashtag(w).is_some())
        .map(|(start, w)| start..start + 1 + w.len())
        .collect()
}

/// Byte ranges (including the `@`) of the mentions in `text`.
pub fn mention_spans(text: &str) -> Vec<Range<usize>> {
    sigil_words(text, '@', mention_char)
        .into_iter()
        .map(|(start, w)| (start, w.trim_end_matches(['.', '-', '@'])))
        .filter(|(_, w)| !w.is_empty())
        .map(|(start, w)| start..start + 1 + w.len())
        .collect()
}

/// Byte ranges (including the `$`) of the cashtags in `text`: `$` and 1-6 ASCII letters,
/// optionally `_` or `.` and 1-2 more letters (`$ACME`, `$BRK.A`), as twitter-text finds them.
pub fn cashtag_spans(text: &str) -> Vec<Range<usize>> {
    sigil_words(text, '$', |c| c.is_ascii_alphabetic() || c == '.' || c == '_')
        .into_iter()
        .filter_map(|(start, w)| {
            let w = w.trim_end_matches(['.', '_']);
            let (ticker, suffix) = w.split_once(['.', '_']).unwrap_or((w, ""));
            let ok = (1..=6).contains(&ticker.len())
                && suffix.len() <= 2
                && suffix.chars().all(|c| c.is_ascii_alphabetic())
                && !(w.contains(['.', '_']) && suffix.is_empty());
            ok.then(|| start..start + 1 + w.len())
        })
        .collect()
}

/// Every entity a reader must get whole, in order: URLs, mentions, hashtags and cashtags.
/// Splitters and truncation never cut inside one of these ranges.
pub fn entity_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = find_urls(text);
    spans.extend(mention_spans(text));
    spans.extend(hashtag_spans(text));
    spans.extend(cashtag_spans(text));
    spans.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    spans.dedup_by(|later, earlier| later.start < earlier.end);
    spans
}

fn mention_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.' || c == '@' || c == '-'
}

/// Words that follow `sigil` at a word start, outside URLs: (byte offset of the sigil, word).
fn sigil_words(text: &str, sigil: char, word_char: impl Fn(char) -> bool) -> Vec<(usize, &str)> {
    if !text.contains(sigil) {
        return Vec::new();
    }
    let urls = find_urls(text);
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        if c != sigil || urls.iter().any(|u| u.contains(&i)) {
            continue;
        }
        let prev_ok = text[..i]
            .chars()
            .next_back()
            .is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '&' || p == sigil));
        if !prev_ok {
            continue;
        }
        let rest = &text[i + 1..];
        let len = rest.find(|ch: char| !word_char(ch)).unwrap_or(rest.len());
        if len > 0 {
            out.push((i, &rest[..len]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_hashtags_but_not_anchors_numbers_or_url_fragments() {
        let t = "Launch day! #Coffee #fika_time #2026 see https://ex.com/#menu and a&#39; #Kaffé.";
        assert_eq!(extract_hashtags(t), ["Coffee", "fika_time", "Kaffé"]);
    }

    #[test]
    fn extracts_mentions_including_fediverse_handles() {
        let t = "Thanks @anna and @chorus@mastodon.social! mail: bob@example.com";
        assert_eq!(extract_mentions(t), ["anna", "chorus@mastodon.social"]);
    }

    #[test]
    fn dedupes_case_insensitively_keeping_first_spelling() {
        let tags = dedupe(["Coffee", "coffee", "Tea", "COFFEE"].map(String::from));
        assert_eq!(tags, ["Coffee", "Tea"]);
        assert_eq!(normalize_hashtag("#ok_1"), Some("ok_1".into()));
        assert_eq!(normalize_hashtag("two words"), None);
        assert_eq!(normalize_hashtag("123"), None);
    }

    #[test]
    fn spans_cover_the_sigil() {
        let t = "a #b c";
        assert_eq!(hashtag_spans(t).into_iter().map(|r| &t[r]).collect::<Vec<_>>(), ["#b"]);
    }
}
