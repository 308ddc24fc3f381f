//! The X plugin end to end: the real component in the real sandbox, publishing through the
//! host to the X fake on loopback, with the account's token sealed in the database (SQLite,
//! or PostgreSQL with CHORUS_TEST_DATABASE_URL).

use chorus_core::plugins::types::{MediaKind, MediaRef, PluginError};
use chorus_core::plugins::{Limits, MemoryMedia};
use chorus_simulators::x::{ALL_SCOPES, TweetMetrics, XFake};
use chorus_simulators::{Fault, Faults};
use chorus_tests::plugins::{Harness, text_post};
use std::sync::Arc;
use std::time::Duration;

type Setup = Harness<XFake>;

/// The bundled X plugin against the X fake, which grants the account's token `scopes`.
async fn setup(scopes: &[&str], limits: Limits) -> Setup {
    let fake = XFake::start().await.unwrap();
    fake.grant("x-token-1", "4242", "acme", scopes);
    let base = fake.base_url.clone();
    Harness::new(fake, "x", &base, "4242", "x-token-1", scopes, limits).await
}

#[tokio::test]
async fn a_long_post_is_published_as_a_thread_of_replies() {
    let s = setup(ALL_SCOPES, Limits::default()).await;
    let body = "Spring is here and so is our new range of rain jackets. ".repeat(9) + "More at example.com/spring";
    let a = s.adapt(&text_post(&body)).await;
    assert!(a.parts.len() >= 2, "{a:?}");
    let out = s.publish(&a).await.unwrap();
    let tweets = s.fake.tweets();
    assert_eq!(tweets.len(), a.parts.len());
    assert_eq!(tweets[0].id, out.remote_id);
    assert_eq!(tweets[0].in_reply_to, None);
    for (i, t) in tweets.iter().enumerate().skip(1) {
        assert_eq!(
            t.in_reply_to.as_deref(),
            Some(tweets[i - 1].id.as_str()),
            "part {i} replies to the one before"
        );
        assert_eq!(t.text, a.parts[i]);
    }
    assert_eq!(
        out.extra_ids,
        tweets[1..].iter().map(|t| t.id.clone()).collect::<Vec<_>>()
    );
    assert_eq!(out.url.unwrap(), format!("https://x.com/acme/status/{}", out.remote_id));
}

#[tokio::test]
async fn a_video_goes_up_in_chunks_and_waits_for_processing() {
    let mut s = setup(ALL_SCOPES, Limits::default()).await;
    let size = 2 * 1024 * 1024 + 300_000; // three append segments
    let video = MediaRef {
        url: None,
        id: "clip".into(),
        kind: MediaKind::Video,
        mime_type: "video/mp4".into(),
        byte_size: size as u64,
        width: Some(1280),
        height: Some(720),
        duration_ms: Some(12_000),
        alt_text: None,
    };
    let image = MediaRef {
        url: None,
        id: "pic".into(),
        kind: MediaKind::Image,
        mime_type: "image/png".into(),
        byte_size: 10,
        ..video.clone()
    };
    let mut p = text_post("Watch the launch");
    p.media = vec![video.clone(), image];
    let a = s.adapt(&p).await;
    assert_eq!(a.media, ["clip"], "a video goes alone on X");
    assert!(a.warnings.iter().any(|w| w.code == "media-dropped"));
    let mut media = MemoryMedia::default();
    media.0.insert("clip".into(), vec![7u8; size]);
    s.inv.media = Some(Arc::new(media));
    s.inv.media_refs = vec![video];
    let out = s.publish(&a).await.unwrap();
    let tweets = s.fake.tweets();
    assert_eq!(tweets.len(), 1);
    assert_eq!(tweets[0].id, out.remote_id);
    assert_eq!(tweets[0].media_ids.len(), 1, "the processed video is attached");
}

