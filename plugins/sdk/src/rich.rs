//! Rich-text spans: where the links, mentions, hashtags and cashtags of a text are, in the
//! units each platform wants. Bluesky's facets count UTF-8 bytes; LinkedIn's and
//! Facebook's attributes count UTF-16 code units; Mastodon needs none (it parses the text
//! itself). One finder, shared with truncation and thread splitting, so a span never
//! disagrees with where a cut was allowed.

use crate::tags::{cashtag_spans, hashtag_spans, mention_spans};
use crate::text::find_urls;
use std::ops::Range;

/// What a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A URL, with or without a scheme.
    Link,
    /// `@handle` or `@user@server`.
    Mention,
    /// `#tag`.
    Hashtag,
    /// `$TICKER`.
    Cashtag,
}

/// One entity of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// What the span marks.
    pub kind: SpanKind,
    /// Byte offsets into the text (UTF-8), end exclusive: `&text[bytes]` is the entity.
    pub bytes: Range<usize>,
    /// The same span in UTF-16 code units, end exclusive.
    pub utf16: Range<usize>,
    /// The entity without its sigil: the URL as written, the handle, the tag.
    pub value: String,
}

/// Every entity of `text`, in order of position, none overlapping: a mention or hashtag
/// inside a URL (`example.com/#top`) is part of the link.
pub fn spans(text: &str) -> Vec<Span> {
    let mut found: Vec<(SpanKind, Range<usize>)> = find_urls(text).into_iter().map(|r| (SpanKind::Link, r)).collect();
    let sigils = [
        (SpanKind::Mention, mention_spans(text)),
        (SpanKind::Hashtag, hashtag_spans(text)),
        (SpanKind::Cashtag, cashtag_spans(text)),
    ];
    for (kind, ranges) in sigils {
        for r in ranges {
            if !found.iter().any(|(_, f)| f.start < r.end && r.start < f.end) {
                found.push((kind, r));
            }
        }
    }
    found.sort_by_key(|(_, r)| r.start);
    found
        .into_iter()
        .map(|(kind, bytes)| {
            let raw = &text[bytes.clone()];
            let value = match kind {
                SpanKind::Link => raw.to_owned(),
                _ => raw[1..].to_owned(),
            };
            Span {
                kind,
                utf16: utf16_offset(text, bytes.start)..utf16_offset(text, bytes.end),
                bytes,
                value,
            }
        })
        .collect()
}

/// The UTF-16 offset of byte offset `byte` in `text` (which must be on a char boundary).
pub fn utf16_offset(text: &str, byte: usize) -> usize {
    text[..byte].encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_carry_byte_and_utf16_offsets_that_point_at_the_entity() {
        let text = "Grüße 👋 @alice.bsky.social: see https://example.com/a?b=1 #Rust $ACME";
        let s = spans(text);
        let kinds: Vec<SpanKind> = s.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [SpanKind::Mention, SpanKind::Link, SpanKind::Hashtag, SpanKind::Cashtag]
        );
        assert_eq!(s[0].value, "alice.bsky.social");
        assert_eq!(&text[s[0].bytes.clone()], "@alice.bsky.social");
        // "Grüße 👋 " is 13 bytes (ü, ß: 2 each; the emoji: 4) and 9 UTF-16 units (the
        // emoji is a surrogate pair).
        assert_eq!((s[0].bytes.start, s[0].utf16.start), (13, 9));
        let utf16: Vec<u16> = text.encode_utf16().collect();
        for span in &s {
            assert_eq!(
                String::from_utf16(&utf16[span.utf16.clone()]).unwrap(),
                &text[span.bytes.clone()]
            );
        }
        assert_eq!(s[1].value, "https://example.com/a?b=1");
        assert_eq!(s[2].value, "Rust");
    }

    #[test]
    fn a_hashtag_inside_a_link_is_part_of_the_link() {
        let s = spans("read example.com/page#section now");
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].kind, SpanKind::Link);
    }
}
