//! Connecting accounts through the REST API with OAuth 2's authorization-code flow, against
//! the strict fakes of X (PKCE, HTTP Basic), TikTok (`client_key`, scopes joined by commas,
//! credentials in the body) and Pinterest (HTTP Basic only), over real HTTP on loopback, on
//! SQLite and PostgreSQL: the authorize URL says what each platform wants, the fake sends the
//! browser back with a code, the callback redeems it once and seals the tokens; a spent,
//! forged or declined sign-in connects nothing, and the database holds no token in plaintext.

mod common;

use chorus::api::ApiSettings;
use chorus_core::domain::{AccountStatus, Role};
use chorus_core::oauth::{OAuthClient, OAuthClients};
use chorus_core::store::identity::secret_digest;
use chorus_simulators::oauth::TokenEndpoint;
use chorus_simulators::pinterest::PinterestFake;
use chorus_simulators::tiktok::TikTokFake;
use chorus_simulators::x::XFake;
use chorus_tests::TestStore;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

struct Hub {
    t: TestStore,
    base: String,
    http: Client,
    ws: Uuid,
    brand: Uuid,
    owner: String,
    editor: String,
}

/// One platform's fake and where its OAuth endpoints are.
struct Platform {
    id: &'static str,
    base_url: String,
    authorize_path: &'static str,
    token_path: &'static str,
    endpoint: TokenEndpoint,
    /// What the authorize URL must carry.
    id_field: &'static str,
    scope_separator: char,
    pkce: bool,
}

const SECRET: &str = "app-secret";

impl Hub {
    async fn start(platforms: &[&Platform]) -> Hub {
        let t = TestStore::new().await;
        let (ws, brand) = t.workspace_with_brand("acme").await;
        let (plugins, _) = chorus_core::plugins::PluginRegistry::load(
            chorus_tests::plugins::engine(),
            Default::default(),
            chorus_plugins_bundled::BUNDLED,
        )
        .await
        .unwrap();
        let plugins = std::sync::Arc::new(plugins);
        let (listener, base) = common::loopback().await;
        let mut clients: OAuthClients = BTreeMap::new();
        for p in platforms {
            let client_id = format!("{}-app", p.id);
            p.endpoint.register_client(&client_id, Some(SECRET));
            p.endpoint
                .register_redirect_uri(&format!("{base}/api/v1/oauth/callback"));
            clients.insert(
                p.id.to_owned(),
                OAuthClient {
                    client_id,
                    client_secret: Some(SECRET.into()),
                    token_url: Some(url::Url::parse(&format!("{}{}", p.base_url, p.token_path)).unwrap()),
                    authorize_url: Some(url::Url::parse(&format!("{}{}", p.base_url, p.authorize_path)).unwrap()),
                },
            );
        }
        let settings = ApiSettings {
            public_base: base.clone(),
            oauth_clients: clients,
            ..ApiSettings::default()
        };
        common::serve_api(listener, &t.store, plugins, None, settings);
        let owner = common::person_with_token(&t.store, ws, "owner@acme.test", Role::Owner).await;
        let editor = common::person_with_token(&t.store, ws, "editor@acme.test", Role::Editor).await;
        Hub {
            t,
            base,
            http: chorus_tests::http_client(),
            ws,
            brand,
            owner,
            editor,
        }
    }

    /// Starts connecting; answers the status and body.
    async fn connect(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!(
                "{}/api/v1/workspaces/{}/brands/{}/connections",
                self.base, self.ws, self.brand
            ))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// What the browser does: visit the authorize URL, then follow the platform's redirect
    /// to Chorus's callback. Answers the redirect's URL and the callback's status and body.
    async fn sign_in_at_platform(&self, authorize_url: &str) -> (url::Url, StatusCode, Value) {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let r = browser.get(authorize_url).send().await.unwrap();
        assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
        let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let (status, body) = self.get(back.as_str()).await;
        (back, status, body)
    }

