//! Deliveries in bulk for queue, engine and crash tests.

use chorus_core::secrets::Credentials;
use chorus_core::store::{NewAccount, NewDelivery, Store};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// `posts × accounts` deliveries of one brand, all due at `at`, each with a one-part
/// adaptation whose text is unique (`"{label} {post} for {account}"`), for `platform`.
/// Returns the account ids.
pub async fn seed_due(
    store: &Store,
    workspace: Uuid,
    brand: Uuid,
    platform: &str,
    (posts, accounts): (usize, usize),
    at: DateTime<Utc>,
    label: &str,
) -> Vec<Uuid> {
    let tenant = store.tenant(workspace);
    let mut account_ids = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let acc = tenant
            .accounts()
            .connect(NewAccount {
                brand_id: brand,
                platform: platform.into(),
                handle: format!("acct{a}"),
                remote_id: format!("{label}-{a}"),
                display_name: None,
                timezone: "UTC".into(),
                scopes: vec![],
                credentials: Credentials {
                    access_token: format!("token-{a}"),
                    refresh_token: None,
                    expires_at: None,
                },
            })
            .await
            .expect("connect account");
        account_ids.push(acc.id);
    }
    let mut rows = Vec::with_capacity(posts * accounts);
    for p in 0..posts {
        let post = tenant
            .posts()
            .create(
                brand,
                None,
                chorus_core::domain::PostDraft {
                    body: format!("{label} {p}"),
                    locale: "en".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("create post");
        for (a, &account) in account_ids.iter().enumerate() {
            let text = format!("{label} {p} for {a}");
            rows.push(NewDelivery {
                post_id: post.id,
                account_id: account,
                adapted_text: Some(text.clone()),
                adaptation: Some(serde_json::json!({"text": text, "parts": [], "hashtags": [], "media": [],
                                                    "targeting": null, "length": text.chars().count(), "warnings": []})),
                scheduled_at: Some(at),
                timezone: "UTC".into(),
                plugin: Some((platform.into(), "test".into())),
                ..Default::default()
            });
        }
    }
    tenant.deliveries().create_many(rows).await.expect("store deliveries");
    account_ids
}
