//! Webhooks end to end, on SQLite and PostgreSQL: changes queue signed events in their own
//! transaction, the real sender POSTs them to a receiver on loopback, retries a failure with
//! backoff, gives up after its attempts, and logs each; targets are checked like plugin
//! hosts.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
mod common;

use chorus::api::ApiSettings;
use chorus_core::delivery::backoff::Backoff;
use chorus_core::domain::{AccountStatus, PostDraft, PostStatus, Role};
use chorus_core::webhooks::{Sender, WebhookSettings, signature};
use chorus_tests::TestStore;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a receiver got: (event header, signature header, body).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// A receiver on loopback answering the statuses in `answers`, then 200.
async fn receiver(answers: Vec<u16>) -> (String, Received) {
    let got: Received = Arc::default();
    let answers = Arc::new(Mutex::new(
        answers.into_iter().collect::<std::collections::VecDeque<_>>(),
    ));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let got = got.clone();
            move |headers: HeaderMap, body: Bytes| async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                got.lock().unwrap().push((
                    h("chorus-event"),
                    h("chorus-signature"),
                    String::from_utf8_lossy(&body).into_owned(),
                ));
                let status = answers.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn sender() -> Sender {
    Sender::new(WebhookSettings {
        allow_private: true,
        backoff: Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(200),
        },
        max_attempts: 3,
        poll: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    })
}

