//! Plugin tooling as a person uses it: list, inspect, preview, test, scaffold, install.

use chorus_tests::process::run;
use serde_json::Value;
use std::path::Path;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

/// A settings file that gives plugin calls generous time: these tests check what plugins
/// return, and the suite runs many processes at once on two cores.
fn relaxed_config(cwd: &Path) -> &'static str {
    std::fs::write(cwd.join("relaxed.toml"), "[plugins]\nadapt_ms = 2000\n").unwrap();
    "relaxed.toml"
}

fn chorus_json(cwd: &Path, args: &[&str]) -> Value {
    let (code, out, err) = run(bin(), cwd, args, &[]);
    assert_eq!(code, 0, "chorus {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn list_and_inspect_show_the_bundled_plugin_with_its_rules() {
    let cwd = tempfile::tempdir().unwrap();
    let list = chorus_json(cwd.path(), &["plugin", "list", "--json"]);
    let mastodon = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "mastodon")
        .expect("mastodon listed");
    assert_eq!(mastodon["source"], "bundled");
    assert_eq!(mastodon["sha256"].as_str().unwrap().len(), 64);
    let inspect = chorus_json(cwd.path(), &["plugin", "inspect", "mastodon", "--json"]);
    assert_eq!(inspect["describe"]["text"]["max_length"], 500);
    assert_eq!(inspect["manifest"]["api_version"], "0.2.0");
    let (code, _, err) = run(bin(), cwd.path(), &["plugin", "inspect", "nope"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "no plugin \"nope\"; installed: bluesky, facebook, instagram, linkedin, mastodon, pinterest, tiktok, x"
        ),
        "{err}"
    );
}

#[test]
fn preview_adapts_with_the_real_plugin_and_reports_length_and_fit() {
    let cwd = tempfile::tempdir().unwrap();
    let short = chorus_json(
        cwd.path(),
        &[
            "preview",
            "--platform",
            "mastodon",
            "--text",
            "Hello 👋 fediverse",
            "--json",
        ],
    );
    assert_eq!(short["platform"], "mastodon");
    assert_eq!(short["text"], "Hello 👋 fediverse");
    assert_eq!(
        (
            short["length"].as_u64(),
            short["limit"].as_u64(),
            short["fits"].as_bool()
        ),
        (Some(17), Some(500), Some(true))
    );
    for key in ["parts", "hashtags", "warnings", "targeting"] {
        assert!(short.get(key).is_some(), "{key} missing");
    }

    let long_text = "This sentence keeps going for a while. ".repeat(30);
    let long = chorus_json(
        cwd.path(),
        &["preview", "--platform", "mastodon", "--text", &long_text, "--json"],
    );
    let parts = long["parts"].as_array().unwrap();
    assert!(parts.len() >= 3, "{long}");
    assert!(parts.iter().all(|p| p.as_str().unwrap().chars().count() <= 500));
    assert_eq!(long["fits"], true);
    assert!(
        long["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "thread-created")
    );
}

#[test]
fn preview_applies_a_segments_tone_from_a_file() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("segment.json"),
        r#"{"name": "UK professionals",
            "tone": {"formality": "professional", "emoji": "none", "max_hashtags": 1,
                     "call_to_action": "Book a demo.", "language_variant": "en-GB",
                     "glossary": [{"term": "app", "replacement": "platform"}]}}"#,
    )
    .unwrap();
    std::fs::write(
        cwd.path().join("post.json"),
        r#"{"body": "our new app is here!!! 🎉 pick your favorite color", "hashtags": ["launch", "design"], "link": "https://example.com/launch"}"#,
    )
    .unwrap();
    let out = chorus_json(
        cwd.path(),
        &[
            "preview",
            "--platform",
            "mastodon",
            "--post-file",
            "post.json",
            "--segment-file",
            "segment.json",
            "--json",
        ],
    );
    assert_eq!(
        out["text"],
        "Our new platform is here! pick your favourite colour\n\n#launch\n\nhttps://example.com/launch\n\nBook a demo."
    );
    let codes: Vec<&str> = out["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "glossary-applied",
            "language-variant-applied",
            "formality-applied",
            "emoji-removed",
            "hashtags-dropped"
        ]
    );
}

