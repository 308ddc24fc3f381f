//! schemathesis (pinned in `tests/oracles/schemathesis`) drives every operation of the REST
//! API's OpenAPI document with generated input, valid and not, against `chorus serve --demo`
//! (so posts, accounts and people exist): no answer may be a 5xx, nor contradict the document
//! (status codes, content types, headers, response schemas), and invalid input must be refused.
//!
//! The media upload runs on its own without `negative_data_rejection`: a multipart text part
//! is a string whatever it holds, so the "object" schemathesis sends as `alt_text` arrives
//! as the text `{}`, rightly accepted. Subscribing webhooks is left out (a generated URL could name a real host the engine
//! would then call; `web/tests/webhooks.rs` covers it). Two checks are left out, on purpose: `ignored_auth` (the API takes a session cookie *or* a
//! token, and the run's valid token stays on every request, so a spoiled cookie rightly still
//! gets in; `web/tests/api.rs` checks anonymous, revoked and cross-tenant callers), and
//! `positive_data_acceptance` (a schema cannot say which strings are IANA zones, cron lines
//! or a wall time that exists, so schema-valid input is still refused with a 422 naming it).

mod common;

use chorus_tests::TestDatabase;
use chorus_tests::process::Running;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

/// Checks left out of every run (see the module's documentation).
const CHECKS_LEFT_OUT: &str = "ignored_auth,positive_data_acceptance";

/// Runs `st run` against the hub's document; returns whether it passed and what it printed.
fn schemathesis(config: &Path, base: &str, token: &str, excluded_checks: &str, args: &[&str]) -> (bool, String) {
    let st = chorus_tests::oracle::python_tool("schemathesis", "st");
    let out = Command::new(st)
        .arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all"])
        .args(["--exclude-checks", excluded_checks])
        .args(["--max-examples", "40", "--seed", "20261207", "--no-color"])
        .args(["--request-timeout", "30", "--max-failures", "25"])
        // A generated webhook URL could name a real host, which the engine would then POST
        // to: no test reaches past loopback (web/tests/webhooks.rs covers these routes).
        .args(["--exclude-path", "/api/v1/workspaces/{workspace}/webhooks"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
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
    let http = chorus_tests::http_client();

    // The demo's owner signs in and issues the run's tokens.
    let (cookie, csrf) = common::demo_sign_in(&base, &hub.log, "owner@demo.example").await;
    let get = |path: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "GET {path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let workspaces = get("/api/v1/workspaces".into()).await;
    let ws = workspaces[0]["id"].as_str().unwrap().to_owned();
    let brands = get(format!("/api/v1/workspaces/{ws}/brands")).await;
    let brand = brands[0]["id"].as_str().unwrap().to_owned();
    let posts = get(format!("/api/v1/workspaces/{ws}/posts?limit=1")).await;
    let post = posts["items"][0]["id"]
        .as_str()
        .expect("the demo's tour has posts")
        .to_owned();
    let mut tokens = Vec::new();
    for name in ["schemathesis", "schemathesis-deletes"] {
        let r = http
            .post(format!("{base}/api/v1/workspaces/{ws}/tokens"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&json!({ "name": name, "role": "owner" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        tokens.push(r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned());
    }

    // Real ids where the paths take them, so operations reach past "not found".
    let config = cwd.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[parameters]\n\"path.workspace\" = \"{ws}\"\n\"path.post\" = \"{post}\"\n\"path.brand\" = \"{brand}\"\n"
        ),
    )
    .unwrap();
    // Everything but the deletes (which may end the run's own token or session)...
    let (ok, out) = tokio::task::spawn_blocking({
        let (config, base, token) = (config.clone(), base.clone(), tokens[0].clone());
        move || {
            schemathesis(
                &config,
                &base,
                &token,
                CHECKS_LEFT_OUT,
                &["--exclude-method", "DELETE", "--exclude-operation-id", "upload"],
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "schemathesis found problems:\n{out}");
    assert!(out.contains("Tested: "), "{out}");
    // The media upload: a multipart text part is a string whatever it holds, so the
    // "object" schemathesis sends as `alt_text` (the text `{}`) is rightly accepted.
    let (ok, out) = tokio::task::spawn_blocking({
        let (config, base, token) = (config.clone(), base.clone(), tokens[0].clone());
        move || {
            schemathesis(
                &config,
                &base,
                &token,
                &format!("{CHECKS_LEFT_OUT},negative_data_rejection"),
                &["--include-operation-id", "upload"],
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "schemathesis found problems in the upload:\n{out}");
    // ...then the deletes, with a token of their own.
    let (ok, out) = tokio::task::spawn_blocking({
        let (config, base, token) = (config.clone(), base.clone(), tokens[1].clone());
        move || schemathesis(&config, &base, &token, CHECKS_LEFT_OUT, &["--include-method", "DELETE"])
    })
    .await
    .unwrap();
    assert!(ok, "schemathesis found problems in the deletes:\n{out}");
    assert!(
        !hub.log.iter().any(|l| l.contains("panicked")),
        "{}",
        hub.log.join("\n")
    );
    hub.terminate(std::time::Duration::from_secs(10))
        .expect("stops on SIGTERM");
}
