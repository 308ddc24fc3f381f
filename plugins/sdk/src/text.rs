//! Measuring and cutting text the way each platform counts it.

use crate::types::LengthRule;
use std::ops::Range;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::UnicodeEmoji;
use unicode_segmentation::UnicodeSegmentation;

/// What X counts for any URL, whatever its length (twitter-text v3 `transformedURLLength`).
pub const X_URL_WEIGHT: usize = 23;

/// Unicode scalar values.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// UTF-16 code units, as JavaScript counts.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// User-perceived characters (extended grapheme clusters).
pub fn grapheme_len(s: &str) -> usize {
    s.graphemes(true).count()
}

/// X's weighted length (twitter-text v3): after NFC, each URL counts 23, each emoji
/// sequence 2, code points in U+0000-10FF, U+2000-200D, U+2010-201F and U+2032-2037 count
/// 1, everything else (CJK included) 2.
pub fn x_weighted_len(s: &str) -> usize {
    let s: String = s.nfc().collect();
    let urls = find_urls(&s);
    let mut weight = 0;
    let mut pos = 0;
    for url in &urls {
        weight += weigh_plain(&s[pos..url.start]);
        weight += X_URL_WEIGHT;
        pos = url.end;
    }
    weight + weigh_plain(&s[pos..])
}

fn weigh_plain(s: &str) -> usize {
    s.graphemes(true)
        .map(|g| {
            if is_emoji_cluster(g) {
                2
            } else {
                g.chars().map(x_char_weight).sum()
            }
        })
        .sum()
}

fn x_char_weight(c: char) -> usize {
    match c as u32 {
        0x0000..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037 => 1,
        _ => 2,
    }
}

/// Whether a grapheme cluster is an emoji (sequence): a pictograph, a flag, a keycap, or a
/// ZWJ/skin-tone sequence of those. Plain digits, `#` and `*` are not.
pub fn is_emoji_cluster(g: &str) -> bool {
    if g.contains('\u{20E3}') {
        return true; // keycap: 1️⃣
    }
    g.chars()
        .any(|c| c as u32 > 0xFF && c.is_emoji_char() && !c.is_emoji_component())
        || g.chars().filter(|c| ('\u{1F1E6}'..='\u{1F1FF}').contains(c)).count() == 2
}

/// The length of `s` by `rule`.
pub fn measure(s: &str, rule: LengthRule) -> usize {
    match rule {
        LengthRule::Characters => char_len(s),
        LengthRule::Utf16 => utf16_len(s),
        LengthRule::Graphemes => grapheme_len(s),
        LengthRule::XWeighted => x_weighted_len(s),
    }
}

/// Generic top-level domains recognised without a scheme (`example.com`). twitter-text
/// knows every TLD; these are the ones people actually write in posts.
const GENERIC_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "edu", "gov", "io", "co", "ai", "app", "dev", "me", "tv", "xyz", "shop",
    "store", "online", "site", "tech", "blog", "news", "page", "cloud", "link", "live", "media",
];

/// Byte ranges of the URLs in `s`, without trailing punctuation: `http://` or `https://`
/// followed by non-space characters, a bare `www.` host, or a bare domain such as
/// `example.com/path`, which X also counts as a URL. A bare domain needs a generic TLD from
/// a short list, or a two-letter country TLD followed by a path (`t.co/x`), so that
/// `readme.md` or `e.g.` stay words.
pub fn find_urls(s: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        // Tokens end at whitespace; a URL starts at the token's start or after ( " ' «.
        let rest = &s[i..];
        let Some(off) = rest.find(|c: char| !c.is_whitespace()) else {
            break;
        };
        let start = i + off;
        let end = s[start..].find(char::is_whitespace).map_or(s.len(), |e| start + e);
        let token = &s[start..end];
        let lead = token.len() - token.trim_start_matches(['(', '"', '\'', '«', '[']).len();
        if let Some(len) = url_at(&token[lead..]) {
            out.push(start + lead..start + lead + len);
        }
        i = end;
    }
    out
}

/// The length of the URL that `token` starts with, if it starts with one.
fn url_at(token: &str) -> Option<usize> {
    let trimmed = token.trim_end_matches(['.', ',', '!', '?', ';', ':', ')', ']', '"', '\'', '»']);
    let lower = trimmed.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) {
        return (!rest.is_empty()).then_some(trimmed.len());
    }
    if let Some(rest) = lower.strip_prefix("www.") {
        return (!rest.is_empty()).then_some(trimmed.len());
    }
    // A bare domain: labels of letters, digits and '-', then a known TLD, then / ? # or end.
    let host_end = lower.find(['/', '?', '#']).unwrap_or(lower.len());
    let host = &lower[..host_end];
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return None;
    }
    let tld = labels[labels.len() - 1];
    let has_path = host_end < lower.len() && lower[host_end..].len() > 1;
    let known =
        GENERIC_TLDS.contains(&tld) || (tld.len() == 2 && tld.chars().all(|c| c.is_ascii_lowercase()) && has_path);
    known.then_some(trimmed.len())
}

