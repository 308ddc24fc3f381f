//! The TikTok plugin end to end: the bundled component against the TikTok fake on loopback
//! (its API, and its upload host standing in for `open-upload.tiktokapis.com`), with media
//! from Chorus's media library. Chunked video uploads streamed from storage, photo posts
//! pulled from signed URLs on a verified prefix, the creator's privacy levels, resuming an
//! upload and a publish across attempts, expired upload URLs, TikTok's per-minute limits.

mod common;

use chorus_core::plugins::Limits;
use chorus_core::plugins::types::{Adapted, MediaRef, PluginError};
use chorus_simulators::Fault;
use chorus_simulators::tiktok::{Creator, TikTokFake};
use chorus_tests::TestStore;
use chorus_tests::plugins::Harness;
use common::{MediaHost, MediaSetup, post_with};
use std::time::Duration;

const OPEN_ID: &str = "-000fakeOpenId";
const PUBLIC: (&str, &str) = ("privacy_level", "PUBLIC_TO_EVERYONE");

type Setup = MediaSetup<TikTokFake>;

async fn setup_with(limits: Limits, creator: Creator) -> Setup {
    let fake = TikTokFake::start().await.unwrap();
    fake.grant("tt-token", creator);
    let (base, upload) = (fake.base_url.clone(), fake.upload_base.clone());
    let h = Harness::with_origins(
        fake,
        "tiktok",
        &base,
        &[("open-upload.tiktokapis.com", &upload)],
        OPEN_ID,
        "tt-token",
        &["video.publish", "video.list"],
        limits,
    )
    .await;
    MediaSetup::new(h).await
}

async fn setup() -> Setup {
    setup_with(Limits::default(), Creator::new(OPEN_ID, "fikaroasters")).await
}

/// An MP4 of about `mb` megabytes lasting `seconds`.
fn video(mb: usize, seconds: u32) -> Vec<u8> {
    let samples = (seconds * 30) as usize;
    chorus_core::media::synthetic::write_mp4(
        std::io::Cursor::new(Vec::new()),
        1080,
        1920,
        seconds,
        30,
        mb * 1_000_000 / samples,
    )
    .unwrap()
    .into_inner()
}

impl Setup {
    async fn adapt(&self, refs: &[MediaRef], options: &[(&str, &str)]) -> Adapted {
        self.h
            .adapt(&post_with(
                "Cardamom buns are back, see https://fika.coffee/buns",
                refs,
                options,
            ))
            .await
    }
}

#[tokio::test]
async fn a_video_goes_up_in_chunks_streamed_from_the_library_and_is_published() {
    let s = setup().await;
    let bytes = video(25, 20);
    let (asset, clip) = s.add("buns.mp4", &bytes, None).await;
    let adapted = s
        .adapt(std::slice::from_ref(&clip), &[PUBLIC, ("comments", "off")])
        .await;
    assert!(
        !adapted.text.contains("https://"),
        "captions do not link: {}",
        adapted.text
    );
    assert!(adapted.text.ends_with("Link in bio."), "{}", adapted.text);

    let out = s.publish_with(&adapted, &[asset], &[clip], "m-video").await.unwrap();
    let posts = s.h.fake.posts();
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.media_type, "VIDEO");
    assert_eq!(p.video_bytes, bytes.len() as u64, "every byte arrived, in order");
    assert_eq!(p.title, adapted.text);
    assert_eq!(p.privacy_level, "PUBLIC_TO_EVERYONE");
    assert!(p.disable_comment, "the person switched comments off");
    assert_eq!(out.remote_id, p.id);
    assert_eq!(
        out.url.as_deref(),
        Some(format!("https://www.tiktok.com/@acme/video/{}", p.id).as_str())
    );
    assert_eq!(out.extra_ids, vec![p.publish_id.clone()]);
    assert_eq!(
        s.h.fake.tokens_sent_to_upload(),
        0,
        "the upload URL is its own credential: the account's token never goes there"
    );
}

