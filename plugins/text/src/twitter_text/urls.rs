//! URLs as twitter-text 3.1.0 finds them (`extractUrlsWithIndices` with URLs without a
//! scheme allowed, as `parseTweet` calls it). The JavaScript is one large backtracking
//! regular expression; this is the same grammar written out, so that it runs in linear
//! time per candidate instead of compiling 1,500 top-level domains into a regex per call.
//!
//! The grammar, in twitter-text's terms: a preceding character, an optional `http(s)://`,
//! a domain (labels ending in `.`, then a known top-level domain), an optional `:port`, an
//! optional `/path` that ends on a path-ending character or balanced parentheses, and an
//! optional `?query` that ends on a query-ending character.

use super::tables::{ASCII_TLDS, IDN_TLDS};

/// One URL: where it is (char indices of the NFC text) and how many UTF-16 units
/// `parseTweet` skips for it (the length of the URL string twitter-text reports, which for
/// a URL without a scheme and with a non-ASCII label is not its span).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlEntity {
    pub start: usize,
    pub end: usize,
    pub skip_utf16: usize,
}

const MAX_URL_LENGTH: usize = 4096;
const MAX_TCO_SLUG_LENGTH: usize = 40;
const MAX_DOMAIN_LABEL_LENGTH: usize = 63;

fn is_space(c: char) -> bool {
    matches!(c, '\u{09}'..='\u{0D}' | ' ' | '\u{85}' | '\u{A0}' | '\u{1680}' | '\u{180E}' | '\u{2000}'..='\u{200A}'
        | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}')
}

fn is_invalid(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}')
}

fn is_directional(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2066}'..='\u{2069}')
}

/// twitter-text's `punct`: ASCII punctuation except `"` and `` ` ``.
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && c != '"' && c != '`'
}

fn is_latin_accent(c: char) -> bool {
    matches!(c, '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{FF}' | '\u{100}'..='\u{24F}'
        | '\u{253}' | '\u{254}' | '\u{256}' | '\u{257}' | '\u{259}' | '\u{25B}' | '\u{263}' | '\u{268}'
        | '\u{26F}' | '\u{272}' | '\u{289}' | '\u{28B}' | '\u{2BB}' | '\u{300}'..='\u{36F}' | '\u{1E00}'..='\u{1EFF}')
}

fn is_cyrillic(c: char) -> bool {
    ('\u{400}'..='\u{4FF}').contains(&c)
}

/// `validDomainChars`: anything but punctuation, spaces, invalid and directional marks.
fn is_domain_char(c: char) -> bool {
    !(is_punct(c) || is_space(c) || is_invalid(c) || is_directional(c))
}

/// `validUrlPrecedingChars` (first alternative): not a letter, digit, `@`, `$` or `#`.
fn may_precede(c: char) -> bool {
    !(c.is_ascii_alphanumeric() || matches!(c, '@' | '＠' | '$' | '#' | '＃') || is_invalid(c))
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_cyrillic(c) || is_latin_accent(c) || "!*';:=+,.$/%#[]-\u{2013}_~@|&".contains(c)
}

fn is_path_ending(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_cyrillic(c) || is_latin_accent(c) || "+-=_#/".contains(c)
}

fn is_query_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!?*'@();:&=+$/%#[]-_.,~|".contains(c)
}

fn is_query_ending(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_&=#/".contains(c)
}

fn is_ascii_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || is_latin_accent(c)
}

/// The TLD lookahead `(?=[^0-9a-zA-Z@+-]|$)`.
fn tld_may_end_before(next: Option<&char>) -> bool {
    next.is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '@' | '+' | '-')))
}

/// Whether `text` starts with `word` (lower case), ignoring case as the regex's `i` does.
fn same_letters(text: &[char], word: &str) -> bool {
    let mut i = 0;
    for w in word.chars() {
        let same = match text.get(i) {
            Some(c) if w.is_ascii() => c.to_ascii_lowercase() == w,
            Some(c) => c.to_lowercase().eq(w.to_lowercase()),
            None => false,
        };
        if !same {
            return false;
        }
        i += 1;
    }
    true
}

