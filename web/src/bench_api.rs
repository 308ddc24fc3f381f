//! `chorus bench api`: the REST API under concurrent load on loopback, on a scratch SQLite
//! database. A brand with many posts spread over a year; the calendar's month view read by
//! many connections at once, and previews (the composer's call on every keystroke) by
//! fewer; both beside `/healthz` under the same load, the baseline of the same run (the
//! server, the HTTP stack and the load generator share the machine's cores).

use crate::api::ApiSettings;
use crate::server::{AppState, router_with};
use chorus_core::domain::{PostDraft, Role};
use chorus_core::plugins::{PluginRegistry, PluginSettings};
use chorus_core::secrets::Credentials;
use chorus_core::store::{NewAccount, NewDelivery, NewToken, NewUser};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct ApiArgs {
    pub posts: usize,
    pub requests: usize,
    pub calendar_connections: usize,
    pub preview_connections: usize,
}

struct Figures {
    p50: Duration,
    p99: Duration,
    max: Duration,
    per_second: f64,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `requests` requests over `connections` concurrent connections; every answer must be 200.
async fn load(
    label: &str,
    connections: usize,
    requests: usize,
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> anyhow::Result<Figures> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()?;
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, make, next) = (client.clone(), make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                let r = make(&client).send().await?;
                let status = r.status();
                let body = r.bytes().await?;
                anyhow::ensure!(status == 200, "answered {status}: {}", String::from_utf8_lossy(&body));
                times.push(t.elapsed());
            }
            anyhow::Ok(times)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() - 1) as f64 * p).round() as usize];
    let f = Figures {
        p50: pct(0.50),
        p99: pct(0.99),
        max: *all.last().unwrap_or(&Duration::ZERO),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
    };
    println!(
        "  {label:<34} p50 {:>9}  p99 {:>9}  max {:>9}  {:>7.0} requests/s",
        ms(f.p50),
        ms(f.p99),
        ms(f.max),
        f.per_second
    );
    Ok(f)
}

pub async fn run(a: ApiArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir()?;
    let (store, ws, brand) = crate::bench_media::scratch_brand(dir.path()).await?;
    let t = store.tenant(ws);
    let engine = chorus_core::plugins::PluginEngine::new(chorus_core::plugins::EngineSettings {
        cache_dir: None,
        kv: Arc::new(store.plugin_kv()),
    })?;
    let (plugins, problems) =
        PluginRegistry::load(engine, PluginSettings::default(), chorus_plugins_bundled::BUNDLED).await?;
    anyhow::ensure!(problems.is_empty(), "plugins did not load: {problems:?}");
    let account = t
        .accounts()
        .connect(NewAccount {
            brand_id: brand.id,
            platform: "x".into(),
            handle: "bench".into(),
            remote_id: "1".into(),
            display_name: None,
            timezone: "UTC".into(),
            scopes: vec![],
            credentials: Credentials {
                access_token: "t".into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
            api_base: None,
        })
        .await?;

    // The brand's posts, one delivery each, spread evenly over 2027.
    let seeding = Instant::now();
    let year = Utc
        .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid instant");
    let step = chrono::Duration::seconds(365 * 24 * 3600 / a.posts.max(1) as i64);
    let mut rows = Vec::with_capacity(a.posts);
    for i in 0..a.posts {
        let post = t
            .posts()
            .create(
                brand.id,
                None,
                PostDraft {
                    body: format!("Bench post {i}: the winter menu, the spring launch, the summer sale"),
                    locale: "en".into(),
                    ..Default::default()
                },
            )
            .await?;
        let text = format!("Bench post {i}");
        rows.push(NewDelivery {
            post_id: post.id,
            account_id: account.id,
            adaptation: Some(
                serde_json::json!({"text": text, "parts": [], "hashtags": [], "media": [],
                "targeting": null, "length": text.len(), "warnings": []}),
            ),
            adapted_text: Some(text),
            scheduled_at: Some(year + step * i as i32),
            timezone: "Europe/Stockholm".into(),
            ..Default::default()
        });
    }
    t.deliveries().create_many(rows).await?;
    let user = store
        .users()
        .create(NewUser {
            email: "bench@example.com".into(),
            display_name: "Bench".into(),
        })
        .await?;
    t.memberships().grant(user.id, None, Role::Owner).await?;
    let token = t
        .api_tokens()
        .issue(NewToken {
            user_id: user.id,
            name: "bench".into(),
            role: Role::Owner,
            brand_id: None,
            expires_at: None,
        })
        .await?
        .secret;
    println!(
        "chorus bench api: {} posts of one brand over 2027 (seeded in {:.1} s), SQLite, {} requests per figure",
        a.posts,
        seeding.elapsed().as_secs_f64(),
        a.requests
    );

    let plugins = Arc::new(plugins);
    let app = router_with(
        AppState {
            store: store.clone(),
            plugins: plugins.clone(),
            started: Instant::now(),
            stats: None,
            media: None,
        },
        crate::api::Api::new(store.clone(), plugins, None, ApiSettings::default()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let listener = crate::cli::no_delay(listener);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let month = format!(
        "{base}/api/v1/workspaces/{ws}/calendar?brand={}&from=2027-03-01%2000:00&to=2027-04-01%2000:00&timezone=Europe/Stockholm",
        brand.id
    );
    // How many a month view holds, checked once.
    let sample: serde_json::Value = reqwest::Client::new()
        .get(&month)
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let in_month = sample["entries"].as_array().map_or(0, |e| e.len());
    anyhow::ensure!(in_month > 0, "the month view is empty: {sample}");
    let preview = serde_json::json!({
        "brand_id": brand.id,
        "body": "Fika is a Swedish habit: a pause with coffee and something sweet, with colleagues or friends. ".repeat(4),
        "link": "https://example.com/fika",
        "hashtags": ["fika", "coffee"],
        "targets": [{ "account_id": account.id }],
    });

    let health = format!("{base}/healthz");
    let c = a.calendar_connections;
    println!("  at {c} connections:");
    let h = load("GET /healthz (baseline)", c, a.requests, move |http| http.get(&health)).await?;
    let tok = token.clone();
    let cal = load(
        &format!("calendar month ({in_month} entries)"),
        c,
        a.requests,
        move |http| http.get(&month).bearer_auth(&tok),
    )
    .await?;
    let p = a.preview_connections;
    println!("  at {p} connections:");
    let health = format!("{base}/healthz");
    let h2 = load("GET /healthz (baseline)", p, a.requests, move |http| http.get(&health)).await?;
    let url = format!("{base}/api/v1/workspaces/{ws}/previews");
    let tok = token.clone();
    let pre = load("preview (X, a 4-part thread)", p, a.requests, move |http| {
        http.post(&url).bearer_auth(&tok).json(&preview)
    })
    .await?;
    println!(
        "calendar p99 {} ({:.1}× the baseline's; target ≤ 50 ms at 200 connections), preview p99 {} ({:.1}×; target ≤ 20 ms at 50)",
        ms(cal.p99),
        cal.p99.as_secs_f64() / h.p99.as_secs_f64().max(1e-9),
        ms(pre.p99),
        pre.p99.as_secs_f64() / h2.p99.as_secs_f64().max(1e-9),
    );
    let _ = store.close().await;
    Ok(())
}
