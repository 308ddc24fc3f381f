//! One Chorus, accounts on several servers of a federated platform: a Mastodon post for
//! accounts on two servers publishes on each account's own server with its own token, in
//! the post's language; an account whose server the policy refuses fails as `denied`,
//! naming why, without a request leaving.

use chorus_core::delivery::EngineSettings;
use chorus_core::delivery::plan::{Planner, Target, When};
use chorus_core::domain::{DeliveryStatus, FailureKind, PostDraft};
use chorus_core::plugins::{PluginRegistry, PluginSettings};
use chorus_core::secrets::Credentials;
use chorus_core::store::{NewAccount, Store, Tenant};
use chorus_simulators::mastodon::MastodonFake;
use chorus_tests::TestStore;
use chorus_tests::queue::run_until_settled;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The bundled plugins, with accounts allowed on loopback servers when `loopback`.
async fn plugins(store: &Store, loopback: bool) -> Arc<PluginRegistry> {
    let settings = PluginSettings {
        loopback_account_servers: loopback,
        ..PluginSettings::default()
    };
    chorus_tests::queue::registry_with(store, settings).await
}

async fn connect(tenant: &Tenant<'_>, brand: Uuid, handle: &str, remote_id: &str, server: &str, token: &str) -> Uuid {
    tenant
        .accounts()
        .connect(NewAccount {
            api_base: Some(server.into()),
            brand_id: brand,
            platform: "mastodon".into(),
            handle: handle.into(),
            remote_id: remote_id.into(),
            display_name: None,
            timezone: "Europe/Stockholm".into(),
            scopes: vec!["write:statuses".into()],
            credentials: Credentials {
                access_token: token.into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
        })
        .await
        .unwrap()
        .id
}

fn quick() -> EngineSettings {
    EngineSettings {
        poll: Duration::from_millis(50),
        rescue_every: Duration::from_millis(200),
        ..EngineSettings::default()
    }
}

async fn publish_now(tenant: Tenant<'_>, plugins: &PluginRegistry, brand: Uuid, accounts: &[Uuid], text: &str) -> Uuid {
    let planner = Planner::new(tenant, plugins);
    let targets: Vec<Target> = accounts
        .iter()
        .map(|&account_id| Target {
            account_id,
            segment_id: None,
        })
        .collect();
    let draft = PostDraft {
        body: text.into(),
        locale: "sv-SE".into(),
        ..Default::default()
    };
    let planned = planner.compose(brand, None, draft, &targets).await.unwrap();
    planner.schedule(planned.post.id, When::Now, None).await.unwrap();
    planned.post.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_for_mastodon_accounts_on_two_servers_publishes_on_each_accounts_own_server() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("fediverse").await;
    let one = MastodonFake::start("one.social").await.unwrap();
    let two = MastodonFake::start("two.social").await.unwrap();
    // The same remote id on both servers: they are different accounts.
    one.grant("token-one", "1", "alice");
    two.grant("token-two", "1", "bob");
    let tenant = t.store.tenant(ws);
    let alice = connect(&tenant, brand, "alice", "1", &one.base_url, "token-one").await;
    let bob = connect(&tenant, brand, "bob", "1", &two.base_url, "token-two").await;
    let plugins = plugins(&t.store, true).await;

    let post = publish_now(t.store.tenant(ws), &plugins, brand, &[alice, bob], "Hej från Chorus").await;
    run_until_settled(&t.store, plugins.clone(), quick(), Duration::from_secs(60)).await;

    let deliveries = t.store.tenant(ws).deliveries().list_for_post(post).await.unwrap();
    for (account, server, token) in [(alice, &one, "token-one"), (bob, &two, "token-two")] {
        let statuses = server.statuses();
        assert_eq!(statuses.len(), 1, "one status on each server: {statuses:?}");
        let s = &statuses[0];
        assert_eq!(s.token, token, "each server saw only its own account's token");
        assert_eq!(s.text, "Hej från Chorus");
        assert_eq!(
            s.language.as_deref(),
            Some("sv"),
            "the post's language (contract 0.2.0)"
        );
        let d = deliveries.iter().find(|d| d.social_account_id == account).unwrap();
        assert_eq!(d.status, DeliveryStatus::Published, "{:?}", d.last_error);
        assert_eq!(d.remote_id.as_deref(), Some(s.id.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_on_a_server_the_policy_refuses_fails_as_denied_without_a_request() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("refused-server").await;
    let server = MastodonFake::start("local.social").await.unwrap();
    server.grant("token", "1", "carol");
    let tenant = t.store.tenant(ws);
    let carol = connect(&tenant, brand, "carol", "1", &server.base_url, "token").await;
    // The operator did not allow accounts on loopback servers.
    let plugins = plugins(&t.store, false).await;
    let post = publish_now(t.store.tenant(ws), &plugins, brand, &[carol], "Hello").await;
    run_until_settled(&t.store, plugins.clone(), quick(), Duration::from_secs(60)).await;
    let d = &t.store.tenant(ws).deliveries().list_for_post(post).await.unwrap()[0];
    assert_eq!(d.status, DeliveryStatus::Failed, "{:?}", d.last_error);
    assert_eq!(d.error_kind.as_deref(), Some(FailureKind::Denied.as_str()));
    let why = d.last_error.as_deref().unwrap_or_default();
    assert!(
        why.contains("plain http on loopback only where the operator allows it"),
        "{why}"
    );
    assert_eq!(server.faults.requests(), 0, "nothing reached the server");
}
