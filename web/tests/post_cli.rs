//! `chorus post …` and `chorus schedule …` as a person runs them: the real binary on a real
//! database, publishing through a `chorus worker` to the X fake on loopback.

use chorus_core::domain::DeliveryStatus;
use chorus_core::secrets::SecretKey;
use chorus_simulators::x::XFake;
use chorus_tests::TestStore;
use chorus_tests::process::{Running, run};
use chorus_tests::queue::seed_due;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorus"))
}

struct Cli<'a> {
    url: &'a str,
    cwd: &'a Path,
    x: &'a str,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["--database-url", self.url];
        all.extend_from_slice(args);
        run(
            bin(),
            self.cwd,
            &all,
            &[("CHORUS_SECRET_KEY", KEY), ("CHORUS_PLATFORM_X_API_BASE", self.x)],
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_is_composed_scheduled_published_and_shown_from_the_command_line() {
    let t = TestStore::with_key(SecretKey::from_hex("test", KEY).unwrap()).await;
    let (ws, brand) = t.workspace_with_brand("cli").await;
    let x = XFake::start().await.unwrap();
    let accounts = seed_due(&t.store, ws, brand, "x", (0, 1), Utc::now(), "cli").await;
    x.grant(
        &accounts[0].token,
        &accounts[0].remote_id,
        &accounts[0].handle,
        &["tweet.read", "tweet.write", "users.read"],
    );
    let cwd = tempfile::tempdir().unwrap();
    let cli = Cli {
        url: &t.db.url,
        cwd: cwd.path(),
        x: &x.base_url,
    };

    // A wall time the clocks skip is refused with the time they jump to.
    let (code, _, err) = cli.run(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x",
        "--text",
        "Hej",
        "--at",
        "2027-03-28 02:30",
        "--zone",
        "Europe/Stockholm",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("does not exist in Europe/Stockholm") && err.contains("2027-03-28 03:00"),
        "{err}"
    );
    // A segment the brand does not have, and an account it does not have, are named.
    let (code, _, err) = cli.run(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x",
        "--segment",
        "Nobody",
        "--text",
        "x",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--segment \"Nobody\""), "{err}");
    let (code, _, err) = cli.run(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "linkedin",
        "--text",
        "x",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("x:acct0"), "lists the accounts it has: {err}");
    // A per-post choice must name its scope and key.
    let (code, _, err) = cli.run(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x",
        "--text",
        "x",
        "--option",
        "privacy_level=SELF_ONLY",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("expected SCOPE.KEY=VALUE"), "{err}");
    // Choices for other platforms are kept with the post (an X post ignores TikTok's).
    let kept = cli.json(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x",
        "--text",
        "Options ride along",
        "--title",
        "A title",
        "--option",
        "tiktok.privacy_level=SELF_ONLY",
        "--json",
    ]);
    assert_eq!(
        kept["post"]["options"]["tiktok"]["privacy_level"], "SELF_ONLY",
        "{kept}"
    );
    assert_eq!(kept["post"]["title"], "A title", "{kept}");
    let id = kept["post"]["id"].as_str().unwrap().to_owned();
    let edited = cli.json(&["post", "edit", &id, "--option", "tiktok.privacy_level=", "--json"]);
    assert!(
        edited["post"]["options"].is_null(),
        "an empty value removes it: {edited}"
    );
    assert_eq!(
        edited["post"]["title"], "A title",
        "an edit keeps what it does not change"
    );

    // Now: scheduled at once, then published by a worker.
    let created = cli.json(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x:acct0",
        "--text",
        "Hello from the command line",
        "--now",
        "--json",
    ]);
    assert_eq!(created["post"]["status"], "scheduled");
    let id = created["post"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["deliveries"][0]["status"], "scheduled");
    assert_eq!(created["deliveries"][0]["lineage"]["plugin"], "x");

    let mut worker = Running::start(
        bin(),
        cli.cwd,
        &["worker", "--database-url", cli.url],
        &[("CHORUS_SECRET_KEY", KEY), ("CHORUS_PLATFORM_X_API_BASE", cli.x)],
    );
    let started = Instant::now();
    loop {
        let shown = cli.json(&["post", "show", &id, "--json"]);
        if shown["post"]["status"] == "published" {
            let d = &shown["deliveries"][0];
            assert_eq!(d["status"], "published");
            let tweet = x
                .tweets()
                .into_iter()
                .find(|t| Some(t.id.as_str()) == d["remote_id"].as_str())
                .unwrap();
            assert_eq!(tweet.text, "Hello from the command line");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not published: {shown}\n{}",
            worker.log.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(worker.terminate(Duration::from_secs(10)).is_some());
    let listed = cli.json(&["post", "list", "--brand", "cli-brand", "--json"]);
    assert_eq!(listed[0]["deliveries"]["published"], 1);
    // Retrying a post with nothing to retry says so.
    let (code, _, err) = cli.run(&["post", "retry", &id]);
    assert_eq!(code, 1);
    assert!(err.contains("no delivery of this post failed"), "{err}");

    // Posting slots on New York's clock; "add to queue" takes the next weekday 09:00 there.
    let (code, out, err) = cli.run(&[
        "schedule",
        "add",
        "--brand",
        "cli-brand",
        "--name",
        "mornings",
        "--cron",
        "0 9 * * 1-5",
        "--zone",
        "America/New_York",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("next:"), "{out}");
    let queued = cli.json(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x",
        "--text",
        "Queued",
        "--queue",
        "--json",
    ]);
    let at: DateTime<Utc> = queued["deliveries"][0]["scheduled_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let local = at.with_timezone(&chrono_tz::America::New_York);
    assert_eq!((local.hour(), local.minute()), (9, 0), "{local}");
    assert!(local.weekday().number_from_monday() <= 5, "a weekday: {local}");
    assert_eq!(queued["deliveries"][0]["timezone"], "America/New_York");

    // Slots added as JSON: the rule, and its next slots in UTC and on the rule's clock.
    let evenings = cli.json(&[
        "schedule",
        "add",
        "--brand",
        "cli-brand",
        "--name",
        "evenings",
        "--cron",
        "30 18 * * 0,6",
        "--zone",
        "America/New_York",
        "--account",
        "x",
        "--json",
    ]);
    assert_eq!(
        (
            evenings["name"].as_str(),
            evenings["account"].as_str().map(|a| a.starts_with("x:"))
        ),
        (Some("evenings"), Some(true))
    );
    let slots = evenings["next"].as_array().unwrap();
    assert_eq!(slots.len(), 3, "{evenings}");
    for slot in slots {
        let at: DateTime<Utc> = slot["at"].as_str().unwrap().parse().unwrap();
        let local = at.with_timezone(&chrono_tz::America::New_York);
        assert_eq!((local.hour(), local.minute()), (18, 30), "{local}");
        assert!(
            local.weekday().number_from_monday() >= 6,
            "a weekend day (0 and 6 are Sunday and Saturday): {local}"
        );
    }
    let listed = cli.json(&["schedule", "list", "--brand", "cli-brand", "--json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    // An account's slots without a zone are on the account's clock (UTC here), not the
    // brand's (Stockholm).
    let lunch = cli.json(&[
        "schedule",
        "add",
        "--brand",
        "cli-brand",
        "--name",
        "lunch",
        "--cron",
        "0 12 * * *",
        "--account",
        "x",
        "--json",
    ]);
    assert_eq!(lunch["timezone"], "UTC", "{lunch}");
    // Disabled, a rule gives no slots to "add to queue"; removed, it is gone.
    let off = cli.json(&[
        "schedule",
        "disable",
        "--brand",
        "cli-brand",
        "--name",
        "lunch",
        "--json",
    ]);
    assert_eq!(off["enabled"], false);
    let listed = cli.json(&["schedule", "list", "--brand", "cli-brand", "--json"]);
    let lunch_listed = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lunch")
        .unwrap();
    assert_eq!(lunch_listed["enabled"], false, "{lunch_listed}");
    cli.json(&[
        "schedule",
        "remove",
        "--brand",
        "cli-brand",
        "--name",
        "lunch",
        "--json",
    ]);
    let listed = cli.json(&["schedule", "list", "--brand", "cli-brand", "--json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let (code, _, err) = cli.run(&["schedule", "remove", "--brand", "cli-brand", "--name", "lunch"]);
    assert_eq!(code, 1);
    assert!(err.contains("lunch"), "{err}");

    // A recurrence: occurrences for the next two days exist at once, each 09:00 on a weekday.
    let recurring = cli.json(&[
        "post",
        "create",
        "--brand",
        "cli-brand",
        "--account",
        "x",
        "--text",
        "Daily tip",
        "--every",
        "0 9 * * 1-5",
        "--zone",
        "Europe/Stockholm",
        "--json",
    ]);
    assert_eq!(recurring["recurrence"]["cron"], "0 9 * * 1-5");
    let rid = recurring["post"]["id"].as_str().unwrap().to_owned();
    let shown = cli.json(&["post", "show", &rid, "--json"]);
    let occurrences: Vec<&Value> = shown["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| !d["occurrence"].is_null())
        .collect();
    for o in &occurrences {
        let at: DateTime<Utc> = o["occurrence"].as_str().unwrap().parse().unwrap();
        let local = at.with_timezone(&chrono_tz::Europe::Stockholm);
        assert_eq!(
            (local.hour(), local.weekday().number_from_monday() <= 5),
            (9, true),
            "{local}"
        );
    }
    // Its template waits as pending, and the queue says it is a template.
    let queue = cli.json(&["queue", "--json"]);
    assert_eq!(queue["pending_by_reason"]["recurring_template"], 1, "{queue}");
    // Cancel stops it: nothing of it is left to publish.
    let cancelled = cli.json(&["post", "cancel", &rid, "--json"]);
    assert_eq!(cancelled["post"]["status"], "cancelled");
    assert!(
        cancelled["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "cancelled")
    );
    let depth = t.store.queue().depth().await.unwrap();
    let waiting = depth
        .iter()
        .find(|d| d.status == DeliveryStatus::Scheduled)
        .unwrap()
        .count;
    assert_eq!(waiting, 1, "only the queued post waits");
}
