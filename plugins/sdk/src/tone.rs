//! Tone transforms driven by a segment's tone profile. Each returns what it changed, so
//! `adapt` can tell the person why the text differs from what they wrote.

use crate::text::is_emoji_cluster;
use crate::types::{EmojiUse, Formality, GlossaryEntry};
use unicode_segmentation::UnicodeSegmentation;

/// Replaces glossary words (whole words, case-insensitive), keeping an initial capital.
/// Returns the text and how many replacements were made.
pub fn apply_glossary(text: &str, glossary: &[GlossaryEntry]) -> (String, usize) {
    let r = retone_words(text, glossary, None);
    (r.text, r.glossary)
}

/// What [`retone_words`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retoned {
    /// The text with the changes applied.
    pub text: String,
    /// Glossary replacements made.
    pub glossary: usize,
    /// Spellings changed for the language variant.
    pub variant: usize,
    /// Whether the language variant (if any) has spelling rules.
    pub variant_supported: bool,
}

/// Applies a glossary and a language variant in one pass over the words (multi-word
/// glossary phrases first). Whole words, case-insensitive, keeping an initial capital.
pub fn retone_words(text: &str, glossary: &[GlossaryEntry], variant: Option<&str>) -> Retoned {
    let to_gb = match variant.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("en-gb" | "en-au" | "en-nz" | "en-ie") => Some(true),
        Some("en-us") => Some(false),
        Some(_) => {
            let r = retone_words(text, glossary, None);
            return Retoned {
                variant_supported: false,
                ..r
            };
        }
    };
    let (words, phrases): (Vec<_>, Vec<_>) = glossary
        .iter()
        .filter(|e| !e.term.trim().is_empty())
        .partition(|e| e.term.unicode_words().count() == 1);
    let mut out = text.to_owned();
    let mut glossary_count = 0;
    for entry in phrases {
        let (next, n) = replace_word(&out, &entry.term, &entry.replacement);
        out = next;
        glossary_count += n;
    }
    if words.is_empty() && to_gb.is_none() {
        return Retoned {
            text: out,
            glossary: glossary_count,
            variant: 0,
            variant_supported: true,
        };
    }
    let mut variant_count = 0;
    let (text, _) = replace_words(&out, |w| {
        if let Some(e) = words.iter().find(|e| eq_ignore_case(w, e.term.trim())) {
            glossary_count += 1;
            return Some(e.replacement.as_str());
        }
        let spelled = to_gb.and_then(|gb| {
            EN_SPELLINGS.iter().find_map(|(us, uk)| {
                let (from, to) = if gb { (us, uk) } else { (uk, us) };
                w.eq_ignore_ascii_case(from).then_some(*to)
            })
        });
        variant_count += usize::from(spelled.is_some());
        spelled
    });
    Retoned {
        text,
        glossary: glossary_count,
        variant: variant_count,
        variant_supported: true,
    }
}

/// Splits `text` into alternating runs of letters/digits and of everything else.
fn alnum_runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let word = first.is_alphanumeric();
        let len = rest.find(|c: char| c.is_alphanumeric() != word).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        rest = tail;
        Some((word, run))
    })
}

/// Case-insensitive equality without allocating (ASCII fast path).
fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Replaces every whole word for which `lookup` has a replacement, in one pass, keeping
/// an initial capital.
fn replace_words<'a>(text: &str, mut lookup: impl FnMut(&str) -> Option<&'a str>) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    // Words are runs of letters and digits; everything between is copied through.
    for (is_word, word) in alnum_runs(text) {
        match is_word.then(|| lookup(word)).flatten() {
            Some(to) => {
                let capital = word.chars().next().is_some_and(char::is_uppercase);
                if capital {
                    out.push_str(&capitalize(to));
                } else {
                    out.push_str(to);
                }
                n += 1;
            }
            None => out.push_str(word),
        }
    }
    (out, n)
}

