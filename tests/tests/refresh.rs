//! Token refresh before publishing, against the X fake's token endpoint (single-use,
//! rotating refresh tokens): one refresh per account across workers, the new token stored
//! before it is used, a refused refresh holds the deliveries, a transient one is retried.

use chorus_core::delivery::{Backoff, Engine, EngineSettings};
use chorus_core::domain::{AccountStatus, DeliveryStatus};
use chorus_core::oauth::refresh::{Fresh, Refresher, Renewal};
use chorus_core::oauth::{OAuthClient, OAuthClients};
use chorus_core::plugins::Limits;
use chorus_core::secrets::Credentials;
use chorus_simulators::x::XFake;
use chorus_tests::TestStore;
use chorus_tests::queue::{SeededAccount, registry, run_until_settled, seed_due};
use chrono::{Duration, Utc};
use std::time::Duration as StdDuration;
use uuid::Uuid;

const SCOPES: &[&str] = &["tweet.read", "tweet.write", "users.read", "offline.access"];

fn settings(worker: &str, x: &XFake) -> EngineSettings {
    let mut oauth = OAuthClients::new();
    oauth.insert(
        "x".into(),
        OAuthClient {
            client_id: "chorus-app".into(),
            client_secret: Some("app-secret".into()),
            token_url: Some(url::Url::parse(&format!("{}/2/oauth2/token", x.base_url)).unwrap()),
            authorize_url: None,
        },
    );
    EngineSettings {
        worker_id: worker.into(),
        poll: StdDuration::from_millis(50),
        rescue_every: StdDuration::from_millis(200),
        backoff: Backoff {
            base: StdDuration::from_millis(40),
            cap: StdDuration::from_millis(400),
        },
        oauth,
        ..EngineSettings::default()
    }
}

/// One X account whose access token expires in a minute, with a refresh token the fake
/// accepts once (`grant_refresh`), and `n` deliveries due now. The old access token is
/// revoked on the fake: a post made with it fails, so only a refreshed token publishes.
async fn world(label: &str, n: usize, refresh_known: bool) -> (TestStore, Uuid, XFake, SeededAccount) {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand(label).await;
    let x = XFake::start().await.unwrap();
    x.register_client("chorus-app", Some("app-secret"));
    let acc = seed_due(&t.store, ws, brand, "x", (n, 1), Utc::now(), label)
        .await
        .remove(0);
    if refresh_known {
        x.grant_refresh("rt-1", &acc.remote_id, &acc.handle, SCOPES);
    }
    t.store
        .tenant(ws)
        .accounts()
        .set_credentials(
            acc.id,
            &Credentials {
                access_token: acc.token.clone(),
                refresh_token: Some("rt-1".into()),
                expires_at: Some(Utc::now() + Duration::minutes(1)),
                app_password: None,
            },
        )
        .await
        .unwrap();
    x.revoke(&acc.token);
    (t, ws, x, acc)
}

