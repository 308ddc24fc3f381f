//! `chorus serve --demo`: the offline sandbox as a new user meets it. Seeds once, survives a
//! restart, and publishes through the real plugins to the sandbox platforms on loopback.

mod common;

use chorus_core::domain::WorkspaceKind;
use chorus_core::secrets::SecretKey;
use chorus_core::store::{NewWorkspace, Store};
use chorus_tests::TestDatabase;
use chorus_tests::process::Running;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

/// A signed-in browser: its session cookie and CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

/// Signs in as one of the demo's people with the password this start logged for them.
async fn sign_in(base: &str, log: &[String], email: &str) -> Person {
    let (cookie, csrf) = common::demo_sign_in(base, log, email).await;
    Person { cookie, csrf }
}

async fn publish_as(base: &str, who: Option<&Person>, body: Value) -> (u16, Value) {
    let mut r = chorus_tests::http_client().post(format!("{base}/sandbox/publish"));
    if let Some(p) = who {
        r = r.header("cookie", &p.cookie).header("x-csrf-token", &p.csrf);
    }
    let r = r.json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Publishes to the sandbox as the demo's owner.
async fn publish(base: &str, log: &[String], body: Value) -> (u16, Value) {
    let owner = sign_in(base, log, "owner@demo.example").await;
    publish_as(base, Some(&owner), body).await
}

#[tokio::test]
async fn the_demo_seeds_an_agency_and_publishes_offline_through_every_platform() {
    let cwd = tempfile::tempdir().unwrap();
    let db = TestDatabase::new().await;
    let args = [
        "serve",
        "--demo",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db.url,
        "--log-format",
        "json",
    ];
    let mut hub = Running::start(bin(), cwd.path(), &args, &[]);
    let base = hub.base_url();
    assert!(
        hub.log
            .iter()
            .any(|l| l.contains("demo: sandbox platforms") && l.contains("\"created\":true")),
        "{}",
        hub.log.join("\n")
    );
    let http = chorus_tests::http_client();
    // The demo's client signs in with the password this start printed, and is a client
    // approver of one brand.
    let client = sign_in(&base, &hub.log, "client@fika.example").await;
    let me: Value = http
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &client.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"][0]["role"], "client_approver", "{me}");
    assert!(me["memberships"][0]["brand_id"].is_string(), "{me}");
    let overview: Value = http
        .get(format!("{base}/sandbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["brands"].as_array().unwrap().len(), 2);
    for p in [
        "x",
        "linkedin",
        "facebook",
        "bluesky",
        "instagram",
        "tiktok",
        "pinterest",
    ] {
        assert!(
            overview["platforms"][p]["api_base"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
    }

    // Nothing unauthenticated publishes, nor anyone who may not compose in the brand: the
    // client approver of Fika cannot publish there (403) nor see Northwind (404).
    let post = json!({"brand": "fika", "platform": "linkedin", "text": "Not from a stranger"});
    let (status, out) = publish_as(&base, None, post.clone()).await;
    assert_eq!(status, 401, "{out}");
    let (status, out) = publish_as(&base, Some(&client), post).await;
    assert_eq!(status, 403, "{out}");
    let north = json!({"brand": "northwind", "platform": "linkedin", "text": "Not from a client"});
    let (status, out) = publish_as(&base, Some(&client), north).await;
    assert_eq!(status, 404, "{out}");
    let forged = Person {
        cookie: client.cookie.clone(),
        csrf: "not-the-token".into(),
    };
    let (status, out) = publish_as(
        &base,
        Some(&forged),
        json!({"brand": "fika", "platform": "x", "text": "csrf"}),
    )
    .await;
    assert_eq!(status, 403, "{out}");
    let overview: Value = http
        .get(format!("{base}/sandbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["platforms"]["linkedin"]["posts"], 0, "{overview}");
    assert_eq!(overview["platforms"]["x"]["posts"], 0, "{overview}");

    // LinkedIn, to the test organization, targeted at the seeded "Decision makers".
    let (status, out) = publish(
        &base,
        &hub.log,
        json!({"brand": "northwind", "platform": "linkedin", "segment": "Decision makers",
               "text": "Team orders, one invoice. Ask us (today)!"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert!(
        out["published"]["remote_id"]
            .as_str()
            .unwrap()
            .starts_with("urn:li:share:")
    );
    assert_eq!(
        out["adapted"]["targeting"]["seniorities"],
        json!(["urn:li:seniority:6", "urn:li:seniority:7", "urn:li:seniority:8"])
    );
    assert!(
        out["adapted"]["text"].as_str().unwrap().ends_with("Book a call"),
        "{out}"
    );

    // X: a long post becomes a thread of replies.
    let long = "Our autumn hiking range is out, tested on Kungsleden in the rain. ".repeat(8);
    let (status, out) = publish(&base, &hub.log, json!({"brand": "fika", "platform": "x", "text": long})).await;
    assert_eq!(status, 200, "{out}");
    assert!(!out["published"]["extra_ids"].as_array().unwrap().is_empty(), "{out}");

    // Facebook, preferring the seeded interest segment: feed_targeting.
    let (status, out) = publish(
        &base,
        &hub.log,
        json!({"brand": "northwind", "platform": "facebook", "segment": "Nordic hiking fans",
               "text": "Trail season. What is your favourite route?"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["adapted"]["targeting"]["feed_targeting"]["age_min"], 25, "{out}");

    // Bad input gets a specific error, and the sandbox keeps what it accepted.
    let (status, out) = publish(&base, &hub.log, json!({"brand": "nope", "platform": "x", "text": "hi"})).await;
    assert_eq!(status, 422);
    assert!(out["error"].as_str().unwrap().contains("northwind and fika"), "{out}");
    let overview: Value = http
        .get(format!("{base}/sandbox"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(overview["platforms"]["linkedin"]["posts"].as_u64().unwrap() >= 1);
    assert!(
        overview["queue"]["scheduled"].as_u64().unwrap() >= 8,
        "the tour's posts wait for their instants: {overview}"
    );
    hub.terminate(Duration::from_secs(10)).expect("stops on SIGTERM");

    // A restart keeps the demo (not seeded twice) and the accounts still publish.
    let mut hub = Running::start(bin(), cwd.path(), &args, &[]);
    let base = hub.base_url();
    assert!(
        hub.log.iter().any(|l| l.contains("\"created\":false")),
        "{}",
        hub.log.join("\n")
    );
    let (status, out) = publish(
        &base,
        &hub.log,
        json!({"brand": "fika", "platform": "linkedin", "text": "Fresh roast Friday"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    // The tour's first posts (30 s after the first start) go out through the engine: the
    // four published above plus at least the three deliveries of one tour post.
    let started = std::time::Instant::now();
    loop {
        let overview: Value = http
            .get(format!("{base}/sandbox"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // ...and the tour's media posts (a minute after the first start): the photo pulled
        // by Instagram, TikTok and Pinterest from the hub's signed media URLs, then the video
        // (a reel, a chunked upload, a registered Pin video): two of each per brand.
        let pulled = |p: &str| overview["platforms"][p]["posts"].as_u64().unwrap_or(0) >= 4;
        if overview["queue"]["published"].as_u64().unwrap_or(0) >= 7
            && pulled("instagram")
            && pulled("tiktok")
            && pulled("pinterest")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "the scheduled tour did not publish: {overview}\n{}",
            hub.log.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    hub.terminate(Duration::from_secs(10)).expect("stops on SIGTERM");
}

/// A first start stopped partway through seeding (here: after the workspace and a bare
/// first brand) is completed by the next one instead of failing on what is missing.
#[tokio::test]
async fn a_seed_cut_short_is_completed_on_the_next_start() {
    let cwd = tempfile::tempdir().unwrap();
    let db = TestDatabase::new().await;
    let env = [("CHORUS_DATABASE_URL", db.url.as_str())];
    // What the demo's first start wrote before it stopped: its marked workspace...
    let store = Store::open(&db.url, SecretKey::generate()).await.unwrap();
    store
        .workspaces()
        .create_sandbox(NewWorkspace {
            slug: "demo".into(),
            name: "Demo Agency".into(),
            kind: WorkspaceKind::Agency,
        })
        .await
        .unwrap();
    store.close().await.unwrap();
    // ...and a bare first brand.
    let args = [
        "brand",
        "create",
        "northwind",
        "--workspace",
        "demo",
        "--name",
        "Northwind",
    ];
    let (code, out, err) = chorus_tests::process::run(bin(), cwd.path(), &args, &env);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let args = ["serve", "--demo", "--bind", "127.0.0.1:0", "--log-format", "json"];
    let mut hub = Running::start(bin(), cwd.path(), &args, &env);
    let base = hub.base_url();
    assert!(
        hub.log.iter().any(|l| l.contains("\"created\":true")),
        "{}",
        hub.log.join("\n")
    );
    // The bare brand got its audience, segments and accounts; the missing one was created.
    let (status, out) = publish(
        &base,
        &hub.log,
        json!({"brand": "northwind", "platform": "linkedin", "segment": "Decision makers",
               "text": "Team orders, one invoice."}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (status, out) = publish(
        &base,
        &hub.log,
        json!({"brand": "fika", "platform": "x", "text": "Fresh roast Friday"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    hub.terminate(Duration::from_secs(10)).expect("stops on SIGTERM");
}

/// The sandbox acts only on the workspace the demo itself created (marked in the database),
/// never on one that merely has its slug: a person's own workspace called `demo`, with a
/// brand and an account, is refused at start, named, and left as it was.
#[tokio::test]
async fn a_persons_own_workspace_called_demo_is_never_used_by_the_sandbox() {
    let cwd = tempfile::tempdir().unwrap();
    let db = TestDatabase::new().await;
    let env = [("CHORUS_DATABASE_URL", db.url.as_str())];
    for args in [
        &[
            "workspace",
            "create",
            "demo",
            "--name",
            "Our own demo team",
            "--kind",
            "company",
        ][..],
        &[
            "brand",
            "create",
            "northwind",
            "--workspace",
            "demo",
            "--name",
            "Northwind",
        ][..],
    ] {
        let (code, out, err) = chorus_tests::process::run(bin(), cwd.path(), args, &env);
        assert_eq!(code, 0, "{args:?}\nstdout: {out}\nstderr: {err}");
    }
    let args = ["serve", "--demo", "--bind", "127.0.0.1:0", "--log-format", "json"];
    let (code, out, err) = chorus_tests::process::run_within(bin(), cwd.path(), &args, &env, Duration::from_secs(60));
    assert!(
        code.is_some_and(|c| c != 0),
        "the demo must refuse to start on someone's workspace (exit {code:?})\nstdout: {out}\nstderr: {err}"
    );
    assert!(
        err.contains("already has a workspace \"demo\" that `serve --demo` did not create"),
        "{err}"
    );
    let store = Store::open(&db.url, SecretKey::generate()).await.unwrap();
    assert!(store.workspaces().sandbox().await.unwrap().is_none());
    let ws = store.workspaces().by_slug("demo").await.unwrap();
    assert_eq!(ws.name, "Our own demo team");
    let tenant = store.tenant(ws.id);
    let brands = tenant.brands().list().await.unwrap();
    assert_eq!(brands.len(), 1, "no demo brand was added");
    assert!(tenant.accounts().list_for_brand(brands[0].id).await.unwrap().is_empty());
    store.close().await.unwrap();
}
