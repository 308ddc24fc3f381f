//! `chorus bench dispatch`: deliveries per second end to end (claim → the X plugin's
//! `publish` in the sandbox → HTTP to the X simulator on loopback → ack), lateness, and the
//! ratio to a bare claim/ack loop on the same database in the same run. Run it on a
//! release build: `cargo run --release -- bench dispatch`.

use anyhow::Context;
use chorus_core::delivery::{Engine, EngineSettings};
use chorus_core::domain::{DeliveryStatus, PostDraft, WorkspaceKind};
use chorus_core::plugins::{EngineSettings as PluginEngineSettings, PluginEngine, PluginRegistry, PluginSettings};
use chorus_core::secrets::{Credentials, SecretKey};
use chorus_core::store::{
    DatabaseKind, NewAccount, NewBrand, NewDelivery, NewWorkspace, PublishedPost, ScratchDatabase, Store,
};
use chorus_simulators::FaultMix;
use chorus_simulators::x::XFake;
use chrono::Utc;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

pub struct DispatchArgs {
    pub deliveries: usize,
    pub accounts: usize,
    pub platform_latency: Duration,
    pub database_url: Option<String>,
    /// Deliveries due per second, spread from a few seconds after the start (0: all due at
    /// once), to measure lateness under a steady load.
    pub rate: u32,
}

