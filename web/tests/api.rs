//! The REST API over real HTTP on loopback, on SQLite (or PostgreSQL with
//! `CHORUS_TEST_DATABASE_URL`): signing in, CSRF, the sign-in limit, API tokens, tenancy
//! across every route of the OpenAPI document, and problem details.

use chorus::api::ApiSettings;
use chorus::server::{AppState, router_with};
use chorus_core::domain::{PostDraft, Role, WorkspaceKind};
use chorus_core::store::{NewBrand, NewUser, NewWorkspace, Store};
use chorus_tests::TestStore;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::time::Instant;
use uuid::Uuid;

const PASSWORD: &str = "a long enough password";

struct Hub {
    /// The media library's files.
    _media: tempfile::TempDir,
    t: TestStore,
    base: String,
    http: Client,
    /// Workspace A (an agency) with two brands; workspace B another tenant.
    a: Uuid,
    a_brand: Uuid,
    a_other_brand: Uuid,
    a_post: Uuid,
    a_other_post: Uuid,
    /// An X account of `a_brand` and one of `a_other_brand`.
    a_x: Uuid,
    a_other_x: Uuid,
    b: Uuid,
}

async fn user(store: &Store, email: &str, grants: &[(Uuid, Option<Uuid>, Role)]) -> Uuid {
    let u = store
        .users()
        .create(NewUser {
            email: email.into(),
            display_name: email.split('@').next().unwrap_or("x").into(),
        })
        .await
        .unwrap();
    store.identity().set_password(u.id, PASSWORD).await.unwrap();
    for (ws, brand, role) in grants {
        store
            .tenant(*ws)
            .memberships()
            .grant(u.id, *brand, *role)
            .await
            .unwrap();
    }
    u.id
}

fn draft(body: &str) -> PostDraft {
    serde_json::from_value(json!({ "body": body })).unwrap()
}

impl Hub {
    async fn start() -> Hub {
        Self::start_with(&[]).await
    }

    /// With the bundled plugins, for tests that compose (loading them takes seconds).
    async fn with_plugins() -> Hub {
        Self::start_with(chorus_plugins_bundled::BUNDLED).await
    }