/// Runs sender rounds until `done` holds (or fails after 20 s).
async fn send_until(t: &TestStore, s: &Sender, what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        s.round(&t.store).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(20), "waiting for {what}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test]
async fn changes_are_delivered_signed_retried_and_logged() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("hooks").await;
    let tenant = t.store.tenant(ws);
    let (url, got) = receiver(vec![500]).await;
    let (other_url, other_got) = receiver(vec![]).await;
    let hook = tenant
        .webhooks()
        .create(
            &url,
            &[
                "approval.requested".into(),
                "approval.decided".into(),
                "account.needs_reauth".into(),
            ],
            None,
        )
        .await
        .unwrap();
    // Another subscriber wants only published posts: it hears nothing of approvals.
    tenant
        .webhooks()
        .create(&other_url, &["post.published".into()], None)
        .await
        .unwrap();
    let draft: PostDraft = serde_json::from_value(json!({ "body": "For review" })).unwrap();
    let post = tenant.posts().create(brand, None, draft).await.unwrap();
    tenant
        .posts()
        .transition(post.id, PostStatus::Draft, PostStatus::InReview, None, None)
        .await
        .unwrap();
    let s = sender();
    // The first attempt meets a 500; the retry, after its backoff, a 200.
    send_until(&t, &s, "two attempts", || got.lock().unwrap().len() >= 2).await;
    let (event, sig, body) = got.lock().unwrap()[1].clone();
    assert_eq!(event, "approval.requested");
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["type"], "approval.requested");
    assert_eq!(payload["data"]["post_id"], post.id.to_string());
    // The signature is HMAC-SHA256 over "t.body" with the secret shown at creation.
    let ts: i64 = sig
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sig, signature(&hook.secret, ts, &body));
    assert_ne!(sig, signature("whsec_wrong", ts, &body));
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let log = tenant.webhooks().deliveries(hook.webhook.id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].status.as_str(), log[0].attempts, log[0].last_status),
        ("delivered", 2, Some(200))
    );

    // Rejected, with the approver's comment.
    tenant
        .posts()
        .transition(post.id, PostStatus::InReview, PostStatus::Draft, None, Some("Too long"))
        .await
        .unwrap();
    send_until(&t, &s, "the decision", || got.lock().unwrap().len() >= 3).await;
    let decided: Value = serde_json::from_str(&got.lock().unwrap()[2].2).unwrap();
    assert_eq!(decided["type"], "approval.decided");
    assert_eq!(decided["data"]["decision"], "rejected");
    assert_eq!(decided["data"]["comment"], "Too long");

    // An account losing its grant.
    let account = tenant
        .accounts()
        .connect(chorus_core::store::NewAccount {
            brand_id: brand,
            platform: "x".into(),
            handle: "hooks".into(),
            remote_id: "1".into(),
            display_name: None,
            timezone: "UTC".into(),
            scopes: vec![],
            credentials: chorus_core::secrets::Credentials {
                access_token: "t".into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
            api_base: None,
        })
        .await
        .unwrap();
    tenant
        .accounts()
        .set_status(account.id, AccountStatus::NeedsReauth)
        .await
        .unwrap();
    send_until(&t, &s, "needs_reauth", || got.lock().unwrap().len() >= 4).await;
    let lost: Value = serde_json::from_str(&got.lock().unwrap()[3].2).unwrap();
    assert_eq!(lost["type"], "account.needs_reauth");
    assert_eq!(lost["data"]["account_id"], account.id.to_string());
    assert!(
        other_got.lock().unwrap().is_empty(),
        "subscribed to post.published only"
    );
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_on_after_its_attempts() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("dead").await;
    let tenant = t.store.tenant(ws);
    let (url, got) = receiver(vec![503, 503, 503, 503]).await;
    let hook = tenant
        .webhooks()
        .create(&url, &["approval.requested".into()], None)
        .await
        .unwrap();
    let draft: PostDraft = serde_json::from_value(json!({ "body": "x" })).unwrap();
    let post = tenant.posts().create(brand, None, draft).await.unwrap();
    tenant
        .posts()
        .transition(post.id, PostStatus::Draft, PostStatus::InReview, None, None)
        .await
        .unwrap();
    let s = sender();
    let dead = || async {
        let log = tenant.webhooks().deliveries(hook.webhook.id, 10).await.unwrap();
        log[0].status == "dead"
    };
    let started = Instant::now();
    while !dead().await {
        s.round(&t.store).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let log = tenant.webhooks().deliveries(hook.webhook.id, 10).await.unwrap();
    assert_eq!((log[0].attempts, log[0].last_status), (3, Some(503)));
    assert!(log[0].last_error.as_deref().unwrap().contains("503"));
    // Nothing more is sent once it is dead.
    s.round(&t.store).await.unwrap();
    assert_eq!(got.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn webhook_targets_are_checked_and_managed_by_admins_through_the_api() {
    let t = TestStore::new().await;
    let (ws, _) = t.workspace_with_brand("api").await;
    let tokens = [
        common::person_with_token(&t.store, ws, "admin@hooks.test", Role::Admin).await,
        common::person_with_token(&t.store, ws, "editor@hooks.test", Role::Editor).await,
    ];
    let (plugins, _) =
        chorus_core::plugins::PluginRegistry::load(chorus_tests::plugins::engine(), Default::default(), &[])
            .await
            .unwrap();
    let (listener, base) = common::loopback().await;
    common::serve_api(listener, &t.store, Arc::new(plugins), None, ApiSettings::default());
    let http = chorus_tests::http_client();
    let hooks = format!("{base}/api/v1/workspaces/{ws}/webhooks");
    let post = |token: &str, body: Value| http.post(&hooks).bearer_auth(token).json(&body).send();
    // Private, loopback and link-local targets, and plain http, are refused by default.
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://hooks.example.com/in",
    ] {
        let r = post(&tokens[0], json!({ "url": url, "events": ["post.published"] }))
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{url}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["field"], "url", "{url}: {p}");
    }
    let r = post(
        &tokens[0],
        json!({ "url": "https://hooks.example.com/in", "events": ["post.exploded"] }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let r = post(
        &tokens[1],
        json!({ "url": "https://hooks.example.com/in", "events": ["post.published"] }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "editors do not manage webhooks");
    let r = post(
        &tokens[0],
        json!({ "url": "https://hooks.example.com/in", "events": ["post.published"] }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let id = created["webhook"]["id"].as_str().unwrap();
    let listed: Value = http
        .get(&hooks)
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(secret), "the secret is shown once");
    let log = http
        .get(format!("{hooks}/{id}/deliveries"))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(log.status(), 200);
    let gone = http
        .delete(format!("{hooks}/{id}"))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
}