#[tokio::test]
async fn photos_are_pulled_from_signed_urls_on_a_verified_prefix_only() {
    let s = setup().await;
    let (a1, r1) = s
        .add("a.jpg", &chorus_tests::media::jpeg(1080, 1350, [180, 90, 40]), None)
        .await;
    let (a2, r2) = s
        .add("b.jpg", &chorus_tests::media::jpeg(1080, 1350, [90, 60, 40]), None)
        .await;
    let refs = [r1, r2];
    let mut post = post_with("Two new roasts this week", &refs, &[PUBLIC]);
    post.title = Some("New roasts".into());
    let adapted = s.h.adapt(&post).await;
    assert_eq!(adapted.media.len(), 2);
    assert_eq!(adapted.fields[0].text, "New roasts");
    let assets = [a1, a2];
    match s.publish_with(&adapted, &assets, &refs, "m-photos").await {
        Err(PluginError::Denied(m)) => assert!(m.contains("not verified"), "{m}"),
        other => panic!("TikTok pulls only from verified prefixes, got {other:?}"),
    }
    s.h.fake.verify_prefix(&format!("{}/media/", s.media.public));
    let out = s.publish_with(&adapted, &assets, &refs, "m-photos").await.unwrap();
    let p = &s.h.fake.posts()[0];
    assert_eq!((p.media_type.as_str(), p.title.as_str()), ("PHOTO", "New roasts"));
    assert_eq!(p.description, adapted.text);
    assert_eq!(p.photo_urls.len(), 2);
    assert!(p.photo_urls[0].contains("?exp="), "{:?}", p.photo_urls);
    assert_eq!(out.remote_id, p.id);
}

