//! Chorus counts a post for X exactly as twitter-text 3.1.0 (the counting library X
//! publishes, run here with Node) does: on a few thousand generated texts in many scripts,
//! with every emoji form, URLs with and without a scheme, mentions, hashtags, cashtags and
//! newlines, the weighted length, the validity and the URLs found are the same; and every
//! thread part and truncation the SDK makes for X is valid by twitter-text.
//!
//! The library lives in `tests/oracles/twitter-text` (pinned by its package-lock.json); the
//! test installs it with `npm ci` when it is missing.

use chorus_plugin_sdk::text::{measure, truncate};
use chorus_plugin_sdk::thread::split_thread;
use chorus_plugin_sdk::twitter_text;
use chorus_plugin_sdk::types::LengthRule;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use unicode_normalization::UnicodeNormalization;

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oracles/twitter-text")
}

/// twitter-text's verdict on each text: (weighted length, valid, URL ranges in UTF-16).
fn oracle(texts: &[String]) -> Vec<(usize, bool, Vec<(usize, usize)>)> {
    let dir = oracle_dir();
    if !dir.join("node_modules/twitter-text/package.json").exists() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm (Node.js) is needed to run X's own counting library");
        assert!(
            out.status.success(),
            "npm ci in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut child = Command::new("node")
        .arg(dir.join("count.js"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node");
    let input = serde_json::to_vec(texts).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "count.js failed");
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    verdicts
        .iter()
        .map(|v| {
            let urls = v["urls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_u64().unwrap() as usize, r[1].as_u64().unwrap() as usize))
                .collect();
            (
                v["weightedLength"].as_u64().unwrap() as usize,
                v["valid"].as_bool().unwrap(),
                urls,
            )
        })
        .collect()
}

/// Chorus's URLs of the NFC text, as UTF-16 ranges (how twitter-text reports them).
fn chorus_urls(text: &str) -> Vec<(usize, usize)> {
    let nfc: String = text.nfc().collect();
    let u16 = |b: usize| nfc[..b].encode_utf16().count();
    twitter_text::url_ranges(&nfc)
        .into_iter()
        .map(|r| (u16(r.start), u16(r.end)))
        .collect()
}

/// A small deterministic generator (xorshift), so every run checks the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "hello",
    "launch",
    "Grüße",
    "café",
    "cafe\u{301}",
    "日本語",
    "中文字",
    "한국어",
    "العربية",
    "עברית",
    "русский",
    "हिन्दी",
    "ไทย",
    "Ελληνικά",
    "naïve",
    "ﬁne",
    "Ω",
    "ＡＢＣ",
    "１２３",
    "42",
    "3.14",
    "e.g.",
    "readme.md",
    "file.txt",
    "v1.2.3",
    "...",
    "—",
    "–",
    "“quoted”",
    "‘single’",
    "…",
    "‰",
    "′″",
    "→",
    "€",
    "£",
    "¥",
    "½",
    "™",
];

const EMOJI: &[&str] = &[
    "👍",
    "😀",
    "❤",
    "❤️",
    "☺",
    "☺️",
    "☺\u{FE0E}",
    "↔",
    "↔️",
    "©",
    "©️",
    "®",
    "®️",
    "™️",
    "♟",
    "♟️",
    "⌚",
    "⌚️",
    "👍🏽",
    "👋🏿",
    "☝🏻",
    "☝️",
    "✌️",
    "✌🏼",
    "🏻",
    "👨‍👩‍👧‍👦",
    "👩‍❤️‍💋‍👨",
    "👨‍❤️‍👨",
    "🏳️‍🌈",
    "🏳‍🌈",
    "🏴‍☠️",
    "👁‍🗨",
    "👁️‍🗨️",
    "🧑🏿‍💻",
    "🧑‍💻",
    "🧑‍🤝‍🧑",
    "👨🏽‍💻",
    "👩‍🚀",
    "👩🏾‍🚀",
    "🏃‍♀️",
    "🏃🏾‍♂️",
    "🏃‍♀",
    "🤷‍♀️",
    "🧟‍♂️",
    "🏋️‍♀️",
    "🏋🏼‍♂️",
    "⛹️‍♀️",
    "😶‍🌫️",
    "❤️‍🔥",
    "🫱🏼‍🫲🏿",
    "🇸🇪",
    "🇺🇸",
    "🇦🇦",
    "🇪🇺",
    "🇸",
    "🏴󠁧󠁢󠁥󠁮󠁧󠁿",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "1️⃣",
    "#️⃣",
    "*⃣",
    "7⃣",
    "\u{20E3}",
    "\u{200D}",
    "\u{FE0F}",
    "\u{FE0E}",
    "🫠",
    "🥹",
    "🪿",
    "🦰",
    "👨‍🦰",
    "👩🏻‍🦳",
    "🦸‍♀️",
    "🧜🏽‍♂️",
    "🤝🏽",
    "🧔‍♀️",
    "🐈‍⬛",
    "🐻‍❄️",
    "🏳️‍⚧️",
    "👯‍♀️",
];

const URLS: &[&str] = &[
    "https://example.com",
    "http://EXAMPLE.org/path?x=1&y=2#frag",
    "example.com",
    "www.example.co.uk/a",
    "shop.acme.io/sale?utm=1.",
    "t.co/abc",
    "https://t.co/abcdef?x=1",
    "https://t.co/abc/def",
    "https://example.com/spring-sale?utm_source=x&utm_campaign=launch",
    "foo.bar",
    "日本.com",
    "例え.テスト",
    "xn--bcher-kva.example",
    "https://例え.jp/パス",
    "(https://x.com/a_(b))",
    "https://example.com/a(b)c.",
    "https://en.wikipedia.org/wiki/Rust_(programming_language)",
    "example.com:8080/x",
    "example.com:8080",
    "example.com?x=1",
    "foo@bar.com",
    "-example.com",
    "_a.com",
    "a_b.example.com",
    "http://localhost",
    "https://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
    "example.community",
    "EXAMPLE.COM",
    "sub.domain.example.london",
    "www.ex.org,",
    "https://ex.com/a.",
    "https://ex.com/a?",
    "x.com/@user/",
    "$AAPL.com",
    "https://ex.com/path/",
    "http://ex.com:80",
    "https://ex.com/a,b;c",
    "https://ex.com/%E2%9C%93",
    "https://www.ex.com/#/route",
    "ex.co",
    "ex.co/x",
    "ex.tv",
    "bit.ly/abc",
    "https://ex.com/ünïcödé",
    "https://ex.com/путь",
    "https://ex.com?q=a+b",
    "https://ex.com/a...",
    "http://.com",
    "https://ex..com",
    "a.b.c.d.e.f.com",
    "xn--p1ai.рф",
    "пример.рф",
    "https://ex.com/(a(b)c)",
    "HTTPS://EX.COM/A",
    "beispiel.vermögensberatung/x",
    "https://beispiel.vermögensberater",
    "例子.中国",
    "пример.РФ",
    "ex.삼성",
    "https://ex.com\"",
    "'https://ex.com'",
    "«https://ex.com»",
    "https://ex.com:abc",
];

const TAGS: &[&str] = &[
    "@anna",
    "@anna.berg",
    "@chorus@mastodon.social",
    "#tag",
    "#SpringSale2026",
    "#日本",
    "$ACME",
    "$BRK.A",
    "＠full",
    "＃full",
    "#123",
    "a@b",
    "#",
];

const GAPS: &[&str] = &[
    " ", " ", " ", "\n", "\n\n", "", ", ", ". ", "! ", "? ", "(", ")", "\"", "\u{A0}", "\u{3000}", "\u{200B}",
    "\u{202A}", "\u{200E}", "\t", " - ", "/", ":", ";",
];

fn random_char(rng: &mut Rng) -> String {
    let ranges = [
        (0x20, 0x7E),
        (0xA0, 0x10FF),
        (0x2000, 0x206F),
        (0x2100, 0x27BF),
        (0x3000, 0x30FF),
        (0xAC00, 0xAC40),
        (0xFE00, 0xFE0F),
        (0x1F1E6, 0x1F1FF),
        (0x1F300, 0x1FAFF),
    ];
    let (lo, hi) = ranges[rng.below(ranges.len())];
    let c = char::from_u32(lo + (rng.next() % (hi - lo + 1) as u64) as u32).unwrap_or('x');
    c.to_string()
}

fn corpus() -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut texts: Vec<String> = Vec::new();
    for group in [WORDS, EMOJI, URLS, TAGS] {
        texts.extend(group.iter().map(|s| s.to_string()));
    }
    texts.push(String::new());
    texts.push("\u{FEFF}hello".into());
    texts.push("x".repeat(280));
    texts.push("x".repeat(281));
    texts.push("日".repeat(140));
    texts.push("日".repeat(141));
    for n in 0..4000 {
        let tokens = 1 + rng.below(if n % 10 == 0 { 200 } else { 24 });
        let mut t = String::new();
        for _ in 0..tokens {
            let piece = match rng.below(10) {
                0..=2 => rng.pick(WORDS).to_owned(),
                3..=4 => rng.pick(EMOJI).to_owned(),
                5 => rng.pick(URLS).to_owned(),
                6 => rng.pick(TAGS).to_owned(),
                7 => random_char(&mut rng),
                // An emoji built at random: a base, maybe a tone, a joiner and another.
                8 => format!(
                    "{}{}",
                    rng.pick(EMOJI),
                    rng.pick(&["\u{200D}", "\u{1F3FD}", "\u{FE0F}", ""])
                ),
                _ => rng.pick(EMOJI).to_owned() + rng.pick(EMOJI),
            };
            t.push_str(&piece);
            t.push_str(rng.pick(GAPS));
        }
        texts.push(t);
    }
    texts
}

#[test]
fn the_x_count_validity_and_urls_are_twitter_texts_on_a_generated_corpus() {
    let texts = corpus();
    let expected = oracle(&texts);
    let mut wrong = Vec::new();
    for (text, (weight, valid, urls)) in texts.iter().zip(&expected) {
        let got = twitter_text::parse(text);
        let got_urls = chorus_urls(text);
        if got.weighted_length != *weight || got.valid != *valid || got_urls != *urls {
            wrong.push(format!(
                "{text:?}\n  twitter-text: {weight} valid={valid} urls={urls:?}\n  chorus:       {} valid={} urls={got_urls:?}",
                got.weighted_length, got.valid
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} texts differ from twitter-text 3.1.0; the first:\n{}",
        wrong.len(),
        texts.len(),
        wrong.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_thread_part_and_truncation_made_for_x_is_valid_by_twitter_text() {
    let long: Vec<String> = corpus()
        .into_iter()
        .filter(|t| measure(t, LengthRule::XWeighted) > 280 && !t.contains(twitter_text::is_invalid_char))
        .take(300)
        .collect();
    assert!(long.len() > 100, "the corpus has long texts: {}", long.len());
    let mut made = Vec::new();
    for t in &long {
        made.extend(split_thread(t, 280, LengthRule::XWeighted, true));
        made.push(truncate(t, 280, LengthRule::XWeighted, "…").0);
    }
    let verdicts = oracle(&made);
    let invalid: Vec<String> = made
        .iter()
        .zip(&verdicts)
        .filter(|(_, (_, valid, _))| !valid)
        .map(|(p, (w, ..))| format!("{w}: {p:?}"))
        .collect();
    assert!(
        invalid.is_empty(),
        "{} of {} parts are not valid posts for X:\n{}",
        invalid.len(),
        made.len(),
        invalid.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The tables the port reads are what the generator writes from the installed library:
/// nobody edited them by hand, and they match the pinned version.
#[test]
fn the_generated_tables_are_what_the_library_gives() {
    oracle(&[]);
    let out = Command::new("node")
        .arg(oracle_dir().join("generate.js"))
        .output()
        .expect("run node");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/text/src/twitter_text/tables.rs");
    let stored = std::fs::read_to_string(&tables).unwrap();
    assert!(
        stored == String::from_utf8(out.stdout).unwrap(),
        "{} differs from what tests/oracles/twitter-text/generate.js writes; regenerate it",
        tables.display()
    );
}
