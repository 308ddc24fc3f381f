//! A guest's CPU never stalls the server: while hostile plugins spin in `adapt` and
//! `publish`, the hub's own HTTP server and a well-behaved plugin keep their pace. Runs on a
//! multi-thread runtime with 2 workers, the shape of `chorus serve` on a 2-core machine.

use chorus::server::{AppState, router};
use chorus_core::plugins::types::Adapted;
use chorus_core::plugins::{CallErrorKind, Invocation, Limits, Plugin};
use chorus_tests::TestStore;
use chorus_tests::plugins::{engine, hostile, load_bundled, serve, test_account as account, text_post as post};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median time of `n` adapt calls of the well-behaved plugin, run on the shared runtime.
async fn adapt_times(p: &Arc<Plugin>, n: usize) -> Duration {
    let text = "Spring is here and our new collection is in the shop. ".repeat(12);
    let mut times = Vec::new();
    for _ in 0..n {
        let p = p.clone();
        let text = text.clone();
        let took = tokio::spawn(async move {
            let started = Instant::now();
            p.adapt(&post(&text), None, &account(), &Invocation::default())
                .await
                .expect("the well-behaved plugin adapts");
            started.elapsed()
        })
        .await
        .unwrap();
        times.push(took);
    }
    median(times)
}

/// The slowest of `n` `/healthz` requests, sent from a thread of its own so the measurement
/// is the server's answer, not the client's wait for a runtime thread.
fn healthz_worst(base: &str, n: usize) -> Duration {
    let base = base.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let http = chorus_tests::http_client();
            let mut worst = Duration::ZERO;
            for _ in 0..n {
                let started = Instant::now();
                let r = http.get(format!("{base}/healthz")).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                worst = worst.max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            worst
        })
    })
    .join()
    .unwrap()
}

#[test]
fn spinning_guests_do_not_stall_healthz_or_a_well_behaved_plugin() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = TestStore::new().await;
        let e = engine();
        let (plugins, _) = chorus_core::plugins::PluginRegistry::load(e.clone(), Default::default(), &[])
            .await
            .unwrap();
        let base = serve(router(AppState {
            store: t.store.clone(),
            plugins: Arc::new(plugins),
            started: Instant::now(),
            stats: None,
            media: None,
        }))
        .await;
        let good = Arc::new(load_bundled(&e, "x", "http://127.0.0.1:9", Limits::default()).await);
        let spin_limits = Limits {
            adapt_time: Duration::from_secs(20),
            publish_cpu_time: Duration::from_secs(20),
            ..Limits::default()
        };
        let bad = Arc::new(hostile(&e, None, spin_limits).await);

        adapt_times(&good, 5).await; // warm up
        let quiet = adapt_times(&good, 15).await;
        let quiet_healthz = {
            let base = base.clone();
            tokio::task::spawn_blocking(move || healthz_worst(&base, 10)).await.unwrap()
        };

        let mut spinners = Vec::new();
        for _ in 0..8 {
            let p = bad.clone();
            spinners.push(tokio::spawn(async move {
                p.adapt(&post("loop"), None, &account(), &Invocation::default())
                    .await
                    .map(|_| ())
            }));
            let p = bad.clone();
            spinners.push(tokio::spawn(async move {
                let a = Adapted {
                    fields: vec![],
                    extras: vec![],
                    languages: vec![],
                    text: "loop".into(),
                    parts: vec![],
                    hashtags: vec![],
                    media: vec![],
                    targeting: None,
                    length: 4,
                    warnings: vec![],
                };
                p.publish(&a, "m", &account(), &Invocation::default())
                    .await
                    .map(|_| ())
            }));
        }
        // Let them all get going, past the fast lane.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let busy_healthz = {
            let base = base.clone();
            tokio::task::spawn_blocking(move || healthz_worst(&base, 20)).await.unwrap()
        };
        let busy = adapt_times(&good, 15).await;
        let still_spinning = spinners.iter().filter(|s| !s.is_finished()).count();
        eprintln!(
            "quiet: adapt {quiet:?}, healthz worst {quiet_healthz:?}; during the spin ({still_spinning} spinning): adapt {busy:?}, healthz worst {busy_healthz:?}"
        );
        assert_eq!(still_spinning, 16, "the hostile calls were still spinning while we measured");
        assert!(busy_healthz < Duration::from_millis(100), "healthz took {busy_healthz:?} during the spin");
        assert!(
            busy <= quiet * 3,
            "the well-behaved adapt took {busy:?} during the spin, {quiet:?} when quiet"
        );
        for s in &spinners {
            s.abort();
        }
        for s in spinners {
            // An aborted call ends at its next yield, within a tick.
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await.expect("a spinning call stops when aborted");
        }
    });
}

#[test]
fn a_runaway_guest_is_stopped_by_its_cpu_budget_with_a_typed_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let e = engine();
        let p = hostile(&e, None, Limits::default()).await;
        let err = p
            .adapt(&post("loop"), None, &account(), &Invocation::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind, CallErrorKind::CpuLimit(d) if d == Duration::from_millis(100)),
            "{err}"
        );
        assert!(err.to_string().contains("of CPU, its CPU limit"), "{err}");
    });
}
