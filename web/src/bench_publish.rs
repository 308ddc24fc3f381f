//! `chorus bench publish`: the multi-step publish flows (Instagram containers, TikTok
//! uploads and photo pulls, Pinterest Pins and video registration), each through its bundled
//! plugin in the real sandbox against the platform's simulator on loopback, with media
//! served by Chorus's own signed-URL route; timed against a one-request publish (an X text
//! post) in the same run. Then one large video (500 MB by default) is published to TikTok in
//! chunks streamed from storage, with the process's peak extra resident memory.
//!
//! The simulators answer "processing done" at the first status read, so the figures are the
//! flows' own cost (requests, fetches, uploads), not a platform's processing time.

use crate::bench_media::{Sampler, mb, rss};
use crate::server::{AppState, router};
use chorus_core::media::{MediaLibrary, MediaStorage, UrlSigner};
use chorus_core::plugins::types::{Account, MediaRef, Post};
use chorus_core::plugins::{Invocation, Plugin, PluginRegistry, PluginSettings};
use chorus_core::store::entity::media_asset;
use chorus_simulators::instagram::InstagramFake;
use chorus_simulators::pinterest::PinterestFake;
use chorus_simulators::tiktok::{Creator, TikTokFake};
use chorus_simulators::x::XFake;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct PublishArgs {
    pub rounds: usize,
    pub video_mb: u64,
}

const BOARD: &str = "549755885175";

/// One flow: a plugin, an account's token, a post, its media.
struct Flow {
    label: &'static str,
    platform: &'static str,
    token: String,
    account: Account,
    post: Post,
    assets: Vec<media_asset::Model>,
}

fn account(remote_id: &str) -> Account {
    Account {
        id: "bench".into(),
        handle: "bench".into(),
        remote_id: remote_id.into(),
        timezone: "UTC".into(),
    }
}

