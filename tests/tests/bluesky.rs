//! Bluesky end to end, on a fake PDS that enforces the lexicon: a thread with a mention, a
//! link and a tag publishes with facets on whole characters, reply references and the
//! post's languages; the host opens the app-password session itself, renews it when the
//! access token expires, signs in again when the refresh token is refused, and holds the
//! account's deliveries when the password is revoked; metrics and recovery read the PDS.

use chorus_core::delivery::EngineSettings;
use chorus_core::delivery::plan::{Planner, Target, When};
use chorus_core::domain::{AccountStatus, DeliveryStatus, PostDraft};
use chorus_core::plugins::{Invocation, PluginRegistry, PluginSettings};
use chorus_core::secrets::Credentials;
use chorus_core::store::{NewAccount, Store};
use chorus_simulators::bluesky::BlueskyFake;
use chorus_tests::TestStore;
use chorus_tests::queue::run_until_settled;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

async fn plugins(store: &Store) -> Arc<PluginRegistry> {
    let settings = PluginSettings {
        loopback_account_servers: true,
        ..PluginSettings::default()
    };
    chorus_tests::queue::registry_with(store, settings).await
}

fn quick() -> EngineSettings {
    EngineSettings {
        poll: Duration::from_millis(50),
        rescue_every: Duration::from_millis(200),
        ..EngineSettings::default()
    }
}

struct World {
    t: TestStore,
    ws: Uuid,
    brand: Uuid,
    account: Uuid,
    pds: BlueskyFake,
    plugins: Arc<PluginRegistry>,
}

impl World {
    async fn new() -> Self {
        let t = TestStore::new().await;
        let (ws, brand) = t.workspace_with_brand("bluesky").await;
        let pds = BlueskyFake::start().await.unwrap();
        pds.add_account("did:plc:alice", "alice.test", "app-pw-1");
        pds.add_account("did:plc:bob", "bob.test", "bob-pw");
        // Connected with an app password only: the host opens the session itself.
        let account = t
            .store
            .tenant(ws)
            .accounts()
            .connect(NewAccount {
                api_base: Some(pds.base_url.clone()),
                brand_id: brand,
                platform: "bluesky".into(),
                handle: "alice.test".into(),
                remote_id: "did:plc:alice".into(),
                display_name: None,
                timezone: "Europe/Stockholm".into(),
                scopes: vec![],
                credentials: Credentials {
                    access_token: String::new(),
                    refresh_token: None,
                    expires_at: None,
                    app_password: Some("app-pw-1".into()),
                },
            })
            .await
            .unwrap()
            .id;
        let plugins = plugins(&t.store).await;
        Self {
            t,
            ws,
            brand,
            account,
            pds,
            plugins,
        }
    }

    /// Composes `text` for the account, schedules it now and runs the engine until it ends.
    async fn publish(&self, text: &str, locale: &str) -> Uuid {
        let planner = Planner::new(self.t.store.tenant(self.ws), &self.plugins);
        let draft = PostDraft {
            body: text.into(),
            locale: locale.into(),
            ..Default::default()
        };
        let target = Target {
            account_id: self.account,
            segment_id: None,
        };
        let planned = planner.compose(self.brand, None, draft, &[target]).await.unwrap();
        planner.schedule(planned.post.id, When::Now, None).await.unwrap();
        run_until_settled(&self.t.store, self.plugins.clone(), quick(), Duration::from_secs(60)).await;
        planned.post.id
    }

