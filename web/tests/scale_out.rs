//! Scale-out proof: three `chorus worker` processes share one database (PostgreSQL with
//! CHORUS_TEST_DATABASE_URL, the embedded SQLite file otherwise); one is killed with
//! SIGKILL mid-run; every delivery is published exactly once, by the X fake's own records,
//! and the survivors' /metrics add up to what they published.

use chorus_core::domain::DeliveryStatus;
use chorus_core::secrets::SecretKey;
use chorus_simulators::x::XFake;
use chorus_tests::TestStore;
use chorus_tests::process::Running;
use chorus_tests::queue::seed_due;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

async fn published(t: &TestStore) -> u64 {
    let depth = t.store.queue().depth().await.unwrap();
    depth
        .iter()
        .find(|d| d.status == DeliveryStatus::Published)
        .unwrap()
        .count
}

/// `N` distinct free loopback ports: the listeners are held until all are known, so the
/// system cannot hand out one port twice (it did once, and two workers' metrics were one
/// worker's read twice).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// `chorus_engine_published_total` of a worker's /metrics.
async fn published_by(port: u16) -> u64 {
    let text = chorus_tests::http_client()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("chorus_engine_published_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no published counter in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_one_killed_mid_run_publish_every_delivery_exactly_once() {
    let t = TestStore::with_key(SecretKey::from_hex("test", KEY).unwrap()).await;
    let (ws, brand) = t.workspace_with_brand("scale").await;
    let x = XFake::start().await.unwrap();
    x.set_post_limit(1_000_000);
    let total = 3_000u64;
    let accounts = seed_due(&t.store, ws, brand, "x", (30, 100), chrono::Utc::now(), "scale").await;
    for a in &accounts {
        x.grant(
            &a.token,
            &a.remote_id,
            &a.handle,
            &["tweet.read", "tweet.write", "users.read"],
        );
    }
    let cwd = tempfile::tempdir().unwrap();
    let env = [
        ("CHORUS_SECRET_KEY", KEY),
        ("CHORUS_PLATFORM_X_API_BASE", x.base_url.as_str()),
    ];
    let ports: [u16; 3] = free_ports();
    let mut workers: Vec<Running> = ports
        .iter()
        .map(|p| {
            let bind = format!("127.0.0.1:{p}");
            let args = [
                "worker",
                "--database-url",
                t.db.url.as_str(),
                "--metrics-bind",
                bind.as_str(),
            ];
            Running::start(bin(), cwd.path(), &args, &env)
        })
        .collect();
    let started = Instant::now();
    while published(&t).await < total / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the workers published too little"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    workers[1].kill_hard();
    let at_kill = published(&t).await;
    assert!(at_kill < total, "killed mid-run");

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let depth = t.store.queue().depth().await.unwrap();
        if depth.iter().filter(|d| !d.status.is_terminal()).all(|d| d.count == 0) {
            break;
        }
        assert!(Instant::now() < deadline, "not done: {depth:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let survivors = published_by(ports[0]).await + published_by(ports[2]).await;
    // A worker's metrics port serves health and metrics, not the API (no sign-in there).
    let api = chorus_tests::http_client()
        .get(format!("http://127.0.0.1:{}/api/openapi.json", ports[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
    for i in [0, 2] {
        assert!(
            workers[i].terminate(Duration::from_secs(10)).is_some(),
            "worker {i} stops on SIGTERM"
        );
    }

    assert_eq!(published(&t).await, total, "every delivery published");
    let tweets = x.tweets();
    let texts: HashSet<&str> = tweets.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts.len(), tweets.len(), "no post twice on the platform");
    assert_eq!(tweets.len() as u64, total, "one post per delivery on the platform");
    let all = t.store.tenant(ws).deliveries().list(&[], 10_000).await.unwrap();
    let ids: HashSet<&str> = tweets.iter().map(|t| t.id.as_str()).collect();
    assert!(all.iter().all(|d| ids.contains(d.remote_id.as_deref().unwrap_or(""))));
    let by: HashSet<&str> = all.iter().filter_map(|d| d.claimed_by.as_deref()).collect();
    assert!(by.len() >= 2, "the work was shared: {by:?}");
    assert!(
        survivors <= total && survivors >= total - at_kill,
        "the survivors' metrics: {survivors}"
    );
    eprintln!(
        "killed one of three workers at {at_kill} published; all {total} done in {:?}; workers seen: {}",
        started.elapsed(),
        by.len()
    );
}
