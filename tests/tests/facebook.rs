//! The Facebook plugin end to end against the Graph API fake: Page tokens, targeting and
//! feed_targeting, photos, link previews, Meta's error codes and throttling, recovery and
//! insights. The Page token is sealed in the test database (SQLite, or PostgreSQL with
//! CHORUS_TEST_DATABASE_URL).

use chorus_core::plugins::types::{
    Audience, EmojiUse, Formality, HashtagPlacement, MediaKind, MediaRef, PluginError, Segment, TargetingMode, Tone,
};
use chorus_core::plugins::{Limits, MemoryMedia};
use chorus_simulators::Fault;
use chorus_simulators::facebook::{FacebookFake, PostInsights};
use chorus_tests::plugins::{Harness, text_post};
use serde_json::json;
use std::sync::Arc;

const PAGE: &str = "1234567890";

type Setup = Harness<FacebookFake>;

async fn setup() -> Setup {
    let fake = FacebookFake::start().await.unwrap();
    fake.grant_page("page-token", PAGE);
    let base = fake.base_url.clone();
    Harness::new(
        fake,
        "facebook",
        &base,
        PAGE,
        "page-token",
        &["pages_manage_posts"],
        Limits::default(),
    )
    .await
}

fn segment(audience: Audience) -> Segment {
    Segment {
        id: "s1".into(),
        name: "Young Nordic women".into(),
        tone: Tone {
            formality: Formality::Casual,
            emoji: EmojiUse::Keep,
            max_hashtags: Some(2),
            hashtag_placement: HashtagPlacement::End,
            call_to_action: None,
            glossary: vec![],
            language_variant: None,
        },
        audience,
    }
}

#[tokio::test]
async fn a_restricted_segment_becomes_targeting_and_a_preferred_one_feed_targeting() {
    let s = setup().await;
    let audience = Audience {
        mode: TargetingMode::Restrict,
        countries: vec!["SE".into(), "DK".into()],
        age_min: Some(18),
        age_max: Some(34),
        genders: vec!["female".into()],
        interests: vec!["yoga".into()],
        ..Audience::everyone()
    };
    let mut p = text_post("Spring yoga classes are open. Book at example.com/yoga");
    p.link = Some("https://example.com/yoga".into());
    let a = s.adapt_for(&p, Some(&segment(audience.clone()))).await;
    assert!(
        a.warnings
            .iter()
            .any(|w| w.code == "targeting-not-honoured" && w.message.contains("yoga"))
    );
    let out = s.publish(&a).await.unwrap();
    let sent = &s.fake.posts()[0];
    assert_eq!(sent.id, out.remote_id);
    assert!(out.remote_id.starts_with(&format!("{PAGE}_")));
    assert_eq!(
        sent.targeting.clone().unwrap(),
        json!({"geo_locations": {"countries": ["SE", "DK"]}, "age_min": 18, "age_max": 34, "genders": [2]})
    );
    assert!(sent.feed_targeting.is_none());
    assert_eq!(
        sent.link.as_deref(),
        Some("example.com/yoga"),
        "the URL becomes the link preview"
    );
    assert!(out.url.unwrap().contains("/posts/"), "the permalink comes back");

    let prefer = Audience {
        mode: TargetingMode::Prefer,
        ..audience
    };
    let a = s
        .adapt_for(&text_post("Evening classes too"), Some(&segment(prefer)))
        .await;
    s.publish(&a).await.unwrap();
    let sent = &s.fake.posts()[1];
    assert!(sent.targeting.is_none());
    assert_eq!(sent.feed_targeting.clone().unwrap()["genders"], json!([2]));
}

