//! The Instagram plugin end to end: the bundled component against the Instagram fake on
//! loopback, with media from Chorus's media library served by Chorus's own signed-URL route
//! (the fake really fetches every image and video). Containers, polling, carousels, first
//! comments, "link in bio", resuming a container across attempts, the publishing quota, and
//! URLs that no longer verify.

mod common;

use chorus_core::plugins::Limits;
use chorus_core::plugins::types::PluginError;
use chorus_simulators::instagram::InstagramFake;
use chorus_tests::TestStore;
use chorus_tests::plugins::{Harness, text_post};
use common::{MediaHost, MediaSetup, post_with};
use std::time::Duration;

const IG: &str = "17841400000000001";

type Setup = MediaSetup<InstagramFake>;

async fn setup(limits: Limits) -> Setup {
    let fake = InstagramFake::start().await.unwrap();
    fake.grant("ig-token", IG);
    let base = fake.base_url.clone();
    let h = Harness::new(
        fake,
        "instagram",
        &base,
        IG,
        "ig-token",
        &["instagram_business_content_publish"],
        limits,
    )
    .await;
    MediaSetup::new(h).await
}

/// `url` with the query `pairs`, encoded.
fn at(url: String, pairs: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(&url).unwrap();
    u.query_pairs_mut().extend_pairs(pairs);
    u.to_string()
}

#[tokio::test]
async fn an_image_post_links_in_bio_is_fetched_from_chorus_and_gets_its_first_comment() {
    let s = setup(Limits::default()).await;
    let (asset, image) = s
        .add(
            "cup.jpg",
            &chorus_tests::media::jpeg(1080, 1350, [180, 90, 40]),
            Some("A flat white"),
        )
        .await;
    let mut post = post_with(
        "Our winter menu is here: https://fika.coffee/winter with cardamom buns",
        std::slice::from_ref(&image),
        &[
            ("first_comment", "Which one is your favourite?"),
            ("hashtags", "first_comment"),
        ],
    );
    post.hashtags = vec!["fika".into(), "coffee".into()];
    let adapted = s.h.adapt(&post).await;
    assert!(
        !adapted.text.contains("https://"),
        "no link in the caption: {}",
        adapted.text
    );
    assert!(adapted.text.ends_with("Link in bio."), "{}", adapted.text);
    assert!(
        !adapted.text.contains('#'),
        "hashtags go to the first comment: {}",
        adapted.text
    );
    let link = adapted.extras.iter().find(|e| e.key == "link").unwrap();
    assert_eq!(link.value, "\"https://fika.coffee/winter\"");

    let inv = s.with_media(
        std::slice::from_ref(&asset),
        std::slice::from_ref(&image),
        Duration::from_secs(600),
    );
    let out = s.publish_inv(&adapted, &inv, "m-image").await.unwrap();
    let media = s.h.fake.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].id, out.remote_id);
    assert_eq!(media[0].media_type, "IMAGE");
    assert_eq!(media[0].caption, adapted.text);
    assert_eq!(media[0].alt_texts, vec![Some("A flat white".to_owned())]);
    assert!(
        media[0].sources[0].contains(&format!("/media/{}?exp=", asset.id)),
        "{:?}",
        media[0].sources
    );
    assert_eq!(out.url.as_deref(), Some(media[0].permalink.as_str()));
    let comments = s.h.fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].media, out.remote_id);
    assert_eq!(comments[0].text, "Which one is your favourite?\n\n#fika #coffee");
    assert_eq!(out.extra_ids, vec![comments[0].id.clone()]);

    // Found again after a lost answer, comment included.
    let found =
        chorus_tests::plugins::plugin_result(s.h.plugin.find_published("m-image", &adapted, &s.h.account, &inv).await)
            .unwrap()
            .unwrap();
    assert_eq!((found.remote_id, found.extra_ids), (out.remote_id, out.extra_ids));
}

#[tokio::test]
async fn a_carousel_of_images_and_a_video_is_made_of_finished_children() {
    let s = setup(Limits::default()).await;
    s.h.fake.set_processing_polls(2);
    let (a1, r1) = s
        .add("a.jpg", &chorus_tests::media::jpeg(1080, 1080, [180, 90, 40]), None)
        .await;
    let (a2, r2) = s
        .add("b.jpg", &chorus_tests::media::jpeg(1080, 1350, [180, 90, 40]), None)
        .await;
    let (a3, r3) = s.add("c.mp4", &chorus_tests::media::mp4(1080, 1920, 5, 30), None).await;
    let refs = [r1, r2, r3];
    let adapted = s.h.adapt(&post_with("Three ways to brew at home", &refs, &[])).await;
    assert_eq!(adapted.media.len(), 3, "{:?}", adapted.warnings);
    let inv = s.with_media(&[a1, a2, a3], &refs, Duration::from_secs(600));
    let out = s.publish_inv(&adapted, &inv, "m-carousel").await.unwrap();
    let media = s.h.fake.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].media_type, "CAROUSEL_ALBUM");
    assert_eq!(media[0].sources.len(), 3);
    assert_eq!(media[0].id, out.remote_id);
    assert_eq!(s.h.fake.containers(), 4, "three children and the carousel");
}