#[test]
fn preview_rejects_bad_input_with_specific_errors() {
    let cwd = tempfile::tempdir().unwrap();
    let (code, _, err) = run(bin(), cwd.path(), &["preview", "--platform", "mastodon"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("exactly one of --text TEXT or --post-file FILE"), "{err}");
    std::fs::write(cwd.path().join("seg.json"), r#"{"tone": {"formality": "stiff"}}"#).unwrap();
    let (code, _, err) = run(
        bin(),
        cwd.path(),
        &[
            "preview",
            "--platform",
            "mastodon",
            "--text",
            "x",
            "--segment-file",
            "seg.json",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("seg.json") && err.contains("unknown variant `stiff`"),
        "{err}"
    );
    let (code, _, err) = run(
        bin(),
        cwd.path(),
        &["preview", "--platform", "myspace", "--text", "x"],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("no plugin \"myspace\""), "{err}");
}

#[test]
fn plugin_test_passes_the_bundled_plugin_and_fails_one_that_ignores_its_limits() {
    let cwd = tempfile::tempdir().unwrap();
    let config = relaxed_config(cwd.path());
    let (code, out, err) = run(
        bin(),
        cwd.path(),
        &["plugin", "test", "mastodon", "--config", config],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok   describe is stable across calls"), "{out}");
    assert!(
        out.contains("ok   publish fails with a typed error: temporary failure"),
        "{out}"
    );
    assert!(out.contains(" after 1 request"), "the check says what it tried: {out}");
    assert!(
        out.contains("ok   adapt plain: ") && out.contains(" ms of 2000 ms"),
        "adapt is timed: {out}"
    );
    assert!(out.trim_end().ends_with(" passed, 0 failed"), "{out}");

    // The hostile test plugin declares a 100-character limit and then ignores it.
    let hostile = chorus_tests::plugins::guest_manifest("hostile");
    let (code, out, _) = run(
        bin(),
        cwd.path(),
        &["plugin", "test", hostile.to_str().unwrap(), "--config", config],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL adapt very long prose: text is"), "{out}");
    assert!(out.contains("over its limit of 100"), "{out}");
    // Its publish refuses the sample without sending anything: a typed error that proves
    // nothing about its error handling fails the check.
    assert!(
        out.contains("FAIL publish fails with a typed error: failed with invalid input")
            && out.contains("without sending a request"),
        "{out}"
    );
}

/// Kills the scaffolded fake when the test ends, however it ends.
struct Fake(std::process::Child);

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// From `plugin new` to a plugin that passes its unit tests and `plugin test`, publishes,
/// recovers and measures against the scaffolded fake with `plugin run`, and installs; a
/// later failing build loses its package.
#[test]
fn a_scaffolded_plugin_builds_passes_its_tests_runs_against_its_fake_and_installs() {
    let cwd = tempfile::tempdir().unwrap();
    let (code, out, err) = run(bin(), cwd.path(), &["plugin", "new", "bluesky-demo"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created ./bluesky-demo"), "{out}");
    // Share compiled dependencies with the workspace's own plugin builds.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm-plugins");
    let env = [("CARGO_TARGET_DIR", target.to_str().unwrap())];
    let config = relaxed_config(cwd.path());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let crate_dir = cwd.path().join("bluesky-demo");

    // The unit tests run natively (the crate is also an rlib).
    let (code, out, err) = run(Path::new(&cargo), &crate_dir, &["test", "--quiet"], &env);
    assert_eq!(
        code, 0,
        "{out}
{err}"
    );
    assert!(out.contains("2 passed"), "{out}");

    // The fake, built for this machine and started on a free port.
    let (code, _, err) = run(
        Path::new(&cargo),
        &crate_dir,
        &["build", "--quiet", "--manifest-path", "fake/Cargo.toml"],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _fake = Fake(
        std::process::Command::new(target.join("debug/bluesky-demo-fake"))
            .args(["--port", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the fake"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the fake did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let plugin_run = |export: &str, token: &str, extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "run",
            export,
            "bluesky-demo",
            "--api-base",
            &base,
            "--token",
            token,
            "--json",
        ];
        args.extend_from_slice(extra);
        run(bin(), cwd.path(), &args, &env)
    };
    let (code, out, err) = plugin_run(
        "publish",
        "test-token",
        &["--text", "Hello from the scaffold", "--marker", "m-1"],
    );
    assert_eq!(
        code, 0,
        "{out}
{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["result"]["remote_id"], "1", "{v}");
    let (code, out, err) = plugin_run(
        "find-published",
        "test-token",
        &["--text", "Hello from the scaffold", "--marker", "m-1"],
    );
    assert_eq!(
        code, 0,
        "{out}
{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["result"]["remote_id"], "1", "found by its marker: {v}");
    let (code, out, err) = plugin_run("fetch-metrics", "test-token", &["--remote-id", "1"]);
    assert_eq!(
        code, 0,
        "{out}
{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["result"][0]["likes"].as_u64(), v["result"][0]["impressions"].as_u64()),
        (Some(10), Some(100)),
        "{v}"
    );
    // The fake enforces the platform's rules: a wrong token is refused, as auth-expired.
    let (code, out, err) = plugin_run("publish", "wrong-token", &["--text", "Hello again", "--marker", "m-2"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        format!("{out}{err}").contains("auth"),
        "{out}
{err}"
    );

    let (code, out, err) = run(
        bin(),
        cwd.path(),
        &["plugin", "test", "bluesky-demo", "--config", config],
        &env,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("packaged into bluesky-demo/dist"), "{out}");
    let (code, out, err) = run(bin(), cwd.path(), &["plugin", "install", "bluesky-demo/dist"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("installed bluesky-demo 0.1.0"), "{out}");
    let list = chorus_json(cwd.path(), &["plugin", "list", "--json"]);
    let demo = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "bluesky-demo")
        .expect("installed plugin listed");
    assert_eq!(demo["source"], "installed");
    // Tampering with the installed component is caught on the next start.
    let installed = cwd.path().join("chorus-data/plugins/bluesky-demo/bluesky-demo.wasm");
    let mut bytes = std::fs::read(&installed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&installed, bytes).unwrap();
    let (code, out, err) = run(bin(), cwd.path(), &["plugin", "list", "--json"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("bluesky-demo"), "a tampered plugin must not load: {out}");
    assert!(err.contains("is not the one described"), "{err}");

    // A later build that fails a check loses the package, so a stale build cannot be
    // installed: here fetch-metrics stops trying the platform.
    assert!(crate_dir.join("dist/plugin.toml").is_file());
    let lib = crate_dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap().replacen(
        "fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {",
        "fn fetch_metrics(remote_ids: Vec<String>, ctx: CallContext) -> Result<Vec<Metrics>, PluginError> {\n        if !remote_ids.is_empty() { return Ok(vec![]); }",
        1,
    );
    std::fs::write(&lib, source).unwrap();
    let (code, out, err) = run(
        bin(),
        cwd.path(),
        &["plugin", "test", "bluesky-demo", "--config", config],
        &env,
    );
    assert_eq!(
        code, 1,
        "{out}
{err}"
    );
    assert!(
        out.contains("FAIL fetch-metrics fails with a typed error: succeeded against an unreachable platform"),
        "{out}"
    );
    assert!(out.contains("removed bluesky-demo/dist"), "{out}");
    assert!(!crate_dir.join("dist").exists());
}

/// The platform plugins (beyond the Mastodon example) each pass the conformance checks.
#[test]
fn plugin_test_passes_every_platform_plugin() {
    let cwd = tempfile::tempdir().unwrap();
    let config = relaxed_config(cwd.path());
    for (id, account) in [
        ("x", "1"),
        ("linkedin", "urn:li:organization:1"),
        ("facebook", "1"),
        ("bluesky", "did:plc:conformance"),
        ("instagram", "17841400000000001"),
        ("tiktok", "000conformance"),
        ("pinterest", "conformance"),
    ] {
        let (code, out, err) = run(
            bin(),
            cwd.path(),
            &["plugin", "test", id, "--account", account, "--config", config],
            &[],
        );
        assert_eq!(code, 0, "{id}: {out}{err}");
        assert!(out.trim_end().ends_with(" passed, 0 failed"), "{id}: {out}");
    }
    // The account-connection flow's OAuth data, as each platform documents it.
    for (id, pkce, scope) in [
        ("x", true, "tweet.write"),
        ("linkedin", false, "w_organization_social"),
        ("facebook", false, "pages_manage_posts"),
        ("instagram", false, "instagram_business_content_publish"),
        ("tiktok", false, "video.publish"),
        ("pinterest", false, "pins:write"),
    ] {
        let oauth = chorus_json(cwd.path(), &["plugin", "inspect", id, "--json"])["describe"]["oauth"].clone();
        assert_eq!(oauth["pkce_required"], pkce, "{id}: {oauth}");
        assert!(
            oauth["scopes"].as_array().unwrap().iter().any(|s| s == scope),
            "{id}: {oauth}"
        );
        assert!(
            oauth["authorize_url"].as_str().unwrap().starts_with("https://"),
            "{id}: {oauth}"
        );
        // Each platform's dialect: TikTok names the app id `client_key`; TikTok and
        // Pinterest join scopes with commas.
        let (field, sep) = match id {
            "tiktok" => ("client_key", ","),
            "pinterest" => ("client_id", ","),
            _ => ("client_id", " "),
        };
        assert_eq!(
            (oauth["client_id_field"].as_str(), oauth["scope_separator"].as_str()),
            (Some(field), Some(sep)),
            "{id}: {oauth}"
        );
    }
}

#[test]
fn preview_for_x_counts_by_x_weighting_and_threads_long_posts() {
    let cwd = tempfile::tempdir().unwrap();
    let config = relaxed_config(cwd.path());
    // A URL weighs 23 however long it is; CJK and emoji weigh 2.
    let short = chorus_json(
        cwd.path(),
        &[
            "preview",
            "--platform",
            "x",
            "--config",
            config,
            "--text",
            "新品 🎉 https://example.com/a/very/long/path/that/is/long",
            "--json",
        ],
    );
    assert_eq!(
        (short["length"].as_u64(), short["limit"].as_u64()),
        (Some(4 + 1 + 2 + 1 + 23), Some(280))
    );
    let long_text = "Rain jackets for every kind of weather, tested on the west coast. ".repeat(10);
    let long = chorus_json(
        cwd.path(),
        &[
            "preview",
            "--platform",
            "x",
            "--config",
            config,
            "--text",
            &long_text,
            "--json",
        ],
    );
    let parts = long["parts"].as_array().unwrap();
    assert!(parts.len() >= 3, "{long}");
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        assert!(p.as_str().unwrap().ends_with(&format!(" {}/{n}", i + 1)), "{p}");
    }
    assert_eq!(long["fits"], true);
}

#[test]
fn preview_for_linkedin_and_facebook_maps_the_segment_to_native_targeting() {
    let cwd = tempfile::tempdir().unwrap();
    let config = relaxed_config(cwd.path());
    std::fs::write(
        cwd.path().join("segment.json"),
        r#"{"name": "Nordic leaders",
            "tone": {"formality": "professional"},
            "audience": {"mode": "restrict", "countries": ["SE", "NO"], "seniorities": ["director", "cxo"],
                         "age_min": 30, "genders": ["female"], "estimated_size": 2500}}"#,
    )
    .unwrap();
    let text = "Leadership offsite ideas (part 1) #planning";
    let preview = |platform: &str, account: &str| {
        chorus_json(
            cwd.path(),
            &[
                "preview",
                "--platform",
                platform,
                "--config",
                config,
                "--text",
                text,
                "--segment-file",
                "segment.json",
                "--account",
                account,
                "--json",
            ],
        )
    };
    let li = preview("linkedin", "urn:li:organization:42");
    assert_eq!(
        li["targeting"],
        serde_json::json!({"geoLocations": ["urn:li:geo:105117694", "urn:li:geo:103819153"],
                           "seniorities": ["urn:li:seniority:6", "urn:li:seniority:8"]})
    );
    let codes: Vec<&str> = li["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"targeting-not-honoured"),
        "age and gender are reported: {codes:?}"
    );
    assert_eq!(li["limit"], 3000);
    // A member's post cannot be targeted: said, not silently dropped.
    let member = preview("linkedin", "urn:li:person:abc");
    assert!(member["targeting"].is_null());
    assert!(member["warnings"].to_string().contains("organization posts only"));

    let fb = preview("facebook", "1234567890");
    assert_eq!(
        fb["targeting"],
        serde_json::json!({"targeting": {"geo_locations": {"countries": ["SE", "NO"]}, "age_min": 30, "genders": [2]}})
    );
    assert!(fb["warnings"].to_string().contains("seniorities"), "{fb}");
}

/// `plugin run` calls a plugin's network exports in the real sandbox against a fake and
/// shows each exchange: publish creates the post on the fake, find-published finds it by its
/// marker, fetch-metrics reads its figures, and a refused token ends in the typed error. The
/// token travels as in production (added by the host) and is never printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_run_publishes_finds_and_measures_against_a_fake_showing_each_exchange() {
    use chorus_simulators::x::{TweetMetrics, XFake};
    let x = XFake::start().await.unwrap();
    const TOKEN: &str = "s3cr3t-run-token";
    x.grant(TOKEN, "4242", "tester", &["tweet.read", "tweet.write", "users.read"]);
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path().to_owned();
    let base = x.base_url.clone();
    let chorus = move |args: Vec<String>| {
        let dir = dir.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run(bin(), &dir, &args, &[])
            })
            .await
            .unwrap()
        }
    };
    let common = |export: &str, token: &str| -> Vec<String> {
        [
            "plugin",
            "run",
            export,
            "x",
            "--api-base",
            &base,
            "--token",
            token,
            "--account",
            "4242",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut publish = common("publish", TOKEN);
    publish.extend(["--text", "Hello from plugin run", "--marker", "run-1", "--json"].map(String::from));
    let (code, out, err) = chorus(publish).await;
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(!out.contains(TOKEN), "the token was printed: {out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let tweets = x.tweets();
    assert_eq!(tweets.len(), 1, "the fake holds the post");
    assert_eq!(v["result"]["remote_id"], tweets[0].id.as_str(), "{v}");
    let posted = v["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == "POST" && e["url"].as_str().unwrap().ends_with("/2/tweets"))
        .unwrap_or_else(|| panic!("no POST /2/tweets in {v}"));
    assert_eq!(posted["status"], 201);
    assert!(
        posted["request_body"]
            .as_str()
            .unwrap()
            .contains("Hello from plugin run")
    );
    assert!(
        posted["request_headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "authorization" && h[1] == "Bearer (the account's token)"),
        "{posted}"
    );

    let mut find = common("find-published", TOKEN);
    find.extend(["--text", "Hello from plugin run", "--marker", "run-1", "--json"].map(String::from));
    let (code, out, err) = chorus(find).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["result"]["remote_id"],
        tweets[0].id.as_str(),
        "found by its marker: {v}"
    );

    x.set_metrics(
        &tweets[0].id,
        TweetMetrics {
            impressions: 120,
            likes: 7,
            replies: 1,
            retweets: 2,
            quotes: 0,
            bookmarks: 3,
            url_clicks: 4,
        },
    );
    let mut metrics = common("fetch-metrics", TOKEN);
    metrics.extend(["--remote-id", tweets[0].id.as_str(), "--json"].map(String::from));
    let (code, out, err) = chorus(metrics).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["result"][0]["likes"], 7, "{v}");

    // A token the platform refuses: the typed error, and the exchange that led to it.
    let mut refused = common("publish", "not-granted");
    refused.extend(["--text", "Refused"].map(String::from));
    let (code, out, _) = chorus(refused).await;
    assert_ne!(code, 0);
    assert!(out.contains("→ POST") && out.contains("← 401"), "{out}");
    assert!(out.contains("publish failed [auth-expired]"), "{out}");
    assert_eq!(x.tweets().len(), 1);
}

/// Contract 0.2.0 in a preview: Bluesky's second limit (UTF-8 bytes), the text's languages,
/// and the facets `publish` will send, with byte ranges that point at what they mark.
#[test]
fn preview_for_bluesky_shows_both_limits_and_the_facets_publish_will_send() {
    let cwd = tempfile::tempdir().unwrap();
    let config = relaxed_config(cwd.path());
    let text = "Hej @alice.bsky.social, läs https://example.com/fika #fika 🎉";
    let v = chorus_json(
        cwd.path(),
        &[
            "preview",
            "--platform",
            "bluesky",
            "--text",
            text,
            "--config",
            config,
            "--json",
        ],
    );
    assert_eq!(v["fits"], true, "{v}");
    assert_eq!(v["length_rule"], "Graphemes");
    assert_eq!(v["also"][0]["length_rule"], "Utf8Bytes");
    assert_eq!(v["also"][0]["length"].as_u64(), Some(text.len() as u64));
    assert_eq!(v["languages"], serde_json::json!(["en"]));
    let facets = &v["extras"][0];
    assert_eq!(facets["key"], "facets");
    let shown = v["text"].as_str().unwrap();
    let marked: Vec<&str> = facets["value"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &shown[f["byteStart"].as_u64().unwrap() as usize..f["byteEnd"].as_u64().unwrap() as usize])
        .collect();
    assert_eq!(marked, ["@alice.bsky.social", "https://example.com/fika", "#fika"]);
}

/// One long post in several languages and scripts, with emoji (ZWJ sequences and flags),
/// links, mentions and hashtags, previewed for each of the six platforms by its own plugin:
/// every text fits its platform's limit counted by its platform's unit, nothing breaks a
/// character, and each platform's handling of links and hashtags shows.
#[test]
fn previews_for_all_six_platforms_fit_a_long_multilingual_post() {
    let cwd = tempfile::tempdir().unwrap();
    let config = relaxed_config(cwd.path());
    let paragraph = "Vinterns kardemummabullar är här 🧑‍🍳🇸🇪! 新しい冬のメニューができました☕️。 \
                     قهوة الشتاء وصلت 🌙. Thanks @fika_friends and @nordicbakes for the recipe. \
                     Read more: https://fika.coffee/winter-menu?utm_source=chorus #fika #kardemumma ";
    let body = paragraph.repeat(14);
    let post = serde_json::json!({
        "body": body,
        "hashtags": ["fika", "coffee", "winter"],
        "locale": "sv",
        "title": "Vinterns meny ☕️ 新しい冬のメニュー",
        "options": {"privacy_level": "PUBLIC_TO_EVERYONE", "board": "549755885175"},
        "media": [{"id": "m1", "kind": "image", "mime_type": "image/jpeg", "byte_size": 400000,
                   "width": 1080, "height": 1350, "alt_text": "Cardamom buns on a tray"}],
    });
    let file = cwd.path().join("post.json");
    std::fs::write(&file, post.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let utf16 = |s: &str| s.encode_utf16().count();
    for (platform, limit) in [
        ("x", 280),
        ("instagram", 2200),
        ("tiktok", 2200),
        ("linkedin", 3000),
        ("facebook", 63206),
        ("pinterest", 800),
    ] {
        let p = chorus_json(
            cwd.path(),
            &[
                "preview",
                "--platform",
                platform,
                "--config",
                config,
                "--post-file",
                file,
                "--json",
            ],
        );
        assert_eq!(p["fits"], true, "{platform}: {p}");
        assert_eq!(p["limit"], limit, "{platform}");
        let text = p["text"].as_str().unwrap();
        let parts: Vec<&str> = match p["parts"].as_array() {
            Some(a) if !a.is_empty() => a.iter().map(|v| v.as_str().unwrap()).collect(),
            _ => vec![text],
        };
        for part in &parts {
            let n = match platform {
                // X's weighting (checked against twitter-text in tests/tests/twitter_text.rs).
                "x" => chorus_text::twitter_text::parse(part).weighted_length,
                _ => utf16(part),
            };
            assert!(n <= limit, "{platform}: {n} > {limit}: {part}");
            assert!(!part.contains('\u{FFFD}'), "{platform}: a character was broken");
            // A cut never leaves half an emoji sequence: no dangling joiner at the end.
            assert!(!part.ends_with('\u{200D}'), "{platform}: {part}");
        }
        assert_eq!(p["media"], serde_json::json!(["m1"]), "{platform}: the image is kept");
        let extra = |key: &str| {
            p["extras"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["key"] == key)
                .map(|e| e["value"].clone())
        };
        match platform {
            "x" => {
                assert!(parts.len() > 1, "a long post becomes a thread on X");
                assert!(text.contains("@fika_friends"), "{text}");
                assert!(
                    parts.iter().any(|t| t.contains("https://fika.coffee")),
                    "links stay on X"
                );
            }
            "instagram" | "tiktok" => {
                assert!(!text.contains("https://"), "{platform}: captions do not link: {text}");
                assert_eq!(
                    extra("link"),
                    Some(serde_json::json!("https://fika.coffee/winter-menu?utm_source=chorus")),
                    "{platform}"
                );
                assert!(text.contains("新しい冬のメニュー"), "{platform}: {text}");
                let tags = text.split_whitespace().filter(|w| w.starts_with('#')).count();
                assert!(tags <= 30, "{platform}: {tags} hashtags");
            }
            "pinterest" => {
                assert!(!text.contains("https://"), "the link goes on the Pin: {text}");
                assert!(extra("link").is_some());
                let title = p["fields"][0]["text"].as_str().unwrap();
                assert_eq!(title, "Vinterns meny ☕️ 新しい冬のメニュー");
                assert!(utf16(title) <= 100);
            }
            "linkedin" | "facebook" => {
                assert!(text.contains("https://fika.coffee"), "{platform}: links stay: {text}");
                assert!(text.contains("قهوة الشتاء"), "{platform}");
            }
            _ => unreachable!(),
        }
    }
}
