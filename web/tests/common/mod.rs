//! What the media-platform tests share: Chorus's media library with its signed-URL route
//! served on loopback, where the platform fakes fetch media from (as the real platforms
//! fetch from `chorus serve`).

use chorus::server::{AppState, router};
use chorus_core::media::{MediaLibrary, MediaStorage, UrlSigner};
use chorus_core::plugins::types::{MediaRef, Post};
use chorus_core::plugins::{Invocation, PluginRegistry};
use chorus_core::secrets::SecretKey;
use chorus_core::store::Store;
use chorus_core::store::entity::media_asset;
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