#[tokio::test]
async fn the_privacy_level_is_the_persons_choice_among_the_accounts_own() {
    let mut private = Creator::new(OPEN_ID, "fikaroasters");
    private.private = true;
    let s = setup_with(Limits::default(), private).await;
    let (asset, clip) = s.add("c.mp4", &video(1, 5), None).await;
    // No default: adapt refuses a post without one.
    let e = s.adapt_err(&post_with("Hello", std::slice::from_ref(&clip), &[])).await;
    match e {
        PluginError::InvalidInput(i) => assert_eq!(i.field, "options.privacy_level"),
        other => panic!("{other:?}"),
    }
    // A private account does not offer PUBLIC_TO_EVERYONE: refused before any upload.
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    match s
        .publish_with(
            &adapted,
            std::slice::from_ref(&asset),
            std::slice::from_ref(&clip),
            "m-p",
        )
        .await
    {
        Err(PluginError::InvalidInput(i)) => {
            assert_eq!(i.field, "options.privacy_level");
            assert!(i.message.contains("FOLLOWER_OF_CREATOR"), "{}", i.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.h.fake.inits(), 0);
    // An app TikTok has not audited posts SELF_ONLY or nothing: a policy problem.
    s.h.fake.set_unaudited(true);
    let adapted = s
        .adapt(std::slice::from_ref(&clip), &[("privacy_level", "FOLLOWER_OF_CREATOR")])
        .await;
    match s.publish_with(&adapted, &[asset], &[clip], "m-p2").await {
        Err(PluginError::Denied(m)) => assert!(m.contains("SELF_ONLY"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_video_longer_than_the_creator_may_post_is_refused_before_uploading() {
    let mut short = Creator::new(OPEN_ID, "fikaroasters");
    short.max_video_post_duration_sec = 10;
    let s = setup_with(Limits::default(), short).await;
    let (asset, clip) = s.add("long.mp4", &video(1, 15), None).await;
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    match s.publish_with(&adapted, &[asset], &[clip], "m-long").await {
        Err(PluginError::InvalidInput(i)) => {
            assert_eq!(i.field, "media[0]");
            assert!(i.message.contains("at most 10 s"), "{}", i.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.h.fake.inits(), 0);
}

#[tokio::test]
async fn an_upload_cut_short_continues_from_the_chunks_tiktok_holds() {
    let s = setup().await;
    let bytes = video(35, 20);
    let (asset, clip) = s.add("long.mp4", &bytes, None).await;
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    // Chunk 1 arrives, chunk 2 fails: the attempt ends with one chunk acknowledged.
    s.h.fake.upload_faults.push(Fault::Pass);
    s.h.fake.upload_faults.push(Fault::ServerError(503));
    match s
        .publish_with(
            &adapted,
            std::slice::from_ref(&asset),
            std::slice::from_ref(&clip),
            "m-cut",
        )
        .await
    {
        Err(PluginError::Transient(_)) => {}
        other => panic!("{other:?}"),
    }
    let before = s.h.fake.upload_faults.requests();
    s.publish_with(&adapted, &[asset], &[clip], "m-cut").await.unwrap();
    assert_eq!(s.h.fake.inits(), 1, "the same publish continued");
    assert_eq!(
        s.h.fake.upload_faults.requests() - before,
        2,
        "chunks 2 and 3 only (35 MB in 10 MB chunks: 3 chunks)"
    );
    let posts = s.h.fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].video_bytes, bytes.len() as u64);
}

#[tokio::test]
async fn a_publish_still_processing_is_polled_again_by_the_next_attempt() {
    let s = setup_with(
        Limits {
            publish_time: Duration::from_secs(4),
            ..Limits::default()
        },
        Creator::new(OPEN_ID, "fikaroasters"),
    )
    .await;
    s.h.fake.set_processing_polls(1000);
    let (asset, clip) = s.add("c.mp4", &video(2, 5), None).await;
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    match s
        .publish_with(
            &adapted,
            std::slice::from_ref(&asset),
            std::slice::from_ref(&clip),
            "m-slow",
        )
        .await
    {
        Err(PluginError::Transient(m)) => assert!(m.contains("still processing"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The host asks find-published before publishing again: not yet.
    let inv = s.media.invocation(
        &s.h.inv,
        std::slice::from_ref(&asset),
        std::slice::from_ref(&clip),
        Duration::from_secs(60),
    );
    let found =
        chorus_tests::plugins::plugin_result(s.h.plugin.find_published("m-slow", &adapted, &s.h.account, &inv).await)
            .unwrap();
    assert!(found.is_none());
    s.h.fake.finish_processing();
    let out = s.publish_with(&adapted, &[asset], &[clip], "m-slow").await.unwrap();
    assert_eq!(s.h.fake.inits(), 1, "no second upload");
    assert_eq!(s.h.fake.posts()[0].id, out.remote_id);
    // Once published, it is found by its caption too (the key-value record is gone).
    let found =
        chorus_tests::plugins::plugin_result(s.h.plugin.find_published("m-slow", &adapted, &s.h.account, &inv).await)
            .unwrap()
            .unwrap();
    assert_eq!(found.remote_id, out.remote_id);
}

#[tokio::test]
async fn an_expired_upload_url_starts_a_new_upload_and_posts_once() {
    let s = setup().await;
    s.h.fake.set_upload_ttl(Duration::ZERO);
    let (asset, clip) = s.add("c.mp4", &video(2, 5), None).await;
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    match s
        .publish_with(
            &adapted,
            std::slice::from_ref(&asset),
            std::slice::from_ref(&clip),
            "m-exp",
        )
        .await
    {
        Err(PluginError::Transient(m)) => assert!(m.contains("no longer valid"), "{m}"),
        other => panic!("{other:?}"),
    }
    s.h.fake.set_upload_ttl(Duration::from_secs(3600));
    s.publish_with(&adapted, &[asset], &[clip], "m-exp").await.unwrap();
    assert_eq!(s.h.fake.inits(), 2, "a new upload");
    assert_eq!(s.h.fake.posts().len(), 1, "one post");
}

#[tokio::test]
async fn six_inits_a_minute_then_tiktoks_limit_is_a_rate_limit_and_metrics_are_read() {
    let s = setup().await;
    s.h.fake.set_processing_polls(0);
    let (asset, clip) = s.add("c.mp4", &video(1, 3), None).await;
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    let mut ids = vec![];
    for i in 0..6 {
        let out = s
            .publish_with(
                &adapted,
                std::slice::from_ref(&asset),
                std::slice::from_ref(&clip),
                &format!("m-{i}"),
            )
            .await
            .unwrap();
        ids.push(out.remote_id);
    }
    match s.publish_with(&adapted, &[asset], &[clip], "m-7").await {
        Err(PluginError::RateLimited(r)) => {
            assert!(r.retry_after_seconds >= 1 && r.retry_after_seconds <= 60, "{r:?}");
            assert!(r.message.contains("rate"), "{}", r.message);
        }
        other => panic!("{other:?}"),
    }
    s.h.fake.set_metrics(&ids[0], 12, 3, 2, 480);
    let m = s.h.fetch_metrics(&ids[..1]).await.unwrap();
    assert_eq!(
        (m[0].likes, m[0].comments, m[0].shares, m[0].video_views),
        (Some(12), Some(3), Some(2), Some(480))
    );
}

#[tokio::test]
async fn the_engine_publishes_a_composed_video_with_each_accounts_privacy_level() {
    use chorus_core::delivery::EngineSettings;
    use chorus_core::delivery::plan::{Planner, Target, When};
    use chorus_core::domain::{PostDraft, PostOptions};
    use chorus_tests::queue::{run_until_settled, seed_due};

    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("tt-engine").await;
    let fake = TikTokFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "tiktok", (0, 2), chrono::Utc::now(), "tt-engine").await;
    for a in &accounts {
        fake.grant(&a.token, Creator::new(&a.remote_id, &format!("acct-{}", a.remote_id)));
    }
    let plugins = registry(&t.store, &fake).await;
    let host = MediaHost::start(&t.store, Some(plugins.clone())).await;
    let bytes = video(25, 20);
    let (asset, _) = host.add(ws, brand, "buns.mp4", &bytes, None).await;
    let planner = Planner::new(t.store.tenant(ws), &plugins);
    let targets: Vec<Target> = accounts
        .iter()
        .map(|a| Target {
            account_id: a.id,
            segment_id: None,
        })
        .collect();
    let mut draft = PostDraft {
        body: "Cardamom bun season".into(),
        locale: "en".into(),
        media: vec![asset.id],
        ..Default::default()
    };
    // No privacy level: refused when composed, naming the option.
    let refused = planner
        .compose(brand, None, draft.clone(), &targets)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("options.privacy_level"), "{refused}");
    // One for the platform, and the second account's own.
    let mut options = PostOptions::default();
    options.set("tiktok", "privacy_level", "PUBLIC_TO_EVERYONE");
    options.set(&accounts[1].id.to_string(), "privacy_level", "SELF_ONLY");
    draft.options = options;
    let planned = planner.compose(brand, None, draft, &targets).await.unwrap();
    planner.schedule(planned.post.id, When::Now, None).await.unwrap();
    run_until_settled(
        &t.store,
        plugins.clone(),
        EngineSettings {
            media: Some(host.library.clone()),
            ..EngineSettings::default()
        },
        Duration::from_secs(60),
    )
    .await;
    let posts = fake.posts();
    assert_eq!(posts.len(), 2, "one post per account");
    for p in &posts {
        assert_eq!(p.video_bytes, bytes.len() as u64);
        let want = if p.open_id == accounts[1].remote_id {
            "SELF_ONLY"
        } else {
            "PUBLIC_TO_EVERYONE"
        };
        assert_eq!(p.privacy_level, want);
    }
    let d = t
        .store
        .tenant(ws)
        .deliveries()
        .list_for_post(planned.post.id)
        .await
        .unwrap();
    assert!(
        d.iter()
            .all(|d| d.status == chorus_core::domain::DeliveryStatus::Published),
        "{d:?}"
    );
}

/// The bundled plugins aimed at `fake` (its API and its upload origin).
async fn registry(
    store: &chorus_core::store::Store,
    fake: &TikTokFake,
) -> std::sync::Arc<chorus_core::plugins::PluginRegistry> {
    let mut settings = chorus_core::plugins::PluginSettings::default();
    settings
        .api_bases
        .insert("tiktok".into(), url::Url::parse(&fake.base_url).unwrap());
    settings.local_origins.insert(
        "tiktok".into(),
        vec![(
            "open-upload.tiktokapis.com".into(),
            url::Url::parse(&fake.upload_base).unwrap(),
        )],
    );
    chorus_tests::queue::registry_with(store, settings).await
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_with_tiktoks_client_key_before_publishing() {
    use chorus_core::delivery::EngineSettings;
    use chorus_core::delivery::plan::{Planner, Target, When};
    use chorus_core::domain::{PostDraft, PostOptions};
    use chorus_core::oauth::{OAuthClient, OAuthClients};
    use chorus_core::secrets::Credentials;
    use chorus_tests::queue::{run_until_settled, seed_due};

    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("tt-refresh").await;
    let fake = TikTokFake::start().await.unwrap();
    fake.register_client("chorus-key", "chorus-secret");
    let acc = seed_due(&t.store, ws, brand, "tiktok", (0, 1), chrono::Utc::now(), "tt-refresh")
        .await
        .remove(0);
    // The stored access token is no longer accepted: only a refreshed one publishes.
    fake.grant_refresh("rft.1", &acc.remote_id, &acc.handle, &["video.publish", "video.list"]);
    t.store
        .tenant(ws)
        .accounts()
        .set_credentials(
            acc.id,
            &Credentials {
                access_token: acc.token.clone(),
                refresh_token: Some("rft.1".into()),
                expires_at: Some(chrono::Utc::now() + chrono::Duration::minutes(1)),
                app_password: None,
            },
        )
        .await
        .unwrap();
    let plugins = registry(&t.store, &fake).await;
    let host = MediaHost::start(&t.store, Some(plugins.clone())).await;
    let (asset, _) = host.add(ws, brand, "c.mp4", &video(1, 3), None).await;
    let mut options = PostOptions::default();
    options.set("tiktok", "privacy_level", "SELF_ONLY");
    let planner = Planner::new(t.store.tenant(ws), &plugins);
    let draft = PostDraft {
        body: "Refreshed".into(),
        locale: "en".into(),
        media: vec![asset.id],
        options,
        ..Default::default()
    };
    let target = Target {
        account_id: acc.id,
        segment_id: None,
    };
    let planned = planner.compose(brand, None, draft, &[target]).await.unwrap();
    planner.schedule(planned.post.id, When::Now, None).await.unwrap();
    let mut oauth = OAuthClients::new();
    oauth.insert(
        "tiktok".into(),
        OAuthClient {
            client_id: "chorus-key".into(),
            client_secret: Some("chorus-secret".into()),
            token_url: Some(url::Url::parse(&format!("{}/v2/oauth/token/", fake.base_url)).unwrap()),
            authorize_url: None,
        },
    );
    run_until_settled(
        &t.store,
        plugins,
        EngineSettings {
            media: Some(host.library.clone()),
            oauth,
            ..EngineSettings::default()
        },
        Duration::from_secs(60),
    )
    .await;
    let requests = fake.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        requests[0].outcome, 200,
        "client_key and secret as form fields: {requests:?}"
    );
    assert_eq!(fake.posts().len(), 1);
    let creds = t.store.tenant(ws).accounts().credentials(acc.id).await.unwrap();
    assert!(creds.access_token.starts_with("act.fake"), "{}", creds.access_token);
    assert!(
        creds.refresh_token.unwrap().starts_with("rft.fake"),
        "the rotated token is kept"
    );
}

#[tokio::test]
async fn a_video_with_more_chunks_than_one_call_may_send_finishes_in_the_next_attempt() {
    let s = setup_with(
        Limits {
            http_requests_per_call: 10,
            ..Limits::default()
        },
        Creator::new(OPEN_ID, "fikaroasters"),
    )
    .await;
    let bytes = video(35, 20);
    let (asset, clip) = s.add("long.mp4", &bytes, None).await;
    let adapted = s.adapt(std::slice::from_ref(&clip), &[PUBLIC]).await;
    match s
        .publish_with(
            &adapted,
            std::slice::from_ref(&asset),
            std::slice::from_ref(&clip),
            "m-many",
        )
        .await
    {
        Err(PluginError::Transient(m)) => assert!(m.contains("uploaded 2 of 3 chunks"), "{m}"),
        other => panic!("{other:?}"),
    }
    s.publish_with(&adapted, &[asset], &[clip], "m-many").await.unwrap();
    assert_eq!(s.h.fake.inits(), 1, "one upload, over two attempts");
    assert_eq!(s.h.fake.posts()[0].video_bytes, bytes.len() as u64);
}
