//! The fakes themselves: requests the real platforms refuse, sent raw (no plugin), must be
//! refused with the platform's status and error shape. The plugin tests cover what a
//! correct plugin sends; these cover what a wrong one would.

use chorus_simulators::facebook::FacebookFake;
use chorus_simulators::linkedin::LinkedInFake;
use chorus_simulators::x::{ALL_SCOPES, XFake};
use chorus_tests::http_client;
use serde_json::{Value, json};

async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn x_refuses_bad_posts_and_out_of_order_uploads() {
    let fake = XFake::start().await.unwrap();
    fake.grant("t", "1", "acme", ALL_SCOPES);
    let http = http_client();
    let tweet = |body: Value| {
        http.post(format!("{}/2/tweets", fake.base_url))
            .bearer_auth("t")
            .json(&body)
    };
    // No token: 401 problem.
    let (status, _, body) = send(
        http.post(format!("{}/2/tweets", fake.base_url))
            .json(&json!({"text": "x"})),
    )
    .await;
    assert_eq!((status, body["title"].as_str()), (401, Some("Unauthorized")));
    // Unknown nested key, five media ids, media with a poll: 400 invalid-request.
    for bad in [
        json!({"text": "hi", "reply": {"in_reply_to_tweet_id": "1", "bogus": true}}),
        json!({"text": "hi", "media": {"media_ids": ["1", "2", "3", "4", "5"]}}),
        json!({"text": "hi", "media": {"media_ids": ["1"]}, "poll": {"options": ["a", "b"], "duration_minutes": 10}}),
        json!({"text": "x".repeat(281)}),
    ] {
        let (status, headers, body) = send(tweet(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["type"].as_str().unwrap().ends_with("invalid-request"), "{body}");
        assert!(
            headers.contains_key("x-rate-limit-remaining"),
            "every answer carries the rate-limit headers"
        );
    }
    // Exactly 280 by weight passes, and the answer is 201 with data.id.
    let (status, _, body) = send(tweet(json!({"text": "x".repeat(280)}))).await;
    assert_eq!(status, 201, "{body}");
    // A reply to someone who did not summon us: 403.
    let foreign = fake.add_foreign_tweet("99", "hello world");
    let (status, _, body) = send(tweet(json!({"text": "hi", "reply": {"in_reply_to_tweet_id": foreign}}))).await;
    assert_eq!(status, 403, "{body}");
    let summoned = fake.add_foreign_tweet("99", "what do you think @acme?");
    let (status, _, _) = send(tweet(
        json!({"text": "we agree", "reply": {"in_reply_to_tweet_id": summoned}}),
    ))
    .await;
    assert_eq!(status, 201);

    // Uploads: append out of range, finalize before all bytes, STATUS progression.
    let (_, _, init) = send(
        http.post(format!("{}/2/media/upload/initialize", fake.base_url))
            .bearer_auth("t")
            .json(&json!({"media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_video"})),
    )
    .await;
    let id = init["data"]["id"].as_str().unwrap().to_owned();
    let append = |index: &str, bytes: usize| {
        let form = reqwest::multipart::Form::new()
            .text("segment_index", index.to_owned())
            .part("media", reqwest::multipart::Part::bytes(vec![0u8; bytes]));
        http.post(format!("{}/2/media/upload/{id}/append", fake.base_url))
            .bearer_auth("t")
            .multipart(form)
    };
    assert_eq!(send(append("1000", 4)).await.0, 400);
    assert_eq!(send(append("0", 4)).await.0, 200);
    let finalize = || {
        http.post(format!("{}/2/media/upload/{id}/finalize", fake.base_url))
            .bearer_auth("t")
    };
    let (status, _, body) = send(finalize()).await;
    assert_eq!(status, 400, "4 of 10 bytes: {body}");
    assert_eq!(send(append("1", 6)).await.0, 200);
    let (status, _, body) = send(finalize()).await;
    assert_eq!(
        (status, body["data"]["processing_info"]["state"].as_str()),
        (200, Some("pending"))
    );
    // Not usable until processed.
    let (status, _, _) = send(tweet(json!({"text": "clip", "media": {"media_ids": [id]}}))).await;
    assert_eq!(status, 400);
    let mut states = Vec::new();
    for _ in 0..3 {
        let (_, _, s) = send(
            http.get(format!("{}/2/media/upload?command=STATUS&media_id={id}", fake.base_url))
                .bearer_auth("t"),
        )
        .await;
        states.push(s["data"]["processing_info"]["state"].as_str().unwrap().to_owned());
    }
    assert_eq!(states, ["in_progress", "in_progress", "succeeded"]);
    let (status, _, _) = send(tweet(json!({"text": "clip", "media": {"media_ids": [id]}}))).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn linkedin_refuses_missing_headers_long_commentary_and_unready_media() {
    let fake = LinkedInFake::start().await.unwrap();
    fake.grant(
        "t",
        "urn:li:person:me",
        &["urn:li:organization:1"],
        &["w_member_social", "w_organization_social"],
    );
    let http = http_client();
    let body = |commentary: &str| {
        json!({"author": "urn:li:organization:1", "commentary": commentary, "visibility": "PUBLIC",
               "distribution": {"feedDistribution": "MAIN_FEED"}, "lifecycleState": "PUBLISHED"})
    };
    let post = |b: Value, version: Option<&str>, restli: Option<&str>| {
        let mut r = http
            .post(format!("{}/rest/posts", fake.base_url))
            .bearer_auth("t")
            .json(&b);
        if let Some(v) = version {
            r = r.header("LinkedIn-Version", v);
        }
        if let Some(v) = restli {
            r = r.header("X-Restli-Protocol-Version", v);
        }
        r
    };
    for (version, restli) in [
        (None, Some("2.0.0")),
        (Some("202601"), None),
        (Some("2026-01"), Some("2.0.0")),
    ] {
        let (status, _, b) = send(post(body("hello"), version, restli)).await;
        assert_eq!(status, 400, "{version:?} {restli:?}: {b}");
        assert_eq!(b["status"], 400, "LinkedIn's error shape: {b}");
        assert!(b["message"].is_string());
    }
    let (status, _, b) = send(post(body(&"a".repeat(3001)), Some("202601"), Some("2.0.0"))).await;
    assert_eq!(status, 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("3000"));
    let mut with_media = body("look");
    with_media["content"] = json!({"media": {"id": "urn:li:image:nope"}});
    let (status, _, b) = send(post(with_media, Some("202601"), Some("2.0.0"))).await;
    assert_eq!(status, 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("AVAILABLE"));
    let mut no_state = body("draft");
    no_state.as_object_mut().unwrap().remove("lifecycleState");
    assert_eq!(send(post(no_state, Some("202601"), Some("2.0.0"))).await.0, 422);
    let (status, headers, _) = send(post(body("fine"), Some("202601"), Some("2.0.0"))).await;
    assert_eq!(status, 201);
    assert!(headers["x-restli-id"].to_str().unwrap().starts_with("urn:li:share:"));
}

#[tokio::test]
async fn facebook_refuses_schedules_outside_the_window_and_sends_usage_headers() {
    let fake = FacebookFake::start().await.unwrap();
    fake.grant_page("t", "42");
    let http = http_client();
    let feed = |b: Value| {
        http.post(format!("{}/v23.0/42/feed", fake.base_url))
            .bearer_auth("t")
            .json(&b)
    };
    let soon = chrono::Utc::now().timestamp() + 60;
    let (status, _, b) = send(feed(
        json!({"message": "later", "published": false, "scheduled_publish_time": soon}),
    ))
    .await;
    assert_eq!((status, b["error"]["code"].as_u64()), (400, Some(100)), "{b}");
    let ok_time = chrono::Utc::now().timestamp() + 3600;
    let (status, headers, b) = send(feed(
        json!({"message": "later", "published": false, "scheduled_publish_time": ok_time}),
    ))
    .await;
    assert_eq!(status, 200, "{b}");
    let usage: Value = serde_json::from_str(headers["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(usage["42"][0]["type"], "pages");
    let (status, _, b) = send(feed(json!({"published": true}))).await;
    assert_eq!(
        (status, b["error"]["code"].as_u64()),
        (400, Some(100)),
        "nothing to post: {b}"
    );
    // Another Page's feed with this Page's token: code 200.
    let (status, _, b) = send(
        http.post(format!("{}/v23.0/77/feed", fake.base_url))
            .bearer_auth("t")
            .json(&json!({"message": "hi"})),
    )
    .await;
    assert_eq!((status, b["error"]["code"].as_u64()), (403, Some(200)), "{b}");
}
