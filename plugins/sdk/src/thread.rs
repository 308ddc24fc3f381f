//! Splitting a long text into a numbered thread whose every part fits the limit.

use crate::tags::entity_spans;
use crate::text::{fits_all, measure, truncate_all};
use crate::types::LengthRule;
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;

/// Splits `text` into parts of at most `max` by `rule`, breaking at sentence ends when it
/// can, else at word boundaries, else (a single over-long word) between graphemes. URLs are
/// never cut, nor are mentions, hashtags and cashtags: a sentence end inside one (the `?` of
/// a query string) is not a place to break. Only a single word longer than a whole part
/// (which no platform would accept) is cut between graphemes. With `numbered`, each part
/// ends with " i/n", counted within the limit.
pub fn split_thread(text: &str, max: usize, rule: LengthRule, numbered: bool) -> Vec<String> {
    split_thread_within(text, &[(max, rule)], numbered)
}

/// [`split_thread`] for parts that must meet several limits at once, each `(max, rule)` by
/// its own rule (Bluesky: 300 graphemes and 3,000 UTF-8 bytes per post).
pub fn split_thread_within(text: &str, limits: &[(usize, LengthRule)], numbered: bool) -> Vec<String> {
    let text = text.trim();
    if fits_all(text, limits) {
        return vec![text.to_owned()];
    }
    if !numbered {
        return pack(text, limits);
    }
    // The suffix width depends on the number of parts: retry until it is stable.
    let mut guess = 2;
    loop {
        let suffix = format!(" {guess}/{guess}");
        let room: Vec<(usize, LengthRule)> = limits
            .iter()
            .map(|&(max, rule)| (max.saturating_sub(measure(&suffix, rule)).max(1), rule))
            .collect();
        let parts = pack(text, &room);
        let n = parts.len();
        if n.to_string().len() <= guess.to_string().len() {
            return parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| format!("{p} {}/{n}", i + 1))
                .collect();
        }
        guess = n;
    }
}

/// A numbered thread of at most `max_parts` parts (what one publish may send, from
/// `call_limits().publish_max_requests`): when the text needs more, it is shortened at a
/// word, with an ellipsis, until it fits. Compare the count with [`split_thread_within`]'s
/// to tell the person it was shortened.
pub fn split_thread_at_most(text: &str, limits: &[(usize, LengthRule)], max_parts: usize) -> Vec<String> {
    let max_parts = max_parts.max(1);
    // At most what `max_parts` whole parts hold (one cut, however long the text), then a
    // little shorter each round until the numbered parts fit: a few splits of a text
    // that size, never of the whole text again (100,000 characters for X stayed in time).
    let room: Vec<(usize, LengthRule)> = limits
        .iter()
        .map(|&(max, rule)| (max.saturating_mul(max_parts), rule))
        .collect();
    let (mut cut, _) = crate::text::truncate_all(text, &room, "…");
    loop {
        let parts = split_thread_within(&cut, limits, true);
        let chars = measure(&cut, LengthRule::Characters);
        if parts.len() <= max_parts || chars <= 1 {
            return parts.into_iter().take(max_parts).collect();
        }
        cut = crate::text::truncate(&cut, chars * 97 / 100, LengthRule::Characters, "…").0;
    }
}

