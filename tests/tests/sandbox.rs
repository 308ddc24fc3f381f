//! The sandbox against real WebAssembly: each hostile behaviour is contained with a
//! specific error, and the host keeps serving other calls.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chorus_core::plugins::types::{Adapted, PluginError};
use chorus_core::plugins::{CallErrorKind, Grant, Invocation, Limits, MemoryMedia, Plugin};
use chorus_tests::plugins::{adapted, engine, guest, hostile, serve, test_account as account, text_post as a_post};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn inv() -> Invocation {
    Invocation {
        workspace: uuid::Uuid::nil(),
        token: Some("tok-123".into()),
        ..Invocation::default()
    }
}

async fn adapt(p: &Plugin, body: &str) -> Result<Adapted, chorus_core::plugins::CallError> {
    p.adapt(&a_post(body), None, &account(), &inv()).await
}

async fn publish(p: &Plugin, text: &str) -> Result<String, chorus_core::plugins::CallError> {
    p.publish(&adapted(text), "marker-1", &account(), &inv())
        .await
        .map(|r| r.remote_id)
}

fn denied(r: Result<impl std::fmt::Debug, chorus_core::plugins::CallError>) -> String {
    match r {
        Err(e) => match e.kind {
            CallErrorKind::Plugin(PluginError::Denied(m)) => m,
            other => panic!("expected a policy denial, got {other:?}"),
        },
        Ok(v) => panic!("expected a policy denial, got {v:?}"),
    }
}

