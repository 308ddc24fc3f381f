//! Splitting a long text into a numbered thread whose every part fits the limit.

use crate::text::{find_urls, measure, truncate};
use crate::types::LengthRule;
use unicode_segmentation::UnicodeSegmentation;

/// Splits `text` into parts of at most `max` by `rule`, breaking at sentence ends when it
/// can, else at word boundaries, else (a single over-long word) between graphemes. URLs are
/// never cut. With `numbered`, each part ends with " i/n", counted within the limit.
pub fn split_thread(text: &str, max: usize, rule: LengthRule, numbered: bool) -> Vec<String> {
    let text = text.trim();
    if measure(text, rule) <= max {
        return vec![text.to_owned()];
    }
    if !numbered {
        return pack(text, max, rule);
    }
    // The suffix width depends on the number of parts: retry until it is stable.
    let mut guess = 2;
    loop {
        let reserve = measure(&format!(" {guess}/{guess}"), rule);
        let parts = pack(text, max.saturating_sub(reserve).max(1), rule);
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

/// Greedily fills parts with pieces (sentences, then words), splitting any piece that is
/// too long on its own. Pieces end at whitespace, where every length rule is additive, so
/// the running length is kept instead of re-measuring the part for every piece.
fn pack(text: &str, max: usize, rule: LengthRule) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for piece in pieces(text, max, rule) {
        let piece_len = measure(&piece, rule);
        if current.trim().is_empty() || current_len + measure(piece.trim_end(), rule) <= max {
            current.push_str(&piece);
            current_len += piece_len;
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
fn pieces(text: &str, max: usize, rule: LengthRule) -> Vec<String> {
    let mut out = Vec::new();
    for sentence in text.split_sentence_bounds() {
        if measure(sentence.trim(), rule) <= max {
            out.push(sentence.to_owned());
            continue;
        }
        for word in words_keeping_urls(sentence) {
            if measure(word.trim(), rule) <= max {
                out.push(word);
            } else {
                let mut rest = word.trim().to_owned();
                while !rest.is_empty() {
                    let (head, _) = truncate(&rest, max, rule, "");
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

/// Splits at whitespace, keeping each URL in one piece with its trailing space.
fn words_keeping_urls(s: &str) -> Vec<String> {
    let urls = find_urls(s);
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() && !urls.iter().any(|u| u.contains(&i)) {
            out.push(s[start..i + c.len_utf8()].to_owned());
            start = i + c.len_utf8();
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
}