/// Cuts `s` so that it plus `ellipsis` fits in `max` by `rule`, at a word boundary when one
/// is near, never inside a grapheme cluster (an emoji or an accented letter stays whole).
/// Returns the text and whether it was cut.
pub fn truncate(s: &str, max: usize, rule: LengthRule, ellipsis: &str) -> (String, bool) {
    if measure(s, rule) <= max {
        return (s.to_owned(), false);
    }
    let budget = max.saturating_sub(measure(ellipsis, rule));
    // Ends of grapheme clusters; the measure of a prefix grows with its length, so the
    // longest prefix that fits is found by binary search (long posts stay fast).
    let ends: Vec<usize> = s.grapheme_indices(true).map(|(i, g)| i + g.len()).collect();
    let fitting = ends.partition_point(|&end| measure(&s[..end], rule) <= budget);
    let fit = if fitting == 0 { 0 } else { ends[fitting - 1] };
    // Never cut inside a URL (a cut link is broken, and X would still count it as 23), a
    // mention, a hashtag or a cashtag (a cut one names someone or something else).
    let fit = crate::tags::entity_spans(s)
        .iter()
        .find(|u| u.start < fit && fit < u.end)
        .map_or(fit, |u| u.start);
    let head = &s[..fit];
    // Prefer the last word boundary, unless that would throw away more than a third.
    let mut cut = head
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map(|(i, _)| i)
        .filter(|i| *i >= fit * 2 / 3)
        .unwrap_or(fit);
    loop {
        let out = format!("{}{ellipsis}", s[..cut].trim_end());
        if measure(&out, rule) <= max || cut == 0 {
            return (out, true);
        }
        // Rare: the ellipsis changed how the prefix counts; step back one grapheme.
        cut = s[..cut].grapheme_indices(true).next_back().map_or(0, |(i, _)| i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_counts_urls_as_23_emoji_as_2_and_cjk_as_2() {
        assert_eq!(x_weighted_len("hello"), 5);
        assert_eq!(x_weighted_len("see https://example.com/a/very/long/path?x=1"), 4 + 23);
        assert_eq!(x_weighted_len("👍"), 2);
        assert_eq!(x_weighted_len("👨‍👩‍👧‍👦"), 2, "a ZWJ family is one emoji");
        assert_eq!(x_weighted_len("👍🏽"), 2, "skin tone modifier stays with its base");
        assert_eq!(x_weighted_len("🇸🇪"), 2, "a flag is one emoji");
        assert_eq!(x_weighted_len("日本語"), 6);
        assert_eq!(x_weighted_len("café"), 4);
        assert_eq!(
            x_weighted_len("cafe\u{301}"),
            4,
            "NFC first: e + accent is one code point"
        );
        assert_eq!(
            x_weighted_len("“quoted” — dash"),
            15,
            "typographic punctuation in the 2000 block counts 1"
        );
        assert_eq!(x_weighted_len("123 #tag"), 8, "digits and # are not emoji");
    }

    #[test]
    fn utf16_and_graphemes_differ_from_chars() {
        let s = "a😀é";
        assert_eq!(char_len(s), 3);
        assert_eq!(utf16_len(s), 4);
        let decomposed = "e\u{301}";
        assert_eq!((char_len(decomposed), grapheme_len(decomposed)), (2, 1));
    }

    #[test]
    fn finds_urls_without_trailing_punctuation() {
        let s = "Read https://ex.com/a. Or www.ex.org, or (http://x.io/b).";
        let found: Vec<_> = find_urls(s).into_iter().map(|r| &s[r]).collect();
        assert_eq!(found, ["https://ex.com/a", "www.ex.org", "http://x.io/b"]);
        assert!(find_urls("mail me at bob@www.example.com or http:// alone").is_empty());
    }

    #[test]
    fn bare_domains_count_as_urls_but_file_names_and_abbreviations_do_not() {
        let s = "See example.com, shop.acme.io/sale and t.co/x1 (not readme.md, e.g. or 3.14).";
        let found: Vec<_> = find_urls(s).into_iter().map(|r| &s[r]).collect();
        assert_eq!(found, ["example.com", "shop.acme.io/sale", "t.co/x1"]);
        // On X each of them weighs 23, whatever its length.
        assert_eq!(x_weighted_len("go to example.com"), 6 + 23);
    }

    #[test]
    fn truncation_keeps_graphemes_whole_and_prefers_word_boundaries() {
        let (t, cut) = truncate("The quick brown fox jumps", 15, LengthRule::Characters, "…");
        assert!(cut);
        assert_eq!(t, "The quick…");
        let (t, _) = truncate("ab👨‍👩‍👧‍👦cd", 4, LengthRule::Graphemes, "");
        assert_eq!(t, "ab👨‍👩‍👧‍👦c");
        let (t, _) = truncate("ab👨‍👩‍👧‍👦cd", 3, LengthRule::XWeighted, "");
        assert_eq!(t, "ab", "the family emoji (2) would not fit in 1 more");
        let (t, _) = truncate("Thanks @anna.berg and #SpringSale", 12, LengthRule::Characters, "");
        assert_eq!(t, "Thanks", "neither the mention nor the hashtag is cut");
        let (t, _) = truncate("Buy $ACME now", 7, LengthRule::Characters, "");
        assert_eq!(t, "Buy");
        let (t, cut) = truncate("short", 10, LengthRule::Characters, "…");
        assert_eq!((t.as_str(), cut), ("short", false));
    }

    #[test]
    fn truncation_never_exceeds_the_limit() {
        let samples = [
            "日本語のテキストはとても長いです",
            "emoji 🎉🎉🎉🎉🎉 party",
            "https://example.com/x y z",
        ];
        for s in samples {
            for max in 0..30 {
                for rule in [
                    LengthRule::Characters,
                    LengthRule::Utf16,
                    LengthRule::Graphemes,
                    LengthRule::XWeighted,
                ] {
                    let (t, _) = truncate(s, max, rule, "…");
                    if measure("…", rule) <= max {
                        assert!(measure(&t, rule) <= max, "{s:?} max {max} {rule:?} -> {t:?}");
                    }
                }
            }
        }
    }
}
