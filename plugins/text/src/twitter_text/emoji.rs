//! Emoji as twemoji-parser 11.0.2 finds them (the parser twitter-text 3.1.0 counts with).
//! Its pattern is finite, so the generator writes out every string it matches, sorted; the
//! matcher takes the longest one at each position. No regex is compiled, which matters in
//! a plugin: every call runs in a fresh instance.

use super::tables::{EMOJI, TEXT_DEFAULT_EMOJI};
use std::ops::Range;

/// Byte ranges of the emoji in `text`, in order. A text-default emoji (☺, ↔) followed by
/// U+FE0E asks for text presentation and is not an emoji.
pub fn find(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let rest = &text[pos..];
        match longest_at(rest, c) {
            Some(len)
                if !(len == c.len_utf8()
                    && rest[len..].starts_with('\u{FE0E}')
                    && TEXT_DEFAULT_EMOJI.binary_search(&&rest[..len]).is_ok()) =>
            {
                out.push(pos..pos + len);
                pos += len;
            }
            _ => pos += c.len_utf8(),
        }
    }
    out
}

/// The byte length of the longest emoji `rest` starts with (its first char is `c`).
fn longest_at(rest: &str, c: char) -> Option<usize> {
    // Below U+00A9 (©) only keycaps (#️⃣, 1️⃣) start an emoji.
    if (c as u32) < 0xA9 && !matches!(c, '#' | '*' | '0'..='9') {
        return None;
    }
    let mut buf = [0; 4];
    let first: &str = c.encode_utf8(&mut buf);
    // Sorted by bytes: the emoji that start with `c` follow `first` itself.
    let from = EMOJI.partition_point(|e| *e < first);
    EMOJI[from..]
        .iter()
        .take_while(|e| e.starts_with(first))
        .filter(|e| rest.starts_with(**e))
        .map(|e| e.len())
        .max()
}
