//! X's weighted length and validity exactly as twitter-text 3.1.0 computes them
//! (`parseTweet` with its default configuration, version 3), the counting library X
//! publishes. A test compares this with the library itself on thousands of generated
//! texts (`tests/tests/twitter_text.rs`).
//!
//! The rule: after NFC, every URL counts 23, every emoji (as twemoji-parser 11.0.2 knows
//! them: a newer ZWJ sequence such as 🧑🏿‍💻 is several emoji and joiners) counts 2, and every
//! other UTF-16 unit counts 1 in U+0000-10FF, U+2000-200D, U+2010-201F and U+2032-2037, and
//! 2 elsewhere (a surrogate pair counts once, by its low half: 2). A text is valid when it
//! weighs 1 to 280 and holds none of U+FFFE, U+FEFF, U+FFFF.

mod emoji;
mod tables;
mod urls;

use std::borrow::Cow;
use std::ops::Range;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// What one post may weigh.
pub const MAX_WEIGHTED_LENGTH: usize = 280;
/// What any URL weighs.
pub const URL_WEIGHT: usize = 23;

/// `parseTweet`'s verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// The weighted length (what X compares with 280).
    pub weighted_length: usize,
    /// Whether X would take it: within 280 and free of the characters X refuses.
    pub valid: bool,
}

/// Characters X refuses anywhere in a post.
pub fn is_invalid_char(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}')
}

/// twitter-text's `parseTweet(text)`.
pub fn parse(text: &str) -> Parsed {
    // Most posts are already NFC; the quick check spares a copy of the text.
    let nfc: Cow<str> = match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfc().collect()),
    };
    let nfc: &str = &nfc;
    let chars: Vec<char> = nfc.chars().collect();
    let units: Vec<u16> = nfc.encode_utf16().collect();
    // UTF-16 offset of each char, and of each byte that starts a char.
    let mut utf16_of_char = Vec::with_capacity(chars.len() + 1);
    let mut utf16_of_byte = vec![0; nfc.len() + 1];
    let mut at = 0;
    for (byte, c) in nfc.char_indices() {
        utf16_of_char.push(at);
        utf16_of_byte[byte] = at;
        at += c.len_utf16();
    }
    utf16_of_char.push(at);
    utf16_of_byte[nfc.len()] = at;

    // By start (in UTF-16 units): a later entity with the same start replaces an earlier one.
    let mut url_at = vec![0usize; units.len() + 1];
    for u in urls::extract(&chars) {
        url_at[utf16_of_char[u.start]] = u.skip_utf16;
    }
    let mut emoji_at = vec![0usize; units.len() + 1];
    for r in emoji::find(nfc) {
        emoji_at[utf16_of_byte[r.start]] = utf16_of_byte[r.end] - utf16_of_byte[r.start];
    }

    let mut weight = 0usize;
    let mut valid = true;
    let mut i = 0;
    while i < units.len() {
        if url_at[i] > 0 {
            weight += URL_WEIGHT * 100;
            i += url_at[i] - 1;
        } else if emoji_at[i] > 0 {
            weight += 200;
            i += emoji_at[i] - 1;
        } else {
            let pair = i + 1 < units.len()
                && (0xD800..=0xDBFF).contains(&units[i])
                && (0xDC00..=0xDFFF).contains(&units[i + 1]);
            if pair {
                i += 1;
            }
            weight += unit_weight(units[i]);
        }
        if valid {
            valid = !matches!(units.get(i), Some(0xFFFE | 0xFEFF | 0xFFFF));
        }
        i += 1;
    }
    let weighted_length = weight / 100;
    Parsed {
        weighted_length,
        valid: valid && weighted_length > 0 && weighted_length <= MAX_WEIGHTED_LENGTH,
    }
}

fn unit_weight(u: u16) -> usize {
    match u {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 100,
        _ => 200,
    }
}

/// Byte ranges of the URLs in `text` (not normalised), as twitter-text finds them.
pub fn url_ranges(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<char> = text.chars().collect();
    let mut byte_of_char: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    byte_of_char.push(text.len());
    urls::extract(&chars)
        .into_iter()
        .map(|u| byte_of_char[u.start]..byte_of_char[u.end])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> Vec<&str> {
        url_ranges(s).into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn a_path_ends_on_an_ending_character_or_balanced_groups_right_after_one() {
        assert_eq!(urls("https://ex.com/a(b)x"), ["https://ex.com/a(b)x"]);
        assert_eq!(urls("https://ex.com/(a(b)c)"), ["https://ex.com/(a(b)c)"]);
        assert_eq!(urls("https://ex.com/a...($BRK.A)❤"), ["https://ex.com/a"]);
        assert_eq!(urls("https://ex.com/a...($BRK.A)x"), ["https://ex.com/a...($BRK.A)x"]);
    }
}