fn replace_word(text: &str, from: &str, to: &str) -> (String, usize) {
    let from_lower = from.to_lowercase();
    // Most glossary terms are absent: a substring search is far cheaper than segmenting.
    if !text.to_lowercase().contains(&from_lower) {
        return (text.to_owned(), 0);
    }
    let from_words: Vec<&str> = from.unicode_words().collect();
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    let bounds: Vec<(usize, &str)> = text.split_word_bound_indices().collect();
    let mut i = 0;
    while i < bounds.len() {
        // Try to match the (possibly multi-word) phrase starting at this bound.
        let (start, _) = bounds[i];
        let mut matched = None;
        if bounds[i].1.chars().next().is_some_and(char::is_alphanumeric) {
            let mut j = i;
            let mut end = start;
            let mut words = 0;
            while j < bounds.len() && words < from_words.len() {
                end = bounds[j].0 + bounds[j].1.len();
                if bounds[j].1.chars().next().is_some_and(char::is_alphanumeric) {
                    words += 1;
                }
                j += 1;
            }
            if words == from_words.len() && text[start..end].to_lowercase() == from_lower {
                matched = Some((j, end));
            }
        }
        match matched {
            Some((j, end)) => {
                let original = &text[start..end];
                let capital = original.chars().next().is_some_and(char::is_uppercase);
                out.push_str(&if capital { capitalize(to) } else { to.to_owned() });
                n += 1;
                i = j;
                let _ = end;
            }
            None => {
                out.push_str(bounds[i].1);
                i += 1;
            }
        }
    }
    (out, n)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Keeps, removes, or limits emoji to the first two. Returns the text and how many were removed.
pub fn apply_emoji(text: &str, usage: EmojiUse) -> (String, usize) {
    // Every emoji has a code point above U+00FF; most texts have none at all.
    if usage == EmojiUse::Keep || text.chars().all(|c| (c as u32) < 0x100) {
        return (text.to_owned(), 0);
    }
    let keep = match usage {
        EmojiUse::Keep => return (text.to_owned(), 0),
        EmojiUse::None => 0,
        EmojiUse::Few => 2,
    };
    let mut kept = 0;
    let mut removed = 0;
    let mut out = String::with_capacity(text.len());
    // Segment only around non-Latin characters: plain text is copied through as it is.
    let mut i = 0;
    while i < text.len() {
        let plain = text[i..]
            .find(|c: char| (c as u32) >= 0x100)
            .map_or(text.len(), |p| i + p);
        // The cluster may start at the character just before (a keycap's digit).
        let start = if plain < text.len()
            && plain > i
            && text[..plain].ends_with(|c: char| c.is_ascii_digit() || c == '#' || c == '*')
        {
            plain - 1
        } else {
            plain
        };
        out.push_str(&text[i..start]);
        if start >= text.len() {
            break;
        }
        let g = text[start..].graphemes(true).next().unwrap_or_default();
        if is_emoji_cluster(g) {
            if kept < keep {
                kept += 1;
                out.push_str(g);
            } else {
                removed += 1;
            }
        } else {
            out.push_str(g);
        }
        i = start + g.len().max(1);
    }
    (tidy_spaces(&out), removed)
}

/// Professional: collapses repeated `!`/`?` and starts with a capital. Casual and neutral
/// leave the text as written. Returns the text and whether it changed.
pub fn apply_formality(text: &str, formality: Formality) -> (String, bool) {
    if formality != Formality::Professional {
        return (text.to_owned(), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut last: Option<char> = None;
    for c in text.chars() {
        if matches!(c, '!' | '?') && last == Some(c) {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    let out = match out.find(|c: char| !c.is_whitespace()) {
        Some(i) => format!("{}{}", &out[..i], capitalize(&out[i..])),
        None => out,
    };
    let changed = out != text;
    (out, changed)
}

/// Spelling pairs (US, GB) for the English variants.
const EN_SPELLINGS: &[(&str, &str)] = &[
    ("color", "colour"),
    ("colors", "colours"),
    ("favorite", "favourite"),
    ("favorites", "favourites"),
    ("organize", "organise"),
    ("organized", "organised"),
    ("organization", "organisation"),
    ("center", "centre"),
    ("centers", "centres"),
    ("analyze", "analyse"),
    ("behavior", "behaviour"),
    ("customize", "customise"),
    ("customized", "customised"),
    ("optimize", "optimise"),
    ("personalized", "personalised"),
    ("catalog", "catalogue"),
    ("traveling", "travelling"),
    ("neighbor", "neighbour"),
    ("flavor", "flavour"),
    ("humor", "humour"),
    ("labor", "labour"),
    ("program", "programme"),
    ("license", "licence"),
    ("defense", "defence"),
    ("gray", "grey"),
];

/// Adjusts spelling to a language variant. Supported: `en-GB`, `en-US`. Returns the text,
/// how many words changed, and whether the variant is supported.
pub fn apply_language_variant(text: &str, variant: &str) -> (String, usize, bool) {
    let r = retone_words(text, &[], Some(variant));
    (r.text, r.variant, r.variant_supported)
}

/// Collapses runs of spaces left behind by removals, and trims line ends.
fn tidy_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_space = false;
    for c in s.chars() {
        if c == ' ' {
            if !prev_space {
                out.push(c);
            }
            prev_space = true;
        } else {
            prev_space = false;
            out.push(c);
        }
    }
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(from: &str, to: &str) -> GlossaryEntry {
        GlossaryEntry {
            term: from.into(),
            replacement: to.into(),
        }
    }

    #[test]
    fn glossary_replaces_whole_words_case_insensitively_keeping_capitals() {
        let (t, n) = apply_glossary(
            "Customers love our app. customers? Customersupport.",
            &[g("customers", "members")],
        );
        assert_eq!(t, "Members love our app. members? Customersupport.");
        assert_eq!(n, 2);
        let (t, n) = apply_glossary("Try the free trial today", &[g("free trial", "30-day pilot")]);
        assert_eq!((t.as_str(), n), ("Try the 30-day pilot today", 1));
    }

    #[test]
    fn emoji_none_strips_and_few_keeps_two() {
        let (t, n) = apply_emoji("Big news 🎉 for you 👨‍👩‍👧 today 🚀!", EmojiUse::None);
        assert_eq!((t.as_str(), n), ("Big news for you today !", 3));
        let (t, n) = apply_emoji("a 🎉 b 🚀 c 🔥 d 🇸🇪", EmojiUse::Few);
        assert_eq!((t.as_str(), n), ("a 🎉 b 🚀 c d", 2));
        assert_eq!(apply_emoji("x 🎉", EmojiUse::Keep).0, "x 🎉");
    }

    #[test]
    fn professional_collapses_shouting_and_capitalizes() {
        assert_eq!(
            apply_formality("wow!!! really??", Formality::Professional),
            ("Wow! really?".to_owned(), true)
        );
        assert_eq!(
            apply_formality("wow!!!", Formality::Casual),
            ("wow!!!".to_owned(), false)
        );
    }

    #[test]
    fn english_variants_swap_spellings() {
        assert_eq!(
            apply_language_variant("Our favorite color", "en-GB"),
            ("Our favourite colour".to_owned(), 2, true)
        );
        assert_eq!(
            apply_language_variant("The Centre", "en-US"),
            ("The Center".to_owned(), 1, true)
        );
        assert!(!apply_language_variant("hej", "sv-FI").2);
    }
}