/// The length of the top-level domain at the start of `text` (within `limit`): a known
/// TLD followed by neither a letter, a digit, `@`, `+` nor `-`, else punycode.
fn tld_at(text: &[char], limit: usize) -> Option<usize> {
    let text = &text[..limit];
    let run = text.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    if run > 0 {
        let word: String = text[..run].iter().map(char::to_ascii_lowercase).collect();
        if tld_may_end_before(text.get(run)) && ASCII_TLDS.binary_search(&word.as_str()).is_ok() {
            return Some(run);
        }
    }
    // The others hold a non-ASCII letter (two start with ASCII: `vermögensberatung`).
    if let Some(first) = text
        .first()
        .filter(|c| !c.is_ascii() || text.get(run).is_some_and(|c| !c.is_ascii()))
    {
        let first = first.to_lowercase().next();
        for tld in IDN_TLDS {
            if tld.chars().next() != first {
                continue;
            }
            let n = tld.chars().count();
            if n <= text.len() && same_letters(text, tld) && tld_may_end_before(text.get(n)) {
                return Some(n);
            }
        }
    }
    // `xn--[\-0-9a-z]+`, with no lookahead.
    if text.len() > 4 && same_letters(text, "xn--") {
        let n = text[4..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
            .count();
        if n > 0 {
            return Some(4 + n);
        }
    }
    None
}

/// The TLD found at each position of the text, computed once: every start inside a long
/// run of letters before a `.` asks about the same position.
struct TldCache(std::collections::HashMap<usize, Option<usize>>);

impl TldCache {
    fn at(&mut self, text: &[char], pos: usize) -> Option<usize> {
        *self
            .0
            .entry(pos)
            .or_insert_with(|| tld_at(&text[pos..], text.len() - pos))
    }
}

/// A domain at `at`: labels that each end with `.`, then a TLD. The regex takes as many
/// subdomain labels as it can (they may hold `_`; the last label may not), then backs off
/// one label at a time until a TLD follows. Returns the domain's end.
fn domain_at(text: &[char], at: usize, label_end: &[usize], tlds: &mut TldCache) -> Option<usize> {
    // The labels: [start, end) runs of domain characters, `-` and `_` that start and end
    // with a domain character and are followed by `.`.
    let mut labels: Vec<(usize, usize)> = Vec::new();
    let mut pos = at;
    while pos < text.len() {
        let end = label_end[pos];
        if end == pos || end >= text.len() || text[end] != '.' {
            break;
        }
        if !is_domain_char(text[pos]) || !is_domain_char(text[end - 1]) {
            break;
        }
        labels.push((pos, end));
        pos = end + 1;
    }
    for k in (1..=labels.len()).rev() {
        let (start, end) = labels[k - 1];
        if text[start..end].contains(&'_') {
            continue;
        }
        if let Some(n) = tlds.at(text, end + 1) {
            return Some(end + 1 + n);
        }
    }
    None
}

/// `(?:#{validGeneralUrlPathChars}+|#{validGeneralUrlPathChars}*\(#{validGeneralUrlPathChars}+\)#{validGeneralUrlPathChars}*)`
/// inside `(` `)`: the length of the balanced group at `at` (which holds `(`).
fn balanced_parens_at(text: &[char], at: usize) -> Option<usize> {
    let run = |from: usize| {
        text[from.min(text.len())..]
            .iter()
            .take_while(|c| is_path_char(**c))
            .count()
    };
    let inner = at + 1;
    let a = run(inner);
    if a > 0 && text.get(inner + a) == Some(&')') {
        return Some(a + 2);
    }
    // One nested level: chars, `(`, one or more chars, `)`, chars, `)`.
    let open = inner + a;
    if text.get(open) == Some(&'(') {
        let b = run(open + 1);
        if b > 0 && text.get(open + 1 + b) == Some(&')') {
            let after = open + 2 + b;
            let c = run(after);
            if text.get(after + c) == Some(&')') {
                return Some(after + c + 1 - at);
            }
        }
    }
    None
}

/// The path after `/` at `at`. In twitter-text's regex each repetition of the path is
/// either path characters and balanced groups ending on a path-ending *character*, or one
/// balanced group alone (the ending's `|` is not grouped, so it splits the alternatives).
/// So the path ends at the last ending character, or after balanced groups that follow it
/// directly: `/a(b)` is whole, `/a...(b)` stops after `a`. Returns its end.
fn path_end(text: &[char], at: usize) -> usize {
    let mut pos = at;
    let mut end = at;
    // Whether only balanced groups came since the last ending character (or the start).
    let mut clean = true;
    while pos < text.len() {
        let c = text[pos];
        if c == '(' {
            match balanced_parens_at(text, pos) {
                Some(n) => {
                    pos += n;
                    if clean {
                        end = pos;
                    }
                }
                None => break,
            }
        } else if is_path_char(c) {
            pos += 1;
            if is_path_ending(c) {
                end = pos;
                clean = true;
            } else {
                clean = false;
            }
        } else {
            break;
        }
    }
    end
}

/// The query after `?` at `at` (which holds `?`): its end, if it has a query-ending char.
fn query_end(text: &[char], at: usize) -> Option<usize> {
    let mut end = None;
    let mut pos = at + 1;
    while pos < text.len() && is_query_char(text[pos]) {
        if is_query_ending(text[pos]) {
            end = Some(pos + 1);
        }
        pos += 1;
    }
    end
}

/// A URL candidate the grammar matched at one position.
struct Candidate {
    url: (usize, usize),
    before: Option<char>,
    protocol: usize,
    domain: (usize, usize),
    has_path: bool,
}

fn protocol_len(text: &[char], at: usize) -> usize {
    if !matches!(text.get(at), Some('h' | 'H')) {
        return 0;
    }
    for p in ["https://", "http://"] {
        let n = p.len();
        if text.len() >= at + n && same_letters(&text[at..], p) {
            return n;
        }
    }
    0
}

fn url_at(text: &[char], at: usize, label_end: &[usize], tlds: &mut TldCache) -> Option<Candidate> {
    let proto = protocol_len(text, at);
    let (proto, domain_end) = match domain_at(text, at + proto, label_end, tlds) {
        Some(end) => (proto, end),
        None if proto > 0 => (0, domain_at(text, at, label_end, tlds)?),
        None => return None,
    };
    let mut end = domain_end;
    if text.get(end) == Some(&':') {
        let digits = text[end + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            end += 1 + digits;
        }
    }
    let mut has_path = false;
    if text.get(end) == Some(&'/') {
        has_path = true;
        end = path_end(text, end + 1);
    }
    if text.get(end) == Some(&'?')
        && let Some(q) = query_end(text, end)
    {
        end = q;
    }
    Some(Candidate {
        url: (at, end),
        before: None,
        protocol: proto,
        domain: (at + proto, domain_end),
        has_path,
    })
}

/// `validAsciiDomain`, global, over `domain`: (start, end) of each match.
fn ascii_domains(domain: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < domain.len() {
        match ascii_domain_at(domain, pos) {
            Some(end) => {
                out.push((pos, end));
                pos = end;
            }
            None => pos += 1,
        }
    }
    out
}

fn ascii_domain_at(domain: &[char], at: usize) -> Option<usize> {
    let mut dots = Vec::new();
    let mut pos = at;
    loop {
        let n = domain[pos..].iter().take_while(|c| is_ascii_label_char(**c)).count();
        if n == 0 || domain.get(pos + n) != Some(&'.') {
            break;
        }
        pos += n + 1;
        dots.push(pos);
    }
    dots.iter()
        .rev()
        .find_map(|&after| tld_at(&domain[after..], domain.len() - after).map(|n| after + n))
}

/// punycode.js `toASCII` of one label: its length (RFC 3492 encoding when not ASCII).
fn punycode_len(label: &[char]) -> usize {
    if label.iter().all(char::is_ascii) {
        return label.len();
    }
    let (base, tmin, tmax, skew, damp) = (36u32, 1u32, 26u32, 38u32, 700u32);
    let adapt = |mut delta: u32, points: u32, first: bool| {
        delta = if first { delta / damp } else { delta / 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((base - tmin) * tmax) / 2 {
            delta /= base - tmin;
            k += base;
        }
        k + (base - tmin + 1) * delta / (delta + skew)
    };
    let basic = label.iter().filter(|c| c.is_ascii()).count();
    let mut out = basic + usize::from(basic > 0);
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    let mut handled = basic as u32;
    let total = label.len() as u32;
    while handled < total {
        let m = label.iter().map(|c| *c as u32).filter(|&c| c >= n).min().unwrap_or(n);
        delta = delta.saturating_add((m - n).saturating_mul(handled + 1));
        n = m;
        for &c in label {
            let c = c as u32;
            if c < n {
                delta = delta.saturating_add(1);
            }
            if c == n {
                let mut q = delta;
                let mut k = base;
                loop {
                    let t = if k <= bias {
                        tmin
                    } else if k >= bias + tmax {
                        tmax
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out += 1;
                    q = (q - t) / (base - t);
                    k += base;
                }
                out += 1;
                bias = adapt(delta, handled + 1, handled == basic as u32);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.saturating_add(1);
        n += 1;
    }
    4 + out
}

/// `isValidUrl`: every label 1-63 long once punycoded, no bare `xn--` without an ASCII
/// domain, and the whole URL (with a scheme) at most 4,096 UTF-16 units.
fn is_valid(text: &[char], c: &Candidate) -> bool {
    let domain = &text[c.domain.0..c.domain.1];
    if domain.starts_with(&['x', 'n', '-', '-']) && ascii_domains(domain).is_empty() {
        return false;
    }
    if domain
        .split(|ch| *ch == '.')
        .any(|label| !(1..=MAX_DOMAIN_LABEL_LENGTH).contains(&punycode_len(label)))
    {
        return false;
    }
    let protocol = if c.protocol > 0 { c.protocol } else { "https://".len() };
    protocol + utf16(&text[c.url.0..c.url.1]) <= MAX_URL_LENGTH
}

fn utf16(chars: &[char]) -> usize {
    chars.iter().map(|c| c.len_utf16()).sum()
}

/// `https?://t.co/SLUG(?query)?` at the start of `url`: its length and the slug's.
fn tco(url: &[char]) -> Option<(usize, usize)> {
    let p = protocol_len(url, 0);
    if p == 0 || !same_letters(&url[p..], "t.co/") {
        return None;
    }
    let at = p + 5;
    let slug = url[at..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    if slug == 0 {
        return None;
    }
    let mut end = at + slug;
    if url.get(end) == Some(&'?')
        && let Some(q) = query_end(url, end)
    {
        end = q;
    }
    Some((end, slug))
}

/// Every URL of `text` (NFC, as chars), as twitter-text 3.1.0 reports them.
pub fn extract(text: &[char]) -> Vec<UrlEntity> {
    if !text.contains(&'.') {
        return Vec::new();
    }
    // label_end[i]: the end of the run of domain characters, `-` and `_` from i.
    let mut label_end = vec![0; text.len() + 1];
    label_end[text.len()] = text.len();
    for i in (0..text.len()).rev() {
        let c = text[i];
        label_end[i] = if is_domain_char(c) || c == '-' || c == '_' {
            label_end[i + 1]
        } else {
            i
        };
    }
    let mut tlds = TldCache(std::collections::HashMap::new());
    let mut urls = Vec::new();
    let mut q = 0;
    while q < text.len() {
        // The preceding character, else (at the very start) none.
        let found = if may_precede(text[q]) {
            url_at(text, q + 1, &label_end, &mut tlds).map(|c| Candidate {
                before: Some(text[q]),
                ..c
            })
        } else {
            None
        };
        let found = match found {
            None if q == 0 => url_at(text, 0, &label_end, &mut tlds),
            found => found,
        };
        let Some(c) = found else {
            q += 1;
            continue;
        };
        q = c.url.1.max(q + 1);
        if !is_valid(text, &c) {
            continue;
        }
        if c.protocol == 0 {
            if c.before.is_some_and(|b| matches!(b, '-' | '_' | '.' | '/')) {
                continue;
            }
            let domain = &text[c.domain.0..c.domain.1];
            let found = ascii_domains(domain);
            let Some(&(last_start, last_end)) = found.last() else {
                continue;
            };
            for &(s, e) in &found[..found.len() - 1] {
                urls.push(UrlEntity {
                    start: c.domain.0 + s,
                    end: c.domain.0 + e,
                    skip_utf16: utf16(&domain[s..e]),
                });
            }
            let ascii = utf16(&domain[last_start..last_end]);
            urls.push(if c.has_path {
                UrlEntity {
                    start: c.domain.0 + last_start,
                    end: c.url.1,
                    skip_utf16: ascii + utf16(&text[c.domain.1..c.url.1]),
                }
            } else {
                UrlEntity {
                    start: c.domain.0 + last_start,
                    end: c.domain.0 + last_end,
                    skip_utf16: ascii,
                }
            });
        } else {
            let (start, mut end) = c.url;
            if let Some((len, slug)) = tco(&text[start..end]) {
                if slug > MAX_TCO_SLUG_LENGTH {
                    continue;
                }
                end = start + len;
            }
            urls.push(UrlEntity {
                start,
                end,
                skip_utf16: utf16(&text[start..end]),
            });
        }
    }
    urls
}
