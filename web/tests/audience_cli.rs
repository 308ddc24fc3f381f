//! `chorus workspace|brand|audience|segment|persona` as a person runs them, on SQLite in a
//! fresh directory (or the PostgreSQL test server when `CHORUS_TEST_DATABASE_URL` is set).

use chorus_tests::TestDatabase;
use chorus_tests::process::run;
use std::path::Path;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

#[tokio::test]
async fn import_define_size_compare_and_check_from_the_command_line() {
    let db = TestDatabase::new().await;
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path();
    let env = [("CHORUS_DATABASE_URL", db.url.as_str())];
    let ok = |args: &[&str]| {
        let (code, out, err) = run(bin(), dir, args, &env);
        assert_eq!(code, 0, "{args:?}\nstdout: {out}\nstderr: {err}");
        out
    };
    ok(&["workspace", "create", "acme", "--name", "Acme", "--kind", "agency"]);
    ok(&["brand", "create", "fika", "--workspace", "acme", "--name", "Fika"]);

    std::fs::write(
        dir.join("contacts.csv"),
        "external_id,country,interests,relation\nx1,se,fitness;yoga,customer\nx2,NO,golf,prospect\nx3,Sweden,,customer\n",
    )
    .unwrap();
    // One bad row: nothing is written, and the row is named.
    let (code, _, err) = run(
        bin(),
        dir,
        &["audience", "import", "contacts.csv", "--brand", "fika"],
        &env,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("line 4, column country") && err.contains("nothing was imported"),
        "{err}"
    );
    let out = ok(&[
        "audience",
        "import",
        "contacts.csv",
        "--brand",
        "fika",
        "--skip-invalid",
        "--report",
        "bad.csv",
    ]);
    assert!(
        out.contains("imported 2 contacts (2 new, 0 updated) from 3 rows"),
        "{out}"
    );
    let report = std::fs::read_to_string(dir.join("bad.csv")).unwrap();
    assert!(
        report.starts_with("line,column,value,reason\n4,country,Sweden,"),
        "{report}"
    );

    std::fs::write(
        dir.join("swedes.json"),
        r#"{"name": "Swedes", "kind": "customer_group", "funnel_stage": "retention", "primary": true,
            "rule": {"attribute": "country", "op": "eq", "value": "SE"},
            "targeting": {"countries": ["se"]}, "canvas": {"where": {"instagram": 0.8}, "fit": 4}}"#,
    )
    .unwrap();
    let out = ok(&["segment", "create", "--brand", "fika", "--file", "swedes.json"]);
    assert!(out.contains("created segment \"Swedes\": 1 of 2 people"), "{out}");

    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["segment", "list", "--brand", "fika", "--json"])).unwrap();
    assert_eq!(listed["audience"], 2);
    assert_eq!(listed["segments"][0]["name"], "Swedes");
    assert_eq!(listed["segments"][0]["priority"]["rank"], 1);

    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["segment", "show", "Swedes", "--brand", "fika", "--json"])).unwrap();
    assert_eq!(shown["size"], 1);
    assert_eq!(shown["targeting"]["countries"][0], "SE", "codes are stored canonical");
    // One plan per bundled platform. Mastodon has no native targeting: the country is
    // reported, not dropped; Facebook and LinkedIn target countries.
    let plan = |platform: &str| {
        shown["targeting_plans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["platform"] == platform)
            .unwrap_or_else(|| panic!("no {platform} plan: {shown}"))
            .clone()
    };
    assert_eq!(plan("mastodon")["not_honoured"][0]["facet"], "country");
    for platform in ["facebook", "linkedin"] {
        assert_eq!(plan(platform)["honoured"], serde_json::json!(["country"]), "{platform}");
    }
    // LinkedIn needs 300 people; this segment has one.
    assert_eq!(plan("linkedin")["meets_minimum"], false);

    let out = ok(&["segment", "size", "Swedes", "--brand", "fika", "--snapshot"]);
    assert!(out.contains("stored as snapshot v1"), "{out}");
    let overlap: serde_json::Value =
        serde_json::from_str(&ok(&["segment", "overlap", "--brand", "fika", "--json"])).unwrap();
    assert_eq!(overlap["counts"], serde_json::json!([[1]]));
    let warnings: serde_json::Value =
        serde_json::from_str(&ok(&["segment", "check", "--brand", "fika", "--json"])).unwrap();
    let codes: Vec<&str> = warnings
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"too_small") && codes.contains(&"persona_count"),
        "{codes:?}"
    );

    std::fs::write(
        dir.join("anna.json"),
        r#"{"name": "Anna", "segment": "Swedes", "goals": ["stay fit"], "pain_points": ["no time"],
            "message": "Ten minutes is enough", "preferred_channels": ["instagram"]}"#,
    )
    .unwrap();
    ok(&["persona", "create", "--brand", "fika", "--file", "anna.json"]);
    let personas: serde_json::Value =
        serde_json::from_str(&ok(&["persona", "list", "--brand", "fika", "--json"])).unwrap();
    assert_eq!(personas[0]["segment"], "Swedes");

    // A bad rule: the path to the node and what is allowed; exit 1, nothing stored.
    std::fs::write(
        dir.join("bad.json"),
        r#"{"name": "Bad", "kind": "target_group", "funnel_stage": "awareness",
            "rule": {"any": [{"attribute": "age", "op": "in_last", "value": {"days": 3}}]}}"#,
    )
    .unwrap();
    let (code, _, err) = run(
        bin(),
        dir,
        &["segment", "create", "--brand", "fika", "--file", "bad.json"],
        &env,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("rule.any[0].op") && err.contains("allowed: eq, neq"),
        "{err}"
    );
    let (code, _, err) = run(bin(), dir, &["segment", "show", "Bad", "--brand", "fika"], &env);
    assert_eq!(code, 1);
    assert!(err.contains("no segment named \"Bad\""), "{err}");
    // An unknown brand says how to create one.
    let (_, _, err) = run(bin(), dir, &["segment", "list", "--brand", "nope"], &env);
    assert!(err.contains("chorus brand create nope"), "{err}");
}
