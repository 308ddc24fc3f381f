//! `chorus bench plugins`: figures for the plugin sandbox, printed for people to compare.
//! Run it on a release build: `cargo run --release -- bench plugins`.

use chorus_core::domain::{EmojiUse, Formality, GlossaryEntry, HashtagPlacement, ToneProfile};
use chorus_core::plugins::convert::SegmentView;
use chorus_core::plugins::types::{Account, Post, Segment};
use chorus_core::plugins::{EngineSettings, Grant, Invocation, Limits, Manifest, MemoryKv, Plugin, PluginEngine};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POST: &str = "Big news!!! 🎉 Our new app is live: plan, adapt and publish everywhere from one place. \
    Teams told us they lose hours rewriting the same post for every network, so we built the fix. \
    Try it free for 30 days and tell us what you think. #launch #productivity #socialmedia #marketing";

fn segments() -> Vec<SegmentView> {
    let tone = |formality, emoji, tags: u32, cta: &str| ToneProfile {
        formality,
        emoji,
        max_hashtags: Some(tags),
        hashtag_placement: HashtagPlacement::End,
        call_to_action: Some(cta.into()),
        glossary: vec![GlossaryEntry {
            term: "app".into(),
            replacement: "platform".into(),
        }],
        language_variant: Some("en-GB".into()),
    };
    [
        (
            "Loyal customers",
            tone(Formality::Casual, EmojiUse::Keep, 3, "Thanks for being with us!"),
        ),
        (
            "B2B decision makers",
            tone(Formality::Professional, EmojiUse::None, 1, "Book a demo."),
        ),
        (
            "Students",
            tone(Formality::Casual, EmojiUse::Few, 2, "Free for students."),
        ),
        (
            "Agencies",
            tone(
                Formality::Neutral,
                EmojiUse::Few,
                2,
                "Manage every client in one place.",
            ),
        ),
        (
            "Lapsed users",
            tone(Formality::Neutral, EmojiUse::None, 1, "Come back and see what's new."),
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, tone))| SegmentView {
        id: format!("s{i}"),
        name: name.into(),
        tone,
        audience: Default::default(),
    })
    .collect()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn show(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    }
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (pct(&v, 0.5), pct(&v, 0.99))
}

/// Runs `$body` `$n` times (`$i` is the iteration) and returns its (p50, p99).
macro_rules! timed {
    ($n:expr, |$i:ident| $body:expr) => {{
        let mut samples = Vec::with_capacity($n);
        for $i in 0..$n {
            let started = Instant::now();
            $body;
            samples.push(started.elapsed());
        }
        stats(samples)
    }};
}

/// One line of the report: a label, p50 and p99, and an optional remark.
fn row(label: &str, (p50, p99): (Duration, Duration), remark: &str) {
    println!("{label:<44} p50 {:>10}  p99 {:>10}{remark}", show(p50), show(p99));
}

