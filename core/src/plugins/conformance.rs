//! `chorus plugin test`: does a plugin keep its own promises?
//!
//! Three groups of checks: `describe` is stable and sane; `adapt` over a corpus of awkward
//! posts (with and without a demanding segment) never breaks the plugin's own declared
//! limits and never crashes, each case timed against the limit; and the network calls,
//! having really tried the platform, fail with typed errors when it cannot be reached.

use super::bindings::types::{Account, Adapted, Description, MediaKind, MediaRef, PluginError, Post};
use super::convert::{SegmentView, measure};
use super::engine::{Invocation, Plugin};
use super::error::CallErrorKind;
use super::http::HttpTrace;
use crate::domain::{EmojiUse, Formality, GlossaryEntry, HashtagPlacement, ToneProfile};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }
}

/// Where `plugin test` points a plugin's API: the discard port on loopback, never open.
pub const UNREACHABLE_API_BASE: &str = "http://127.0.0.1:9";

/// Posts that have broken text handling somewhere before, named for the report.
pub fn corpus() -> Vec<(&'static str, Post)> {
    let post = |body: String| Post {
        options: vec![],
        title: None,
        id: "conformance".into(),
        body,
        link: None,
        hashtags: vec![],
        locale: "en".into(),
        media: vec![],
    };
    let long_words = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(200);
    let mut with_link = post("Read the whole story on our blog.".into());
    with_link.link = Some(format!("https://example.com/{}", "very-long-path/".repeat(40)));
    let mut many_tags = post("So many tags".into());
    many_tags.hashtags = (0..60).map(|i| format!("tag{i}")).collect();
    let image = |i: u32| MediaRef {
        url: None,
        id: format!("m{i}"),
        kind: MediaKind::Image,
        mime_type: "image/jpeg".into(),
        byte_size: 200_000,
        width: Some(1080),
        height: Some(1080),
        duration_ms: None,
        alt_text: Some("a photo".into()),
    };
    let mut many_media = post("Ten photos".into());
    many_media.media = (0..10).map(image).collect();
    let mut media_only = post(String::new());
    media_only.media = vec![image(0)];
    vec![
        ("plain", post("Hello from Chorus".into())),
        ("very long prose", post(long_words)),
        ("one 5,000-character word", post("x".repeat(5000))),
        ("100,000 characters", post("a ".repeat(50_000))),
        ("emoji and ZWJ families", post("👨‍👩‍👧‍👦🏳️‍🌈👍🏽🇸🇪 ".repeat(300))),
        ("CJK", post("日本語のテキストと中文字符和한국어 ".repeat(200))),
        (
            "right-to-left and combining marks",
            post("مرحبا بالعالم e\u{301}\u{302}\u{303} ".repeat(200)),
        ),
        ("newlines and whitespace", post("line\n\n\n\t  \r\n".repeat(300))),
        ("many urls", post("https://example.com/a ".repeat(200))),
        ("hashtag and mention soup", post("#a #b #c @d @e @f ".repeat(150))),
        ("link far past the limit", with_link),
        ("60 hashtags", many_tags),
        ("10 media items", many_media),
        ("media only", media_only),
    ]
}

/// A segment that asks for every tone transform at once.
pub fn demanding_segment() -> SegmentView {
    SegmentView {
        id: "conformance".into(),
        name: "Demanding".into(),
        tone: ToneProfile {
            formality: Formality::Professional,
            emoji: EmojiUse::None,
            max_hashtags: Some(1),
            hashtag_placement: HashtagPlacement::Inline,
            call_to_action: Some("Book a demo today.".into()),
            glossary: vec![GlossaryEntry {
                term: "Lorem".into(),
                replacement: "Our product".into(),
            }],
            language_variant: Some("en-GB".into()),
        },
        audience: Default::default(),
    }
}