fn post(body: &str, assets: &[media_asset::Model], options: &[(&str, &str)]) -> Post {
    Post {
        id: "bench".into(),
        title: None,
        body: body.into(),
        link: Some("https://fika.coffee/winter".into()),
        hashtags: vec!["fika".into()],
        locale: "en".into(),
        media: assets.iter().map(MediaRef::from).collect(),
        options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

pub async fn run(args: PublishArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let (store, ws, brand) = crate::bench_media::scratch_brand(dir.path()).await?;
    let tenant = store.tenant(ws);

    // The simulators, processing done at the first status read.
    let (x, ig, tt, pin) = (
        XFake::start().await?,
        InstagramFake::start().await?,
        TikTokFake::start().await?,
        PinterestFake::start().await?,
    );
    ig.set_processing_polls(0);
    tt.set_processing_polls(0);
    pin.set_processing_polls(0);
    let mut settings = PluginSettings::default();
    for (p, base) in [
        ("x", &x.base_url),
        ("instagram", &ig.base_url),
        ("tiktok", &tt.base_url),
        ("pinterest", &pin.base_url),
    ] {
        settings.api_bases.insert(p.into(), url::Url::parse(base)?);
    }
    settings.local_origins.insert(
        "tiktok".into(),
        vec![("open-upload.tiktokapis.com".into(), url::Url::parse(&tt.upload_base)?)],
    );
    settings.local_origins.insert(
        "pinterest".into(),
        vec![(
            "pinterest-media-upload.s3-accelerate.amazonaws.com".into(),
            url::Url::parse(&pin.upload_base)?,
        )],
    );
    let engine = chorus_core::plugins::PluginEngine::new(chorus_core::plugins::EngineSettings {
        cache_dir: None,
        kv: Arc::new(store.plugin_kv()),
    })?;
    let (plugins, problems) = PluginRegistry::load(engine, settings, chorus_plugins_bundled::BUNDLED).await?;
    anyhow::ensure!(problems.is_empty(), "plugins did not load: {problems:?}");
    let plugins = Arc::new(plugins);

    // Chorus's media route on loopback, where the simulators fetch from.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public = format!("http://{}", listener.local_addr()?);
    let library = MediaLibrary::new(
        MediaStorage::local(&dir.path().join("media"))?,
        Some(UrlSigner::new(&chorus_core::secrets::SecretKey::generate(), &public)),
    );
    let app = router(AppState {
        store: store.clone(),
        plugins: plugins.clone(),
        started: Instant::now(),
        stats: None,
        media: Some(library.clone()),
    });
    // As `chorus serve` listens (TCP_NODELAY; without it each fetch waited 40 ms).
    let listener = crate::cli::no_delay(listener);
    tokio::spawn(async move { axum::serve(listener, app).await });
    tt.verify_prefix(&format!("{public}/media/"));

    let add = |name: &'static str, bytes: Vec<u8>| {
        let (library, tenant, dir) = (library.clone(), tenant, dir.path().to_owned());
        async move {
            let path = dir.join(name);
            std::fs::write(&path, bytes)?;
            anyhow::Ok(
                library
                    .add_file(&tenant, brand.id, &path, Some("A bench photo".into()))
                    .await?,
            )
        }
    };
    let jpeg = |shade: u8| chorus_core::media::synthetic::jpeg(1080, 1350, [shade, 90, 40]);
    let photos = vec![
        add("a.jpg", jpeg(180)).await?,
        add("b.jpg", jpeg(120)).await?,
        add("c.jpg", jpeg(60)).await?,
    ];
    let clip = add("clip.mp4", chorus_core::media::synthetic::mp4(1080, 1920, 8, 30)).await?;
    let sized = |mb: usize| {
        chorus_core::media::synthetic::write_mp4(
            std::io::Cursor::new(Vec::new()),
            1080,
            1920,
            20,
            30,
            mb * 1_000_000 / 600,
        )
        .map(|c| c.into_inner())
        .unwrap_or_default()
    };
    let video25 = add("v25.mp4", sized(25)).await?;

    x.grant("x-bench", "1", "bench", &["tweet.read", "tweet.write", "users.read"]);
    ig.grant("ig-bench", "17841400000000001");
    pin.grant("pin-bench", "bench");
    pin.add_board("bench", BOARD, "Bench");
    let tiktok = |token: &str| {
        tt.grant(token, Creator::new(&format!("open-{token}"), "bench"));
        token.to_owned()
    };
    let privacy = [("privacy_level", "SELF_ONLY")];
    let board = [("board", BOARD)];
    let one = |a: &media_asset::Model| vec![a.clone()];
    let flows = vec![
        Flow {
            label: "X text post (baseline: one request)",
            platform: "x",
            token: "x-bench".into(),
            account: account("1"),
            post: post("Fresh roast today", &[], &[]),
            assets: vec![],
        },
        Flow {
            label: "Instagram image: container, status, publish",
            platform: "instagram",
            token: "ig-bench".into(),
            account: account("17841400000000001"),
            post: post("Fresh roast today", &one(&photos[0]), &[]),
            assets: one(&photos[0]),
        },
        Flow {
            label: "Instagram carousel of 3: 3 children + album",
            platform: "instagram",
            token: "ig-bench".into(),
            account: account("17841400000000001"),
            post: post("Three roasts", &photos, &[]),
            assets: photos.clone(),
        },
        Flow {
            label: "Instagram reel (8 s video)",
            platform: "instagram",
            token: "ig-bench".into(),
            account: account("17841400000000001"),
            post: post("Latte art", &one(&clip), &[]),
            assets: one(&clip),
        },
        Flow {
            label: "TikTok video, 25 MB in 2 chunks",
            platform: "tiktok",
            token: tiktok("tt-video"),
            account: account("open-tt-video"),
            post: post("Latte art", &one(&video25), &privacy),
            assets: one(&video25),
        },
        Flow {
            label: "TikTok photos (3, pulled by URL)",
            platform: "tiktok",
            token: tiktok("tt-photos"),
            account: account("open-tt-photos"),
            post: post("Three roasts", &photos, &privacy),
            assets: photos.clone(),
        },
        Flow {
            label: "Pinterest image Pin",
            platform: "pinterest",
            token: "pin-bench".into(),
            account: account("bench"),
            post: post("Summer salad in ten minutes", &one(&photos[0]), &board),
            assets: one(&photos[0]),
        },
        Flow {
            label: "Pinterest video Pin: register, upload, status",
            platform: "pinterest",
            token: "pin-bench".into(),
            account: account("bench"),
            post: post("Pour-over in 8 seconds", &one(&clip), &board),
            assets: one(&clip),
        },
    ];

    let rounds = args.rounds.clamp(1, 5);
    println!(
        "chorus bench publish: each flow {rounds}× through its bundled plugin against its simulator on loopback (processing done at the first status read)"
    );
    let mut baseline = None;
    for flow in &flows {
        let plugin = plugins
            .for_platform(flow.platform, None)
            .ok_or_else(|| anyhow::anyhow!("no {} plugin", flow.platform))?;
        let mut times = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let mut p = flow.post.clone();
            p.body = format!("{} ({round})", p.body);
            let adapted = plugin.adapt(&p, None, &flow.account, &Invocation::default()).await?;
            let inv = invocation(ws, &flow.token, &library, &flow.assets);
            let t = Instant::now();
            publish(
                &plugin,
                &adapted,
                &format!("{}-{round}", flow.label),
                &flow.account,
                &inv,
            )
            .await?;
            times.push(t.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        let base = *baseline.get_or_insert(median);
        println!(
            "  {:<48} {:>8.1} ms   ×{:>5.1} the baseline",
            flow.label,
            median.as_secs_f64() * 1000.0,
            median.as_secs_f64() / base.as_secs_f64().max(1e-9)
        );
    }

    // A large video to TikTok, chunks streamed from storage into the upload.
    let size = args.video_mb.max(1) * 1024 * 1024;
    let path = dir.path().join("big.mp4");
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    tokio::task::spawn_blocking(move || {
        chorus_core::media::synthetic::write_mp4(file, 1080, 1920, 60, 30, (size / 1800) as usize)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("writing the test video: {e}"))?;
    let big = library.add_file(&tenant, brand.id, &path, None).await?;
    let token = tiktok("tt-big");
    let acc = account("open-tt-big");
    let plugin = plugins
        .for_platform("tiktok", None)
        .ok_or_else(|| anyhow::anyhow!("no tiktok plugin"))?;
    let adapted = plugin
        .adapt(
            &post("The whole season", &one(&big), &privacy),
            None,
            &acc,
            &Invocation::default(),
        )
        .await?;
    let inv = invocation(ws, &token, &library, &one(&big));
    let base = rss();
    let sampler = Sampler::start();
    let t = Instant::now();
    publish(&plugin, &adapted, "big", &acc, &inv).await?;
    let took = t.elapsed();
    let peak = sampler.peak().saturating_sub(base);
    drop(sampler);
    let sent = tt
        .posts()
        .iter()
        .find(|p| p.open_id == "open-tt-big")
        .map_or(0, |p| p.video_bytes);
    anyhow::ensure!(
        sent == big.byte_size as u64,
        "TikTok received {sent} of {} bytes",
        big.byte_size
    );
    println!(
        "  TikTok video, {:.0} MB in chunks            {:>8.2} s  ({:.0} MB/s)   peak extra RSS {:.1} MB   target: < 100 MB",
        mb(sent),
        took.as_secs_f64(),
        mb(sent) / took.as_secs_f64(),
        mb(peak)
    );
    Ok(())
}

fn invocation(workspace: uuid::Uuid, token: &str, library: &MediaLibrary, assets: &[media_asset::Model]) -> Invocation {
    Invocation {
        workspace,
        token: Some(token.to_owned()),
        media_refs: library.with_urls(assets.iter().map(MediaRef::from).collect(), Duration::from_secs(600)),
        media: Some(library.source(assets)),
        ..Invocation::default()
    }
}

async fn publish(
    plugin: &Plugin,
    adapted: &chorus_core::plugins::types::Adapted,
    marker: &str,
    account: &Account,
    inv: &Invocation,
) -> anyhow::Result<()> {
    plugin
        .publish(adapted, marker, account, inv)
        .await
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{marker}: {e}"))
}
