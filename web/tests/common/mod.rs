//! What the media-platform tests share: Chorus's media library with its signed-URL route
//! served on loopback, where the platform fakes fetch media from (as the real platforms
//! fetch from `chorus serve`), and a plugin under test with that library beside it.

// Each test binary uses part of this module.
#![allow(dead_code)]

use chorus::server::{AppState, router};
use chorus_core::media::{MediaLibrary, MediaStorage, UrlSigner};
use chorus_core::plugins::types::{Adapted, MediaRef, PluginError, Post, Published};
use chorus_core::plugins::{Invocation, PluginRegistry};
use chorus_core::secrets::SecretKey;
use chorus_core::store::Store;
use chorus_core::store::entity::media_asset;
use chorus_tests::TestStore;
use chorus_tests::plugins::Harness;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A media library whose `/media/…` route is served on a loopback port.
pub struct MediaHost {
    pub library: MediaLibrary,
    /// The route's base URL (`http://127.0.0.1:PORT`).
    pub public: String,
    pub dir: tempfile::TempDir,
    store: Store,
}

impl MediaHost {
    /// Serves the library (files under a temporary directory) with `store` and `plugins`.
    pub async fn start(store: &Store, plugins: Option<Arc<PluginRegistry>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public = format!("http://{}", listener.local_addr().unwrap());
        let library = MediaLibrary::new(
            MediaStorage::local(&dir.path().join("media")).unwrap(),
            Some(UrlSigner::new(&SecretKey::generate(), &public)),
        );
        let plugins = match plugins {
            Some(p) => p,
            None => Arc::new(
                PluginRegistry::load(chorus_tests::plugins::engine(), Default::default(), &[])
                    .await
                    .unwrap()
                    .0,
            ),
        };
        let app = router(AppState {
            store: store.clone(),
            plugins,
            started: Instant::now(),
            stats: None,
            media: Some(library.clone()),
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            library,
            public,
            dir,
            store: store.clone(),
        }
    }

    /// Adds `bytes` as a file of `brand`; the asset and its `MediaRef` as plugins see it
    /// in `adapt` (no URL).
    pub async fn add(
        &self,
        ws: Uuid,
        brand: Uuid,
        name: &str,
        bytes: &[u8],
        alt: Option<&str>,
    ) -> (media_asset::Model, MediaRef) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let tenant = self.store.tenant(ws);
        let a = self
            .library
            .add_file(&tenant, brand, &path, alt.map(str::to_owned))
            .await
            .unwrap();
        let r = MediaRef::from(&a);
        (a, r)
    }

    /// `inv` as an attempt makes it: signed URLs valid for `lifetime`, and the bytes.
    pub fn invocation(
        &self,
        inv: &Invocation,
        assets: &[media_asset::Model],
        refs: &[MediaRef],
        lifetime: Duration,
    ) -> Invocation {
        let mut inv = inv.clone();
        inv.media_refs = self.library.with_urls(refs.to_vec(), lifetime);
        inv.media = Some(self.library.source(assets));
        inv
    }
}

/// A post of `body` with `media` and the options `options`.
pub fn post_with(body: &str, media: &[MediaRef], options: &[(&str, &str)]) -> Post {
    let mut p = chorus_tests::plugins::text_post(body);
    p.media = media.to_vec();
    p.options = options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    p
}

/// A platform plugin under test (its bundled component against its fake) with Chorus's media
/// library beside it, in a brand of its own.
pub struct MediaSetup<F> {
    pub h: Harness<F>,
    pub media: MediaHost,
    pub ws: Uuid,
    pub brand: Uuid,
    _store: TestStore,
}

impl<F> MediaSetup<F> {
    pub async fn new(h: Harness<F>) -> Self {
        let store = TestStore::new().await;
        let (ws, brand) = store.workspace_with_brand("media-setup").await;
        let media = MediaHost::start(&store.store, None).await;
        Self {
            h,
            media,
            ws,
            brand,
            _store: store,
        }
    }