pub async fn plugins(iterations: usize) -> anyhow::Result<()> {
    let bundled = chorus_plugins_bundled::BUNDLED
        .first()
        .ok_or_else(|| anyhow::anyhow!("no bundled plugin"))?;
    let mut manifest = Manifest::from_toml(std::path::Path::new("bundled"), bundled.manifest)?;
    manifest.sha256 = Some(bundled.sha256.to_owned());
    let engine = PluginEngine::new(EngineSettings {
        cache_dir: None,
        kv: Arc::new(MemoryKv::default()),
    })?;
    println!(
        "chorus bench plugins: component {} ({} KiB), {iterations} iterations, {} cores",
        manifest.id,
        bundled.component.len() / 1024,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let started = Instant::now();
    let plugin = load(&engine, &manifest, bundled.component).await?;
    println!(
        "compile + link + describe (cold, no cache): {}",
        show(started.elapsed())
    );

    let account = Account {
        id: "a".into(),
        handle: "chorus".into(),
        remote_id: "1".into(),
        timezone: "UTC".into(),
    };
    let inv = Invocation::default();
    row(
        "instantiate (fresh store + instance):",
        timed!(iterations, |_i| plugin.instantiate_only().await?),
        "",
    );
    row(
        "describe (instantiate + trivial call):",
        timed!(iterations, |_i| plugin.describe_fresh().await?),
        "",
    );

    let tiny = Post {
        options: vec![],
        title: None,
        id: "t".into(),
        body: "Hello".into(),
        link: None,
        hashtags: vec![],
        locale: "en".into(),
        media: vec![],
    };
    row(
        "adapt \"Hello\", no segment:",
        timed!(iterations, |_i| plugin.adapt(&tiny, None, &account, &inv).await?),
        "",
    );

    let post = Post {
        options: vec![],
        title: None,
        id: "bench".into(),
        body: POST.into(),
        link: Some("https://example.com/launch".into()),
        hashtags: vec!["growth".into()],
        locale: "en".into(),
        media: vec![],
    };
    let segs: Vec<Segment> = segments().iter().map(Into::into).collect();
    let wasm = timed!(iterations, |i| plugin
        .adapt(&post, Some(&segs[i % segs.len()]), &account, &inv)
        .await?);
    row("adapt, one call (instantiate + run):", wasm, "");

    // The same SDK pipeline, compiled natively, on the same inputs.
    let rules = native_rules(&plugin);
    let npost = native_post(&post);
    let nsegs: Vec<_> = segments().iter().map(native_segment).collect();
    let native = timed!(iterations, |i| {
        let out = chorus_plugin_sdk::adapt::adapt_post(&npost, Some(&nsegs[i % nsegs.len()]), &rules);
        std::hint::black_box(out).map_err(|e| anyhow::anyhow!("{e:?}"))?
    });
    row("same SDK adapt, native:", native, "");
    println!(
        "adapt in sandbox vs native (p50):            {:.1}x ({} more per adapt, instantiation included)",
        wasm.0.as_secs_f64() / native.0.as_secs_f64(),
        show(wasm.0.saturating_sub(native.0))
    );

    // Fan-out: one post to 6 plugins x 5 segments, all at once.
    let mut six = Vec::new();
    for i in 0..6 {
        let mut m = manifest.clone();
        m.id = format!("{}-{i}", manifest.id);
        six.push(Arc::new(load(&engine, &m, bundled.component).await?));
    }
    let rounds = (iterations / 10).max(20);
    let separate = timed!(rounds, |_i| {
        let mut set = tokio::task::JoinSet::new();
        for p in &six {
            for s in &segs {
                let (p, s, post, account) = (p.clone(), s.clone(), post.clone(), account.clone());
                set.spawn(async move { p.adapt(&post, Some(&s), &account, &Invocation::default()).await });
            }
        }
        while let Some(r) = set.join_next().await {
            r??;
        }
    });
    row(
        "fan-out, 30 separate adapt calls:",
        separate,
        &format!("  ({rounds} rounds; the Mastodon component as 6 plugins)"),
    );
    // The same fan-out as the composer runs it: one adapt-segments call per plugin.
    let seg_opts: Vec<Option<Segment>> = segs.iter().cloned().map(Some).collect();
    let batched = timed!(rounds, |_i| {
        let mut set = tokio::task::JoinSet::new();
        for p in &six {
            let (p, segs, post, account) = (p.clone(), seg_opts.clone(), post.clone(), account.clone());
            set.spawn(async move { p.adapt_segments(&post, &segs, &account, &Invocation::default()).await });
        }
        while let Some(r) = set.join_next().await {
            for one in r?? {
                one?;
            }
        }
    });
    row(
        "fan-out, one adapt-segments call per plugin:",
        batched,
        "  (6 calls x 5 segments)",
    );

    // Each bundled platform on the same post and segments: what a composer's preview costs
    // per platform. X's includes its exact count (twitter-text's URL grammar and emoji).
    for b in chorus_plugins_bundled::BUNDLED {
        let mut m = Manifest::from_toml(std::path::Path::new("bundled"), b.manifest)?;
        m.sha256 = Some(b.sha256.to_owned());
        let p = load(&engine, &m, b.component).await?;
        let t = timed!(iterations, |i| p
            .adapt(&post, Some(&segs[i % segs.len()]), &account, &inv)
            .await?);
        row(&format!("adapt on {}:", m.id), t, "");
    }
    // X's count against plain character counting, natively, on the same post.
    let chars = timed!(iterations, |_i| std::hint::black_box(
        chorus_plugin_sdk::text::char_len(std::hint::black_box(POST))
    ));
    let x = timed!(iterations, |_i| std::hint::black_box(
        chorus_plugin_sdk::text::x_weighted_len(std::hint::black_box(POST))
    ));
    row("count a post, characters (native):", chars, "");
    row("count a post, X's twitter-text rule (native):", x, "");
    println!(
        "X's count vs characters (p50):              {:.1}x",
        x.0.as_secs_f64() / chars.0.as_secs_f64().max(1e-9)
    );
    println!("targets: fan-out p50 <= 1 ms; overhead per call (instantiate + trivial call) <= 50 µs");
    Ok(())
}

async fn load(engine: &PluginEngine, manifest: &Manifest, bytes: &[u8]) -> anyhow::Result<Plugin> {
    let grant = Grant::for_manifest(manifest, None, None)?;
    Ok(engine
        .load(manifest.clone(), bytes, true, grant, Limits::default())
        .await?)
}

fn native_rules(p: &Plugin) -> chorus_plugin_sdk::adapt::AdaptRules {
    use chorus_plugin_sdk::types as t;
    let d = &p.description;
    let desc = t::Description {
        options: vec![],
        fields: vec![],
        session: None,
        id: d.id.clone(),
        name: d.name.clone(),
        default_api_base: d.default_api_base.clone(),
        text: t::TextRules {
            also: vec![],
            max_length: d.text.max_length,
            length_rule: match d.text.length_rule {
                chorus_core::plugins::types::LengthRule::Characters => t::LengthRule::Characters,
                chorus_core::plugins::types::LengthRule::Utf16 => t::LengthRule::Utf16,
                chorus_core::plugins::types::LengthRule::Graphemes => t::LengthRule::Graphemes,
                chorus_core::plugins::types::LengthRule::XWeighted => t::LengthRule::XWeighted,
                chorus_core::plugins::types::LengthRule::Utf8Bytes => t::LengthRule::Utf8Bytes,
            },
            max_hashtags: d.text.max_hashtags,
            max_mentions: d.text.max_mentions,
        },
        media: t::MediaRules {
            required: d.media.required,
            max_count: d.media.max_count,
            mixed_kinds: d.media.mixed_kinds,
            rules: vec![],
        },
        features: t::Features {
            threads: d.features.threads,
            carousels: d.features.carousels,
            first_comment: d.features.first_comment,
            link_previews: d.features.link_previews,
        },
        targeting: vec![],
        min_targeting_audience: None,
        publish_budgets: vec![],
        oauth: None,
    };
    let mut rules = chorus_plugin_sdk::adapt::AdaptRules::from_description(&desc);
    rules.default_hashtags = 3; // as the Mastodon plugin sets
    rules
}

fn native_post(p: &Post) -> chorus_plugin_sdk::types::Post {
    chorus_plugin_sdk::types::Post {
        options: vec![],
        title: None,
        id: p.id.clone(),
        body: p.body.clone(),
        link: p.link.clone(),
        hashtags: p.hashtags.clone(),
        locale: p.locale.clone(),
        media: vec![],
    }
}

fn native_segment(s: &SegmentView) -> chorus_plugin_sdk::types::Segment {
    use chorus_plugin_sdk::types as t;
    let tone = &s.tone;
    t::Segment {
        id: s.id.clone(),
        name: s.name.clone(),
        tone: t::Tone {
            formality: match tone.formality {
                Formality::Casual => t::Formality::Casual,
                Formality::Neutral => t::Formality::Neutral,
                Formality::Professional => t::Formality::Professional,
            },
            emoji: match tone.emoji {
                EmojiUse::Keep => t::EmojiUse::Keep,
                EmojiUse::None => t::EmojiUse::None,
                EmojiUse::Few => t::EmojiUse::Few,
            },
            max_hashtags: tone.max_hashtags,
            hashtag_placement: t::HashtagPlacement::End,
            call_to_action: tone.call_to_action.clone(),
            glossary: tone
                .glossary
                .iter()
                .map(|g| t::GlossaryEntry {
                    term: g.term.clone(),
                    replacement: g.replacement.clone(),
                })
                .collect(),
            language_variant: tone.language_variant.clone(),
        },
        audience: t::Audience::everyone(),
    }
}