#[tokio::test]
async fn photos_are_posted_alone_or_attached_unpublished() {
    let mut s = setup().await;
    let img = |id: &str| MediaRef {
        url: None,
        id: id.into(),
        kind: MediaKind::Image,
        mime_type: "image/jpeg".into(),
        byte_size: 1000,
        width: Some(800),
        height: Some(800),
        duration_ms: None,
        alt_text: None,
    };
    let mut media = MemoryMedia::default();
    for id in ["a", "b", "c"] {
        media.0.insert(id.into(), vec![9u8; 1000]);
    }
    s.inv.media = Some(Arc::new(media));
    s.inv.media_refs = vec![img("a"), img("b"), img("c")];
    let mut p = text_post("One photo");
    p.media = vec![img("a")];
    let out = s.publish(&s.adapt(&p).await).await.unwrap();
    let one = &s.fake.posts()[0];
    assert_eq!(
        (one.id.as_str(), one.photos.len(), one.message.as_str()),
        (out.remote_id.as_str(), 1, "One photo")
    );
    let mut p = text_post("Two photos");
    p.media = vec![img("b"), img("c")];
    s.publish(&s.adapt(&p).await).await.unwrap();
    assert_eq!(s.fake.posts()[1].photos.len(), 2, "both attached to one feed post");
}

#[tokio::test]
async fn meta_error_codes_become_typed_errors() {
    let s = setup().await;
    let a = s.adapt(&text_post("Same words twice")).await;
    s.publish(&a).await.unwrap();
    match s.publish(&a).await {
        Err(PluginError::InvalidInput(i)) => assert!(i.message.contains("code 506"), "{i:?}"),
        other => panic!("{other:?}"),
    }
    // Targeting the plugin did not produce: an invalid key is code 100.
    let mut bad = s.adapt(&text_post("Bad targeting")).await;
    bad.targeting = Some(json!({"targeting": {"interests": [6003139266461u64]}}).to_string());
    match s.publish(&bad).await {
        Err(PluginError::InvalidInput(i)) => assert!(
            i.message.contains("code 100") && i.message.contains("interests"),
            "{i:?}"
        ),
        other => panic!("{other:?}"),
    }
    // Throttled (code 32, HTTP 400): rate limited for the minutes Meta names.
    s.fake.set_page_budget(0);
    match s.publish(&s.adapt(&text_post("throttled")).await).await {
        Err(PluginError::RateLimited(r)) => assert_eq!(r.retry_after_seconds, 300, "{r:?}"),
        other => panic!("{other:?}"),
    }
    s.fake.set_page_budget(1000);
    s.fake.faults.push(Fault::ServerError(500));
    assert!(matches!(
        s.publish(&s.adapt(&text_post("flaky")).await).await,
        Err(PluginError::Transient(_))
    ));
    // An expired token is HTTP 400 with code 190: auth expired, not an input error.
    s.fake.revoke("page-token");
    assert!(matches!(
        s.publish(&s.adapt(&text_post("expired")).await).await,
        Err(PluginError::AuthExpired(_))
    ));
    // A user token (not a Page token) may not publish: code 200.
    s.fake.grant_user("page-token");
    match s.publish(&s.adapt(&text_post("as a user")).await).await {
        Err(PluginError::InvalidInput(i)) => assert!(i.message.contains("Page access token"), "{i:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_post_made_before_a_crash_is_found_again_and_its_insights_read() {
    let s = setup().await;
    let a = s.adapt(&text_post("Doors open at nine on Saturday")).await;
    assert!(s.find_published(&a).await.unwrap().is_none());
    let out = s.publish(&a).await.unwrap();
    let found = s.find_published(&a).await.unwrap().expect("found by its message");
    assert_eq!(found.remote_id, out.remote_id);
    s.fake.set_insights(
        &out.remote_id,
        PostInsights {
            media_views_unique: 640,
            clicks: 25,
            reactions: 33,
            comments: 6,
            shares: 4,
        },
    );
    let m = s.fetch_metrics(std::slice::from_ref(&out.remote_id)).await.unwrap();
    assert_eq!(
        (m[0].reach, m[0].clicks, m[0].likes, m[0].comments, m[0].shares),
        (Some(640), Some(25), Some(33), Some(6), Some(4))
    );
}