/// Greedily fills parts with pieces (sentences, then words), splitting any piece that is
/// too long on its own. Pieces end at whitespace, where every length rule is additive, so
/// the running length is kept instead of re-measuring the part for every piece.
fn pack(text: &str, limits: &[(usize, LengthRule)]) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    // The current part's length by each limit's rule.
    let mut current_len = vec![0; limits.len()];
    for piece in pieces(text, limits) {
        let piece_len: Vec<usize> = limits.iter().map(|&(_, rule)| measure(&piece, rule)).collect();
        let fits = limits
            .iter()
            .zip(&current_len)
            .all(|(&(max, rule), len)| len + measure(piece.trim_end(), rule) <= max);
        if current.trim().is_empty() || fits {
            current.push_str(&piece);
            for (len, add) in current_len.iter_mut().zip(&piece_len) {
                *len += add;
            }
        } else {
            parts.push(current.trim().to_owned());
            current_len = piece_len;
            current = piece;
        }
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// Sentences that fit, else their words, else hard cuts of over-long words.
fn pieces(text: &str, limits: &[(usize, LengthRule)]) -> Vec<String> {
    let mut out = Vec::new();
    let entities = entity_spans(text);
    for sentence in sentences(text, &entities) {
        if fits_all(sentence.trim(), limits) {
            out.push(sentence.to_owned());
            continue;
        }
        for word in words(sentence) {
            if fits_all(word.trim(), limits) {
                out.push(word);
            } else {
                let mut rest = word.trim().to_owned();
                while !rest.is_empty() {
                    let (head, _) = truncate_all(&rest, limits, "");
                    let head = if head.is_empty() {
                        rest.graphemes(true).next().unwrap_or_default().to_owned()
                    } else {
                        head
                    };
                    rest = rest[head.len()..].to_owned();
                    out.push(format!("{head} "));
                }
            }
        }
    }
    out
}

/// Unicode sentences, except that a boundary inside an entity (a URL, a mention, a hashtag,
/// a cashtag) joins the sentences on either side: `example.com/sale?utm_source=x` has a
/// sentence end after `?` by Unicode's rules, and a reader needs the whole link.
fn sentences<'a>(text: &'a str, entities: &[Range<usize>]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, s) in text.split_sentence_bound_indices() {
        let end = i + s.len();
        if entities.iter().any(|e| e.start < end && end < e.end) {
            continue;
        }
        out.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Splits at whitespace, each word with its trailing space. Entities hold no whitespace, so
/// they stay whole; a space that a combining mark extends into one grapheme is not a break.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, g) in s.grapheme_indices(true) {
        if g.chars().all(char::is_whitespace) {
            out.push(s[start..i + g.len()].to_owned());
            start = i + g.len();
        }
    }
    if start < s.len() {
        out.push(s[start..].to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part_without_numbering() {
        assert_eq!(
            split_thread("Hello there.", 280, LengthRule::XWeighted, true),
            ["Hello there."]
        );
    }

    #[test]
    fn long_text_splits_at_sentences_with_numbering_within_the_limit() {
        let text = "First sentence is here. Second one follows it. Third sentence ends this.";
        let parts = split_thread(text, 30, LengthRule::Characters, true);
        assert_eq!(
            parts,
            [
                "First sentence is here. 1/3",
                "Second one follows it. 2/3",
                "Third sentence ends this. 3/3"
            ]
        );
        for p in &parts {
            assert!(measure(p, LengthRule::Characters) <= 30);
        }
    }

    #[test]
    fn every_part_fits_and_no_word_is_lost() {
        let text = "word ".repeat(400) + "https://example.com/a-long-link-that-must-stay-whole end";
        for rule in [LengthRule::XWeighted, LengthRule::Characters] {
            let parts = split_thread(&text, 280, rule, true);
            assert!(parts.len() > 1);
            for p in &parts {
                assert!(measure(p, rule) <= 280, "{rule:?}: {p}");
            }
            let joined: String = parts
                .iter()
                .map(|p| p.rsplit_once(' ').unwrap().0)
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(joined.split_whitespace().count(), text.split_whitespace().count());
            assert!(
                parts
                    .iter()
                    .any(|p| p.contains("https://example.com/a-long-link-that-must-stay-whole"))
            );
        }
    }

    #[test]
    fn a_word_longer_than_the_limit_is_cut_between_graphemes() {
        let parts = split_thread(&"x".repeat(50), 20, LengthRule::Characters, false);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [20, 20, 10]);
    }

    #[test]
    fn numbering_width_grows_past_nine_parts() {
        let text = "Sentence number here. ".repeat(30);
        let parts = split_thread(&text, 30, LengthRule::Characters, true);
        assert!(parts.len() >= 10);
        assert!(parts.last().unwrap().ends_with(&format!("{0}/{0}", parts.len())));
        assert!(parts.iter().all(|p| measure(p, LengthRule::Characters) <= 30));
    }

    /// The entities of `text` that a reader must get whole: URLs, @mentions, #hashtags,
    /// $cashtags, found by the SDK's own finders.
    fn entities(text: &str) -> Vec<String> {
        crate::tags::entity_spans(text)
            .into_iter()
            .map(|r| text[r].to_owned())
            .collect()
    }

    #[test]
    fn a_url_with_a_query_string_is_never_split_at_its_question_mark() {
        let text = "Our spring sale starts today and runs all week long with new colours every \
                    morning. Read more at https://example.com/spring-sale?utm_source=x&utm_campaign=launch \
                    and tell us what you think. We read everything.";
        // From 70 up, the 64-character link and a " i/n" fit in one part.
        for max in 70..140 {
            let parts = split_thread(text, max, LengthRule::Characters, true);
            let url = "https://example.com/spring-sale?utm_source=x&utm_campaign=launch";
            let holding = parts.iter().filter(|p| p.contains(url)).count();
            assert_eq!(holding, 1, "max {max}: {parts:#?}");
        }
    }

    #[test]
    fn no_url_mention_hashtag_cashtag_or_grapheme_is_broken_across_parts() {
        let pieces = [
            "Big news? https://shop.example.com/p?id=42&ref=launch! ",
            "Thanks @anna.berg and @chorus@mastodon.social. ",
            "Ticker $ACME is up? Tag #SpringSale2026 now! ",
            "Family 👨\u{200d}👩\u{200d}👧\u{200d}👦 and coder 🧑🏿\u{200d}💻 say hi. ",
            "日本語の文です。次の文？ www.example.org/a?b=c. ",
            "e\u{301}te\u{301} (see example.com/sale?x=1). ",
        ];
        let text: String = (0..30).map(|i| pieces[i % pieces.len()]).collect();
        let wanted = entities(&text);
        assert!(wanted.len() > 30, "the corpus has entities: {wanted:?}");
        for rule in [
            LengthRule::Characters,
            LengthRule::Utf16,
            LengthRule::Graphemes,
            LengthRule::XWeighted,
        ] {
            for max in [70, 90, 140, 280] {
                let parts = split_thread(&text, max, rule, true);
                let bodies: Vec<&str> = parts.iter().map(|p| p.rsplit_once(' ').unwrap().0).collect();
                // Every entity of the input is found, whole, in the parts, as often as it was written.
                let found: Vec<String> = bodies.iter().flat_map(|b| entities(b)).collect();
                assert_eq!(found, wanted, "{rule:?} max {max}: {parts:#?}");
                // No grapheme is split: the parts' graphemes are the input's, in order.
                let g = |s: &str| {
                    s.graphemes(true)
                        .filter(|g| !g.trim().is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                };
                let joined: Vec<String> = bodies.iter().flat_map(|b| g(b)).collect();
                assert_eq!(joined, g(&text), "{rule:?} max {max}");
                for p in &parts {
                    assert!(measure(p, rule) <= max, "{rule:?} max {max}: {p}");
                }
            }
        }
    }
}
