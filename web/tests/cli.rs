//! The `chorus` binary as a person runs it: serving, migrating, and refusing bad settings
//! with messages that name the setting.

use chorus_tests::TestDatabase;
use chorus_tests::process::{Running, run};
use std::path::Path;
use std::time::Duration;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

#[tokio::test]
async fn serve_with_no_config_creates_sqlite_answers_health_and_stops_on_sigterm() {
    let cwd = tempfile::tempdir().unwrap();
    // Port 0: the OS picks a free port, which the log line reports.
    let mut hub = Running::start(bin(), cwd.path(), &["serve", "--bind", "127.0.0.1:0"], &[]);
    let base = hub.base_url();
    let http = chorus_tests::http_client();

    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));

    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["database"], "ok");

    assert!(
        cwd.path().join("chorus-data/chorus.db").is_file(),
        "SQLite file created under ./chorus-data"
    );
    assert!(
        cwd.path().join("chorus-data/secret.key").is_file(),
        "credential key created"
    );

    let status = hub
        .terminate(Duration::from_secs(5))
        .expect("exits within 5 s of SIGTERM");
    assert!(status.success(), "graceful exit, got {status:?}");
    assert!(
        hub.wait_for_line("Chorus stopped", Duration::from_secs(1)).is_some(),
        "{:?}",
        hub.log
    );
}

#[test]
fn json_log_format_writes_one_json_object_per_line() {
    let cwd = tempfile::tempdir().unwrap();
    let mut hub = Running::start(
        bin(),
        cwd.path(),
        &["serve", "--bind", "127.0.0.1:0", "--log-format", "json"],
        &[],
    );
    let line = hub
        .wait_for_line("listening on", Duration::from_secs(60))
        .expect("started");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert_eq!(v["level"], "INFO");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("listening on http://127.0.0.1:")
    );
}

#[test]
fn a_port_in_use_is_named_with_the_setting_to_change() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let cwd = tempfile::tempdir().unwrap();
    let (code, _, err) = run(bin(), cwd.path(), &["serve", "--bind", &addr], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("bind {addr}: the port is already in use")),
        "{err}"
    );
    assert!(err.contains("--bind or CHORUS_BIND"), "{err}");
}

#[test]
fn an_unreachable_database_is_named_with_its_cause() {
    let cwd = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        bin(),
        cwd.path(),
        &["migrate", "--database-url", "postgres://chorus:pw@127.0.0.1:1/chorus"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("database_url postgres://chorus:***@127.0.0.1:1/chorus: cannot connect"),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains(":pw@"), "password must not be printed: {err}");
}

#[test]
fn an_unsupported_database_scheme_lists_what_is_allowed() {
    let cwd = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        bin(),
        cwd.path(),
        &["migrate"],
        &[("CHORUS_DATABASE_URL", "mysql://root@localhost/x")],
    );
    assert_eq!(code, 1);
    assert!(err.contains("is not supported") && err.contains("postgres://"), "{err}");
}

#[test]
fn an_unwritable_data_dir_is_named() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("blocker"), b"a file, not a directory").unwrap();
    let (code, _, err) = run(
        bin(),
        cwd.path(),
        &["serve", "--bind", "127.0.0.1:0", "--data-dir", "blocker/data"],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error: data_dir blocker/data: cannot create or write"),
        "{err}"
    );
    assert!(err.contains("CHORUS_DATA_DIR"), "{err}");
}