async fn stored(t: &TestStore, ws: Uuid, acc: &SeededAccount) -> (Credentials, AccountStatus) {
    let a = t.store.tenant(ws).accounts();
    (
        a.credentials(acc.id).await.unwrap(),
        a.get(acc.id).await.unwrap().status,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_once_and_stored_before_it_is_used() {
    let (t, ws, x, acc) = world("refresh", 5, true).await;
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    run_until_settled(&t.store, plugins, settings("w1", &x), StdDuration::from_secs(60)).await;
    assert_eq!(x.tweets().len(), 5);
    let requests = x.token_requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        (requests[0].grant_type.as_str(), requests[0].outcome),
        ("refresh_token", 200)
    );
    let (creds, status) = stored(&t, ws, &acc).await;
    assert_eq!(status, AccountStatus::Connected);
    assert!(creds.access_token.starts_with("x-at-"), "the minted token is stored");
    let rotated = creds.refresh_token.unwrap();
    assert!(
        rotated.starts_with("x-rt-"),
        "the rotated refresh token is stored: {rotated}"
    );
    assert!(creds.expires_at.unwrap() > Utc::now() + Duration::minutes(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_to_refresh_spend_the_refresh_token_once() {
    let (t, ws, x, acc) = world("race", 40, true).await;
    // A slow token endpoint: the second worker arrives while the first one's refresh runs.
    x.set_token_latency(StdDuration::from_millis(700));
    let account = t.store.tenant(ws).accounts().get(acc.id).await.unwrap();
    let (a, b) = (
        Refresher::new(settings("a", &x).oauth),
        Refresher::new(settings("b", &x).oauth),
    );
    let (ra, rb) = tokio::join!(
        a.fresh(&t.store, &account, Renewal::OAuth { spec: None }, "worker-a"),
        b.fresh(&t.store, &account, Renewal::OAuth { spec: None }, "worker-b")
    );
    let outcomes = [ra.unwrap(), rb.unwrap()];
    let refreshed = outcomes
        .iter()
        .filter(|o| matches!(o, Fresh::Ready { refreshed: true, .. }))
        .count();
    let busy = outcomes.iter().filter(|o| matches!(o, Fresh::Busy)).count();
    assert_eq!((refreshed, busy), (1, 1), "{outcomes:?}");
    // The one that waited finds the new token stored, and does not refresh again.
    match b
        .fresh(&t.store, &account, Renewal::OAuth { spec: None }, "worker-b")
        .await
        .unwrap()
    {
        Fresh::Ready { credentials, refreshed } => {
            assert!(!refreshed);
            assert!(credentials.access_token.starts_with("x-at-"));
        }
        other => panic!("{other:?}"),
    }
    let requests = x.token_requests();
    assert_eq!(
        requests.len(),
        1,
        "exactly one refresh across both workers: {requests:?}"
    );
    assert_eq!(requests[0].outcome, 200);

    // And two engines publish every delivery of the account with that one refresh.
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let small = |w| EngineSettings {
        batch: 4,
        concurrency: 4,
        ..settings(w, &x)
    };
    let ea = Engine::new(t.store.clone(), plugins.clone(), small("worker-a"));
    let eb = Engine::new(t.store.clone(), plugins.clone(), small("worker-b"));
    let (ta, tb) = (tokio::spawn(ea.run(rx.clone())), tokio::spawn(eb.run(rx)));
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    while x.tweets().len() < 40 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} published",
            x.tweets().len()
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = tokio::join!(ta, tb);
    assert_eq!(x.token_requests().len(), 1);
    let (_, status) = stored(&t, ws, &acc).await;
    assert_eq!(status, AccountStatus::Connected, "the connection survived the race");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_holds_the_deliveries_and_asks_for_a_reconnection() {
    for error in ["invalid_request", "invalid_grant"] {
        let (t, ws, x, acc) = world(&format!("refused-{}", &error[8..]), 3, false).await;
        x.set_bad_refresh_token_error(error);
        let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
        let engine = Engine::new(t.store.clone(), plugins, settings("w", &x));
        let (stop, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(engine.run(rx));
        let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
        loop {
            if stored(&t, ws, &acc).await.1 == AccountStatus::NeedsReauth {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{error}: the account was never marked"
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        let _ = stop.send(true);
        let _ = task.await;
        assert!(x.tweets().is_empty());
        assert_eq!(
            t.store.queue().held(10).await.unwrap().len(),
            3,
            "`chorus queue` lists them as held"
        );
        for d in t.store.tenant(ws).deliveries().list(&[], 10).await.unwrap() {
            assert_eq!(d.status, DeliveryStatus::Scheduled, "{error}: waiting, not failed");
            assert_eq!(d.attempts, 0, "a hold is not an attempt");
            let reason = d.last_error.unwrap_or_default();
            assert!(reason.starts_with("held:") && reason.contains("reconnect"), "{reason}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_refresh_failure_is_retried_and_never_taken_for_a_dead_token() {
    let (t, ws, x, acc) = world("transient", 2, true).await;
    x.fail_next_token_requests(2, 503);
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    run_until_settled(&t.store, plugins, settings("w", &x), StdDuration::from_secs(60)).await;
    assert_eq!(x.tweets().len(), 2);
    let outcomes: Vec<u16> = x.token_requests().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, vec![503, 503, 200]);
    let (creds, status) = stored(&t, ws, &acc).await;
    assert_eq!(status, AccountStatus::Connected);
    assert!(creds.access_token.starts_with("x-at-"));
}
