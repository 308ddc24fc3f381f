//! The delivery engine end to end: a real database, the bundled X plugin in the real
//! sandbox, and the X fake on loopback, whose own records are the proof.

use chorus_core::delivery::{Backoff, EngineSettings};
use chorus_core::domain::DeliveryStatus;
use chorus_core::plugins::Limits;
use chorus_simulators::x::XFake;
use chorus_simulators::{Fault, FaultMix};
use chorus_tests::TestStore;
use chorus_tests::queue::{SeededAccount, add_due, registry, run_until_settled, seed_due};
use chrono::Utc;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "offline.access",
    "media.write",
];

fn quick() -> EngineSettings {
    EngineSettings {
        poll: Duration::from_millis(50),
        rescue_every: Duration::from_millis(200),
        max_attempts: 60,
        backoff: Backoff {
            base: Duration::from_millis(40),
            cap: Duration::from_millis(400),
        },
        ..EngineSettings::default()
    }
}

fn grant_all(x: &XFake, accounts: &[SeededAccount]) {
    for a in accounts {
        x.grant(&a.token, &a.remote_id, &a.handle, SCOPES);
    }
}

/// Every delivery is published, and the fake holds exactly one post per delivery, with
/// the delivery's text and id.
async fn assert_exactly_once(t: &TestStore, ws: uuid::Uuid, x: &XFake, expected: usize) {
    let tweets = x.tweets();
    let by_id: HashMap<&str, &str> = tweets.iter().map(|t| (t.id.as_str(), t.text.as_str())).collect();
    let texts: HashSet<&str> = tweets.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts.len(), tweets.len(), "a text was posted twice");
    let all = t.store.tenant(ws).deliveries().list(&[], 1_000_000).await.unwrap();
    assert_eq!(all.len(), expected);
    for d in &all {
        assert_eq!(d.status, DeliveryStatus::Published, "{:?}: {:?}", d.id, d.last_error);
        let remote = d.remote_id.as_deref().unwrap();
        assert_eq!(
            by_id.get(remote).copied(),
            d.adapted_text.as_deref(),
            "delivery {} points at its post",
            d.id
        );
    }
    assert_eq!(tweets.len(), expected, "one post per delivery on the platform");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_deliveries_are_published_once_on_time() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("ontime").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (30, 10), Utc::now(), "ontime").await;
    grant_all(&x, &accounts);
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let stats = run_until_settled(&t.store, plugins, quick(), Duration::from_secs(60)).await;
    assert_exactly_once(&t, ws, &x, 300).await;
    assert_eq!(stats.published.load(Relaxed), 300);
    assert_eq!(stats.retries.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_that_failed_at_its_third_part_resumes_with_parts_three_to_five_under_part_two() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("thread").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (1, 1), Utc::now(), "thread").await;
    grant_all(&x, &accounts);
    let tenant = t.store.tenant(ws);
    let d = tenant.deliveries().list(&[], 10).await.unwrap().remove(0);
    let parts: Vec<String> = (1..=5)
        .map(|i| format!("Part {i} of the launch story 🧵 {i}/5"))
        .collect();
    let adaptation = serde_json::json!({"text": parts[0], "parts": parts, "hashtags": [], "media": [],
                                        "targeting": null, "length": 30, "warnings": []});
    tenant
        .deliveries()
        .readapt(
            d.id,
            chorus_core::store::Readaptation {
                adapted_text: Some(parts[0].clone()),
                adaptation: Some(adaptation),
                targeting: None,
                post_revision: 1,
                plugin: None,
            },
        )
        .await
        .unwrap();
    // Parts 1 and 2 go through; the third reply fails with a 503.
    x.faults.push(Fault::Pass);
    x.faults.push(Fault::Pass);
    x.faults.push(Fault::ServerError(503));
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let stats = run_until_settled(&t.store, plugins, quick(), Duration::from_secs(60)).await;
    let tweets = x.tweets();
    let texts: Vec<&str> = tweets.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        parts.iter().map(String::as_str).collect::<Vec<_>>(),
        "each part once, in order"
    );
    for pair in tweets.windows(2) {
        assert_eq!(
            pair[1].in_reply_to.as_deref(),
            Some(pair[0].id.as_str()),
            "a reply chain"
        );
    }
    let d = tenant.deliveries().get(d.id).await.unwrap();
    assert_eq!(d.status, DeliveryStatus::Published);
    assert_eq!(d.remote_id.as_deref(), Some(tweets[0].id.as_str()));
    assert_eq!(d.attempts, 2);
    assert_eq!(stats.retries.load(Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_5xx_429_timeouts_and_answers_lost_after_creation_every_delivery_publishes_once() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("faults").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (5, 40), Utc::now(), "faulty").await;
    grant_all(&x, &accounts);
    x.faults.randomly(
        FaultMix {
            server_errors: 0.20,
            rate_limited: 0.10,
            retry_after: 1,
            timeouts: 0.05,
            slow: Duration::from_millis(1300),
            dropped_after: 0.05,
        },
        7,
    );
    let limits = Limits {
        http_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let plugins = registry(&t.store, "x", &x.base_url, limits).await;
    let stats = run_until_settled(&t.store, plugins, quick(), Duration::from_secs(150)).await;
    assert_exactly_once(&t, ws, &x, 200).await;
    assert_eq!(
        x.faults.retry_after_violations(),
        0,
        "a request came before its Retry-After"
    );
    assert!(stats.retries.load(Relaxed) > 50, "the faults were met: {stats:?}");
    assert!(
        stats.recovered.load(Relaxed) > 0,
        "some lost answers were found by lookup: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_heard_by_one_worker_pauses_the_account_for_every_worker() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("shared429").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (12, 1), Utc::now(), "shared429").await;
    grant_all(&x, &accounts);
    // The first request is told to wait 2 s. Whichever worker hears it, neither may send
    // for this account before then (one worker per account at a time; a pause is shared).
    x.faults.push(Fault::RateLimited(2));
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let small = |w: &str| EngineSettings {
        worker_id: w.into(),
        batch: 3,
        concurrency: 3,
        ..quick()
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let a = chorus_core::delivery::Engine::new(t.store.clone(), plugins.clone(), small("a"));
    let b = chorus_core::delivery::Engine::new(t.store.clone(), plugins.clone(), small("b"));
    let (ta, tb) = (tokio::spawn(a.run(rx.clone())), tokio::spawn(b.run(rx)));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while x.tweets().len() < 12 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} published",
            x.tweets().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = tokio::join!(ta, tb);
    assert_eq!(
        x.faults.retry_after_violations(),
        0,
        "no worker came back before Retry-After"
    );
    assert_exactly_once(&t, ws, &x, 12).await;
}

/// An account's deliveries record their intents while they wait for its turn. A 429 heard
/// by the one ahead of them gives them back before anything is sent: nobody sends before
/// Retry-After, and they owe no lookup (they were never sent), so the platform sees one
/// lookup in all, for the delivery that was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_waiting_for_their_turn_when_a_429_comes_go_back_without_a_lookup_owed() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("turn429").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (6, 1), Utc::now(), "turn429").await;
    grant_all(&x, &accounts);
    x.faults.push(Fault::RateLimited(1));
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    // All six in one claim, so five wait for the turn while the first is refused.
    let settings = EngineSettings {
        batch: 6,
        concurrency: 6,
        ..quick()
    };
    run_until_settled(&t.store, plugins, settings, Duration::from_secs(60)).await;
    assert_eq!(
        x.faults.retry_after_violations(),
        0,
        "nothing was sent before Retry-After"
    );
    assert_exactly_once(&t, ws, &x, 6).await;
    // Six posts, the refused request, and one lookup for the refused delivery.
    assert_eq!(
        x.faults.requests(),
        8,
        "deliveries given back before sending were looked up on the platform"
    );
}

/// Publish budgets hold across workers. X allows an account 100 posts per 15 minutes. An
/// engine publishes 40 for an account; another worker then publishes 60 for it; when the
/// account comes back to the first engine with 40 more due, that engine counts what the
/// other published (its own count is stale) and delays all 40: waiting, not failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_budget_holds_across_workers_and_delays_what_is_over_it() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("budget").await;
    let x = XFake::start().await.unwrap();
    // The fake would refuse past X's limit itself; here the engine must hold back first.
    x.set_post_limit(u32::MAX);
    let accounts = seed_due(&t.store, ws, brand, "x", (40, 1), Utc::now(), "budget").await;
    grant_all(&x, &accounts);
    let account = accounts[0].id;
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let a = chorus_core::delivery::Engine::new(t.store.clone(), plugins.clone(), quick());
    let ta = tokio::spawn(a.run(rx));
    let q = t.store.queue();
    let published = || async {
        let depth = q.depth().await.unwrap();
        depth
            .iter()
            .find(|d| d.status == DeliveryStatus::Published)
            .unwrap()
            .count
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while published().await < 40 {
        assert!(std::time::Instant::now() < deadline, "the first 40 did not go out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another worker publishes 60 for the account (due later, so only it claims them).
    let later = Utc::now() + chrono::Duration::hours(1);
    add_due(&t.store, ws, brand, account, 60, later, "by another worker").await;
    let theirs = q.claim("another", 60, Duration::from_secs(30), later).await.unwrap();
    assert_eq!(theirs.len(), 60);
    let done: Vec<_> = theirs
        .into_iter()
        .flat_map(|c| {
            let post = chorus_core::store::PublishedPost {
                remote_id: c.delivery.id.to_string(),
                remote_url: None,
                extra_ids: vec![],
            };
            [
                (c.clone(), chorus_core::store::Write::Start),
                (c, chorus_core::store::Write::Complete(post)),
            ]
        })
        .collect();
    let (starts, completes): (Vec<_>, Vec<_>) = done
        .into_iter()
        .partition(|(_, w)| matches!(w, chorus_core::store::Write::Start));
    assert!(q.write_all(starts).await.unwrap().iter().all(Result::is_ok));
    assert!(q.write_all(completes).await.unwrap().iter().all(Result::is_ok));
    // Back to the first engine: 40 more due now.
    add_due(&t.store, ws, brand, account, 40, Utc::now(), "back").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let delayed = loop {
        let waiting: Vec<_> = q
            .in_state(DeliveryStatus::Scheduled, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| {
                d.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("allows no more posts"))
            })
            .collect();
        if waiting.len() == 40 || published().await > 100 {
            break waiting;
        }
        assert!(std::time::Instant::now() < deadline, "{} delayed", waiting.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(true);
    let _ = ta.await;
    assert_eq!(published().await, 100, "X's budget is 100 posts per 15 minutes");
    assert_eq!(x.tweets().len(), 40, "the engine sent only its first 40");
    assert_eq!(delayed.len(), 40);
    assert!(delayed.iter().all(|d| d.attempts == 0), "delayed, not failed");
}

/// What the engine does with each kind of failure, against the X fake: a post the platform
/// refuses (over 280 characters) fails for good after one request; one that meets only 5xx
/// dies after the attempts run out, saying so; a token the platform refuses (no refresh
/// token to try) marks the account `needs_reauth` and holds its delivery, which waits and
/// does not fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_failure_ends_the_way_its_kind_says() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("kinds").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (0, 3), Utc::now(), "kinds").await;
    grant_all(&x, &accounts);
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let settings = || EngineSettings {
        max_attempts: 3,
        ..quick()
    };
    let deliveries = t.store.tenant(ws).deliveries();
    let store = &t.store;
    let only = |status| async move {
        let mut all = store.tenant(ws).deliveries().list(&[status], 10).await.unwrap();
        assert_eq!(all.len(), 1, "{status:?}: {all:?}");
        all.remove(0)
    };

    // Refused for good: one request, no retry.
    add_due(&t.store, ws, brand, accounts[0].id, 1, Utc::now(), &"long ".repeat(60)).await;
    run_until_settled(&t.store, plugins.clone(), settings(), Duration::from_secs(30)).await;
    let refused = only(DeliveryStatus::Failed).await;
    assert_eq!(
        refused.error_kind.as_deref(),
        Some("invalid_input"),
        "{:?}",
        refused.last_error
    );
    assert_eq!((refused.attempts, x.faults.requests()), (1, 1), "not retried");

    // Only 5xx: dead after 3 attempts, with the reason.
    x.faults.push_n(chorus_simulators::Fault::ServerError(503), 10);
    add_due(&t.store, ws, brand, accounts[1].id, 1, Utc::now(), "five hundred").await;
    run_until_settled(&t.store, plugins.clone(), settings(), Duration::from_secs(30)).await;
    let dead = only(DeliveryStatus::Dead).await;
    assert_eq!(dead.attempts, 3);
    assert!(
        dead.last_error
            .as_deref()
            .unwrap_or("")
            .starts_with("gave up after 3 attempts"),
        "{:?}",
        dead.last_error
    );
    x.faults.clear();

    // A refused token: the account waits for a person; its delivery is held, not failed.
    x.revoke(&accounts[2].token);
    add_due(&t.store, ws, brand, accounts[2].id, 1, Utc::now(), "refused token").await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let engine = chorus_core::delivery::Engine::new(t.store.clone(), plugins.clone(), settings());
    let task = tokio::spawn(engine.run(rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let account = t.store.tenant(ws).accounts().get(accounts[2].id).await.unwrap();
        if account.status == chorus_core::domain::AccountStatus::NeedsReauth {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the account was not marked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = task.await;
    let held = deliveries
        .list(&[DeliveryStatus::Retrying, DeliveryStatus::Scheduled], 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].error_kind.as_deref(), Some("auth"), "{:?}", held[0].last_error);
    assert!(
        held[0].run_at.unwrap() > Utc::now() + chrono::Duration::minutes(10),
        "it waits for a person"
    );
    assert_eq!(x.tweets().len(), 0);
    let listed = t.store.queue().held(10).await.unwrap();
    assert_eq!(listed.len(), 1, "`chorus queue` lists it as held for a person");
    // A person reconnects the account: the held delivery goes out now, not in 15 minutes.
    x.grant("reconnected", &accounts[2].remote_id, &accounts[2].handle, SCOPES);
    t.store
        .tenant(ws)
        .accounts()
        .set_credentials(
            accounts[2].id,
            &chorus_core::secrets::Credentials {
                access_token: "reconnected".into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
        )
        .await
        .unwrap();
    run_until_settled(&t.store, plugins.clone(), settings(), Duration::from_secs(30)).await;
    assert_eq!(only(DeliveryStatus::Published).await.social_account_id, accounts[2].id);
    assert_eq!(x.tweets().len(), 1);
}

/// LISTEN/NOTIFY is PostgreSQL's; on SQLite the engine runs in the process that schedules
/// (`chorus serve`) and polls, so there the test checks that no listener is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_scheduled_now_wakes_an_idle_engine_at_once_through_notify() {
    let t = TestStore::new().await;
    if !t.db.is_postgres() {
        assert!(t.store.listen_due().await.unwrap().is_none());
        return;
    }
    let (ws, brand) = t.workspace_with_brand("notify").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (0, 1), Utc::now(), "notify").await;
    grant_all(&x, &accounts);
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    // Polls every 30 s: only a notification can start the delivery sooner.
    let idle = EngineSettings {
        poll: Duration::from_secs(30),
        ..quick()
    };
    let engine = chorus_core::delivery::Engine::new(t.store.clone(), plugins.clone(), idle);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(engine.run(rx));
    tokio::time::sleep(Duration::from_millis(500)).await; // it has looked once and sleeps
    let tenant = t.store.tenant(ws);
    let planner = chorus_core::delivery::plan::Planner::new(tenant, &plugins);
    let post = planner
        .compose(
            brand,
            None,
            chorus_core::domain::PostDraft {
                body: "Right now".into(),
                locale: "en".into(),
                ..Default::default()
            },
            &[chorus_core::delivery::plan::Target {
                account_id: accounts[0].id,
                segment_id: None,
            }],
        )
        .await
        .unwrap();
    let scheduled = std::time::Instant::now();
    planner
        .schedule(post.post.id, chorus_core::delivery::plan::When::Now, None)
        .await
        .unwrap();
    while x.tweets().is_empty() {
        assert!(
            scheduled.elapsed() < Duration::from_secs(10),
            "the engine was not woken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    let _ = task.await;
    assert!(scheduled.elapsed() < Duration::from_secs(10));
}
