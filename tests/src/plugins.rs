//! Plugin fixtures: an engine with an in-memory key-value store, the test guests, and a
//! small loopback server for the sandbox's HTTP tests.

use chorus_core::plugins::{EngineSettings, Grant, Limits, Manifest, MemoryKv, Plugin, PluginEngine};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the build script put a test guest's manifest (with its component beside it).
pub fn guest_manifest(name: &str) -> PathBuf {
    PathBuf::from(env!("OUT_DIR")).join(name).join("plugin.toml")
}

/// A guest's manifest and component bytes.
pub fn guest(name: &str) -> (Manifest, Vec<u8>) {
    let path = guest_manifest(name);
    let manifest = Manifest::load(&path).expect("guest manifest");
    let bytes = std::fs::read(path.parent().unwrap().join(&manifest.component)).expect("guest component");
    (manifest, bytes)
}

/// An engine with an in-memory key-value store and no compile cache.
pub fn engine() -> PluginEngine {
    PluginEngine::new(EngineSettings {
        cache_dir: None,
        kv: Arc::new(MemoryKv::default()),
    })
    .expect("plugin engine")
}

/// The hostile guest, loaded with `limits`, its API base pointed at `api_base`.
pub async fn hostile(engine: &PluginEngine, api_base: Option<&str>, limits: Limits) -> Plugin {
    let (manifest, bytes) = guest("hostile");
    let grant = Grant::for_manifest(&manifest, None, api_base.map(|b| url::Url::parse(b).unwrap())).unwrap();
    engine
        .load(manifest, &bytes, true, grant, limits)
        .await
        .expect("load the hostile guest")
}

/// The bundled Mastodon plugin's manifest (sha256 filled) and component.
pub fn mastodon() -> (Manifest, &'static [u8]) {
    bundled("mastodon")
}

/// A bundled plugin's manifest (sha256 filled) and component, by id.
pub fn bundled(id: &str) -> (Manifest, &'static [u8]) {
    let b = chorus_plugins_bundled::BUNDLED
        .iter()
        .find(|b| b.manifest.contains(&format!("id = \"{id}\"")))
        .unwrap_or_else(|| panic!("no bundled plugin {id}"));
    let mut m = Manifest::from_toml(std::path::Path::new("plugin.toml"), b.manifest).unwrap();
    m.sha256 = Some(b.sha256.to_owned());
    (m, b.component)
}

/// A bundled plugin's `describe`, as the host reads it.
pub async fn bundled_description(id: &str) -> chorus_core::plugins::types::Description {
    let (manifest, bytes) = bundled(id);
    let grant = Grant::for_manifest(&manifest, None, None).unwrap();
    engine()
        .load(manifest, bytes, true, grant, Limits::default())
        .await
        .expect("load the bundled plugin")
        .description
}

/// A bundled plugin loaded with its API base pointed at `api_base` (a fake on loopback).
pub async fn load_bundled(engine: &PluginEngine, id: &str, api_base: &str, limits: Limits) -> Plugin {
    load_bundled_with_origins(engine, id, api_base, &[], limits).await
}

/// [`load_bundled`], with local stand-ins for declared hosts (`open-upload.tiktokapis.com`
/// → a fake's upload origin).
pub async fn load_bundled_with_origins(
    engine: &PluginEngine,
    id: &str,
    api_base: &str,
    origins: &[(&str, &str)],
    limits: Limits,
) -> Plugin {
    let (manifest, bytes) = bundled(id);
    let origins: Vec<(String, url::Url)> = origins
        .iter()
        .map(|(h, u)| (h.to_string(), url::Url::parse(u).unwrap()))
        .collect();
    let grant = Grant::for_manifest(&manifest, None, Some(url::Url::parse(api_base).unwrap()))
        .unwrap()
        .with_local_origins(&origins)
        .unwrap();
    engine
        .load(manifest, bytes, true, grant, limits)
        .await
        .unwrap_or_else(|e| panic!("load the bundled {id} plugin: {e}"))
}

