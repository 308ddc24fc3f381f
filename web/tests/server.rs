//! The HTTP server in-process against a real database.

use chorus::server::{AppState, router};
use chorus_tests::TestStore;
use std::time::Instant;

#[tokio::test]
async fn readyz_reports_503_when_the_database_stops_answering_while_healthz_stays_up() {
    let t = TestStore::new().await;
    let (plugins, _) =
        chorus_core::plugins::PluginRegistry::load(chorus_tests::plugins::engine(), Default::default(), &[])
            .await
            .unwrap();
    let app = router(AppState {
        store: t.store.clone(),
        plugins: std::sync::Arc::new(plugins),
        started: Instant::now(),
        stats: None,
        media: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = chorus_tests::http_client();

    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // Closing the shared pool is what a lost database looks like to the server.
    t.store.clone().close().await.unwrap();
    let resp = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["database"].as_str()),
        (Some("unavailable"), Some("unreachable"))
    );
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));

    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{base}/nope")).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_queue_depth_outcomes_per_platform_and_lateness_in_prometheus_text() {
    use chorus_core::plugins::Limits;
    use chorus_tests::queue::{registry, seed_due};
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("metrics").await;
    let x = chorus_simulators::x::XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (3, 1), chrono::Utc::now(), "metrics").await;
    x.grant(
        &accounts[0].token,
        &accounts[0].remote_id,
        &accounts[0].handle,
        &["tweet.write", "tweet.read", "users.read"],
    );
    // One more for tomorrow: it waits in `scheduled`.
    seed_due(
        &t.store,
        ws,
        brand,
        "x",
        (1, 1),
        chrono::Utc::now() + chrono::Duration::days(1),
        "later",
    )
    .await;
    let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
    let engine = chorus_core::delivery::Engine::new(t.store.clone(), plugins.clone(), Default::default());
    let stats = engine.stats();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(engine.run(rx));
    while x.tweets().len() < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = task.await;
    let app = router(AppState {
        store: t.store.clone(),
        plugins,
        started: Instant::now(),
        stats: Some(stats),
        media: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let resp = chorus_tests::http_client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    for line in [
        "chorus_deliveries{state=\"published\"} 3",
        "chorus_deliveries{state=\"scheduled\"} 1",
        "chorus_deliveries{state=\"dead\"} 0",
        "chorus_engine_published_total 3",
        "chorus_delivery_outcomes_total{platform=\"x\",outcome=\"published\"} 3",
        "chorus_delivery_lateness_seconds_count 3",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "a complete exposition");
}