    async fn get(&self, url: &str) -> (StatusCode, Value) {
        let r = self.http.get(url).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Every byte the database holds: the SQLite files, or a `pg_dump` of the database.
    fn dump(&self) -> Vec<u8> {
        let url = &self.t.db.url;
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap();
            let mut all = Vec::new();
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    all.extend(bytes);
                }
            }
            assert!(!all.is_empty(), "no SQLite file at {path}");
            all
        } else {
            let out = std::process::Command::new("pg_dump")
                .arg(format!("--dbname={url}"))
                .output()
                .expect("pg_dump (PostgreSQL's client) is needed to dump the test database");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn fakes() -> (XFake, TikTokFake, PinterestFake) {
    (
        XFake::start().await.unwrap(),
        TikTokFake::start().await.unwrap(),
        PinterestFake::start().await.unwrap(),
    )
}

fn platforms<'a>(x: &'a XFake, tiktok: &'a TikTokFake, pinterest: &'a PinterestFake) -> [Platform; 3] {
    [
        Platform {
            id: "x",
            base_url: x.base_url.clone(),
            authorize_path: "/i/oauth2/authorize",
            token_path: "/2/oauth2/token",
            endpoint: x.oauth().clone(),
            id_field: "client_id",
            scope_separator: ' ',
            pkce: true,
        },
        Platform {
            id: "tiktok",
            base_url: tiktok.base_url.clone(),
            authorize_path: "/v2/auth/authorize/",
            token_path: "/v2/oauth/token/",
            endpoint: tiktok.oauth().clone(),
            id_field: "client_key",
            scope_separator: ',',
            pkce: false,
        },
        Platform {
            id: "pinterest",
            base_url: pinterest.base_url.clone(),
            authorize_path: "/oauth/",
            token_path: "/v5/oauth/token",
            endpoint: pinterest.oauth().clone(),
            id_field: "client_id",
            scope_separator: ',',
            pkce: false,
        },
    ]
}

#[tokio::test]
async fn each_platform_connects_through_its_fake_and_the_tokens_are_sealed() {
    let (x, tiktok, pinterest) = fakes().await;
    let all = platforms(&x, &tiktok, &pinterest);
    let hub = Hub::start(&all.iter().collect::<Vec<_>>()).await;
    for p in &all {
        p.endpoint.consent_as(&format!("{}-user-1", p.id), "acme");
        let (status, started) = hub
            .connect(
                &hub.owner,
                json!({ "platform": p.id, "handle": "acme", "remote_id": format!("{}-user-1", p.id) }),
            )
            .await;
        assert_eq!(status, 201, "{}: {started}", p.id);
        let authorize = url::Url::parse(started["authorize_url"].as_str().unwrap()).unwrap();
        // What the platform asks for, the platform's way.
        assert!(
            authorize
                .as_str()
                .starts_with(&format!("{}{}", p.base_url, p.authorize_path))
        );
        assert_eq!(
            query(&authorize, p.id_field).as_deref(),
            Some(format!("{}-app", p.id).as_str())
        );
        assert_eq!(query(&authorize, "response_type").as_deref(), Some("code"));
        let scope = query(&authorize, "scope").unwrap();
        let other = if p.scope_separator == ' ' { ',' } else { ' ' };
        assert!(
            scope.contains(p.scope_separator) && !scope.contains(other),
            "{}: {scope}",
            p.id
        );
        assert_eq!(query(&authorize, "code_challenge_method").is_some(), p.pkce, "{}", p.id);
        let state = query(&authorize, "state").unwrap();
        assert!(state.len() >= 43, "a 256-bit state: {state}");
        assert_eq!(
            query(&authorize, "redirect_uri").unwrap(),
            format!("{}/api/v1/oauth/callback", hub.base)
        );

        let (back, status, account) = hub.sign_in_at_platform(authorize.as_str()).await;
        assert_eq!(status, 200, "{}: {account}", p.id);
        assert_eq!(account["platform"], p.id);
        assert_eq!(account["status"], "connected");
        assert_eq!(account["brand_id"], hub.brand.to_string());
        let id: Uuid = account["id"].as_str().unwrap().parse().unwrap();
        // The platform's answer, sealed: what the fake issued is what the host holds.
        let stored = hub.t.store.tenant(hub.ws).accounts().credentials(id).await.unwrap();
        assert!(!stored.access_token.is_empty());
        let refresh = stored.refresh_token.clone().expect("a refresh token");
        assert!(p.endpoint.live_refresh_tokens().contains(&refresh), "{}", p.id);
        assert!(stored.expires_at.is_some());

        // The same answer again (a reload, or a replay): the state is spent, the code is
        // not redeemed twice, nothing more is connected.
        let grants = || {
            p.endpoint
                .requests()
                .iter()
                .filter(|r| r.grant_type == "authorization_code")
                .count()
        };
        assert_eq!(grants(), 1);
        let (status, problem) = hub.get(back.as_str()).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(
            problem["type"].as_str().unwrap().rsplit('/').next(),
            Some("invalid-state")
        );
        assert_eq!(grants(), 1);

        // Nothing a dump could replay: neither token, nor the state.
        let dump = hub.dump();
        for (what, secret) in [
            ("access token", &stored.access_token),
            ("refresh token", &refresh),
            ("state", &state),
        ] {
            assert!(
                !contains(&dump, secret),
                "{}: the {what} is in the database in plaintext",
                p.id
            );
        }
        assert!(
            contains(&dump, &secret_digest(&hub.owner)),
            "the dump is real: it holds the token digest"
        );
    }
    let accounts = hub
        .get(&format!("{}/api/v1/workspaces/{}/accounts", hub.base, hub.ws))
        .await;
    assert_eq!(accounts.0, 401, "no credentials, no list");
    let r = hub
        .http
        .get(format!(
            "{}/api/v1/workspaces/{}/accounts?brand={}",
            hub.base, hub.ws, hub.brand
        ))
        .bearer_auth(&hub.owner)
        .send()
        .await
        .unwrap();
    let listed: Value = r.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert!(!listed.to_string().contains("access_token"));
}