/// Serves `router` on a free loopback port; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// Connects an account on `platform` for a new brand, with `token` sealed in the store, and
/// returns the account as plugins see it and an invocation carrying the token as the store
/// gives it back (so the test goes through the credential sealing).
pub async fn connected_account(
    t: &crate::TestStore,
    platform: &str,
    handle: &str,
    remote_id: &str,
    token: &str,
    scopes: &[&str],
) -> (chorus_core::plugins::types::Account, chorus_core::plugins::Invocation) {
    let (ws, brand) = t.workspace_with_brand(&format!("{platform}-{handle}")).await;
    let tenant = t.store.tenant(ws);
    let row = tenant
        .accounts()
        .connect(chorus_core::store::NewAccount {
            api_base: None,
            brand_id: brand,
            platform: platform.into(),
            handle: handle.into(),
            remote_id: remote_id.into(),
            display_name: None,
            timezone: "Europe/Stockholm".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            credentials: chorus_core::secrets::Credentials {
                access_token: token.into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
        })
        .await
        .expect("connect the account");
    let token = tenant
        .accounts()
        .credentials(row.id)
        .await
        .expect("open the sealed credentials")
        .access_token;
    (
        chorus_core::plugins::types::Account {
            id: row.id.to_string(),
            handle: row.handle,
            remote_id: row.remote_id,
            timezone: row.timezone,
        },
        chorus_core::plugins::Invocation {
            workspace: ws,
            token: Some(token),
            ..Default::default()
        },
    )
}

/// A call's result with the plugin's own typed error, or a panic if the host failed the
/// call for another reason (a trap, a limit): the e2e tests expect platform errors only.
pub fn plugin_result<T>(
    r: Result<T, chorus_core::plugins::CallError>,
) -> Result<T, chorus_core::plugins::types::PluginError> {
    r.map_err(|e| match e.kind {
        chorus_core::plugins::CallErrorKind::Plugin(pe) => pe,
        other => panic!("the host failed the call, not the plugin: {other:?}"),
    })
}

/// A platform plugin under test: the bundled component pointed at `fake` on loopback, and an
/// account connected in a fresh store with its token sealed (see [`connected_account`]).
pub struct Harness<F> {
    pub fake: F,
    pub plugin: Plugin,
    pub account: chorus_core::plugins::types::Account,
    pub inv: chorus_core::plugins::Invocation,
    _store: crate::TestStore,
}

impl<F> Harness<F> {
    /// `plugin` (a bundled id) against `api_base`, for the account `remote_id` holding
    /// `token` with `scopes`.
    pub async fn new(
        fake: F,
        plugin: &str,
        api_base: &str,
        remote_id: &str,
        token: &str,
        scopes: &[&str],
        limits: Limits,
    ) -> Self {
        Self::with_origins(fake, plugin, api_base, &[], remote_id, token, scopes, limits).await
    }

    /// [`Harness::new`] with local stand-ins for declared hosts.
    #[allow(clippy::too_many_arguments)]
    pub async fn with_origins(
        fake: F,
        plugin: &str,
        api_base: &str,
        origins: &[(&str, &str)],
        remote_id: &str,
        token: &str,
        scopes: &[&str],
        limits: Limits,
    ) -> Self {
        let store = crate::TestStore::new().await;
        let (account, inv) = connected_account(&store, plugin, "acme", remote_id, token, scopes).await;
        let plugin = load_bundled_with_origins(&engine(), plugin, api_base, origins, limits).await;
        Self {
            fake,
            plugin,
            account,
            inv,
            _store: store,
        }
    }

    /// `adapt` with no segment.
    pub async fn adapt(&self, post: &chorus_core::plugins::types::Post) -> chorus_core::plugins::types::Adapted {
        self.adapt_for(post, None).await
    }

    pub async fn adapt_for(
        &self,
        post: &chorus_core::plugins::types::Post,
        segment: Option<&chorus_core::plugins::types::Segment>,
    ) -> chorus_core::plugins::types::Adapted {
        self.plugin
            .adapt(post, segment, &self.account, &self.inv)
            .await
            .expect("adapt")
    }

    pub async fn publish(
        &self,
        adapted: &chorus_core::plugins::types::Adapted,
    ) -> Result<chorus_core::plugins::types::Published, chorus_core::plugins::types::PluginError> {
        plugin_result(self.plugin.publish(adapted, "marker-1", &self.account, &self.inv).await)
    }

    pub async fn find_published(
        &self,
        adapted: &chorus_core::plugins::types::Adapted,
    ) -> Result<Option<chorus_core::plugins::types::Published>, chorus_core::plugins::types::PluginError> {
        plugin_result(
            self.plugin
                .find_published("marker-1", adapted, &self.account, &self.inv)
                .await,
        )
    }

    pub async fn fetch_metrics(
        &self,
        ids: &[String],
    ) -> Result<Vec<chorus_core::plugins::types::Metrics>, chorus_core::plugins::types::PluginError> {
        plugin_result(self.plugin.fetch_metrics(ids, &self.account, &self.inv).await)
    }
}

/// What a plugin's `adapt` would return for `text` alone: the input the hostile guest's
/// `publish` reads its instructions from.
pub fn adapted(text: &str) -> chorus_core::plugins::types::Adapted {
    chorus_core::plugins::types::Adapted {
        fields: vec![],
        extras: vec![],
        languages: vec![],
        text: text.into(),
        parts: vec![],
        hashtags: vec![],
        media: vec![],
        targeting: None,
        length: 0,
        warnings: vec![],
    }
}

/// The account the sandbox tests publish as.
pub fn test_account() -> chorus_core::plugins::types::Account {
    chorus_core::plugins::types::Account {
        id: "a".into(),
        handle: "acme".into(),
        remote_id: "1".into(),
        timezone: "UTC".into(),
    }
}

/// A post with only text.
pub fn text_post(body: &str) -> chorus_core::plugins::types::Post {
    chorus_core::plugins::types::Post {
        options: vec![],
        title: None,
        id: "p1".into(),
        body: body.into(),
        link: None,
        hashtags: vec![],
        locale: "en".into(),
        media: vec![],
    }
}