#[tokio::test]
async fn a_post_without_media_is_refused_at_adapt() {
    let s = setup(Limits::default()).await;
    let e = chorus_tests::plugins::plugin_result(
        s.h.plugin
            .adapt(&text_post("Just words"), None, &s.h.account, &s.h.inv)
            .await,
    )
    .unwrap_err();
    match e {
        PluginError::InvalidInput(i) => assert_eq!(i.field, "media", "{i:?}"),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn a_container_still_processing_when_the_call_ends_is_resumed_not_made_again() {
    let s = setup(Limits {
        publish_time: Duration::from_secs(4),
        ..Limits::default()
    })
    .await;
    s.h.fake.set_processing_polls(1000);
    let (asset, reel) = s
        .add("reel.mp4", &chorus_tests::media::mp4(1080, 1920, 8, 30), None)
        .await;
    let adapted =
        s.h.adapt(&post_with("Latte art in 8 seconds", std::slice::from_ref(&reel), &[]))
            .await;
    let inv = s.with_media(
        std::slice::from_ref(&asset),
        std::slice::from_ref(&reel),
        Duration::from_secs(600),
    );
    match s.publish_inv(&adapted, &inv, "m-reel").await {
        Err(PluginError::Transient(m)) => assert!(m.contains("still processing"), "{m}"),
        other => panic!("expected a transient error, got {other:?}"),
    }
    assert_eq!(s.h.fake.containers(), 1);
    assert!(s.h.fake.media().is_empty());
    s.h.fake.finish_processing();
    let out = s.publish_inv(&adapted, &inv, "m-reel").await.unwrap();
    assert_eq!(
        s.h.fake.containers(),
        1,
        "the next attempt continued from the same container"
    );
    assert_eq!(s.h.fake.media()[0].id, out.remote_id);
    assert_eq!(s.h.fake.media()[0].media_type, "VIDEO");
}

#[tokio::test]
async fn an_expired_media_url_fails_the_fetch_and_a_fresh_one_publishes() {
    let s = setup(Limits::default()).await;
    let (asset, image) = s
        .add("old.jpg", &chorus_tests::media::jpeg(1080, 1080, [180, 90, 40]), None)
        .await;
    let adapted =
        s.h.adapt(&post_with("Yesterday's roast", std::slice::from_ref(&image), &[]))
            .await;
    let mut stale = s.h.inv.clone();
    let mut expired = image.clone();
    expired.url = Some(
        s.media
            .library
            .signer()
            .unwrap()
            .url(asset.id, chrono::Utc::now() - chrono::Duration::seconds(5)),
    );
    stale.media_refs = vec![expired];
    match s.publish_inv(&adapted, &stale, "m-expired").await {
        Err(PluginError::Transient(m)) => assert!(m.contains("could not be fetched") && m.contains("403"), "{m}"),
        other => panic!("expected the fetch to fail, got {other:?}"),
    }
    assert!(s.h.fake.media().is_empty());
    let fresh = s.with_media(
        std::slice::from_ref(&asset),
        std::slice::from_ref(&image),
        Duration::from_secs(600),
    );
    s.publish_inv(&adapted, &fresh, "m-expired").await.unwrap();
    assert_eq!(s.h.fake.media().len(), 1);
}

#[tokio::test]
async fn the_daily_quota_is_read_before_publishing_and_becomes_a_rate_limit() {
    let s = setup(Limits::default()).await;
    s.h.fake.set_quota(1);
    let (asset, image) = s
        .add("q.jpg", &chorus_tests::media::jpeg(1080, 1080, [180, 90, 40]), None)
        .await;
    let inv = s.with_media(
        std::slice::from_ref(&asset),
        std::slice::from_ref(&image),
        Duration::from_secs(600),
    );
    let first =
        s.h.adapt(&post_with("First of the day", std::slice::from_ref(&image), &[]))
            .await;
    s.publish_inv(&first, &inv, "q1").await.unwrap();
    let second =
        s.h.adapt(&post_with("Second of the day", std::slice::from_ref(&image), &[]))
            .await;
    match s.publish_inv(&second, &inv, "q2").await {
        Err(PluginError::RateLimited(r)) => {
            assert!(r.message.contains("1 of 1 posts"), "{}", r.message);
            assert!(r.retry_after_seconds >= 3600);
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert_eq!(s.h.fake.containers(), 1, "no container is made over quota");
}

#[tokio::test]
async fn the_fake_refuses_what_instagram_refuses() {
    let s = setup(Limits::default()).await;
    s.h.fake.set_processing_polls(3);
    let http = chorus_tests::http_client();
    let api = format!("{}/v23.0", s.h.fake.base_url);
    let (asset, image) = s
        .add("r.jpg", &chorus_tests::media::jpeg(1080, 1080, [180, 90, 40]), None)
        .await;
    let url = s
        .media
        .library
        .with_urls(vec![image], Duration::from_secs(600))
        .remove(0)
        .url
        .unwrap();
    let call = |req: reqwest::RequestBuilder| async move {
        let r = req.bearer_auth("ig-token").send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap())
    };
    // No token.
    let r = http
        .post(at(format!("{api}/{IG}/media"), &[("image_url", url.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], 190);
    // Neither an image nor a video.
    let (st, v) = call(http.post(at(format!("{api}/{IG}/media"), &[("caption", "words only")]))).await;
    assert_eq!((st, v["error"]["code"].as_u64()), (400, Some(100)));
    // A caption over 2,200 characters.
    let long = "é".repeat(2201);
    let (_, v) = call(http.post(at(
        format!("{api}/{IG}/media"),
        &[("image_url", url.as_str()), ("caption", long.as_str())],
    )))
    .await;
    assert_eq!(v["error"]["error_subcode"], 2_207_010);
    // Publishing before the container is finished.
    let (_, v) = call(http.post(at(format!("{api}/{IG}/media"), &[("image_url", url.as_str())]))).await;
    let container = v["id"].as_str().unwrap().to_owned();
    let (st, v) = call(http.post(at(
        format!("{api}/{IG}/media_publish"),
        &[("creation_id", container.as_str())],
    )))
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_u64(), v["error"]["error_subcode"].as_u64()),
        (400, Some(9007), Some(2_207_027))
    );
    // A carousel of one.
    let (_, v) = call(http.post(at(
        format!("{api}/{IG}/media"),
        &[("media_type", "CAROUSEL"), ("children", container.as_str())],
    )))
    .await;
    assert_eq!(v["error"]["error_subcode"], 2_207_028);
    // A PNG is not a JPEG, whatever the URL says.
    let (png_asset, png) = s
        .add("fake.jpg", &chorus_tests::media::png(10, 10, [1, 2, 3]), None)
        .await;
    assert_eq!(png_asset.mime_type, "image/png");
    let png_url = s
        .media
        .library
        .with_urls(vec![png], Duration::from_secs(60))
        .remove(0)
        .url
        .unwrap();
    let (_, v) = call(http.post(at(format!("{api}/{IG}/media"), &[("image_url", png_url.as_str())]))).await;
    assert_eq!(v["error"]["error_subcode"], 2_207_005);
    // Expired containers.
    s.h.fake.set_container_ttl(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (_, v) = call(http.get(at(format!("{api}/{container}"), &[("fields", "status_code")]))).await;
    assert_eq!(v["status_code"], "EXPIRED");
    let _ = asset;
}

/// Through the delivery engine, on the test database (SQLite, or PostgreSQL with
/// CHORUS_TEST_DATABASE_URL): a composed post with media goes to two accounts, each
/// container made from a fresh signed URL the fake fetches from Chorus; a post without media
/// is refused when composed.
#[tokio::test]
async fn the_engine_publishes_a_composed_post_with_its_media_to_each_account_once() {
    use chorus_core::delivery::EngineSettings;
    use chorus_core::delivery::plan::{Planner, Target, When};
    use chorus_core::domain::PostDraft;
    use chorus_tests::queue::{registry, run_until_settled, seed_due};

    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("ig-engine").await;
    let fake = InstagramFake::start().await.unwrap();
    let accounts = seed_due(
        &t.store,
        ws,
        brand,
        "instagram",
        (0, 2),
        chrono::Utc::now(),
        "ig-engine",
    )
    .await;
    for a in &accounts {
        fake.grant(&a.token, &a.remote_id);
    }
    let plugins = registry(&t.store, "instagram", &fake.base_url, Limits::default()).await;
    let host = MediaHost::start(&t.store, Some(plugins.clone())).await;
    let (library, public) = (host.library.clone(), host.public.clone());
    let (asset, _) = host
        .add(
            ws,
            brand,
            "bun.jpg",
            &chorus_tests::media::jpeg(1080, 1350, [180, 90, 40]),
            Some("A cardamom bun"),
        )
        .await;
    let planner = Planner::new(t.store.tenant(ws), &plugins);
    let targets: Vec<Target> = accounts
        .iter()
        .map(|a| Target {
            account_id: a.id,
            segment_id: None,
        })
        .collect();
    let without = PostDraft {
        body: "Words alone".into(),
        locale: "en".into(),
        ..Default::default()
    };
    let refused = planner
        .compose(brand, None, without, &targets)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("Instagram publishes nothing without media"),
        "{refused}"
    );

    let draft = PostDraft {
        body: "Cardamom bun season".into(),
        locale: "en".into(),
        media: vec![asset.id],
        ..Default::default()
    };
    let planned = planner.compose(brand, None, draft, &targets).await.unwrap();
    // A third account whose stored adaptation names media that is not an asset (a plugin
    // bug, or a stored row gone wrong): that delivery fails naming the item, the others go.
    let odd = planned.deliveries[0].clone();
    let mut broken = odd.adaptation.clone().unwrap();
    broken["media"] = serde_json::json!(["not-an-asset"]);
    {
        use sea_orm::{ActiveModelTrait, Set};
        let mut row: chorus_core::store::entity::delivery::ActiveModel = odd.clone().into();
        row.adaptation = Set(Some(broken));
        row.update(&sea_orm::Database::connect(&t.db.url).await.unwrap())
            .await
            .unwrap();
    }
    planner.schedule(planned.post.id, When::Now, None).await.unwrap();
    let stats = run_until_settled(
        &t.store,
        plugins.clone(),
        EngineSettings {
            media: Some(library.clone()),
            ..EngineSettings::default()
        },
        Duration::from_secs(60),
    )
    .await;
    let d = t
        .store
        .tenant(ws)
        .deliveries()
        .list_for_post(planned.post.id)
        .await
        .unwrap();
    let failed = d.iter().find(|d| d.id == odd.id).unwrap();
    assert_eq!(failed.status, chorus_core::domain::DeliveryStatus::Failed);
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("media[0]: \"not-an-asset\" is not a media asset id"),
        "{failed:?}"
    );
    let media = fake.media();
    assert_eq!(media.len(), 1, "the other account's post only");
    let odd_account = accounts.iter().find(|a| a.id == odd.social_account_id).unwrap();
    assert!(media.iter().all(|m| m.user != odd_account.remote_id));
    for m in &media {
        assert_eq!(m.caption, "Cardamom bun season");
        assert!(
            m.sources[0].starts_with(&format!("{public}/media/{}?exp=", asset.id)),
            "{:?}",
            m.sources
        );
        assert_eq!(m.alt_texts, vec![Some("A cardamom bun".to_owned())]);
    }
    assert_eq!(stats.published.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_segment_whose_tone_says_first_comment_gets_its_hashtags_there() {
    use chorus_core::plugins::types::{Audience, EmojiUse, Formality, HashtagPlacement, Segment, Tone};
    let s = setup(Limits::default()).await;
    let (_, image) = s
        .add("cup.jpg", &chorus_tests::media::jpeg(1080, 1080, [180, 90, 40]), None)
        .await;
    let segment = |placement| Segment {
        id: "s1".into(),
        name: "Regulars".into(),
        tone: Tone {
            formality: Formality::Casual,
            emoji: EmojiUse::Keep,
            max_hashtags: Some(3),
            hashtag_placement: placement,
            call_to_action: None,
            glossary: vec![],
            language_variant: None,
        },
        audience: Audience::everyone(),
    };
    let mut post = post_with("Fresh roast today", std::slice::from_ref(&image), &[]);
    post.hashtags = vec!["coffee".into(), "fika".into()];
    let a =
        s.h.adapt_for(&post, Some(&segment(HashtagPlacement::FirstComment)))
            .await;
    assert!(!a.text.contains('#'), "{}", a.text);
    let comment = a.extras.iter().find(|e| e.key == "first-comment").unwrap();
    assert!(comment.value.contains("#coffee #fika"), "{}", comment.value);
    let a = s.h.adapt_for(&post, Some(&segment(HashtagPlacement::End))).await;
    assert!(a.text.contains("#coffee"), "{}", a.text);
    assert!(a.extras.iter().all(|e| e.key != "first-comment"));
    // The post's own choice wins over the tone.
    post.options = vec![("hashtags".into(), "caption".into())];
    let a =
        s.h.adapt_for(&post, Some(&segment(HashtagPlacement::FirstComment)))
            .await;
    assert!(a.text.contains("#coffee"), "{}", a.text);
}
