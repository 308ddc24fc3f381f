//! A component built against the frozen contract 0.1.0 (wit-bindgen alone, no SDK) keeps
//! loading and working in today's host: it adapts, publishes, recovers and measures
//! against a platform on loopback, and the host's newer fields come back empty.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_core::plugins::types::{LengthRule, PluginError, Segment};
use chorus_core::plugins::{CallErrorKind, Grant, Invocation, Limits, convert::SegmentView};
use chorus_tests::plugins::{engine, guest, serve, test_account, text_post};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The old platform: posts by id, each with its text and marker; a bearer token required.
#[derive(Default)]
struct Platform {
    posts: Mutex<Vec<(String, String)>>,
}

fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer old-token")
}

fn router(p: Arc<Platform>) -> Router {
    Router::new()
        .route(
            "/posts",
            post(async |State(p): State<Arc<Platform>>, h: HeaderMap, body: String| {
                if !authorized(&h) {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                if h.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-www-form-urlencoded") {
                    return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send a form".into());
                }
                let f: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let (Some(text), Some(marker)) = (f.get("text"), f.get("marker")) else {
                    return (StatusCode::BAD_REQUEST, "text and marker are required".into());
                };
                let mut posts = p.posts.lock().unwrap();
                posts.push((text.clone(), marker.clone()));
                (StatusCode::OK, format!("id={}\n", posts.len()))
            })
            .get(
                async |State(p): State<Arc<Platform>>, h: HeaderMap, Query(q): Query<HashMap<String, String>>| {
                    if !authorized(&h) {
                        return (StatusCode::UNAUTHORIZED, String::new());
                    }
                    let posts = p.posts.lock().unwrap();
                    let found = posts.iter().position(|(_, m)| Some(m) == q.get("marker"));
                    (
                        StatusCode::OK,
                        found.map_or(String::new(), |i| format!("id={}\n", i + 1)),
                    )
                },
            ),
        )
        .route(
            "/posts/{id}",
            get(async |h: HeaderMap, Path(id): Path<usize>| {
                if !authorized(&h) {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                (StatusCode::OK, format!("likes={}\n", id * 10))
            }),
        )
        .route("/health", get(async || Json("ok")))
        .with_state(p)
}

#[tokio::test]
async fn a_0_1_0_component_loads_adapts_publishes_recovers_and_measures() {
    let platform = Arc::new(Platform::default());
    let base = serve(router(platform.clone())).await;
    let (manifest, bytes) = guest("contract-v0-1-0");
    assert_eq!(manifest.api_version, "0.1.0");
    let grant = Grant::for_manifest(&manifest, None, Some(url::Url::parse(&base).unwrap())).unwrap();
    let plugin = engine()
        .load(manifest, &bytes, true, grant, Limits::default())
        .await
        .expect("a 0.1.0 component loads");

    // describe comes up to today's types, with what 0.1.0 cannot say left empty.
    let d = &plugin.description;
    assert_eq!(
        (d.id.as_str(), d.text.max_length, d.text.length_rule),
        ("old-timer", 40, LengthRule::Graphemes)
    );
    assert!(d.text.also.is_empty() && d.fields.is_empty() && d.session.is_none());
    assert_eq!(d.publish_budgets.len(), 1);

    // adapt and adapt-segments: the post and the segment go down to 0.1.0.
    let account = test_account();
    let inv = Invocation {
        token: Some("old-token".into()),
        ..Invocation::default()
    };
    let mut post = text_post("Hello from a plugin written against contract 0.1.0");
    post.title = Some("not in 0.1.0".into());
    let a = plugin.adapt(&post, None, &account, &inv).await.unwrap();
    assert_eq!(a.text, "Hello from a plugin written against cont");
    assert_eq!(a.warnings[0].code, "text-truncated");
    assert!(a.fields.is_empty() && a.extras.is_empty() && a.languages.is_empty());
    let segment: Segment = (&SegmentView {
        name: "Pros".into(),
        ..SegmentView::default()
    })
        .into();
    let both = plugin
        .adapt_segments(&post, &[None, Some(segment)], &account, &inv)
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    let with_segment = both[1].as_ref().unwrap();
    assert_eq!(with_segment.warnings[1].code, "segment-seen");
    assert!(with_segment.warnings[1].message.starts_with("Pros"));
    let refused = plugin.adapt(&text_post("  "), None, &account, &inv).await.unwrap_err();
    assert!(
        matches!(&refused.kind, CallErrorKind::Plugin(PluginError::InvalidInput(i)) if i.field == "body"),
        "{refused}"
    );

    // publish, find-published and fetch-metrics: over HTTP through today's host imports.
    assert_eq!(plugin.find_published("m-1", &a, &account, &inv).await.unwrap(), None);
    let published = plugin.publish(&a, "m-1", &account, &inv).await.unwrap();
    assert_eq!(published.remote_id, "1");
    assert_eq!(published.url.as_deref(), Some("https://old-timer.test/p/1"));
    assert_eq!(platform.posts.lock().unwrap()[0], (a.text.clone(), "m-1".to_owned()));
    let found = plugin.find_published("m-1", &a, &account, &inv).await.unwrap();
    assert_eq!(found.map(|f| f.remote_id).as_deref(), Some("1"));
    let metrics = plugin.fetch_metrics(&["1".into()], &account, &inv).await.unwrap();
    assert_eq!((metrics[0].remote_id.as_str(), metrics[0].likes), ("1", Some(10)));

    // Its typed errors come up too: a refused token is `auth-expired`.
    let stale = Invocation {
        token: Some("stale".into()),
        ..Invocation::default()
    };
    let e = plugin.publish(&a, "m-2", &account, &stale).await.unwrap_err();
    assert!(
        matches!(e.kind, CallErrorKind::Plugin(PluginError::AuthExpired(_))),
        "{e}"
    );
    assert_eq!(platform.posts.lock().unwrap().len(), 1);
}
