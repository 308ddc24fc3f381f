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