#[tokio::test]
async fn the_fake_refuses_what_x_refuses_and_errors_come_back_typed() {
    // No tweet.write scope: 403 problem, a permanent input error with X's message.
    let s = setup(&["tweet.read", "users.read"], Limits::default()).await;
    match s.publish(&s.adapt(&text_post("hello")).await).await {
        Err(PluginError::InvalidInput(i)) => assert!(i.message.contains("tweet.write"), "{i:?}"),
        other => panic!("{other:?}"),
    }

    let s = setup(ALL_SCOPES, Limits::default()).await;
    let a = s.adapt(&text_post("Exactly the same words")).await;
    s.publish(&a).await.unwrap();
    // Duplicate text: X's own 403 message.
    match s.publish(&a).await {
        Err(PluginError::InvalidInput(i)) => assert!(i.message.contains("duplicate content"), "{i:?}"),
        other => panic!("{other:?}"),
    }
    // Text the plugin did not adapt (too long by X's weighting) is refused by the fake.
    let mut raw = a.clone();
    raw.text = "日本語".repeat(50);
    match s.publish(&raw).await {
        Err(PluginError::InvalidInput(i)) => assert!(i.message.contains("too long"), "{i:?}"),
        other => panic!("{other:?}"),
    }
    // Two cashtags are refused by the fake; the plugin's adapt keeps one.
    raw.text = "$ACME and $BEAN".into();
    assert!(matches!(s.publish(&raw).await, Err(PluginError::InvalidInput(_))));
    assert_eq!(s.adapt(&text_post("$ACME and $BEAN")).await.text, "$ACME and BEAN");
    // A token X no longer accepts: auth expired, so the host can refresh or ask a person.
    s.fake.revoke("x-token-1");
    assert!(matches!(
        s.publish(&s.adapt(&text_post("after revoke")).await).await,
        Err(PluginError::AuthExpired(_))
    ));
}

#[tokio::test]
async fn rate_limits_and_faults_map_to_retryable_errors() {
    let s = setup(ALL_SCOPES, Limits::default()).await;
    s.fake.set_post_limit(1);
    s.publish(&s.adapt(&text_post("first")).await).await.unwrap();
    // The window is spent: 429 with x-rate-limit-reset about 15 minutes ahead.
    match s.publish(&s.adapt(&text_post("second")).await).await {
        Err(PluginError::RateLimited(r)) => assert!((800..=900).contains(&r.retry_after_seconds), "{r:?}"),
        other => panic!("{other:?}"),
    }
    s.fake.set_post_limit(100);

    let s = setup(ALL_SCOPES, Limits::default()).await;
    let faults: &Faults = &s.fake.faults;
    faults.push(Fault::RateLimited(30));
    match s.publish(&s.adapt(&text_post("third")).await).await {
        Err(PluginError::RateLimited(r)) => assert!(
            (30..=31).contains(&r.retry_after_seconds),
            "never less than the Retry-After, rounded up: {r:?}"
        ),
        other => panic!("{other:?}"),
    }
    faults.push(Fault::ServerError(503));
    assert!(matches!(
        s.publish(&s.adapt(&text_post("fourth")).await).await,
        Err(PluginError::Transient(_))
    ));
    faults.push(Fault::Drop);
    assert!(matches!(
        s.publish(&s.adapt(&text_post("fifth")).await).await,
        Err(PluginError::Transient(_))
    ));
    assert!(s.fake.tweets().is_empty(), "nothing was posted by the failed calls");
}

#[tokio::test]
async fn a_slow_platform_hits_the_hosts_timeout() {
    let limits = Limits {
        http_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let s = setup(ALL_SCOPES, limits).await;
    s.fake.faults.push(Fault::Slow(Duration::from_secs(2)));
    match s.publish(&s.adapt(&text_post("slow")).await).await {
        Err(PluginError::Transient(m)) => assert!(m.contains("timed out"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn find_published_recovers_a_post_made_before_a_crash_and_metrics_are_read() {
    let s = setup(ALL_SCOPES, Limits::default()).await;
    let body = "A thread that was posted just before the worker died. ".repeat(8);
    let a = s.adapt(&text_post(&body)).await;
    assert!(s.find_published(&a).await.unwrap().is_none(), "nothing posted yet");
    let out = s.publish(&a).await.unwrap();
    let found = s.find_published(&a).await.unwrap().expect("found again");
    assert_eq!(found.remote_id, out.remote_id);
    assert_eq!(found.extra_ids, out.extra_ids);

    s.fake.set_metrics(
        &out.remote_id,
        TweetMetrics {
            impressions: 1200,
            likes: 40,
            replies: 3,
            retweets: 5,
            quotes: 2,
            bookmarks: 7,
            url_clicks: 19,
        },
    );
    let m = s.fetch_metrics(std::slice::from_ref(&out.remote_id)).await.unwrap();
    assert_eq!(m.len(), 1);
    let m = &m[0];
    assert_eq!(
        (m.impressions, m.likes, m.comments, m.shares, m.saves, m.clicks),
        (Some(1200), Some(40), Some(3), Some(7), Some(7), Some(19))
    );
}