#[tokio::test]
async fn a_declined_forged_or_unauthorized_sign_in_connects_nothing_and_a_reconnect_repairs_the_account() {
    let (x, tiktok, pinterest) = fakes().await;
    let all = platforms(&x, &tiktok, &pinterest);
    let x_platform = &all[0];
    let hub = Hub::start(&[x_platform]).await;
    let ask = json!({ "platform": "x", "handle": "acme", "remote_id": "x-user-9" });
    let count = || async { hub.t.store.tenant(hub.ws).accounts().list().await.unwrap().len() };

    // Editors do not connect accounts; platforms need an app, and OAuth.
    let (status, _) = hub.connect(&hub.editor, ask.clone()).await;
    assert_eq!(status, 403);
    let (status, p) = hub
        .connect(
            &hub.owner,
            json!({ "platform": "linkedin", "handle": "a", "remote_id": "urn:li:organization:1" }),
        )
        .await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("platform")), "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("platforms.linkedin.client_id"),
        "{p}"
    );
    let (status, p) = hub
        .connect(
            &hub.owner,
            json!({ "platform": "bluesky", "handle": "a.bsky.social", "remote_id": "did:plc:1" }),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("do not connect with OAuth 2"),
        "{p}"
    );

    // The person declines at X: the answer says so, and the state cannot be used after.
    x.oauth().decline_consent();
    let (_, started) = hub.connect(&hub.owner, ask.clone()).await;
    let (back, status, p) = hub
        .sign_in_at_platform(started["authorize_url"].as_str().unwrap())
        .await;
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(status, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("access_denied"), "{p}");
    assert_eq!(count().await, 0);

    // A forged state, and a real code under a state Chorus never issued.
    x.oauth().consent_as("x-user-9", "acme");
    let (_, started) = hub.connect(&hub.owner, ask.clone()).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser
        .get(started["authorize_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = query(&back, "code").unwrap();
    let forged = format!(
        "{}/api/v1/oauth/callback?code={code}&state=forged-state-{}",
        hub.base,
        Uuid::now_v7()
    );
    let (status, p) = hub.get(&forged).await;
    assert_eq!(status, 400, "{p}");
    assert_eq!(count().await, 0);
    // The genuine answer still works once.
    let (status, account) = hub.get(back.as_str()).await;
    assert_eq!(status, 200, "{account}");
    let id: Uuid = account["id"].as_str().unwrap().parse().unwrap();

    // The account loses its grant; reconnecting it repairs that account, not a new one.
    hub.t
        .store
        .tenant(hub.ws)
        .accounts()
        .set_status(id, AccountStatus::NeedsReauth)
        .await
        .unwrap();
    let (_, started) = hub.connect(&hub.owner, ask.clone()).await;
    let (_, status, again) = hub
        .sign_in_at_platform(started["authorize_url"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], account["id"]);
    assert_eq!(again["status"], "connected");
    assert_eq!(count().await, 1);
    let audit = hub.t.store.tenant(hub.ws).audit().recent(Some(id), 10).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"account.connected") && actions.contains(&"account.reconnected"),
        "{actions:?}"
    );
}