    /// Adds a file to the library; its `MediaRef` as plugins see it (no URL yet).
    pub async fn add(&self, name: &str, bytes: &[u8], alt: Option<&str>) -> (media_asset::Model, MediaRef) {
        self.media.add(self.ws, self.brand, name, bytes, alt).await
    }

    /// The invocation an attempt would make: signed URLs valid for `lifetime`, and the bytes.
    pub fn with_media(&self, assets: &[media_asset::Model], refs: &[MediaRef], lifetime: Duration) -> Invocation {
        self.media.invocation(&self.h.inv, assets, refs, lifetime)
    }

    /// `publish` with `assets` as an attempt hands them over (URLs valid ten minutes).
    pub async fn publish_with(
        &self,
        adapted: &Adapted,
        assets: &[media_asset::Model],
        refs: &[MediaRef],
        marker: &str,
    ) -> Result<Published, PluginError> {
        let inv = self.with_media(assets, refs, Duration::from_secs(600));
        self.publish_inv(adapted, &inv, marker).await
    }

    /// `publish` with the invocation `inv`.
    pub async fn publish_inv(
        &self,
        adapted: &Adapted,
        inv: &Invocation,
        marker: &str,
    ) -> Result<Published, PluginError> {
        chorus_tests::plugins::plugin_result(self.h.plugin.publish(adapted, marker, &self.h.account, inv).await)
    }

    /// `adapt` that the plugin refuses: its error.
    pub async fn adapt_err(&self, post: &Post) -> PluginError {
        chorus_tests::plugins::plugin_result(self.h.plugin.adapt(post, None, &self.h.account, &self.h.inv).await)
            .unwrap_err()
    }
}

/// A free loopback port, bound, and its base URL (`http://127.0.0.1:PORT`).
pub async fn loopback() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

/// Serves what `chorus serve` serves (health, media, the REST API) for `store` on
/// `listener`, with the peer address the sign-in limit reads.
pub fn serve_api(
    listener: tokio::net::TcpListener,
    store: &Store,
    plugins: Arc<PluginRegistry>,
    media: Option<MediaLibrary>,
    settings: chorus::api::ApiSettings,
) {
    let app = chorus::server::router_with(
        AppState {
            store: store.clone(),
            plugins: plugins.clone(),
            started: Instant::now(),
            stats: None,
            media: media.clone(),
        },
        chorus::api::Api::new(store.clone(), plugins, media, settings),
    );
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
}

/// A person with `role` over the workspace and an API token acting as them (with that
/// role); answers the token.
pub async fn person_with_token(store: &Store, ws: Uuid, email: &str, role: chorus_core::domain::Role) -> String {
    let u = store
        .users()
        .create(chorus_core::store::NewUser {
            email: email.into(),
            display_name: email.into(),
        })
        .await
        .unwrap();
    store.tenant(ws).memberships().grant(u.id, None, role).await.unwrap();
    store
        .tenant(ws)
        .api_tokens()
        .issue(chorus_core::store::NewToken {
            user_id: u.id,
            name: "test".into(),
            role,
            brand_id: None,
            expires_at: None,
        })
        .await
        .unwrap()
        .secret
}

/// A browser signed in to `chorus serve --demo` as one of its people, with the password that
/// start logged (JSON logs): its session cookie and CSRF token.
pub async fn demo_sign_in(base: &str, log: &[String], email: &str) -> (String, String) {
    let line = log
        .iter()
        .find(|l| l.contains("demo: sign in") && l.contains(email))
        .unwrap_or_else(|| panic!("no sign-in line for {email}: {}", log.join("\n")));
    let fields = serde_json::from_str::<serde_json::Value>(line).unwrap();
    let r = chorus_tests::http_client()
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "email": email, "password": fields["password"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{line}");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = r.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}
