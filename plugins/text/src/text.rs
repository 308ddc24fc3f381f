//! Measuring and cutting text the way each platform counts it.

use std::ops::Range;
use unicode_properties::UnicodeEmoji;
use unicode_segmentation::UnicodeSegmentation;

/// How a platform counts the length of a text. The plugin contract has its own copy of this
/// enum (`length-rule` in the WIT); both sides convert into this one to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthRule {
    /// Unicode scalar values.
    Characters,
    /// UTF-16 code units, as JavaScript and Java count.
    Utf16,
    /// User-perceived characters (extended grapheme clusters).
    Graphemes,
    /// X's weighted count (twitter-text 3.1.0).
    XWeighted,
    /// Bytes of the UTF-8 encoding (Bluesky's second limit).
    Utf8Bytes,
}

/// What X counts for any URL, whatever its length (twitter-text v3 `transformedURLLength`).
pub const X_URL_WEIGHT: usize = crate::twitter_text::URL_WEIGHT;

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

/// X's weighted length, exactly as twitter-text 3.1.0 counts it (see [`crate::twitter_text`]).
pub fn x_weighted_len(s: &str) -> usize {
    crate::twitter_text::parse(s).weighted_length
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
pub fn measure(s: &str, rule: impl Into<LengthRule>) -> usize {
    match rule.into() {
        LengthRule::Characters => char_len(s),
        LengthRule::Utf16 => utf16_len(s),
        LengthRule::Graphemes => grapheme_len(s),
        LengthRule::XWeighted => x_weighted_len(s),
        LengthRule::Utf8Bytes => s.len(),
    }
}

/// Whether `s` meets every limit, each `(max, rule)` by its own rule.
pub fn fits_all<R: Into<LengthRule> + Copy>(s: &str, limits: &[(usize, R)]) -> bool {
    limits.iter().all(|&(max, rule)| measure(s, rule) <= max)
}

/// Byte ranges of the URLs in `s`, as X finds them (twitter-text 3.1.0): with or without a
/// scheme, on a known top-level domain, without trailing punctuation. The one notion of a
/// link every plugin shares: the splitter and truncation keep these whole.
pub fn find_urls(s: &str) -> Vec<Range<usize>> {
    crate::twitter_text::url_ranges(s)
}

/// Cuts `s` so that it plus `ellipsis` fits in `max` by `rule`, at a word boundary when one
/// is near, never inside a grapheme cluster (an emoji or an accented letter stays whole).
/// Returns the text and whether it was cut.
pub fn truncate(s: &str, max: usize, rule: impl Into<LengthRule>, ellipsis: &str) -> (String, bool) {
    truncate_all(s, &[(max, rule.into())], ellipsis)
}

/// [`truncate`] for a text that must meet several limits at once, each by its own rule
/// (Bluesky: 300 graphemes and 3,000 UTF-8 bytes): cut where every one of them fits.
pub fn truncate_all<R: Into<LengthRule> + Copy>(s: &str, limits: &[(usize, R)], ellipsis: &str) -> (String, bool) {
    if fits_all(s, limits) {
        return (s.to_owned(), false);
    }
    let budgets: Vec<(usize, LengthRule)> = limits
        .iter()
        .map(|&(max, rule)| (max.saturating_sub(measure(ellipsis, rule)), rule.into()))
        .collect();
    // Ends of grapheme clusters; the measure of a prefix grows with its length, so the
    // longest prefix that fits is found by binary search (long posts stay fast).
    let ends: Vec<usize> = s.grapheme_indices(true).map(|(i, g)| i + g.len()).collect();
    let fitting = ends.partition_point(|&end| fits_all(&s[..end], &budgets));
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
        if fits_all(&out, limits) || cut == 0 {
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
    fn a_text_is_cut_where_every_limit_fits() {
        // 10 graphemes, 40 bytes: the byte limit binds first.
        let s = "ääää ääää ääää ääää ääää";
        assert_eq!(measure(s, LengthRule::Utf8Bytes), 44);
        let limits = [(20, LengthRule::Graphemes), (20, LengthRule::Utf8Bytes)];
        let (t, cut) = truncate_all(s, &limits, "…");
        assert!(cut);
        assert!(fits_all(&t, &limits), "{t:?}");
        assert_eq!(t, "ääää ääää…", "cut at a word, under 20 bytes with the ellipsis");
        // Either limit alone would have kept more.
        assert!(truncate(s, 20, LengthRule::Graphemes, "…").0.len() > t.len());
        let (same, cut) = truncate_all("short", &limits, "…");
        assert_eq!((same.as_str(), cut), ("short", false));
    }

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
    fn bare_domains_count_as_urls_on_known_tlds_as_x_finds_them() {
        let s = "See example.com, shop.acme.io/sale and t.co/x1 (readme.md too, not e.g. or 3.14).";
        let found: Vec<_> = find_urls(s).into_iter().map(|r| &s[r]).collect();
        // `.md` is Moldova's country code: X links `readme.md`, so Chorus keeps it whole.
        assert_eq!(found, ["example.com", "shop.acme.io/sale", "t.co/x1", "readme.md"]);
        // On X each of them weighs 23, whatever its length.
        assert_eq!(x_weighted_len("go to example.com"), 6 + 23);
    }

    #[test]
    fn x_counts_an_emoji_twitter_text_does_not_know_as_its_parts() {
        // twemoji-parser 11 (twitter-text 3.1.0's) predates the technologist: 🧑🏿, a
        // joiner, 💻 weigh 2 + 1 + 2.
        assert_eq!(x_weighted_len("🧑🏿\u{200d}💻"), 5);
        assert_eq!(x_weighted_len("©"), 1, "text-style © is a Latin-1 character");
        assert_eq!(x_weighted_len("©\u{fe0f}"), 2, "emoji-style © is an emoji");
        assert_eq!(x_weighted_len("🇦🇦"), 4, "not a flag: two regional indicators");
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