/// A loopback stand-in for a platform: echoes what it received, redirects elsewhere,
/// answers any status, takes uploads, and serves a big body.
async fn platform(stolen_hits: Arc<AtomicUsize>) -> String {
    let elsewhere = serve(Router::new().fallback(get(move || {
        let hits = stolen_hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            "you should not be here"
        }
    })))
    .await;
    let app =
        Router::new()
            .route(
                "/echo",
                get(
                    |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                        let auth = headers
                            .get(header::AUTHORIZATION)
                            .map(|v| v.to_str().unwrap_or("").to_owned())
                            .unwrap_or_default();
                        format!("auth={auth};marker={}", q.get("marker").cloned().unwrap_or_default())
                    },
                ),
            )
            .route(
                "/redirect",
                get(|State(to): State<String>| async move {
                    (StatusCode::FOUND, [(header::LOCATION, format!("{to}/stolen"))])
                }),
            )
            .route(
                "/status/{code}",
                get(|Path(code): Path<u16>| async move {
                    (
                        StatusCode::from_u16(code).unwrap(),
                        [("retry-after", "42")],
                        r#"{"message":"slow down"}"#,
                    )
                        .into_response()
                }),
            )
            .route(
                "/upload",
                axum::routing::post(|body: axum::body::Bytes| async move { format!("{} bytes", body.len()) }),
            )
            .route("/big", get(|| async { vec![b'x'; 2 << 20] }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .with_state(elsewhere);
    serve(app).await
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_the_cpu_deadline_and_the_host_keeps_serving() {
    let e = engine();
    let p = hostile(&e, None, Limits::default()).await;
    let started = Instant::now();
    let err = adapt(&p, "loop").await.unwrap_err();
    assert!(
        matches!(err.kind, CallErrorKind::CpuLimit(d) if d == Duration::from_millis(100)),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped promptly, took {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string().contains("plugin hostile, adapt: stopped after 100ms"),
        "{err}"
    );
    assert_eq!(adapt(&p, "still alive").await.unwrap().text, "still alive");
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let e = engine();
    let p = hostile(
        &e,
        None,
        Limits {
            memory_bytes: 32 << 20,
            ..Limits::default()
        },
    )
    .await;
    let err = adapt(&p, "memory").await.unwrap_err();
    assert!(
        matches!(err.kind, CallErrorKind::OutOfMemory(n) if n == 32 << 20),
        "{err}"
    );
    assert!(err.to_string().contains("memory limit of 32 MiB"), "{err}");
    assert_eq!(adapt(&p, "ok").await.unwrap().text, "ok");
}

#[tokio::test]
async fn deep_recursion_is_a_stack_overflow_not_a_host_crash() {
    let e = engine();
    let p = hostile(&e, None, Limits::default()).await;
    let err = adapt(&p, "recurse").await.unwrap_err();
    assert!(matches!(err.kind, CallErrorKind::StackOverflow), "{err}");
}

#[tokio::test]
async fn a_huge_output_is_refused() {
    let e = engine();
    let p = hostile(&e, None, Limits::default()).await;
    let err = adapt(&p, "huge").await.unwrap_err();
    assert!(
        matches!(err.kind, CallErrorKind::OutputTooLarge { bytes, limit } if bytes == 16 << 20 && limit == 1 << 20),
        "{err}"
    );
}

#[tokio::test]
async fn a_panic_is_reported_with_the_plugins_message() {
    let e = engine();
    let p = hostile(&e, None, Limits::default()).await;
    let err = adapt(&p, "panic").await.unwrap_err();
    match &err.kind {
        CallErrorKind::Crashed(m) => assert!(m.contains("the plugin panicked on purpose"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn files_environment_and_clocks_are_not_there() {
    let e = engine();
    let p = hostile(&e, None, Limits::default()).await;
    let file = adapt(&p, "file").await.unwrap().text;
    assert!(file.starts_with("file error:"), "{file}");
    assert_eq!(adapt(&p, "env").await.unwrap().text, "env vars: 0, HOME: None");
    // Time comes only from the host import.
    let now: u64 = adapt(&p, "clock")
        .await
        .unwrap()
        .text
        .trim_start_matches("now ")
        .parse()
        .unwrap();
    assert!(now > 1_700_000_000_000);
}

#[tokio::test]
async fn http_during_adapt_is_denied() {
    let e = engine();
    let p = hostile(&e, None, Limits::default()).await;
    let why = denied(adapt(&p, "http").await);
    assert!(why.contains("not allowed during describe and adapt"), "{why}");
}

#[tokio::test]
async fn undeclared_private_plain_http_and_redirected_hosts_are_denied() {
    let stolen = Arc::new(AtomicUsize::new(0));
    let base = platform(stolen.clone()).await;
    let e = engine();
    let p = hostile(&e, Some(&base), Limits::default()).await;

    assert!(denied(publish(&p, "url https://evil.example/collect").await).contains("not declared"));
    assert!(denied(publish(&p, "url https://169.254.169.254/latest/meta-data").await).contains("link-local"));
    assert!(denied(publish(&p, "url https://10.1.2.3/").await).contains("private"));
    assert!(denied(publish(&p, "url http://api.hostile.test/x").await).contains("only https"));
    // The redirect comes back to the plugin unfollowed; following it by hand is refused.
    let why = denied(publish(&p, "redirect").await);
    assert!(why.contains("127.0.0.1"), "{why}");
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "the redirect target was never contacted"
    );
}

#[tokio::test]
async fn the_host_injects_the_token_and_refuses_a_plugins_own_authorization() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let e = engine();
    let p = hostile(&e, Some(&base), Limits::default()).await;
    assert_eq!(
        publish(&p, "ok").await.unwrap(),
        "200 auth=Bearer tok-123;marker=marker-1"
    );
    assert!(denied(publish(&p, "auth").await).contains("may not set the Authorization header"));
    // No token in adapt, and none handed to the plugin as data: the account record has none.
}

#[tokio::test]
async fn requests_per_call_response_size_timeouts_and_sleeps_are_capped() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let e = engine();
    let limits = Limits {
        http_requests_per_call: 5,
        http_response_bytes: 1 << 20,
        http_timeout: Duration::from_millis(300),
        sleep_max: Duration::from_millis(50),
        ..Limits::default()
    };
    let p = hostile(&e, Some(&base), limits).await;
    assert!(denied(publish(&p, "many").await).contains("already sent 5 requests"));
    match publish(&p, &format!("url {base}/big")).await.unwrap_err().kind {
        CallErrorKind::Plugin(PluginError::Transient(m)) => assert!(m.contains("exceeded 1048576 bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
    match publish(&p, &format!("url {base}/slow")).await.unwrap_err().kind {
        CallErrorKind::Plugin(PluginError::Transient(m)) => assert!(m.contains("timed out"), "{m}"),
        other => panic!("{other:?}"),
    }
    let started = Instant::now();
    assert_eq!(publish(&p, "sleep").await.unwrap(), "woke");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "sleep of u32::MAX ms was capped"
    );
}

#[tokio::test]
async fn publish_wall_clock_limit_stops_a_stuck_call() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let e = engine();
    let limits = Limits {
        publish_time: Duration::from_millis(400),
        http_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let p = hostile(&e, Some(&base), limits).await;
    let err = publish(&p, &format!("url {base}/slow")).await.unwrap_err();
    assert!(
        matches!(err.kind, CallErrorKind::Timeout(d) if d == Duration::from_millis(400)),
        "{err}"
    );
}

#[tokio::test]
async fn platform_statuses_become_typed_errors() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let e = engine();
    let p = hostile(&e, Some(&base), Limits::default()).await;
    match publish(&p, "status 429").await.unwrap_err().kind {
        CallErrorKind::Plugin(PluginError::RateLimited(r)) => {
            assert_eq!((r.retry_after_seconds, r.message.as_str()), (42, "slow down"))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        publish(&p, "status 401").await.unwrap_err().kind,
        CallErrorKind::Plugin(PluginError::AuthExpired(_))
    ));
    assert!(matches!(
        publish(&p, "status 503").await.unwrap_err().kind,
        CallErrorKind::Plugin(PluginError::Transient(_))
    ));
    assert!(matches!(
        publish(&p, "status 400").await.unwrap_err().kind,
        CallErrorKind::Plugin(PluginError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn media_is_streamed_by_the_host_into_uploads() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let e = engine();
    let p = hostile(&e, Some(&base), Limits::default()).await;
    let media = MemoryMedia([("m1".to_owned(), vec![7u8; 300_000])].into_iter().collect());
    let inv = Invocation {
        media: Some(Arc::new(media)),
        ..inv()
    };
    let out = p
        .publish(&adapted("upload m1"), "m", &account(), &inv)
        .await
        .unwrap()
        .remote_id;
    // Multipart framing adds a little around the 300,000 bytes of the file.
    let n: usize = out
        .trim_start_matches("200 ")
        .trim_end_matches(" bytes")
        .parse()
        .unwrap();
    assert!((300_000..301_000).contains(&n), "{out}");
}

#[tokio::test]
async fn the_key_value_store_round_trips_and_caps_values() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let e = engine();
    let p = hostile(&e, Some(&base), Limits::default()).await;
    assert_eq!(publish(&p, "kv").await.unwrap(), "hej true");
    assert!(denied(publish(&p, "kv-big").await).contains("at most 65536 bytes"));
}

#[tokio::test]
async fn tampered_unsupported_and_overreaching_plugins_are_refused() {
    let e = engine();
    let (manifest, mut bytes) = guest("hostile");
    let grant = Grant::for_manifest(&manifest, None, None).unwrap();
    bytes[100] ^= 0xff;
    let err = e
        .load(manifest.clone(), &bytes, true, grant.clone(), Limits::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not the one described"), "{err}");

    let mut old = manifest.clone();
    old.api_version = "0.0.1".into();
    let text = toml_of(&old);
    let err = chorus_core::plugins::Manifest::from_toml(std::path::Path::new("plugin.toml"), &text).unwrap_err();
    assert!(err.to_string().contains("targets plugin API 0.0.1"), "{err}");

    let err = Grant::for_manifest(&manifest, Some(&["api.other.test".to_owned()]), None).unwrap_err();
    assert!(err.to_string().contains("asks to reach api.hostile.test"), "{err}");

    let mut wrong_platform = manifest.clone();
    wrong_platform.platform = "x".into();
    let (_, good) = guest("hostile");
    let err = e
        .load(wrong_platform, &good, true, grant, Limits::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("describe() says platform \"hostile\""),
        "{err}"
    );
}

fn toml_of(m: &chorus_core::plugins::Manifest) -> String {
    format!(
        "id = {:?}\nname = {:?}\nversion = {:?}\napi_version = {:?}\nplatform = {:?}\nauthor = {:?}\ncomponent = {:?}\n",
        m.id, m.name, m.version, m.api_version, m.platform, m.author, m.component
    )
}

#[tokio::test]
async fn compiled_components_are_cached_by_hash_and_a_bad_cache_entry_is_replaced() {
    use chorus_core::plugins::{EngineSettings, MemoryKv, PluginEngine};
    let dir = tempfile::tempdir().unwrap();
    let settings = || EngineSettings {
        cache_dir: Some(dir.path().to_owned()),
        kv: Arc::new(MemoryKv::default()),
    };
    let (manifest, bytes) = guest("hostile");
    let grant = Grant::for_manifest(&manifest, None, None).unwrap();
    let first = PluginEngine::new(settings()).unwrap();
    first
        .load(manifest.clone(), &bytes, true, grant.clone(), Limits::default())
        .await
        .unwrap();
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let name = entries[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(manifest.sha256.as_deref().unwrap()) && name.ends_with(".cwasm"),
        "{name}"
    );

    // A second engine loads from the cache; a corrupted entry is ignored and rewritten.
    let second = PluginEngine::new(settings()).unwrap();
    let p = second
        .load(manifest.clone(), &bytes, true, grant.clone(), Limits::default())
        .await
        .unwrap();
    assert_eq!(adapt(&p, "cached").await.unwrap().text, "cached");
    std::fs::write(&entries[0], b"garbage").unwrap();
    let third = PluginEngine::new(settings()).unwrap();
    let p = third
        .load(manifest, &bytes, true, grant, Limits::default())
        .await
        .unwrap();
    assert_eq!(adapt(&p, "recompiled").await.unwrap().text, "recompiled");
    assert!(
        std::fs::metadata(&entries[0]).unwrap().len() > 1000,
        "the bad entry was replaced"
    );
}

#[tokio::test]
async fn adapt_segments_answers_each_segment_in_order_from_one_instance() {
    let (manifest, bytes) = chorus_tests::plugins::mastodon();
    let e = engine();
    let grant = Grant::for_manifest(&manifest, None, None).unwrap();
    let p = e.load(manifest, bytes, true, grant, Limits::default()).await.unwrap();
    let segment = |name: &str, emoji| {
        let view = chorus_core::plugins::convert::SegmentView {
            name: name.into(),
            tone: chorus_core::domain::ToneProfile {
                emoji,
                ..Default::default()
            },
            ..Default::default()
        };
        Some(chorus_core::plugins::types::Segment::from(&view))
    };
    let segments = vec![
        segment("keeps emoji", chorus_core::domain::EmojiUse::Keep),
        None,
        segment("no emoji", chorus_core::domain::EmojiUse::None),
    ];
    let post = a_post("Launch day 🚀 is here");
    let results = p.adapt_segments(&post, &segments, &account(), &inv()).await.unwrap();
    let texts: Vec<String> = results.into_iter().map(|r| r.unwrap().text).collect();
    assert_eq!(
        texts,
        ["Launch day 🚀 is here", "Launch day 🚀 is here", "Launch day is here"]
    );
    // The same as three separate calls.
    for (seg, text) in segments.iter().zip(&texts) {
        assert_eq!(
            &p.adapt(&post, seg.as_ref(), &account(), &inv()).await.unwrap().text,
            text
        );
    }
}

/// The hostile guest with a CDN host (`cdn.hostile.test`, declared but not a credential
/// host) standing in on `cdn`, and its API base on `api`.
async fn hostile_with_cdn(api: &str, cdn: &str) -> Plugin {
    let (manifest, bytes) = guest("hostile");
    let grant = Grant::for_manifest(&manifest, None, Some(url::Url::parse(api).unwrap()))
        .unwrap()
        .with_local_origins(&[("cdn.hostile.test".into(), url::Url::parse(cdn).unwrap())])
        .unwrap();
    engine()
        .load(manifest, &bytes, true, grant, Limits::default())
        .await
        .expect("load the hostile guest")
}

#[tokio::test]
async fn the_token_reaches_only_the_credential_host_not_another_declared_one() {
    let api = platform(Arc::new(AtomicUsize::new(0))).await;
    let cdn = platform(Arc::new(AtomicUsize::new(0))).await;
    let p = hostile_with_cdn(&api, &cdn).await;
    assert_eq!(
        publish(&p, &format!("fetch {api}/echo")).await.unwrap(),
        "200 auth=Bearer tok-123;marker="
    );
    assert_eq!(
        publish(&p, &format!("fetch {cdn}/echo")).await.unwrap(),
        "200 auth=;marker=",
        "a declared host that is not a credential host gets no token"
    );
}

#[tokio::test]
async fn hop_by_hop_and_framing_headers_from_a_plugin_are_refused() {
    let base = platform(Arc::new(AtomicUsize::new(0))).await;
    let p = hostile(&engine(), Some(&base), Limits::default()).await;
    for name in [
        "Connection",
        "Transfer-Encoding",
        "TE",
        "Upgrade",
        "Content-Length",
        "Host",
        "Proxy-Authorization",
        "Proxy-Connection",
    ] {
        let why = denied(publish(&p, &format!("header {name}")).await);
        assert!(why.contains(&format!("may not set the {name} header")), "{name}: {why}");
    }
    assert_eq!(publish(&p, "header X-Custom").await.unwrap(), "200");
}

#[tokio::test]
async fn adapt_may_not_write_or_delete_in_the_key_value_store() {
    let p = hostile(&engine(), None, Limits::default()).await;
    for mode in ["kv-set", "kv-delete"] {
        match adapt(&p, mode).await.unwrap_err().kind {
            CallErrorKind::Forbidden(why) => {
                assert!(
                    why.contains(&format!("{mode} is not allowed during describe and adapt")),
                    "{why}"
                )
            }
            other => panic!("{mode}: {other:?}"),
        }
    }
    // publish may.
    assert_eq!(publish(&p, "kv").await.unwrap(), "hej true");
}

#[tokio::test]
async fn a_result_with_too_many_elements_is_refused_naming_the_field() {
    let roomy = Limits {
        adapt_time: Duration::from_secs(5),
        ..Limits::default()
    };
    let p = hostile(&engine(), None, roomy).await;
    let err = adapt(&p, "warnings").await.unwrap_err();
    assert!(
        matches!(
            err.kind,
            CallErrorKind::TooManyItems {
                field: "warnings",
                count: 400_000,
                limit: 1000
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("400000 elements in `warnings`"), "{err}");
}

/// Collects what the host logs, for the log-budget test.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn one_call_logs_within_its_budget_and_plugin_lines_are_marked_as_the_plugins() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let roomy = Limits {
                adapt_time: Duration::from_secs(5),
                ..Limits::default()
            };
            let p = hostile(&engine(), None, roomy).await;
            assert_eq!(adapt(&p, "log-flood").await.unwrap().text, "logged");
        });
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let plugin_lines: Vec<&str> = log.lines().filter(|l| l.contains("chorus::plugin_log")).collect();
    let limits = Limits::default();
    assert!(
        log.len() < limits.log_bytes_per_call + 64 * 1024,
        "one call wrote {} bytes to the log",
        log.len()
    );
    assert!(
        plugin_lines.len() <= limits.log_lines_per_call as usize + 1,
        "{} lines",
        plugin_lines.len()
    );
    assert!(
        plugin_lines
            .iter()
            .any(|l| l.contains("dropped=") && l.contains("were dropped")),
        "one line says how many were dropped"
    );
    assert!(
        !log.lines()
            .any(|l| l.starts_with("2026-01-01T00:00:00Z ERROR chorus: forged")),
        "a plugin cannot start a line of its own"
    );
    assert!(log.contains("ok\\n2026-01-01T00:00:00Z"), "the newline is escaped");
}

#[tokio::test]
async fn a_plugin_reads_the_limits_of_its_call() {
    let limits = Limits {
        http_requests_per_call: 7,
        http_response_bytes: 4096,
        output_items: 12,
        ..Limits::default()
    };
    let p = hostile(&engine(), None, limits.clone()).await;
    // adapt may send nothing, but reads what one publish may send (to cap a thread).
    assert_eq!(
        adapt(&p, "limits").await.unwrap().text,
        format!("0 {} 12 7", limits.adapt_time.as_millis())
    );
    let out = p.publish(&adapted("limits"), "m", &account(), &inv()).await.unwrap();
    assert_eq!(out.remote_id, format!("7 {} 4096", limits.publish_time.as_millis()));
}