    async fn start_with(bundled: &[chorus_core::plugins::BundledPlugin]) -> Hub {
        let t = TestStore::new().await;
        let (plugins, _) =
            chorus_core::plugins::PluginRegistry::load(chorus_tests::plugins::engine(), Default::default(), bundled)
                .await
                .unwrap();
        let (a, a_brand) = t.workspace_with_brand("acme").await;
        let a_other_brand = t
            .store
            .tenant(a)
            .brands()
            .create(NewBrand {
                slug: "acme-other".into(),
                name: "Other client".into(),
                timezone: "UTC".into(),
            })
            .await
            .unwrap()
            .id;
        let b = t
            .store
            .workspaces()
            .create(NewWorkspace {
                slug: "globex".into(),
                name: "Globex".into(),
                kind: WorkspaceKind::Company,
            })
            .await
            .unwrap()
            .id;
        t.store
            .tenant(b)
            .brands()
            .create(NewBrand {
                slug: "globex-brand".into(),
                name: "Globex brand".into(),
                timezone: "UTC".into(),
            })
            .await
            .unwrap();
        let s = &t.store;
        user(s, "owner@acme.test", &[(a, None, Role::Owner)]).await;
        user(s, "admin@acme.test", &[(a, None, Role::Admin)]).await;
        user(s, "editor@acme.test", &[(a, None, Role::Editor)]).await;
        user(s, "viewer@acme.test", &[(a, None, Role::Viewer)]).await;
        user(s, "client@acme.test", &[(a, Some(a_brand), Role::ClientApprover)]).await;
        user(s, "owner@globex.test", &[(b, None, Role::Owner)]).await;
        let posts = s.tenant(a).posts();
        let a_post = posts
            .create(a_brand, None, draft("Acme's secret launch"))
            .await
            .unwrap()
            .id;
        let a_other_post = posts
            .create(a_other_brand, None, draft("The other client's plans"))
            .await
            .unwrap()
            .id;

        let x = |brand: Uuid, handle: &str| chorus_core::store::NewAccount {
            brand_id: brand,
            platform: "x".into(),
            handle: handle.into(),
            remote_id: format!("id-{handle}"),
            display_name: None,
            timezone: "Europe/Stockholm".into(),
            scopes: vec!["tweet.write".into()],
            credentials: chorus_core::secrets::Credentials {
                access_token: "token".into(),
                refresh_token: None,
                expires_at: None,
                app_password: None,
            },
            api_base: None,
        };
        let a_x = s.tenant(a).accounts().connect(x(a_brand, "acme")).await.unwrap().id;
        let a_other_x = s
            .tenant(a)
            .accounts()
            .connect(x(a_other_brand, "other"))
            .await
            .unwrap()
            .id;
        let plugins = std::sync::Arc::new(plugins);
        let media_dir = tempfile::tempdir().unwrap();
        let library = chorus_core::media::MediaLibrary::new(
            chorus_core::media::MediaStorage::local(media_dir.path()).unwrap(),
            None,
        );
        let app = router_with(
            AppState {
                store: t.store.clone(),
                plugins: plugins.clone(),
                started: Instant::now(),
                stats: None,
                media: None,
            },
            chorus::api::Api::new(t.store.clone(), plugins, Some(library), ApiSettings::default()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        Hub {
            _media: media_dir,
            t,
            base,
            http: chorus_tests::http_client(),
            a,
            a_brand,
            a_other_brand,
            a_post,
            a_other_post,
            a_x,
            a_other_x,
            b,
        }
    }

    async fn sign_in(&self, email: &str) -> Session {
        let r = self
            .http
            .post(format!("{}/api/v1/session", self.base))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign in as {email}");
        let cookie = set_cookie(&r);
        let body: Value = r.json().await.unwrap();
        Session {
            cookie: cookie.split(';').next().unwrap().to_owned(),
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, as_: &Auth, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value, String) {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        match as_ {
            Auth::Session(s) => {
                req = req.header("cookie", &s.cookie);
                if method != Method::GET {
                    req = req.header("x-csrf-token", &s.csrf);
                }
            }
            Auth::Token(t) => req = req.bearer_auth(t),
            Auth::Nobody => {}
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let ctype = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = r.text().await.unwrap();
        if !status.is_success() && status != StatusCode::NO_CONTENT {
            assert_eq!(ctype, "application/problem+json", "{method} {path}: {status} {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
    }
}

struct Session {
    cookie: String,
    csrf: String,
}

enum Auth {
    Session(Session),
    Token(String),
    Nobody,
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get("set-cookie")
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn signing_in_sets_a_flagged_cookie_and_changes_need_the_csrf_token() {
    let hub = Hub::start().await;
    // A session id planted before signing in is never adopted (no session fixation).
    let planted = "chorus_session=planted-by-an-attacker";
    let r = hub
        .http
        .post(format!("{}/api/v1/session", hub.base))
        .header("cookie", planted)
        .json(&json!({ "email": "Owner@Acme.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = set_cookie(&r);
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains("planted-by-an-attacker"));
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = Session {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        csrf,
    };
    let planted = Auth::Session(Session {
        cookie: planted.into(),
        csrf: session.csrf.clone(),
    });
    assert_eq!(hub.call(&planted, Method::GET, "/api/v1/me", None).await.0, 401);

    let me = Auth::Session(session);
    let (status, body, _) = hub.call(&me, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["user"]["email"], "owner@acme.test");
    assert_eq!(body["memberships"][0]["role"], "owner");

    // A change without the CSRF token, or with another one, is refused; with it, it goes.
    let Auth::Session(s) = &me else { unreachable!() };
    let brand = json!({ "slug": "new-client", "name": "New client", "timezone": "Europe/Stockholm" });
    let path = format!("{}/api/v1/workspaces/{}/brands", hub.base, hub.a);
    for csrf in [None, Some("not-the-token")] {
        let mut req = hub.http.post(&path).header("cookie", &s.cookie).json(&brand);
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403);
        let p: Value = r.json().await.unwrap();
        assert!(p["type"].as_str().unwrap().ends_with("/csrf"), "{p}");
    }
    assert!(
        hub.t.store.tenant(hub.a).brands().by_slug("new-client").await.is_err(),
        "nothing created"
    );
    let (status, body, _) = hub
        .call(
            &me,
            Method::POST,
            &format!("/api/v1/workspaces/{}/brands", hub.a),
            Some(brand),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["timezone"], "Europe/Stockholm");

    // Signing out ends the session on the server, not only in the browser.
    let (status, _, _) = hub.call(&me, Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(status, 204);
    assert_eq!(hub.call(&me, Method::GET, "/api/v1/me", None).await.0, 401);
}

#[tokio::test]
async fn repeated_wrong_passwords_are_refused_with_429_and_retry_after() {
    let hub = Hub::start().await;
    let attempt = |email: &'static str, password: &'static str| {
        let (http, base) = (hub.http.clone(), hub.base.clone());
        async move {
            http.post(format!("{base}/api/v1/session"))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await
                .unwrap()
        }
    };
    // An unknown e-mail and a wrong password read the same.
    let unknown = attempt("nobody@acme.test", "whatever it is").await;
    assert_eq!(unknown.status(), 401);
    let unknown: Value = unknown.json().await.unwrap();
    for _ in 0..5 {
        let r = attempt("editor@acme.test", "wrong password!!").await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await.unwrap(), unknown);
    }
    let r = attempt("editor@acme.test", PASSWORD).await;
    assert_eq!(r.status(), 429, "the right password too waits out the limit");
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another person is not locked out by someone guessing at the editor.
    assert_eq!(attempt("viewer@acme.test", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_scoped_and_revocable() {
    let hub = Hub::start().await;
    let editor = Auth::Session(hub.sign_in("editor@acme.test").await);
    let tokens = format!("/api/v1/workspaces/{}/tokens", hub.a);
    // Never more than the person holds.
    let (status, body, _) = hub
        .call(
            &editor,
            Method::POST,
            &tokens,
            Some(json!({ "name": "CI", "role": "owner" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "role");
    // A token that has already expired is refused, not issued dead.
    let (status, body, _) = hub
        .call(
            &editor,
            Method::POST,
            &tokens,
            Some(json!({ "name": "Old", "role": "viewer", "expires_at": "2000-01-01T00:00:00Z" })),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["field"].as_str()),
        (422, Some("expires_at")),
        "{body}"
    );
    let (status, body, _) = hub
        .call(
            &editor,
            Method::POST,
            &tokens,
            Some(json!({ "name": "Zapier", "role": "viewer" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("chorus_"));
    let id = body["token"]["id"].as_str().unwrap().to_owned();
    assert!(body["token"].get("secret").is_none());

    // The listing never shows the secret again, and the database holds only a digest.
    let (_, list, text) = hub.call(&editor, Method::GET, &tokens, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!text.contains(&secret[7..]));
    let rows = hub.t.store.tenant(hub.a).api_tokens().list().await.unwrap();
    let stored = serde_json::to_string(&rows).unwrap() + &rows[0].secret_hash;
    assert!(!stored.contains(&secret[7..]), "the secret is stored");

    let token = Auth::Token(secret.clone());
    // The token says what it may do: viewer, not its editor's role.
    let (_, me, _) = hub.call(&token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["authenticated_by"], "token");
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1, "{me}");
    assert_eq!(me["memberships"][0]["role"], "viewer", "{me}");
    let posts = format!("/api/v1/workspaces/{}/posts", hub.a);
    let (status, body, _) = hub.call(&token, Method::GET, &posts, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    // A viewer's token may read, not change.
    let (status, _, _) = hub
        .call(
            &token,
            Method::POST,
            &format!("/api/v1/workspaces/{}/brands", hub.a),
            Some(json!({ "slug": "x", "name": "x", "timezone": "UTC" })),
        )
        .await;
    assert_eq!(status, 403);
    // Its workspace only.
    let (status, _, _) = hub
        .call(
            &token,
            Method::GET,
            &format!("/api/v1/workspaces/{}/posts", hub.b),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (status, body, _) = hub.call(&editor, Method::DELETE, &format!("{tokens}/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked_at"].is_string());
    assert_eq!(hub.call(&token, Method::GET, &posts, None).await.0, 401);
    let (_, audit, _) = hub
        .call(
            &Auth::Session(hub.sign_in("owner@acme.test").await),
            Method::GET,
            &format!("/api/v1/workspaces/{}/audit", hub.a),
            None,
        )
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("token."))
        .collect();
    assert_eq!(actions, ["token.revoked", "token.issued"]);
}

/// A body the route accepts, so a refusal is about who is asking, not what was sent.
/// A new route with a body must be added here, or this test fails naming it.
fn sample_body(hub: &Hub, method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("post", "/api/v1/workspaces/{workspace}/posts") => Some(json!({
            "brand_id": hub.a_brand, "body": "leak", "targets": [{ "account_id": hub.a_x }], "when": { "kind": "now" }
        })),
        ("post", "/api/v1/workspaces/{workspace}/posts/{post}/schedule") => Some(json!({ "kind": "now" })),
        ("put", "/api/v1/workspaces/{workspace}/posts/{post}") => Some(json!({ "revision": 1, "body": "leak" })),
        ("post", "/api/v1/workspaces/{workspace}/previews") => Some(json!({
            "brand_id": hub.a_brand, "body": "leak", "targets": [{ "account_id": hub.a_x }]
        })),
        ("post", "/api/v1/workspaces/{workspace}/posts/{post}/approve") => Some(json!({})),
        ("post", "/api/v1/workspaces/{workspace}/posts/{post}/reject") => Some(json!({ "comment": "no" })),
        (
            "post",
            "/api/v1/workspaces/{workspace}/posts/{post}/cancel" | "/api/v1/workspaces/{workspace}/posts/{post}/retry",
        ) => None,
        ("post", "/api/v1/session") => Some(json!({ "email": "owner@acme.test", "password": PASSWORD })),
        ("post", "/api/v1/workspaces/{workspace}/brands") => {
            Some(json!({ "slug": "leaked", "name": "Leaked", "timezone": "UTC" }))
        }
        ("post", "/api/v1/workspaces/{workspace}/tokens") => Some(json!({ "name": "leak", "role": "viewer" })),
        ("post", "/api/v1/workspaces/{workspace}/brands/{brand}/segments") => Some(json!({
            "name": "Leak", "kind": "target_group", "funnel_stage": "consideration",
            "rule": {"attribute": "country", "op": "eq", "value": "SE"}
        })),
        ("post", "/api/v1/workspaces/{workspace}/brands/{brand}/media") => Some(json!({ "file": "leak" })),
        ("post", "/api/v1/workspaces/{workspace}/brands/{brand}/posts/import") => {
            Some(json!("text,accounts\nleak,x:acme\n"))
        }
        ("post", "/api/v1/workspaces/{workspace}/webhooks") => {
            Some(json!({ "url": "https://leak.example.com/in", "events": ["post.published"] }))
        }
        ("post", "/api/v1/workspaces/{workspace}/brands/{brand}/personas") => {
            Some(json!({ "name": "Leak", "segment": "Leak", "message": "leak" }))
        }
        ("post", "/api/v1/workspaces/{workspace}/brands/{brand}/schedules") => {
            Some(json!({ "name": "Leak", "cron": "0 9 * * *" }))
        }
        ("patch", "/api/v1/workspaces/{workspace}/brands/{brand}/schedules/{schedule}") => {
            Some(json!({ "enabled": false }))
        }
        ("post", "/api/v1/workspaces/{workspace}/brands/{brand}/connections") => {
            Some(json!({ "platform": "x", "handle": "leak", "remote_id": "leak" }))
        }
        ("get" | "delete", _) => None,
        _ => panic!("{method} {path}: give this route a sample body in sample_body()"),
    }
}

#[tokio::test]
async fn no_route_of_the_openapi_document_leaks_across_workspaces() {
    let hub = Hub::start().await;
    let owner_a = Auth::Session(hub.sign_in("owner@acme.test").await);
    // Something of A's to reach for: a token.
    let (_, issued, _) = hub
        .call(
            &owner_a,
            Method::POST,
            &format!("/api/v1/workspaces/{}/tokens", hub.a),
            Some(json!({ "name": "A's integration", "role": "admin" })),
        )
        .await;
    let a_token_id = issued["token"]["id"].as_str().unwrap().to_owned();
    let brands_before = hub.t.store.tenant(hub.a).brands().list().await.unwrap().len();
    let a_schedule = hub
        .t
        .store
        .tenant(hub.a)
        .schedules()
        .create(hub.a_brand, None, "A's mornings", "0 9 * * 1-5", "UTC")
        .await
        .unwrap()
        .id;
    let a_webhook = hub
        .t
        .store
        .tenant(hub.a)
        .webhooks()
        .create("https://acme.example.com/hooks", &["post.published".into()], None)
        .await
        .unwrap()
        .webhook
        .id;

    // B's owner by session, and B's owner by an API token of B.
    let owner_b = hub.sign_in("owner@globex.test").await;
    let (_, b_issued, _) = hub
        .call(
            &Auth::Session(Session {
                cookie: owner_b.cookie.clone(),
                csrf: owner_b.csrf.clone(),
            }),
            Method::POST,
            &format!("/api/v1/workspaces/{}/tokens", hub.b),
            Some(json!({ "name": "B's integration", "role": "owner" })),
        )
        .await;
    let intruders = [
        ("B's owner (session)", Auth::Session(owner_b)),
        (
            "B's owner (token)",
            Auth::Token(b_issued["secret"].as_str().unwrap().to_owned()),
        ),
    ];

    let doc: Value = hub
        .http
        .get(format!("{}/api/openapi.json", hub.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if !path.contains("{workspace}") {
                continue;
            }
            // Required query parameters, so a refusal is about who asks.
            let query = if path.ends_with("/calendar") {
                "?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z"
            } else {
                ""
            };
            let concrete = format!("{path}{query}")
                .replace("{workspace}", &hub.a.to_string())
                .replace("{post}", &hub.a_post.to_string())
                .replace("{brand}", &hub.a_brand.to_string())
                .replace("{segment}", &Uuid::now_v7().to_string())
                .replace("{schedule}", &a_schedule.to_string())
                .replace("{webhook}", &a_webhook.to_string())
                .replace("{token}", &a_token_id);
            assert!(!concrete.contains('{'), "{path}: teach this test the parameter");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (who, auth) in &intruders {
                let (status, _, text) = hub
                    .call(auth, m.clone(), &concrete, sample_body(&hub, method, path))
                    .await;
                assert!(
                    status == 404 || status == 403,
                    "{who} {method} {concrete}: {status} {text}"
                );
                for secret in [
                    hub.a.to_string(),
                    hub.a_post.to_string(),
                    a_token_id.clone(),
                    "acme".into(),
                    "secret launch".into(),
                ] {
                    assert!(
                        !text.contains(&secret),
                        "{who} {method} {concrete} reveals {secret:?}: {text}"
                    );
                }
                checked += 1;
            }
            // Nobody signed in gets 401 everywhere.
            let (status, _, _) = hub
                .call(&Auth::Nobody, m.clone(), &concrete, sample_body(&hub, method, path))
                .await;
            assert_eq!(status, 401, "anonymous {method} {concrete}");
        }
    }
    assert!(checked >= 2 * 15, "only {checked} calls: the document lost routes");
    let a_posts = hub
        .t
        .store
        .tenant(hub.a)
        .posts()
        .page(None, None, None, 100)
        .await
        .unwrap();
    assert_eq!(a_posts.len(), 2, "an intruder composed a post");
    assert!(
        a_posts
            .iter()
            .all(|p| p.status == chorus_core::domain::PostStatus::Draft)
    );
    assert_eq!(
        hub.t.store.tenant(hub.a).brands().list().await.unwrap().len(),
        brands_before
    );
    assert!(
        hub.t
            .store
            .tenant(hub.a)
            .api_tokens()
            .list()
            .await
            .unwrap()
            .iter()
            .all(|t| t.revoked_at.is_none())
    );
    let kept = hub.t.store.tenant(hub.a).schedules().get(a_schedule).await.unwrap();
    assert!(kept.enabled, "an intruder paused A's schedule");
    assert_eq!(
        hub.t.store.tenant(hub.a).webhooks().list().await.unwrap().len(),
        1,
        "an intruder added or removed A's webhooks"
    );
}

#[tokio::test]
async fn roles_decide_what_each_person_sees_and_changes() {
    let hub = Hub::start().await;
    let posts = format!("/api/v1/workspaces/{}/posts", hub.a);
    let brands = format!("/api/v1/workspaces/{}/brands", hub.a);
    let audit = format!("/api/v1/workspaces/{}/audit", hub.a);
    let new_brand = || Some(json!({ "slug": format!("b{}", Uuid::now_v7().simple()), "name": "n", "timezone": "UTC" }));
    // (who, sees how many posts, may add a brand, may read the audit log)
    for (email, visible, admin) in [
        ("owner@acme.test", 2, true),
        ("admin@acme.test", 2, true),
        ("editor@acme.test", 2, false),
        ("viewer@acme.test", 2, false),
        ("client@acme.test", 1, false),
    ] {
        let s = Auth::Session(hub.sign_in(email).await);
        let (status, body, _) = hub.call(&s, Method::GET, &posts, None).await;
        assert_eq!(status, 200);
        assert_eq!(body["items"].as_array().unwrap().len(), visible, "{email}");
        let (status, _, _) = hub.call(&s, Method::POST, &brands, new_brand()).await;
        assert_eq!(status.is_success(), admin, "{email} adding a brand: {status}");
        let (status, _, _) = hub.call(&s, Method::GET, &audit, None).await;
        assert_eq!(status.is_success(), admin, "{email} reading the audit log: {status}");
    }
    // The client sees their brand and nothing of the other client's.
    let client = Auth::Session(hub.sign_in("client@acme.test").await);
    let (_, list, _) = hub.call(&client, Method::GET, &brands, None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [hub.a_brand.to_string()]);
    let other = format!("{posts}/{}", hub.a_other_post);
    assert_eq!(hub.call(&client, Method::GET, &other, None).await.0, 404);
    assert_eq!(
        hub.call(&client, Method::GET, &format!("{other}/deliveries"), None)
            .await
            .0,
        404
    );
    let (status, _, _) = hub
        .call(
            &client,
            Method::GET,
            &format!("{posts}?brand={}", hub.a_other_brand),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body, _) = hub
        .call(&client, Method::GET, &format!("{posts}/{}", hub.a_post), None)
        .await;
    assert_eq!(
        (status.as_u16(), body["body"].as_str()),
        (200, Some("Acme's secret launch"))
    );
}

#[tokio::test]
async fn posts_page_by_cursor_and_bad_input_gets_problem_details() {
    let hub = Hub::start().await;
    let t = hub.t.store.tenant(hub.a);
    for i in 0..5 {
        t.posts()
            .create(hub.a_brand, None, draft(&format!("post {i}")))
            .await
            .unwrap();
    }
    let owner = Auth::Session(hub.sign_in("owner@acme.test").await);
    let base = format!("/api/v1/workspaces/{}/posts?brand={}&limit=2", hub.a, hub.a_brand);
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}&cursor={c}"),
            None => base.clone(),
        };
        let (status, page, _) = hub.call(&owner, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["body"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["post 4", "post 3", "post 2", "post 1", "post 0", "Acme's secret launch"]
    );

    let ws = format!("/api/v1/workspaces/{}", hub.a);
    let (status, p, _) = hub
        .call(&owner, Method::GET, &format!("{ws}/posts?limit=0"), None)
        .await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("limit")));
    assert!(p["detail"].as_str().unwrap().contains("1-200"));
    let (status, p, _) = hub
        .call(&owner, Method::GET, &format!("{ws}/posts?status=sent"), None)
        .await;
    assert_eq!(status, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("status"), "{p}");
    let (status, _, _) = hub
        .call(&owner, Method::GET, &format!("{ws}/posts/not-a-uuid"), None)
        .await;
    assert_eq!(status, 404);
    let (status, p, _) = hub
        .call(
            &owner,
            Method::POST,
            &format!("{ws}/brands"),
            Some(json!({ "slug": "x y", "name": "n", "timezone": "Mars/Olympus" })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["field"], "brand.slug", "{p}");
    let (status, p, _) = hub
        .call(
            &owner,
            Method::POST,
            &format!("{ws}/brands"),
            Some(json!({ "slug": "ok" })),
        )
        .await;
    assert_eq!(status, 422);
    assert!(p["detail"].as_str().unwrap().contains("name"), "{p}");
    let (status, _, _) = hub.call(&owner, Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(status, 404);
    // Bodies over the limit are refused before they are read.
    let big = "x".repeat(2 * 1024 * 1024);
    let (status, _, _) = hub
        .call(
            &owner,
            Method::POST,
            &format!("{ws}/brands"),
            Some(json!({ "slug": big, "name": "n", "timezone": "UTC" })),
        )
        .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn the_openapi_document_and_its_reference_page_describe_the_routes() {
    let hub = Hub::start().await;
    let doc: Value = hub
        .http
        .get(format!("{}/api/openapi.json", hub.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/session",
        "/api/v1/workspaces/{workspace}/posts",
        "/api/v1/workspaces/{workspace}/tokens/{token}",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
    let page = hub.http.get(format!("{}/api/docs", hub.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/api/v1/workspaces/{workspace}/posts/{post}/deliveries"));
    assert!(!html.contains("http://") || !html.contains("cdn"), "no CDN");
}

#[tokio::test]
async fn a_post_composed_through_the_api_waits_for_the_clients_approval() {
    let hub = Hub::with_plugins().await;
    hub.t
        .store
        .tenant(hub.a)
        .brands()
        .set_requires_approval(hub.a_brand, true)
        .await
        .unwrap();
    let editor = Auth::Session(hub.sign_in("editor@acme.test").await);
    let client = Auth::Session(hub.sign_in("client@acme.test").await);
    let posts = format!("/api/v1/workspaces/{}/posts", hub.a);
    let compose = |time: &str, account: Uuid| {
        json!({
            "brand_id": hub.a_brand,
            "body": "Our winter menu is here",
            "hashtags": ["fika"],
            "targets": [{ "account_id": account }],
            "when": { "kind": "at", "time": time, "timezone": "Europe/Stockholm" }
        })
    };
    // A wall time the clocks skip is refused, naming the next one that exists.
    let (status, p, _) = hub
        .call(
            &editor,
            Method::POST,
            &posts,
            Some(compose("2027-03-28 02:30", hub.a_x)),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["field"], "when.time");
    assert!(p["detail"].as_str().unwrap().contains("2027-03-28 03:00"), "{p}");
    // Another brand's account is not this brand's to post to.
    let (status, p, _) = hub
        .call(
            &editor,
            Method::POST,
            &posts,
            Some(compose("2027-01-04 09:00", hub.a_other_x)),
        )
        .await;
    assert!(status == 404 || status == 422, "{status} {p}");
    // A client approves; they do not compose.
    let (status, _, _) = hub
        .call(
            &client,
            Method::POST,
            &posts,
            Some(compose("2027-01-04 09:00", hub.a_x)),
        )
        .await;
    assert_eq!(status, 403);

    let (status, planned, _) = hub
        .call(
            &editor,
            Method::POST,
            &posts,
            Some(compose("2027-01-04 09:00", hub.a_x)),
        )
        .await;
    assert_eq!(status, 201, "{planned}");
    assert_eq!(planned["held_for_approval"], true);
    assert_eq!(planned["post"]["status"], "in_review");
    let d = &planned["deliveries"][0];
    assert_eq!(d["status"], "pending");
    assert_eq!(
        d["scheduled_at"], "2027-01-04T08:00:00Z",
        "09:00 in Stockholm in winter"
    );
    assert!(d["adapted_text"].as_str().unwrap().contains("#fika"), "{d}");
    let id = planned["post"]["id"].as_str().unwrap();

    // The editor cannot approve their own post; the client can.
    let (status, _, _) = hub
        .call(&editor, Method::POST, &format!("{posts}/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(status, 403);
    let (status, p, _) = hub
        .call(&client, Method::POST, &format!("{posts}/{id}/reject"), Some(json!({})))
        .await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("comment")));
    let (status, approved, _) = hub
        .call(
            &client,
            Method::POST,
            &format!("{posts}/{id}/approve"),
            Some(json!({ "comment": "Lovely" })),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["post"]["status"], "scheduled");
    assert_eq!(approved["deliveries"][0]["status"], "scheduled");
    assert_eq!(approved["deliveries"][0]["scheduled_at"], "2027-01-04T08:00:00Z");

    // On the calendar, in the reader's zone; the client sees their brand's posts only.
    let owner = Auth::Session(hub.sign_in("owner@acme.test").await);
    let (status, other, _) = hub
        .call(
            &owner,
            Method::POST,
            &posts,
            Some(json!({
                "brand_id": hub.a_other_brand, "body": "The other client's January post",
                "targets": [{ "account_id": hub.a_other_x }],
                "when": { "kind": "at", "time": "2027-01-05T12:00:00Z" }
            })),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let calendar = format!(
        "/api/v1/workspaces/{}/calendar?from=2027-01-01%2000:00&to=2027-02-01%2000:00&timezone=America/New_York",
        hub.a
    );
    let (status, cal, _) = hub.call(&owner, Method::GET, &calendar, None).await;
    assert_eq!(status, 200, "{cal}");
    let entries = cal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{cal}");
    assert_eq!(
        entries[0]["local"], "2027-01-04T03:00:00-05:00",
        "09:00 in Stockholm read in New York"
    );
    assert_eq!(entries[0]["planned_in"], "Europe/Stockholm");
    assert_eq!(entries[0]["status"], "scheduled");
    assert_eq!(entries[1]["brand_id"], hub.a_other_brand.to_string());
    let (_, cal, _) = hub.call(&client, Method::GET, &calendar, None).await;
    assert_eq!(
        cal["entries"].as_array().unwrap().len(),
        1,
        "the client sees only their brand: {cal}"
    );
    let (status, p, _) = hub
        .call(
            &owner,
            Method::GET,
            &format!(
                "/api/v1/workspaces/{}/calendar?from=2027-01-01T00:00:00Z&to=2027-06-01T00:00:00Z",
                hub.a
            ),
            None,
        )
        .await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("to")));

    // Editing the approved post sends it back: a stale revision changes nothing, the
    // client cannot edit, and the edited post waits for a new approval with new text.
    let (_, before, _) = hub.call(&editor, Method::GET, &format!("{posts}/{id}"), None).await;
    let revision = before["revision"].as_i64().unwrap();
    let edit = |revision: i64| json!({ "revision": revision, "body": "Our winter menu is here, with saffron buns", "hashtags": ["fika"] });
    let (status, _, _) = hub
        .call(&client, Method::PUT, &format!("{posts}/{id}"), Some(edit(revision)))
        .await;
    assert_eq!(status, 403);
    let (status, p, _) = hub
        .call(&editor, Method::PUT, &format!("{posts}/{id}"), Some(edit(revision - 1)))
        .await;
    assert_eq!(status, 409, "{p}");
    let (_, unchanged, _) = hub.call(&editor, Method::GET, &format!("{posts}/{id}"), None).await;
    assert_eq!(unchanged["body"], "Our winter menu is here");
    assert_eq!(unchanged["status"], "scheduled");
    let (status, p, _) = hub
        .call(
            &editor,
            Method::PUT,
            &format!("{posts}/{id}"),
            Some(json!({ "revision": revision, "body": "x", "surprise": 1 })),
        )
        .await;
    assert_eq!(status, 422, "an unknown field is refused by name: {p}");
    assert!(p["detail"].as_str().unwrap().contains("surprise"), "{p}");
    let (status, edited, _) = hub
        .call(&editor, Method::PUT, &format!("{posts}/{id}"), Some(edit(revision)))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["post"]["status"], "draft", "{edited}");
    assert_eq!(edited["post"]["revision"], revision + 1);
    let d = &edited["deliveries"][0];
    assert_ne!(d["status"], "scheduled", "held until approved again: {d}");
    assert!(d["adapted_text"].as_str().unwrap().contains("saffron"), "{d}");
    let (status, resubmitted, _) = hub
        .call(
            &editor,
            Method::POST,
            &format!("{posts}/{id}/schedule"),
            Some(json!({ "kind": "at", "time": "2027-01-04 09:00", "timezone": "Europe/Stockholm" })),
        )
        .await;
    assert_eq!(status, 200, "{resubmitted}");
    assert_eq!(resubmitted["post"]["status"], "in_review");
    let (status, approved, _) = hub
        .call(&client, Method::POST, &format!("{posts}/{id}/approve"), Some(json!({})))
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["deliveries"][0]["status"], "scheduled");
    assert!(
        approved["deliveries"][0]["adapted_text"]
            .as_str()
            .unwrap()
            .contains("saffron")
    );

    // Cancelled before it goes out.
    let (status, cancelled, _) = hub
        .call(&editor, Method::POST, &format!("{posts}/{id}/cancel"), None)
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["post"]["status"], "cancelled");
    assert_eq!(cancelled["deliveries"][0]["status"], "cancelled");
}

#[tokio::test]
async fn previews_come_from_the_plugins_and_store_nothing() {
    let hub = Hub::with_plugins().await;
    let editor = Auth::Session(hub.sign_in("editor@acme.test").await);
    let previews = format!("/api/v1/workspaces/{}/previews", hub.a);
    let long = "Fika is a Swedish habit: a pause with coffee and something sweet. ".repeat(6);
    let body = json!({
        "brand_id": hub.a_brand,
        "body": long,
        "link": "https://example.com/fika",
        "hashtags": ["fika", "coffee"],
        "targets": [{ "account_id": hub.a_x }]
    });
    let before = hub
        .t
        .store
        .tenant(hub.a)
        .posts()
        .page(None, None, None, 100)
        .await
        .unwrap()
        .len();
    let (status, out, _) = hub.call(&editor, Method::POST, &previews, Some(body.clone())).await;
    assert_eq!(status, 200, "{out}");
    let x = &out[0];
    assert_eq!(
        (x["platform"].as_str(), x["handle"].as_str()),
        (Some("x"), Some("acme"))
    );
    // Over X's 280 weighted characters: a thread whose every part fits.
    let parts = x["parts"].as_array().unwrap();
    assert!(parts.len() >= 2, "{x}");
    assert!(x["length"].as_u64().unwrap() <= 280, "{x}");
    assert!(parts.iter().all(|p| p.as_str().unwrap().chars().count() <= 280));
    let after = hub
        .t
        .store
        .tenant(hub.a)
        .posts()
        .page(None, None, None, 100)
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "a preview stores nothing");
    // A preview is not scheduled.
    let mut timed = body.clone();
    timed["when"] = json!({ "kind": "now" });
    let (status, p, _) = hub.call(&editor, Method::POST, &previews, Some(timed)).await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("when")));
    // Viewers and clients do not compose.
    let client = Auth::Session(hub.sign_in("client@acme.test").await);
    assert_eq!(
        hub.call(&client, Method::POST, &previews, Some(body.clone())).await.0,
        403
    );
    // An account of another brand is named.
    let mut wrong = body;
    wrong["targets"] = json!([{ "account_id": hub.a_x }, { "account_id": hub.a_other_x }]);
    let (status, p, _) = hub.call(&editor, Method::POST, &previews, Some(wrong)).await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("targets[1]")), "{p}");
}

#[tokio::test]
async fn segments_are_defined_sized_ranked_and_compared_through_the_api() {
    use chorus_core::audience::Audience;
    use chorus_core::audience::import::{Format, ImportOptions, Mapping, Records, import};
    let hub = Hub::start().await;
    let tenant = hub.t.store.tenant(hub.a);
    let a = Audience::new(tenant, hub.a_brand).await.unwrap();
    let csv = "external_id,country,interests\nc1,SE,fitness\nc2,SE,yoga\nc3,NO,fitness\nc4,DK,\nc5,SE,fitness\n";
    let options = ImportOptions {
        format: Format::Csv,
        records: Records::Contacts,
        mapping: Mapping::default(),
        skip_invalid: false,
    };
    import(tenant, &a.brand, std::io::Cursor::new(csv.to_owned()), &options, &())
        .await
        .unwrap();
    let editor = Auth::Session(hub.sign_in("editor@acme.test").await);
    let viewer = Auth::Session(hub.sign_in("viewer@acme.test").await);
    let segments = format!("/api/v1/workspaces/{}/brands/{}/segments", hub.a, hub.a_brand);
    let define = |name: &str, rule: Value| json!({ "name": name, "kind": "target_group", "funnel_stage": "consideration", "rule": rule });
    let (status, swedes, _) = hub
        .call(
            &editor,
            Method::POST,
            &segments,
            Some(define(
                "Swedes",
                json!({"attribute": "country", "op": "eq", "value": "SE"}),
            )),
        )
        .await;
    assert_eq!(status, 201, "{swedes}");
    assert_eq!(
        (swedes["size"].as_u64(), swedes["audience"].as_u64()),
        (Some(3), Some(5))
    );
    let (status, _, _) = hub
        .call(
            &editor,
            Method::POST,
            &segments,
            Some(define(
                "Fitness",
                json!({"attribute": "interests", "op": "contains", "value": "fitness"}),
            )),
        )
        .await;
    assert_eq!(status, 201);
    // A rule on an attribute that does not exist is refused by name; viewers define nothing.
    let (status, p, _) = hub
        .call(
            &editor,
            Method::POST,
            &segments,
            Some(define(
                "Bad",
                json!({"attribute": "shoe_size", "op": "eq", "value": "42"}),
            )),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("shoe_size"), "{p}");
    let (status, _, _) = hub
        .call(
            &viewer,
            Method::POST,
            &segments,
            Some(define(
                "Nope",
                json!({"attribute": "country", "op": "eq", "value": "NO"}),
            )),
        )
        .await;
    assert_eq!(status, 403);

    let (status, listed, _) = hub.call(&viewer, Method::GET, &segments, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["audience"], 5);
    let names: Vec<&str> = listed["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{listed}");
    assert!(listed["segments"][0]["priority"]["rank"] == 1, "{listed}");
    let id = swedes["id"].as_str().unwrap();
    let (status, size, _) = hub
        .call(&viewer, Method::GET, &format!("{segments}/{id}/size"), None)
        .await;
    assert_eq!((status.as_u16(), size["size"].as_u64()), (200, Some(3)), "{size}");
    let (status, o, _) = hub
        .call(
            &viewer,
            Method::GET,
            &format!("{segments}/overlap?names=Swedes,Fitness"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{o}");
    let i = |n: &str| o["segments"].as_array().unwrap().iter().position(|s| s == n).unwrap();
    assert_eq!(o["counts"][i("Swedes")][i("Fitness")], 2, "c1 and c5: {o}");
    // Another brand's segment is not found under this brand; the client of this brand
    // reads it, the other brand's client would not see the brand at all.
    let other = format!("/api/v1/workspaces/{}/brands/{}/segments", hub.a, hub.a_other_brand);
    let (status, _, _) = hub
        .call(&viewer, Method::GET, &format!("{other}/{id}/size"), None)
        .await;
    assert_eq!(status, 404);
    let client = Auth::Session(hub.sign_in("client@acme.test").await);
    let (status, _, _) = hub.call(&client, Method::GET, &other, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = hub.call(&client, Method::GET, &segments, None).await;
    assert_eq!(status, 200);

    // Personas stand for a segment of the brand; one of no segment is refused by name.
    let personas = format!("/api/v1/workspaces/{}/brands/{}/personas", hub.a, hub.a_brand);
    let persona = |segment: &str| {
        json!({ "name": "Sporty Sara", "segment": segment,
                "demographics": {"age": 34, "location": "Göteborg"},
                "goals": ["Train twice a week"], "pain_points": ["No time"], "values": ["health"],
                "media_habits": ["Instagram"], "preferred_channels": ["instagram"], "message": "Short sessions, real results." })
    };
    let (status, p, _) = hub
        .call(&editor, Method::POST, &personas, Some(persona("Nobody")))
        .await;
    assert_eq!((status.as_u16(), p["field"].as_str()), (422, Some("segment")), "{p}");
    let (status, made, _) = hub
        .call(&editor, Method::POST, &personas, Some(persona("Fitness")))
        .await;
    assert_eq!(status, 201, "{made}");
    let (_, listed, _) = hub.call(&viewer, Method::GET, &personas, None).await;
    assert_eq!(listed[0]["name"], "Sporty Sara", "{listed}");
    assert_eq!(listed[0]["profile"]["goals"][0], "Train twice a week", "{listed}");
}

#[tokio::test]
async fn posting_slots_are_added_listed_with_their_next_times_paused_and_removed() {
    let hub = Hub::start().await;
    let editor = Auth::Session(hub.sign_in("editor@acme.test").await);
    let viewer = Auth::Session(hub.sign_in("viewer@acme.test").await);
    let schedules = format!("/api/v1/workspaces/{}/brands/{}/schedules", hub.a, hub.a_brand);
    // POSIX day numbers: 1-5 is Monday to Friday, on Stockholm's wall clock.
    let (status, s, _) = hub
        .call(
            &editor,
            Method::POST,
            &schedules,
            Some(json!({ "name": "Weekday mornings", "cron": "0 9 * * 1-5", "timezone": "Europe/Stockholm" })),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let upcoming = s["upcoming"].as_array().unwrap();
    assert_eq!(upcoming.len(), 5);
    for slot in upcoming {
        let local = chrono::DateTime::parse_from_rfc3339(slot["local"].as_str().unwrap()).unwrap();
        use chrono::{Datelike, Timelike};
        assert_eq!(local.hour(), 9, "{slot}");
        assert!(local.weekday().number_from_monday() <= 5, "a weekday: {slot}");
    }
    let (status, p, _) = hub
        .call(
            &editor,
            Method::POST,
            &schedules,
            Some(json!({ "name": "Broken", "cron": "0 25 * * *" })),
        )
        .await;
    assert_eq!(status, 422, "{p}");
    let (status, _, _) = hub
        .call(
            &viewer,
            Method::POST,
            &schedules,
            Some(json!({ "name": "Nope", "cron": "0 9 * * *" })),
        )
        .await;
    assert_eq!(status, 403);
    let id = s["id"].as_str().unwrap();
    let (status, off, _) = hub
        .call(
            &editor,
            Method::PATCH,
            &format!("{schedules}/{id}"),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!((status.as_u16(), off["enabled"].as_bool()), (200, Some(false)), "{off}");
    let (_, listed, _) = hub.call(&viewer, Method::GET, &schedules, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["enabled"], false);
    // Not under another brand's path; then removed.
    let other = format!(
        "/api/v1/workspaces/{}/brands/{}/schedules/{id}",
        hub.a, hub.a_other_brand
    );
    let (status, _, _) = hub.call(&editor, Method::DELETE, &other, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = hub
        .call(&editor, Method::DELETE, &format!("{schedules}/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (_, listed, _) = hub.call(&viewer, Method::GET, &schedules, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 0);
}

/// A `multipart/form-data` body (reqwest's multipart is a feature Chorus does not build).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("chorus-{}", Uuid::now_v7().simple());
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(f) = file_name {
            body.extend(format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes());
        }
        body.extend(b"\r\n\r\n");
        body.extend(*bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn media_uploads_are_read_before_they_are_kept() {
    let hub = Hub::start().await;
    let editor = hub.sign_in("editor@acme.test").await;
    let viewer = hub.sign_in("viewer@acme.test").await;
    let media = format!("{}/api/v1/workspaces/{}/brands/{}/media", hub.base, hub.a, hub.a_brand);
    let upload = |who: &Session, parts: &[(&str, Option<&str>, &[u8])]| {
        let (ctype, body) = multipart(parts);
        hub.http
            .post(&media)
            .header("cookie", &who.cookie)
            .header("x-csrf-token", &who.csrf)
            .header("content-type", ctype)
            .body(body)
    };
    // A 2 MiB-plus PNG: over the API's 1 MiB JSON limit, under the upload limit.
    let png = chorus_core::media::synthetic::png(1200, 900, [200, 120, 40]);
    let big = [png.clone(), vec![0u8; 2 * 1024 * 1024]].concat();
    let r = upload(
        &editor,
        &[
            ("file", Some("../../autumn.png"), &big),
            ("alt_text", None, b"Autumn colours"),
        ],
    )
    .send()
    .await
    .unwrap();
    let status = r.status();
    let asset: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{asset}");
    assert_eq!(asset["mime_type"], "image/png");
    assert_eq!(
        (asset["width"].as_i64(), asset["height"].as_i64()),
        (Some(1200), Some(900))
    );
    assert_eq!(asset["alt_text"], "Autumn colours");
    assert_eq!(asset["original_name"], "autumn.png", "the name only, never a path");
    // Not an image: refused with what was wrong, nothing kept; viewers upload nothing.
    let r = upload(&editor, &[("file", Some("notes.png"), b"just some text")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["field"], "file", "{p}");
    let r = upload(&viewer, &[("file", Some("a.png"), &png)]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = upload(&editor, &[("alt_text", None, b"no file")]).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = hub
        .http
        .post(&media)
        .header("cookie", &editor.cookie)
        .header("x-csrf-token", &editor.csrf)
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (status, listed, _) = hub
        .call(
            &Auth::Session(viewer),
            Method::GET,
            &format!("/api/v1/workspaces/{}/brands/{}/media", hub.a, hub.a_brand),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn a_csv_of_posts_is_checked_row_by_row_before_anything_is_imported() {
    let hub = Hub::with_plugins().await;
    let editor = hub.sign_in("editor@acme.test").await;
    let url = |q: &str| {
        format!(
            "{}/api/v1/workspaces/{}/brands/{}/posts/import{q}",
            hub.base, hub.a, hub.a_brand
        )
    };
    let send = |q: &str, csv: &str| {
        hub.http
            .post(url(q))
            .header("cookie", &editor.cookie)
            .header("x-csrf-token", &editor.csrf)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
    };
    let count = || async {
        hub.t
            .store
            .tenant(hub.a)
            .posts()
            .page(None, None, None, 100)
            .await
            .unwrap()
            .len()
    };
    let before = count().await;
    let csv = "text,accounts,time,timezone,hashtags\n\
               Winter menu,x:acme,2027-02-01 09:00,Europe/Stockholm,fika\n\
               Lost,x:nobody,,,\n\
               Skipped hour,x:acme,2027-03-28 02:30,Europe/Stockholm,\n\
               Just a draft,x:acme,,,\n";
    let r = send("", csv).await.unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    let errors = p["errors"].as_array().unwrap_or_else(|| panic!("{p}"));
    let at: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(at, [(3, "accounts"), (4, "time")], "{p}");
    assert!(errors[1]["message"].as_str().unwrap().contains("03:00"), "{p}");
    assert_eq!(count().await, before, "nothing imported when a row fails");

    let r = send("?partial=true&dry_run=true", csv).await.unwrap();
    let out: Value = r.json().await.unwrap();
    assert_eq!(
        (out["rows"].as_u64(), out["created"].as_u64()),
        (Some(4), Some(0)),
        "{out}"
    );
    assert_eq!(count().await, before, "a dry run creates nothing");

    let r = send("?partial=true", csv).await.unwrap();
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["created"], 2, "{out}");
    assert_eq!(out["errors"].as_array().unwrap().len(), 2);
    assert_eq!(count().await, before + 2);
    let first = out["posts"][0].as_str().unwrap();
    let (_, deliveries, _) = hub
        .call(
            &Auth::Session(Session {
                cookie: editor.cookie.clone(),
                csrf: editor.csrf.clone(),
            }),
            Method::GET,
            &format!("/api/v1/workspaces/{}/posts/{first}/deliveries", hub.a),
            None,
        )
        .await;
    assert_eq!(deliveries[0]["scheduled_at"], "2027-02-01T08:00:00Z", "{deliveries}");
    assert!(deliveries[0]["adapted_text"].as_str().unwrap().contains("#fika"));

    let r = send("", "text,accounts,colour\nHi,x:acme,red\n").await.unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("line 1: unknown column \"colour\""),
        "{p}"
    );
}
