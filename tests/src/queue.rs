//! Deliveries in bulk for queue, engine and crash tests.

use chorus_core::secrets::Credentials;
use chorus_core::store::{NewAccount, NewDelivery, Store};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// `posts × accounts` deliveries of one brand, all due at `at`, each with a one-part
/// adaptation whose text is unique (`"{label} {post} for {account}"`), for `platform`.
/// Returns the accounts, whose X-style numeric remote ids and tokens a fake can grant.
pub async fn seed_due(
    store: &Store,
    workspace: Uuid,
    brand: Uuid,
    platform: &str,
    (posts, accounts): (usize, usize),
    at: DateTime<Utc>,
    label: &str,
) -> Vec<SeededAccount> {
    let tenant = store.tenant(workspace);
    let mut account_ids = Vec::with_capacity(accounts);
    let mut seeded = Vec::with_capacity(accounts);
    let base = 1_000_000
        * label
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)) % 1_000_000);
    for a in 0..accounts {
        let remote_id = (base + a as u64).to_string();
        let token = format!("token-{label}-{a}");
        let acc = tenant
            .accounts()
            .connect(NewAccount {
                api_base: None,
                brand_id: brand,
                platform: platform.into(),
                handle: format!("acct{a}"),
                remote_id: remote_id.clone(),
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
            .await
            .expect("connect account");
        account_ids.push(acc.id);
        seeded.push(SeededAccount {
            id: acc.id,
            handle: format!("acct{a}"),
            remote_id,
            token,
        });
    }
    let mut rows = Vec::with_capacity(posts * accounts);
    for p in 0..posts {
        let post = new_post(store, workspace, brand, &format!("{label} {p}")).await;
        for (a, &account) in account_ids.iter().enumerate() {
            rows.push(due_delivery(
                post,
                account,
                &format!("{label} {p} for {a}"),
                at,
                platform,
            ));
        }
    }
    tenant.deliveries().create_many(rows).await.expect("store deliveries");
    seeded
}

/// `n` more deliveries for an existing `account` of `brand`, due at `due`, with the texts
/// `"{label} {i}"`.
pub async fn add_due(
    store: &Store,
    workspace: Uuid,
    brand: Uuid,
    account: Uuid,
    n: usize,
    due: DateTime<Utc>,
    label: &str,
) {
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let text = format!("{label} {i}");
        let post = new_post(store, workspace, brand, &text).await;
        rows.push(due_delivery(post, account, &text, due, "x"));
    }
    store
        .tenant(workspace)
        .deliveries()
        .create_many(rows)
        .await
        .expect("store deliveries");
}

async fn new_post(store: &Store, workspace: Uuid, brand: Uuid, body: &str) -> Uuid {
    store
        .tenant(workspace)
        .posts()
        .create(
            brand,
            None,
            chorus_core::domain::PostDraft {
                body: body.to_owned(),
                locale: "en".into(),
                ..Default::default()
            },
        )
        .await
        .expect("create post")
        .id
}

/// A delivery of `text` as a one-part adaptation by `platform`'s plugin, due at `at`.
fn due_delivery(post: Uuid, account: Uuid, text: &str, at: DateTime<Utc>, platform: &str) -> NewDelivery {
    NewDelivery {
        post_id: post,
        account_id: account,
        adapted_text: Some(text.to_owned()),
        adaptation: Some(
            serde_json::json!({"text": text, "parts": [], "hashtags": [], "media": [],
                                            "targeting": null, "length": text.chars().count(), "warnings": []}),
        ),
        scheduled_at: Some(at),
        timezone: "UTC".into(),
        plugin: Some((platform.into(), "test".into())),
        ..Default::default()
    }
}

/// An account [`seed_due`] connected.
#[derive(Debug, Clone)]
pub struct SeededAccount {
    pub id: Uuid,
    pub handle: String,
    pub remote_id: String,
    pub token: String,
}

/// The bundled plugins, with `platform`'s API base pointed at a fake, keeping their
/// key-value data in `store` (as `chorus serve` does, so a publish's progress survives).
pub async fn registry(
    store: &Store,
    platform: &str,
    api_base: &str,
    limits: chorus_core::plugins::Limits,
) -> std::sync::Arc<chorus_core::plugins::PluginRegistry> {
    let mut settings = chorus_core::plugins::PluginSettings {
        limits,
        ..Default::default()
    };
    settings
        .api_bases
        .insert(platform.into(), url::Url::parse(api_base).expect("fake URL"));
    registry_with(store, settings).await
}

/// The bundled plugins with `settings`, their key-value store in `store`.
pub async fn registry_with(
    store: &Store,
    settings: chorus_core::plugins::PluginSettings,
) -> std::sync::Arc<chorus_core::plugins::PluginRegistry> {
    use chorus_core::plugins::{EngineSettings, PluginEngine, PluginRegistry};
    let engine = PluginEngine::new(EngineSettings {
        cache_dir: None,
        kv: std::sync::Arc::new(store.plugin_kv()),
    })
    .expect("plugin engine");
    let (reg, problems) = PluginRegistry::load(engine, settings, chorus_plugins_bundled::BUNDLED)
        .await
        .expect("load the bundled plugins");
    assert!(problems.is_empty(), "{problems:?}");
    std::sync::Arc::new(reg)
}

/// Runs an engine until every delivery of the database is in a final state (published,
/// failed, dead, cancelled) or `within` passes; returns the engine's figures.
pub async fn run_until_settled(
    store: &Store,
    plugins: std::sync::Arc<chorus_core::plugins::PluginRegistry>,
    settings: chorus_core::delivery::EngineSettings,
    within: std::time::Duration,
) -> std::sync::Arc<chorus_core::delivery::Stats> {
    let engine = chorus_core::delivery::Engine::new(store.clone(), plugins, settings);
    let stats = engine.stats();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(engine.run(rx));
    let deadline = std::time::Instant::now() + within;
    loop {
        let depth = store.queue().depth().await.expect("queue depth");
        let open: u64 = depth.iter().filter(|d| !d.status.is_terminal()).map(|d| d.count).sum();
        if open == 0 {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = stop.send(true);
            let _ = task.await;
            let mut open = Vec::new();
            for s in chorus_core::domain::DeliveryStatus::all().filter(|s| !s.is_terminal()) {
                for d in store.queue().in_state(s, 5).await.expect("open deliveries") {
                    open.push(format!(
                        "{} {} run_at {:?}: {:?}",
                        d.id, d.status, d.run_at, d.last_error
                    ));
                }
            }
            panic!("deliveries still open after {within:?}: {depth:?}\n{}", open.join("\n"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    task.await.expect("engine task");
    stats
}