    async fn delivery(&self, post: Uuid) -> chorus_core::store::entity::delivery::Model {
        self.t
            .store
            .tenant(self.ws)
            .deliveries()
            .list_for_post(post)
            .await
            .unwrap()[0]
            .clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_publishes_with_facets_replies_and_languages_through_a_session_the_host_keeps() {
    let w = World::new().await;
    let body = format!(
        "Grüße @bob.test! Read https://example.com/launch #Launch. {}",
        "Every word of this launch note matters to us. ".repeat(10)
    );
    let post = w.publish(&body, "en-GB").await;
    let d = w.delivery(post).await;
    assert_eq!(d.status, DeliveryStatus::Published, "{:?}", d.last_error);
    assert_eq!(
        w.pds.session_counts(),
        (1, 0),
        "one session opened with the app password"
    );

    let posts = w.pds.posts();
    assert!(posts.len() >= 2, "a thread: {posts:?}");
    let first = &posts[0];
    assert_eq!(d.remote_id.as_deref(), Some(first.uri.as_str()));
    assert_eq!(first.record["langs"], serde_json::json!(["en-GB", "en"]));
    let facets = first.record["facets"].as_array().unwrap();
    let marked: Vec<(&str, &str)> = facets
        .iter()
        .map(|f| {
            let (s, e) = (
                f["index"]["byteStart"].as_u64().unwrap() as usize,
                f["index"]["byteEnd"].as_u64().unwrap() as usize,
            );
            (f["features"][0]["$type"].as_str().unwrap(), &first.text()[s..e])
        })
        .collect();
    assert_eq!(
        marked,
        [
            ("app.bsky.richtext.facet#mention", "@bob.test"),
            ("app.bsky.richtext.facet#link", "https://example.com/launch"),
            ("app.bsky.richtext.facet#tag", "#Launch"),
        ]
    );
    assert_eq!(facets[0]["features"][0]["did"], "did:plc:bob", "the handle resolved");
    for (i, p) in posts.iter().enumerate().skip(1) {
        assert_eq!(p.record["reply"]["root"]["uri"], first.uri.as_str(), "part {i}");
        assert_eq!(
            p.record["reply"]["parent"]["uri"],
            posts[i - 1].uri.as_str(),
            "part {i}"
        );
    }
    // What the preview showed (the adaptation's facets) is what was sent.
    let adaptation = d.adaptation.clone().unwrap();
    let shown: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(adaptation["extras"][0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(shown[0].len(), facets.len());

    // Recovery and metrics read the PDS, with the session the host keeps.
    let plugin = w.plugins.get("bluesky").unwrap();
    let account = w.t.store.tenant(w.ws).accounts().get(w.account).await.unwrap();
    let creds = w.t.store.tenant(w.ws).accounts().credentials(w.account).await.unwrap();
    let inv = Invocation {
        workspace: w.ws,
        token: Some(creds.access_token.clone()),
        api_base: account.api_base.clone(),
        ..Invocation::default()
    };
    let acc = chorus_core::delivery::plan::plugin_account(&account);
    let adapted = chorus_core::plugins::convert::stored_adaptation(adaptation).unwrap();
    let found = plugin.find_published("m", &adapted, &acc, &inv).await.unwrap().unwrap();
    assert_eq!(found.remote_id, first.uri);
    assert_eq!(found.extra_ids.len(), posts.len() - 1);
    w.pds.set_counts(&first.uri, 5, 2, 1, 1);
    let m = plugin.fetch_metrics(&[first.uri.clone()], &acc, &inv).await.unwrap();
    assert_eq!((m[0].likes, m[0].shares, m[0].comments), (Some(5), Some(3), Some(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_is_renewed_then_reopened_and_a_revoked_password_holds_the_account() {
    let w = World::new().await;
    // Access tokens that last 4 minutes: inside the host's 5-minute margin, so the host
    // renews the session before each use, reading the expiry from the token itself.
    w.pds.set_access_ttl(Duration::from_secs(240));
    let first = w.publish("First post", "en").await;
    assert_eq!(w.delivery(first).await.status, DeliveryStatus::Published);
    assert_eq!(w.pds.session_counts(), (1, 0));

    // The access token is about to expire: the refresh token renews the session.
    let second = w.publish("Second post", "en").await;
    let d = w.delivery(second).await;
    assert_eq!(d.status, DeliveryStatus::Published, "{:?}", d.last_error);
    assert_eq!(w.pds.session_counts(), (1, 1), "renewed with the refresh token");

    // The refresh token is refused: the host signs in again with the app password.
    w.pds.revoke_refresh_tokens();
    let third = w.publish("Third post", "en").await;
    assert_eq!(w.delivery(third).await.status, DeliveryStatus::Published);
    assert_eq!(w.pds.session_counts(), (2, 1), "signed in again");

    // The person revoked the app password: the delivery waits for a reconnection.
    w.pds.revoke_refresh_tokens();
    w.pds.set_password("did:plc:alice", "a-new-password");
    let planner = Planner::new(w.t.store.tenant(w.ws), &w.plugins);
    let draft = PostDraft {
        body: "Fourth post".into(),
        locale: "en".into(),
        ..Default::default()
    };
    let target = Target {
        account_id: w.account,
        segment_id: None,
    };
    let planned = planner.compose(w.brand, None, draft, &[target]).await.unwrap();
    planner.schedule(planned.post.id, When::Now, None).await.unwrap();
    let engine = chorus_core::delivery::Engine::new(w.t.store.clone(), w.plugins.clone(), quick());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(engine.run(rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let account = w.t.store.tenant(w.ws).accounts().get(w.account).await.unwrap();
        let d = w.delivery(planned.post.id).await;
        if account.status == AccountStatus::NeedsReauth
            && d.last_error.as_deref().is_some_and(|e| e.starts_with("held"))
        {
            assert_ne!(d.status, DeliveryStatus::Failed);
            assert!(d.last_error.unwrap().contains("refused"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not held: {:?} {:?}",
            account.status,
            d.last_error
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    let _ = task.await;
    assert_eq!(w.pds.posts().len(), 3, "nothing posted without a session");
}

/// The plugin in the sandbox, against the PDS directly: an image is uploaded as a blob
/// (streamed by the host) and embedded with its alt text; a 429 becomes `rate-limited`
/// after the wait `ratelimit-reset` names.
#[tokio::test]
async fn images_are_uploaded_as_blobs_and_a_429_waits_for_ratelimit_reset() {
    use chorus_core::plugins::types::{MediaKind, MediaRef, PluginError};
    use chorus_core::plugins::{CallErrorKind, Limits, MemoryMedia};
    let pds = BlueskyFake::start().await.unwrap();
    pds.add_account("did:plc:img", "img.test", "pw");
    let spec = chorus_tests::plugins::bundled_description("bluesky")
        .await
        .session
        .unwrap();
    let session = match chorus_core::oauth::session::open(
        &reqwest::Client::new(),
        &spec,
        &pds.base_url,
        "img.test",
        "pw",
    )
    .await
    {
        chorus_core::oauth::session::Session::Opened(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(session.expires_at.is_some(), "the expiry is read from the JWT");
    let engine = chorus_tests::plugins::engine();
    let plugin = chorus_tests::plugins::load_bundled(&engine, "bluesky", &pds.base_url, Limits::default()).await;
    let photo = MediaRef {
        id: "m1".into(),
        kind: MediaKind::Image,
        mime_type: "image/png".into(),
        byte_size: 200_000,
        width: Some(1000),
        height: Some(1000),
        duration_ms: None,
        alt_text: Some("A cup of coffee".into()),
        url: None,
    };
    let mut post = chorus_tests::plugins::text_post("Morning brew");
    post.media = vec![photo.clone()];
    let account = chorus_core::plugins::types::Account {
        id: "a".into(),
        handle: "img.test".into(),
        remote_id: "did:plc:img".into(),
        timezone: "UTC".into(),
    };
    let inv = Invocation {
        token: Some(session.access_token.clone()),
        media: Some(Arc::new(MemoryMedia(
            [("m1".to_owned(), vec![9u8; 200_000])].into_iter().collect(),
        ))),
        media_refs: vec![photo],
        ..Invocation::default()
    };
    let adapted = plugin.adapt(&post, None, &account, &inv).await.unwrap();
    assert_eq!(adapted.media, ["m1"]);
    plugin.publish(&adapted, "img-1", &account, &inv).await.unwrap();
    let posts = pds.posts();
    let embed = &posts[0].record["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.images");
    assert_eq!(embed["images"][0]["alt"], "A cup of coffee");
    assert_eq!(embed["images"][0]["image"]["size"], 200_000);

    pds.set_create_limit(1);
    let again = plugin
        .adapt(&chorus_tests::plugins::text_post("Second cup"), None, &account, &inv)
        .await
        .unwrap();
    let e = plugin.publish(&again, "img-2", &account, &inv).await.unwrap_err();
    match e.kind {
        CallErrorKind::Plugin(PluginError::RateLimited(r)) => {
            assert!((29..=31).contains(&r.retry_after_seconds), "{r:?}");
        }
        other => panic!("{other}"),
    }
}