#[test]
fn config_file_typos_and_bad_values_are_named() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("chorus.toml"), "data_dri = \"x\"\n").unwrap();
    let (code, _, err) = run(bin(), cwd.path(), &["migrate", "--config", "chorus.toml"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("config file chorus.toml") && err.contains("data_dri"),
        "{err}"
    );

    std::fs::write(cwd.path().join("bad-bind.toml"), "bind = \"localhost\"\n").unwrap();
    let (code, _, err) = run(bin(), cwd.path(), &["serve", "--config", "bad-bind.toml"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("bind \"localhost\" is not an address and port"), "{err}");

    let (code, _, err) = run(bin(), cwd.path(), &["migrate"], &[("CHORUS_SECRET_KEY", "tooshort")]);
    assert_eq!(code, 2);
    assert!(err.contains("64 hexadecimal characters"), "{err}");

    let (code, _, err) = run(bin(), cwd.path(), &["migrate", "--config", "missing.toml"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("config file missing.toml: cannot read it"), "{err}");
}

#[tokio::test]
async fn migrate_applies_every_migration_once_then_reports_up_to_date() {
    let cwd = tempfile::tempdir().unwrap();
    let db = TestDatabase::new().await;
    let (code, out, err) = run(bin(), cwd.path(), &["migrate", "--database-url", &db.url], &[]);
    assert_eq!(code, 0, "{err}");
    // Every migration the binary carries, counted from the crate rather than written here.
    use chorus_migrations::MigratorTrait;
    let all = chorus_migrations::Migrator::migrations();
    let last = all.last().expect("at least one migration").name().to_owned();
    assert!(
        out.contains(&format!("applied {} migration(s)", all.len())) && out.contains(&last),
        "{out}"
    );
    let (code, out, _) = run(bin(), cwd.path(), &["migrate", "--database-url", &db.url], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("is up to date"), "{out}");
}

#[tokio::test]
async fn worker_refuses_a_database_that_was_not_migrated() {
    let cwd = tempfile::tempdir().unwrap();
    let db = TestDatabase::new().await;
    let (code, _, err) = run(bin(), cwd.path(), &["worker", "--database-url", &db.url], &[]);
    assert_eq!(code, 1);
    use chorus_migrations::MigratorTrait;
    let all = chorus_migrations::Migrator::migrations().len();
    assert!(
        err.contains(&format!("missing {all} migration(s)")) && err.contains("run `chorus migrate`"),
        "{err}"
    );
}

#[tokio::test]
async fn worker_runs_on_a_migrated_database_until_sigterm() {
    let cwd = tempfile::tempdir().unwrap();
    let db = TestDatabase::new().await;
    assert_eq!(
        run(bin(), cwd.path(), &["migrate", "--database-url", &db.url], &[]).0,
        0
    );
    let mut w = Running::start(bin(), cwd.path(), &["worker", "--database-url", &db.url], &[]);
    assert!(
        w.wait_for_line("worker started", Duration::from_secs(30)).is_some(),
        "{:?}",
        w.log
    );
    let status = w.terminate(Duration::from_secs(5)).expect("exits within 5 s");
    assert!(status.success());
}

#[test]
fn version_and_help_describe_the_commands() {
    let cwd = tempfile::tempdir().unwrap();
    let (code, out, _) = run(bin(), cwd.path(), &["--version"], &[]);
    assert_eq!(
        (code, out.trim()),
        (0, format!("chorus {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let (_, out, _) = run(bin(), cwd.path(), &["--help"], &[]);
    for cmd in ["serve", "worker", "migrate"] {
        assert!(out.contains(cmd), "{out}");
    }
}

#[tokio::test]
async fn queue_shows_depth_per_state_and_the_dead_with_their_reasons() {
    use chorus_core::domain::{DeliveryStatus, FailureKind};
    use chorus_core::store::AttemptFailure;
    let cwd = tempfile::tempdir().unwrap();
    let t = chorus_tests::TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("q").await;
    let now = chrono::Utc::now();
    let accounts = chorus_tests::queue::seed_due(&t.store, ws, brand, "x", (3, 1), now, "q").await;
    // A draft's delivery is pending, and `queue` says why.
    let draft = t
        .store
        .tenant(ws)
        .posts()
        .create(
            brand,
            None,
            chorus_core::domain::PostDraft {
                body: "not yet".into(),
                locale: "en".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.store
        .tenant(ws)
        .deliveries()
        .create_many(vec![chorus_core::store::NewDelivery {
            post_id: draft.id,
            account_id: accounts[0].id,
            timezone: "UTC".into(),
            ..Default::default()
        }])
        .await
        .unwrap();
    let c = t
        .store
        .queue()
        .claim("w", 1, Duration::from_secs(30), now)
        .await
        .unwrap()
        .remove(0);
    t.store
        .queue()
        .fail(
            &c,
            AttemptFailure {
                kind: FailureKind::Transient,
                error: "gave up after 8 attempts; the last: 503".into(),
                next: DeliveryStatus::Dead,
                run_at: None,
                maybe_published: false,
            },
        )
        .await
        .unwrap();
    // One waits to try again after a 503; one is in a worker's hands.
    let q = t.store.queue();
    let c = q.claim("w", 1, Duration::from_secs(30), now).await.unwrap().remove(0);
    let again = now + chrono::Duration::minutes(5);
    q.fail(
        &c,
        AttemptFailure {
            kind: FailureKind::Transient,
            error: "503 from the platform".into(),
            next: DeliveryStatus::Retrying,
            run_at: Some(again),
            maybe_published: false,
        },
    )
    .await
    .unwrap();
    let held_by = q
        .claim("worker-7", 1, Duration::from_secs(30), now)
        .await
        .unwrap()
        .remove(0);
    let (code, out, err) = run(
        bin(),
        cwd.path(),
        &["queue", "--json", "--database-url", &t.db.url],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            v["states"]["dead"].as_u64(),
            v["states"]["retrying"].as_u64(),
            v["states"]["claimed"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(v["in_flight"][0]["id"], held_by.delivery.id.to_string());
    assert_eq!(v["in_flight"][0]["worker"], "worker-7");
    assert_eq!(v["retrying"][0]["reason"], "503 from the platform");
    assert_eq!(v["retrying"][0]["error_kind"], "transient");
    assert_eq!(
        v["not_published"][0]["reason"],
        "gave up after 8 attempts; the last: 503"
    );
    assert_eq!(v["not_published"][0]["error_kind"], "transient");
    assert_eq!(v["states"]["pending"], 1);
    assert_eq!(v["pending_by_reason"], serde_json::json!({"draft": 1}));
    let (code, text, _) = run(bin(), cwd.path(), &["queue", "--database-url", &t.db.url], &[]);
    assert_eq!(code, 0);
    assert!(
        text.contains("dead")
            && text.contains("gave up after 8 attempts")
            && text.contains("(1 in drafts)")
            && text.contains("by worker-7, lease until")
            && text.contains("waiting to try again:")
            && text.contains("503 from the platform"),
        "{text}"
    );
}

#[tokio::test]
async fn the_first_start_says_how_to_create_an_owner_and_user_create_lets_them_sign_in() {
    let db = TestDatabase::new().await;
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path();
    let env = [("CHORUS_DATABASE_URL", db.url.as_str())];
    let mut hub = Running::start(bin(), dir, &["serve", "--bind", "127.0.0.1:0"], &env);
    let base = hub.base_url();
    assert!(
        hub.wait_for_line("chorus user create", Duration::from_secs(5))
            .is_some(),
        "no first-start hint: {:?}",
        hub.log
    );
    let (code, out, err) = run(
        bin(),
        dir,
        &["workspace", "create", "acme", "--name", "Acme", "--kind", "agency"],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");

    // A short password is refused with the rule, and nothing is created.
    let create = [
        "user",
        "create",
        "--email",
        "Ana@Acme.test",
        "--name",
        "Ana",
        "--workspace",
        "acme",
    ];
    let short = [env[0], ("CHORUS_PASSWORD", "too short")];
    let (code, out, err) = run(bin(), dir, &create, &short);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("password") && err.contains("at least 12"), "{err}");
    let good = [env[0], ("CHORUS_PASSWORD", "correct horse battery staple")];
    let (code, out, err) = run(bin(), dir, &create, &good);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ana@acme.test can sign in; owner of acme"), "{out}");

    let http = chorus_tests::http_client();
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({ "email": "ana@acme.test", "password": "correct horse battery staple" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: serde_json::Value = http
        .get(format!("{base}/api/v1/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"][0]["workspace"]["slug"], "acme");
    assert_eq!(me["memberships"][0]["role"], "owner");
    hub.terminate(Duration::from_secs(5));
}
