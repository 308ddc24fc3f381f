//! Crash proof: 10,000 deliveries due now to the X fake; a `chorus worker` process is killed
//! with SIGKILL mid-run and started again; every delivery is published exactly once, as the
//! fake's own records show. Runs on SQLite, and on PostgreSQL with CHORUS_TEST_DATABASE_URL.

use chorus_core::domain::DeliveryStatus;
use chorus_core::secrets::SecretKey;
use chorus_simulators::x::XFake;
use chorus_tests::TestStore;
use chorus_tests::process::Running;
use chorus_tests::queue::seed_due;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "6b1f0c8e2d4a5b3c9e7f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

async fn count(t: &TestStore, status: DeliveryStatus) -> u64 {
    let depth = t.store.queue().depth().await.unwrap();
    depth.iter().find(|d| d.status == status).unwrap().count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_and_restarted_publishes_every_delivery_exactly_once() {
    let t = TestStore::with_key(SecretKey::from_hex("test", KEY).unwrap()).await;
    let (ws, brand) = t.workspace_with_brand("crash").await;
    let x = XFake::start().await.unwrap();
    x.set_post_limit(1_000_000);
    let accounts = seed_due(&t.store, ws, brand, "x", (100, 100), chrono::Utc::now(), "crash").await;
    for a in &accounts {
        x.grant(
            &a.token,
            &a.remote_id,
            &a.handle,
            &["tweet.read", "tweet.write", "users.read"],
        );
    }
    let total = 10_000;
    let cwd = tempfile::tempdir().unwrap();
    let env = [
        ("CHORUS_SECRET_KEY", KEY),
        ("CHORUS_PLATFORM_X_API_BASE", x.base_url.as_str()),
    ];
    let args = ["worker", "--database-url", t.db.url.as_str()];

    let mut first = Running::start(bin(), cwd.path(), &args, &env);
    let started = Instant::now();
    while count(&t, DeliveryStatus::Published).await < 1_500 {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the first worker published too little"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill_hard();
    let at_kill = count(&t, DeliveryStatus::Published).await;
    let in_flight = count(&t, DeliveryStatus::Claimed).await + count(&t, DeliveryStatus::Publishing).await;
    assert!(at_kill < total, "killed mid-run");

    let mut second = Running::start(bin(), cwd.path(), &args, &env);
    let restarted = Instant::now();
    loop {
        let depth = t.store.queue().depth().await.unwrap();
        if depth.iter().filter(|d| !d.status.is_terminal()).all(|d| d.count == 0) {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(300),
            "not done after the restart: {depth:?}\n{}",
            second.log.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(second.terminate(Duration::from_secs(10)).is_some());

    assert_eq!(
        count(&t, DeliveryStatus::Published).await,
        total,
        "every delivery published"
    );
    let tweets = x.tweets();
    let texts: HashSet<&str> = tweets.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts.len(), tweets.len(), "no post twice on the platform");
    assert_eq!(tweets.len() as u64, total, "one post per delivery on the platform");
    let all = t.store.tenant(ws).deliveries().list(&[], 20_000).await.unwrap();
    let ids: HashSet<&str> = tweets.iter().map(|t| t.id.as_str()).collect();
    assert!(all.iter().all(|d| ids.contains(d.remote_id.as_deref().unwrap_or(""))));
    eprintln!(
        "killed with {at_kill} published and {in_flight} in flight; the restart finished in {:?}",
        restarted.elapsed()
    );
}

/// SIGTERM drains: the delivery being sent when the signal comes finishes and is recorded;
/// the ones that had sent nothing yet (waiting for their account's turn) are handed back to
/// the queue at once, uncounted, instead of staying claimed until their lease runs out; the
/// worker exits well within its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_what_is_being_sent_and_hands_back_the_rest() {
    use chorus_simulators::FaultMix;
    let t = TestStore::with_key(SecretKey::from_hex("test", KEY).unwrap()).await;
    let (ws, brand) = t.workspace_with_brand("drain").await;
    let x = XFake::start().await.unwrap();
    // Every request takes 3 s, so the first delivery is mid-publish when the signal comes
    // and the other four wait for the account's turn.
    x.faults.randomly(
        FaultMix {
            timeouts: 1.0,
            slow: Duration::from_secs(3),
            ..FaultMix::default()
        },
        1,
    );
    let accounts = seed_due(&t.store, ws, brand, "x", (5, 1), chrono::Utc::now(), "drain").await;
    let a = &accounts[0];
    x.grant(
        &a.token,
        &a.remote_id,
        &a.handle,
        &["tweet.read", "tweet.write", "users.read"],
    );
    let cwd = tempfile::tempdir().unwrap();
    let env = [
        ("CHORUS_SECRET_KEY", KEY),
        ("CHORUS_PLATFORM_X_API_BASE", x.base_url.as_str()),
    ];
    let mut worker = Running::start(
        bin(),
        cwd.path(),
        &["worker", "--database-url", t.db.url.as_str()],
        &env,
    );
    let started = Instant::now();
    while x.faults.requests() == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "nothing was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    let status = tokio::task::block_in_place(|| worker.terminate(Duration::from_secs(25)));
    assert!(status.is_some(), "the worker did not stop:\n{}", worker.log.join("\n"));
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "stopping took {:?}",
        signalled.elapsed()
    );
    assert_eq!(
        count(&t, DeliveryStatus::Published).await,
        1,
        "the one being sent was recorded"
    );
    assert_eq!(x.tweets().len(), 1);
    assert_eq!(
        count(&t, DeliveryStatus::Claimed).await + count(&t, DeliveryStatus::Publishing).await,
        0,
        "nothing stays held by the stopped worker"
    );
    let back = t.store.queue().in_state(DeliveryStatus::Scheduled, 10).await.unwrap();
    assert_eq!(back.len(), 4, "the rest are back in the queue");
    for d in back {
        assert_eq!((d.attempts, d.lookup_first), (0, false), "{:?}", d.last_error);
    }
}