/// Runs every check. `network_checks` expects the plugin loaded with its API base pointed
/// at a loopback port where nothing listens (see `UNREACHABLE_API_BASE`).
/// `account` is the sample account's id on the platform (`1` suits most; LinkedIn wants a
/// URN): the network checks must get as far as a request.
pub async fn run(plugin: &Plugin, account: &str, network_checks: bool) -> Report {
    let checks = std::cell::RefCell::new(Vec::new());
    // A check that passed may still say what it saw (a time, the error it got).
    let report = |name: String, result: Result<String, String>| {
        let passed = result.is_ok();
        checks.borrow_mut().push(Check {
            name,
            passed,
            detail: result.unwrap_or_else(|e| e),
        });
    };
    let check = |name: String, result: Result<(), String>| report(name, result.map(|()| String::new()));
    let d = &plugin.description;
    check(
        "describe is stable across calls".into(),
        match plugin.describe_fresh().await {
            Ok(again) if again == *d => Ok(()),
            Ok(_) => Err("two calls to describe returned different rules".into()),
            Err(e) => Err(e.to_string()),
        },
    );
    check("describe is sane".into(), describe_is_sane(plugin, d));

    let account = Account {
        id: "conformance".into(),
        handle: "chorus".into(),
        remote_id: account.into(),
        timezone: "UTC".into(),
    };
    let segment: super::bindings::types::Segment = (&demanding_segment()).into();
    for (name, post) in corpus() {
        for seg in [None, Some(&segment)] {
            let label = format!(
                "adapt {name}{}",
                if seg.is_some() { " (demanding segment)" } else { "" }
            );
            let started = Instant::now();
            let adapted = plugin.adapt(&post, seg, &account, &Invocation::default()).await;
            let took = timing(started.elapsed(), plugin.limits().adapt_time);
            let result = match adapted {
                Ok(a) => within_limits(d, &post, &a).map(|()| took.clone()),
                Err(e) => match e.kind {
                    CallErrorKind::Plugin(PluginError::InvalidInput(i))
                        if !i.field.is_empty() && !i.message.is_empty() =>
                    {
                        Ok(format!("refused ({}: {}); {took}", i.field, i.message))
                    }
                    CallErrorKind::Plugin(PluginError::InvalidInput(_)) => {
                        Err("an invalid-input error must name the field and say what is allowed".into())
                    }
                    other => Err(format!(
                        "adapt must return a result or a typed invalid-input error, not: {other}"
                    )),
                },
            };
            report(label, result);
        }
    }

    // adapt-segments must agree with adapt, segment by segment.
    let sample_post = &corpus()[1].1;
    let segs = vec![None, Some(segment.clone())];
    let agreement = match plugin
        .adapt_segments(sample_post, &segs, &account, &Invocation::default())
        .await
    {
        Ok(batch) => {
            let mut problems = Vec::new();
            for (i, (seg, got)) in segs.iter().zip(batch).enumerate() {
                let one = plugin
                    .adapt(sample_post, seg.as_ref(), &account, &Invocation::default())
                    .await;
                match (one, got) {
                    (Ok(a), Ok(b)) if a == b => {}
                    (Err(_), Err(_)) => {}
                    _ => problems.push(format!("segment {i} differs from a single adapt")),
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
        Err(e) => Err(e.to_string()),
    };
    check("adapt-segments agrees with adapt".into(), agreement);

    // With the platform unreachable, network calls must fail with typed errors.
    let sample = plugin
        .adapt(&corpus()[0].1, None, &account, &Invocation::default())
        .await;
    if let Ok(adapted) = sample {
        let inv = Invocation {
            token: Some("conformance-token".into()),
            ..Invocation::default()
        };
        // Each call gets its own trace: a typed error proves something only if the plugin
        // really tried the platform (a plugin that refuses the sample before sending
        // anything would pass without its error handling ever running).
        let traced = || Invocation {
            trace: Some(Arc::new(HttpTrace::default())),
            ..inv.clone()
        };
        if network_checks {
            let i = traced();
            let r = plugin.publish(&adapted, "conformance", &account, &i).await.map(|_| ());
            report("publish fails with a typed error".into(), typed(r, &i));
            let i = traced();
            let r = plugin
                .find_published("conformance", &adapted, &account, &i)
                .await
                .map(|_| ());
            report("find-published fails with a typed error".into(), typed(r, &i));
            let i = traced();
            let r = plugin.fetch_metrics(&["1".into()], &account, &i).await.map(|_| ());
            report("fetch-metrics fails with a typed error".into(), typed(r, &i));
        }
    }
    Report {
        plugin: plugin.id().to_owned(),
        checks: checks.into_inner(),
    }
}

/// A network call's outcome against the unreachable platform: passed when it failed with
/// a typed plugin error after trying at least one request; the detail names the error.
fn typed(r: Result<(), super::error::CallError>, inv: &Invocation) -> Result<String, String> {
    let tried = inv.trace.as_ref().map_or(0, |t| t.exchanges().len());
    match r {
        Ok(()) => Err("succeeded against an unreachable platform".to_owned()),
        Err(e) => match e.plugin_error() {
            Some(pe) if tried == 0 => Err(format!(
                "failed with {} without sending a request, so the check proves nothing: a plugin \
                 must try the platform with the conformance sample (\"Hello from Chorus\", no media; \
                 give the account id it expects with --account)",
                super::error::describe_plugin_error(pe)
            )),
            Some(pe) => Ok(format!(
                "{} after {tried} request{}",
                super::error::describe_plugin_error(pe),
                if tried == 1 { "" } else { "s" }
            )),
            None => Err(format!("must fail with a typed plugin error, not: {e}")),
        },
    }
}

/// "0.4 ms of 100 ms", flagged when over half the limit (a busier machine would stop it).
fn timing(took: Duration, limit: Duration) -> String {
    let ms = took.as_secs_f64() * 1000.0;
    let close = took > limit / 2;
    format!(
        "{ms:.1} ms of {} ms{}",
        limit.as_millis(),
        if close {
            " (over half the limit: a busy machine may stop it)"
        } else {
            ""
        }
    )
}

fn describe_is_sane(plugin: &Plugin, d: &Description) -> Result<(), String> {
    let mut problems = Vec::new();
    if d.id != plugin.manifest.platform {
        problems.push(format!(
            "id {:?} differs from the manifest's platform {:?}",
            d.id, plugin.manifest.platform
        ));
    }
    if d.name.trim().is_empty() {
        problems.push("name is empty".into());
    }
    if d.text.max_length == 0 {
        problems.push("text.max-length is 0".into());
    }
    if d.media.required && d.media.max_count == 0 {
        problems.push("media is required but max-count is 0".into());
    }
    if !d.default_api_base.starts_with("https://") {
        problems.push(format!("default-api-base {:?} is not https", d.default_api_base));
    }
    if let Some(o) = &d.oauth {
        if !o.authorize_url.starts_with("https://") || !o.token_url.starts_with("https://") {
            problems.push("oauth URLs must be https".into());
        }
    }
    if d.text.also.iter().any(|l| l.max == 0) {
        problems.push("a further text limit (text.also) is 0".into());
    }
    for (i, f) in d.fields.iter().enumerate() {
        if f.name.is_empty() || d.fields[..i].iter().any(|g| g.name == f.name) {
            problems.push(format!("text field {i} needs a name of its own"));
        }
        if f.limits.is_empty() || f.limits.iter().any(|l| l.max == 0) {
            problems.push(format!("text field {:?} needs limits above 0", f.name));
        }
    }
    if let Some(sess) = &d.session {
        let paths = std::iter::once(&sess.create_path).chain(sess.refresh_path.as_ref());
        if paths.into_iter().any(|p| !p.starts_with('/')) {
            problems.push("session paths must start with / (they are joined to the API base)".into());
        }
    }
    if d.publish_budgets
        .iter()
        .any(|b| b.max_posts == 0 || b.window_seconds == 0)
    {
        problems.push("a publish budget has a zero count or window".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The plugin's own declared limits, applied to what it returned.
fn within_limits(d: &Description, post: &Post, a: &Adapted) -> Result<(), String> {
    let max = d.text.max_length as usize;
    let rule = d.text.length_rule;
    let mut problems = Vec::new();
    let len = measure(&a.text, rule);
    if len > max {
        problems.push(format!("text is {len} long by its own rule, over its limit of {max}"));
    }
    if len != a.length as usize {
        problems.push(format!("reports length {} but the text measures {len}", a.length));
    }
    if !a.parts.is_empty() && !d.features.threads {
        problems.push("returned thread parts but declares no thread support".into());
    }
    for (i, p) in a.parts.iter().enumerate() {
        let n = measure(p, rule);
        if n > max {
            problems.push(format!("part {i} is {n} long, over {max}"));
        }
    }
    // The further limits (`text-rules.also`) hold for the text and every part too.
    for limit in &d.text.also {
        for (what, t) in std::iter::once(("text".to_owned(), &a.text))
            .chain(a.parts.iter().enumerate().map(|(i, p)| (format!("part {i}"), p)))
        {
            let n = measure(t, limit.rule);
            if n > limit.max as usize {
                problems.push(format!(
                    "{what} is {n} by {:?}, over its further limit of {}",
                    limit.rule, limit.max
                ));
            }
        }
    }
    for f in &a.fields {
        match d.fields.iter().find(|df| df.name == f.name) {
            None => problems.push(format!("field {:?} is not one describe declares", f.name)),
            Some(df) => {
                for limit in &df.limits {
                    let n = measure(&f.text, limit.rule);
                    if n > limit.max as usize {
                        problems.push(format!(
                            "field {} is {n} by {:?}, over {}",
                            f.name, limit.rule, limit.max
                        ));
                    }
                }
            }
        }
    }
    for e in &a.extras {
        if e.key.is_empty() || serde_json::from_str::<serde_json::Value>(&e.value).is_err() {
            problems.push(format!("extra {:?} needs a key and a JSON value", e.key));
        }
    }
    if let Some(h) = d.text.max_hashtags {
        if a.hashtags.len() > h as usize {
            problems.push(format!("{} hashtags, over its limit of {h}", a.hashtags.len()));
        }
    }
    if a.media.len() > d.media.max_count as usize {
        problems.push(format!(
            "{} media items, over its limit of {}",
            a.media.len(),
            d.media.max_count
        ));
    }
    if let Some(bad) = a.media.iter().find(|m| !post.media.iter().any(|pm| &pm.id == *m)) {
        problems.push(format!("media {bad:?} is not one of the post's"));
    }
    if let Some(t) = &a.targeting {
        if serde_json::from_str::<serde_json::Value>(t).is_err() {
            problems.push("targeting is not valid JSON".into());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