pub async fn run(a: DispatchArgs) -> anyhow::Result<()> {
    // PostgreSQL: a scratch database on the given server, dropped afterwards, so runs
    // neither leave 40,000 rows behind nor measure the ones earlier runs left.
    if let Some(admin) = a
        .database_url
        .as_deref()
        .filter(|u| DatabaseKind::of(u) == Some(DatabaseKind::Postgres))
    {
        let scratch = ScratchDatabase::create(admin, "chorus_bench")
            .await
            .context("bench dispatch measures in a database of its own: give a role that may CREATE DATABASE")?;
        let result = measure(&a, &scratch.url).await;
        if let Err(e) = scratch.drop().await {
            eprintln!("warning: the scratch database was not dropped: {e}");
        }
        return result;
    }
    let dir = std::env::temp_dir().join(format!("chorus-bench-dispatch-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let url = a
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let result = measure(&a, &url).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(a: &DispatchArgs, url: &str) -> anyhow::Result<()> {
    let url = url.to_owned();
    let store = Store::open(&url, SecretKey::generate()).await?;
    let accounts = a.accounts.clamp(1, a.deliveries.max(1));
    let posts = a.deliveries.div_ceil(accounts);
    let n = posts * accounts;
    println!(
        "chorus bench dispatch: {n} deliveries over {accounts} accounts, platform latency {:?}, database {}",
        a.platform_latency,
        chorus_core::store::redact_url(&url)
    );

    // The simulator and the plugins first: a run the platform's budget would stall is
    // refused before anything is measured.
    let x = XFake::start().await?;
    x.set_post_limit(u32::MAX);
    if !a.platform_latency.is_zero() {
        x.faults.randomly(
            FaultMix {
                timeouts: 1.0,
                slow: a.platform_latency,
                ..FaultMix::default()
            },
            1,
        );
    }
    let plugins = registry(&store, &x.base_url).await?;
    // Over a budget the engine delays deliveries (as it should), and the run would wait
    // out the platform's window: refuse such a run instead.
    if let Some(plugin) = plugins.for_platform("x", None) {
        for b in &plugin.description.publish_budgets {
            anyhow::ensure!(
                posts <= b.max_posts as usize,
                "{posts} deliveries per account exceed X's publish budget of {} per {} s, which the \
                 engine honours by waiting; give more accounts (--accounts {} or more)",
                b.max_posts,
                b.window_seconds,
                n.div_ceil(b.max_posts as usize)
            );
        }
    }
    // The baseline: the queue alone, claiming and acknowledging without a plugin.
    seed(&store, "baseline", posts, accounts, None, Utc::now(), 0).await?;
    // What the leader does every few minutes on a running server.
    store.queue().maintain_tables().await?;
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let claims = store
            .queue()
            .claim("bench", 64, Duration::from_secs(30), Utc::now())
            .await?;
        anyhow::ensure!(!claims.is_empty(), "the baseline ran dry at {done} of {n}");
        for c in claims {
            let post = PublishedPost {
                remote_id: c.delivery.id.to_string(),
                remote_url: None,
                extra_ids: vec![],
            };
            store.queue().complete(&c, post).await?;
            done += 1;
        }
        progress("baseline claim/ack", done, n, started);
    }
    let bare = n as f64 / started.elapsed().as_secs_f64();
    println!();

    // End to end, through the engine, the plugin and HTTP.
    // With a rate, the first delivery is due a few seconds from now (after the plugins load).
    let first_due = Utc::now() + chrono::Duration::seconds(if a.rate > 0 { 5 } else { 0 });
    seed(&store, "dispatch", posts, accounts, Some(&x), first_due, a.rate).await?;
    store.queue().maintain_tables().await?;
    let engine = Engine::new(store.clone(), plugins, EngineSettings::default());
    let stats = engine.stats();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(engine.run(rx));
    // Looked at every 5 ms (a run of two seconds read to the nearest 100 ms was 5 % off),
    // drawn every 100 ms.
    let mut drawn = Instant::now();
    let mut first = None;
    loop {
        let published = stats.published.load(Relaxed) as usize;
        if published > 0 && first.is_none() {
            first = Some(started.elapsed());
        }
        if published >= n {
            progress("end to end", published, n, started);
            break;
        }
        if drawn.elapsed() >= Duration::from_millis(100) {
            progress("end to end", published, n, started);
            drawn = Instant::now();
        }
        let failed = stats.failed.load(Relaxed) + stats.dead.load(Relaxed);
        anyhow::ensure!(failed == 0, "{failed} deliveries failed; see the log");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    let _ = task.await;
    println!();
    let e2e = n as f64 / elapsed.as_secs_f64();
    let posted = x.tweets().len();
    anyhow::ensure!(posted == n, "the simulator holds {posted} posts for {n} deliveries");
    let p = |q| stats.lateness_ms(q).unwrap_or(0);
    println!("  bare claim/ack          {bare:>10.0} deliveries/s");
    println!(
        "  end to end              {e2e:>10.0} deliveries/s   ({:.2}× the bare loop; {n} published in {:.2} s)",
        e2e / bare,
        elapsed.as_secs_f64()
    );
    let load = if a.rate > 0 {
        format!("{} due per second", a.rate)
    } else {
        "all due at the start".to_owned()
    };
    println!(
        "  lateness                p50 {} ms, p99 {} ms, max {} ms ({load})",
        p(0.5),
        p(0.99),
        p(1.0)
    );
    if let Some(first) = first {
        println!(
            "  first published after   {} ms (the engine's start included)",
            first.as_millis()
        );
    }
    let depth = store.queue().depth().await?;
    let published = depth
        .iter()
        .find(|d| d.status == DeliveryStatus::Published)
        .map_or(0, |d| d.count);
    println!("  published in the database: {published} (baseline included); on the simulator: {posted}");
    store.close().await?;
    Ok(())
}

/// A one-line bar that redraws itself.
fn progress(what: &str, done: usize, n: usize, started: Instant) {
    let width = 30;
    let filled = (done * width).checked_div(n).unwrap_or(width);
    print!(
        "\r  {what:<20} [{}{}] {done}/{n} {:.1} s",
        "█".repeat(filled),
        "·".repeat(width - filled),
        started.elapsed().as_secs_f64()
    );
    let _ = std::io::stdout().flush();
}

/// A workspace with `accounts` X accounts and `posts` posts, each post due now on every
/// account. With a simulator, its tokens are granted there.
async fn seed(
    store: &Store,
    slug: &str,
    posts: usize,
    accounts: usize,
    x: Option<&XFake>,
    first_due: chrono::DateTime<Utc>,
    rate: u32,
) -> anyhow::Result<(uuid::Uuid, Vec<String>)> {
    let ws = store
        .workspaces()
        .create(NewWorkspace {
            slug: format!("bench-{slug}-{}", uuid::Uuid::now_v7().simple()),
            name: format!("bench {slug}"),
            kind: WorkspaceKind::Company,
        })
        .await?;
    let tenant = store.tenant(ws.id);
    let brand = tenant
        .brands()
        .create(NewBrand {
            slug: "bench".into(),
            name: "Bench".into(),
            timezone: "UTC".into(),
        })
        .await?;
    let mut ids = Vec::with_capacity(accounts);
    let mut tokens = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let token = format!("bench-{slug}-{a}");
        let remote_id = format!("{}", 7_000_000 + a);
        if let Some(x) = x {
            x.grant(
                &token,
                &remote_id,
                &format!("bench{a}"),
                &["tweet.read", "tweet.write", "users.read"],
            );
        }
        let acc = tenant
            .accounts()
            .connect(NewAccount {
                api_base: None,
                brand_id: brand.id,
                platform: "x".into(),
                handle: format!("bench{a}"),
                remote_id,
                display_name: None,
                timezone: "UTC".into(),
                scopes: vec![],
                credentials: Credentials {
                    access_token: token.clone(),
                    refresh_token: None,
                    expires_at: None,
                    app_password: None,
                },
            })
            .await?;
        ids.push(acc.id);
        tokens.push(token);
    }
    // Delivery i is due at first_due + i / rate (all at first_due without a rate).
    let due = |i: usize| match rate {
        0 => first_due,
        r => first_due + chrono::Duration::microseconds((i as i64 * 1_000_000) / i64::from(r)),
    };
    let mut rows = Vec::with_capacity(posts * accounts);
    for p in 0..posts {
        let post = tenant
            .posts()
            .create(
                brand.id,
                None,
                PostDraft {
                    body: format!("bench post {p}"),
                    locale: "en".into(),
                    ..Default::default()
                },
            )
            .await?;
        for (a, &account) in ids.iter().enumerate() {
            let text = format!("Bench post {p} for account {a}");
            rows.push(NewDelivery {
                post_id: post.id,
                account_id: account,
                adaptation: Some(
                    serde_json::json!({"text": text, "parts": [], "hashtags": [], "media": [],
                                                    "targeting": null, "length": text.len(), "warnings": []}),
                ),
                adapted_text: Some(text),
                scheduled_at: Some(due(p * accounts + a)),
                timezone: "UTC".into(),
                ..Default::default()
            });
        }
    }
    tenant.deliveries().create_many(rows).await?;
    Ok((ws.id, tokens))
}

async fn registry(store: &Store, api_base: &str) -> anyhow::Result<Arc<PluginRegistry>> {
    let engine = PluginEngine::new(PluginEngineSettings {
        cache_dir: None,
        kv: Arc::new(store.plugin_kv()),
    })?;
    let mut settings = PluginSettings::default();
    settings.api_bases.insert("x".into(), url::Url::parse(api_base)?);
    let (reg, problems) = PluginRegistry::load(engine, settings, chorus_plugins_bundled::BUNDLED).await?;
    anyhow::ensure!(problems.is_empty(), "plugins failed to load: {problems:?}");
    Ok(Arc::new(reg))
}
