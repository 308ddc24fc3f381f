//! From a post to deliveries: composing for accounts × segments through the real plugins,
//! scheduling (at an instant, now, the next free slot, a recurrence), approval holds,
//! editing, cancelling and retrying; on a real database with the X fake on loopback.

use chorus_core::audience::{Audience, SegmentDefinition};
use chorus_core::delivery::plan::{Planned, Planner, Target, When};
use chorus_core::delivery::{EngineSettings, leader, recurrence};
use chorus_core::domain::{CronSchedule, DeliveryStatus, MediaKind, PostDraft, PostStatus, Zone};
use chorus_core::plugins::{Limits, PluginRegistry};
use chorus_core::store::{AttemptFailure, NewMediaAsset, Tenant};
use chorus_core::{StoreError, domain::FailureKind};
use chorus_simulators::x::XFake;
use chorus_tests::TestStore;
use chorus_tests::queue::{SeededAccount, registry, run_until_settled, seed_due};
use chrono::{Duration, SubsecRound, TimeZone, Timelike, Utc};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use uuid::Uuid;

const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "offline.access",
    "media.write",
];

struct World {
    t: TestStore,
    ws: Uuid,
    brand: Uuid,
    x: XFake,
    plugins: Arc<PluginRegistry>,
    accounts: Vec<SeededAccount>,
}

impl World {
    async fn new(label: &str, accounts: usize) -> Self {
        let t = TestStore::new().await;
        let (ws, brand) = t.workspace_with_brand(label).await;
        let x = XFake::start().await.unwrap();
        let accounts = seed_due(&t.store, ws, brand, "x", (0, accounts), Utc::now(), label).await;
        for a in &accounts {
            x.grant(&a.token, &a.remote_id, &a.handle, SCOPES);
        }
        let plugins = registry(&t.store, "x", &x.base_url, Limits::default()).await;
        Self {
            t,
            ws,
            brand,
            x,
            plugins,
            accounts,
        }
    }

    fn tenant(&self) -> Tenant<'_> {
        self.t.store.tenant(self.ws)
    }

    /// A post with `text` for every account, due now and claimed by a worker.
    async fn claimed_now(&self, text: &str) -> (Planned, Vec<chorus_core::store::Claim>) {
        let p = self
            .planner()
            .compose(self.brand, None, draft(text), &self.targets(&[None]))
            .await
            .unwrap();
        self.planner().schedule(p.post.id, When::Now, None).await.unwrap();
        let claims = self
            .t
            .store
            .queue()
            .claim("w", 100, StdDuration::from_secs(30), Utc::now() + Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(claims.len(), self.accounts.len());
        (p, claims)
    }

    fn planner(&self) -> Planner<'_> {
        Planner::new(self.tenant(), &self.plugins)
    }

    fn targets(&self, segments: &[Option<Uuid>]) -> Vec<Target> {
        self.accounts
            .iter()
            .flat_map(|a| {
                segments.iter().map(|s| Target {
                    account_id: a.id,
                    segment_id: *s,
                })
            })
            .collect()
    }

    /// A segment whose tone swaps "coffee" for "kaffe", so its adaptation differs.
    async fn swedish_segment(&self) -> Uuid {
        let a = Audience::new(self.tenant(), self.brand).await.unwrap();
        let def: SegmentDefinition = serde_json::from_value(json!({
            "name": "Swedes", "kind": "target_group", "funnel_stage": "consideration",
            "tone": {"glossary": [{"term": "coffee", "replacement": "kaffe"}]},
            "targeting": {"countries": ["SE"]}
        }))
        .unwrap();
        let s = a.define(&def).await.unwrap();
        a.snapshot("Swedes").await.unwrap();
        s.id
    }
}

fn draft(body: &str) -> PostDraft {
    PostDraft {
        body: body.into(),
        locale: "en".into(),
        ..Default::default()
    }
}

fn quick() -> EngineSettings {
    EngineSettings {
        poll: StdDuration::from_millis(50),
        rescue_every: StdDuration::from_millis(200),
        ..EngineSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_for_two_accounts_and_two_segments_becomes_four_adapted_deliveries_that_publish_once() {
    let w = World::new("fanout", 2).await;
    let swedes = w.swedish_segment().await;
    let planned = w
        .planner()
        .compose(
            w.brand,
            None,
            draft("Fresh coffee every morning at the roastery"),
            &w.targets(&[None, Some(swedes)]),
        )
        .await
        .unwrap();
    assert_eq!(planned.post.status, PostStatus::Draft);
    assert_eq!(planned.deliveries.len(), 4);
    let x = w.plugins.get("x").unwrap();
    for d in &planned.deliveries {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.plugin_id.as_deref(), Some("x"), "lineage: the plugin");
        assert_eq!(d.plugin_version.as_deref(), Some(x.manifest.version.as_str()));
        assert_eq!(d.post_revision, 1);
        let text = d.adapted_text.as_deref().unwrap();
        let warnings = d.adaptation.as_ref().unwrap()["warnings"].as_array().unwrap().clone();
        if d.segment_id == Some(swedes) {
            assert!(text.contains("kaffe"), "the segment's tone: {text}");
            assert!(d.segment_snapshot_id.is_some(), "lineage: the segment's version");
            assert!(
                warnings.iter().any(|w| w["code"] == "targeting-unsupported"
                    || w["message"].as_str().unwrap_or("").contains("targeting")),
                "X cannot target: {warnings:?}"
            );
        } else {
            assert!(text.contains("coffee"), "{text}");
        }
    }
    let scheduled = w.planner().schedule(planned.post.id, When::Now, None).await.unwrap();
    assert_eq!(scheduled.post.status, PostStatus::Scheduled);
    assert!(
        scheduled
            .deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Scheduled)
    );

    run_until_settled(&w.t.store, w.plugins.clone(), quick(), StdDuration::from_secs(60)).await;
    let tweets = w.x.tweets();
    assert_eq!(tweets.len(), 4, "one post per delivery on the platform");
    for d in w.tenant().deliveries().list_for_post(planned.post.id).await.unwrap() {
        assert_eq!(d.status, DeliveryStatus::Published, "{:?}", d.last_error);
        let tweet = tweets.iter().find(|t| Some(&t.id) == d.remote_id.as_ref()).unwrap();
        assert_eq!(Some(tweet.text.as_str()), d.adapted_text.as_deref());
    }
    // The leader settles the post once every delivery has ended.
    leader::pass(&w.t.store, "node-a", StdDuration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        w.tenant().posts().get(planned.post.id).await.unwrap().status,
        PostStatus::Published
    );
}

#[tokio::test]
async fn a_post_a_plugin_refuses_is_not_stored_and_the_error_names_the_target() {
    let w = World::new("refused", 1).await;
    // A document only: X takes no documents, so nothing would be left to post.
    let doc = w
        .tenant()
        .media()
        .register(NewMediaAsset {
            brand_id: w.brand,
            kind: MediaKind::Document,
            mime_type: "application/pdf".into(),
            byte_size: 1000,
            width: None,
            height: None,
            duration_ms: None,
            sha256: "00".repeat(32),
            storage_key: "doc.pdf".into(),
            alt_text: None,
            codec: None,
            frame_rate: None,
            original_name: None,
        })
        .await
        .unwrap();
    let post = PostDraft {
        body: String::new(),
        media: vec![doc.id],
        ..draft("")
    };
    match w.planner().compose(w.brand, None, post, &w.targets(&[None])).await {
        Err(StoreError::Invalid(i)) => {
            assert_eq!(i.field, "targets[0]");
            assert!(i.message.contains("x account @"), "{i}");
            assert!(i.message.contains("body"), "the plugin's field: {i}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        w.tenant().posts().list(w.brand, None).await.unwrap().is_empty(),
        "nothing stored"
    );
    // No target at all, and one listed twice, are refused before any plugin runs.
    let no_target = w.planner().compose(w.brand, None, draft("hi"), &[]).await.unwrap_err();
    assert!(no_target.to_string().contains("targets"), "{no_target}");
    let twice = [w.targets(&[None]), w.targets(&[None])].concat();
    let dup = w
        .planner()
        .compose(w.brand, None, draft("hi"), &twice)
        .await
        .unwrap_err();
    assert!(dup.to_string().contains("targets[1]"), "{dup}");
}

#[tokio::test]
async fn editing_a_scheduled_post_readapts_what_has_not_gone_out_and_never_what_published() {
    let w = World::new("edit", 2).await;
    let p = w
        .planner()
        .compose(w.brand, None, draft("Version one"), &w.targets(&[None]))
        .await
        .unwrap();
    let at = (Utc::now() + Duration::hours(1)).trunc_subsecs(0);
    let zone = Zone::parse("zone", "Europe/Stockholm").unwrap();
    w.planner().schedule(p.post.id, When::At(at, zone), None).await.unwrap();
    // One delivery goes out (a worker claims it after its instant and publishes it).
    let q = w.t.store.queue();
    let claim = q
        .claim("w", 1, StdDuration::from_secs(30), at + Duration::minutes(1))
        .await
        .unwrap()
        .remove(0);
    q.start_publishing(&claim).await.unwrap();
    q.complete(
        &claim,
        chorus_core::store::PublishedPost {
            remote_id: "1".into(),
            remote_url: None,
            extra_ids: vec![],
        },
    )
    .await
    .unwrap();

    let edited = w
        .planner()
        .edit(p.post.id, 1, None, draft("Version two"))
        .await
        .unwrap();
    assert_eq!(edited.post.revision, 2);
    assert_eq!(
        edited.post.status,
        PostStatus::Scheduled,
        "no approval needed: stays scheduled"
    );
    for d in w.tenant().deliveries().list_for_post(p.post.id).await.unwrap() {
        if d.id == claim.delivery.id {
            assert_eq!(d.status, DeliveryStatus::Published);
            assert_eq!(d.adapted_text.as_deref(), Some("Version one"), "what was sent stays");
            assert_eq!(d.post_revision, 1);
        } else {
            assert_eq!(d.status, DeliveryStatus::Scheduled);
            assert_eq!(d.adapted_text.as_deref(), Some("Version two"));
            assert_eq!(d.post_revision, 2);
            assert_eq!(d.scheduled_at, Some(at), "the plan is kept");
            assert_eq!(d.timezone, "Europe/Stockholm");
        }
    }
    // An edit from a stale revision is refused and changes nothing.
    let stale = w.planner().edit(p.post.id, 1, None, draft("Lost")).await.unwrap_err();
    assert!(matches!(stale, StoreError::Stale { .. }), "{stale}");
}

/// "Fix the post, then retry" sends the fixed post. Deliveries that failed after their
/// attempt reached the platform owe a lookup: the edit asks the platform first. One the
/// platform does not have takes the edit (and a retry sends it); one it has is recorded as
/// published and keeps what it sent; the edit says which it did not change and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_failed_post_looks_up_what_may_have_gone_out_and_readapts_the_rest() {
    let w = World::new("editfailed", 2).await;
    let (p, claims) = w.claimed_now("Version one").await;
    let q = w.t.store.queue();
    assert_eq!(claims.len(), 2);
    // The first was refused by the platform; the second went out, but its answer was lost
    // until the attempts ran out.
    let (refused, lost) = (&claims[0], &claims[1]);
    let lost_account = w
        .accounts
        .iter()
        .find(|a| a.id == lost.delivery.social_account_id)
        .unwrap();
    let on_platform = w.x.add_foreign_tweet(&lost_account.remote_id, "Version one");
    for (c, kind, next) in [
        (refused, FailureKind::InvalidInput, DeliveryStatus::Failed),
        (lost, FailureKind::Transient, DeliveryStatus::Dead),
    ] {
        q.start_publishing(c).await.unwrap();
        let f = AttemptFailure {
            kind,
            error: "it did not work".into(),
            next,
            run_at: None,
            maybe_published: true,
        };
        q.fail(c, f).await.unwrap();
    }
    let edited = w
        .planner()
        .edit(p.post.id, 1, None, draft("Version two"))
        .await
        .unwrap();
    let deliveries = w.tenant().deliveries();
    let fixed = deliveries.get(refused.delivery.id).await.unwrap();
    assert_eq!(
        (fixed.status, fixed.lookup_first, fixed.adapted_text.as_deref()),
        (DeliveryStatus::Failed, false, Some("Version two")),
        "the platform does not have it: it takes the edit"
    );
    let found = deliveries.get(lost.delivery.id).await.unwrap();
    assert_eq!(
        (found.status, found.remote_id.as_deref(), found.adapted_text.as_deref()),
        (
            DeliveryStatus::Published,
            Some(on_platform.as_str()),
            Some("Version one")
        ),
        "the platform has it: published, keeping what it sent"
    );
    assert_eq!(edited.not_changed.len(), 1, "{:?}", edited.not_changed);
    assert_eq!(edited.not_changed[0].id, lost.delivery.id);
    assert!(edited.not_changed[0].reason.contains("found on the platform"));
    // The retry sends the fixed text, and only that delivery.
    let retried = w.planner().retry(p.post.id, None).await.unwrap();
    assert_eq!(retried.deliveries.len(), 1);
    let settings = EngineSettings {
        poll: StdDuration::from_millis(50),
        ..EngineSettings::default()
    };
    run_until_settled(&w.t.store, w.plugins.clone(), settings, StdDuration::from_secs(30)).await;
    let texts: Vec<String> = w.x.tweets().into_iter().map(|t| t.text).collect();
    assert_eq!(texts, ["Version one", "Version two"]);
}

/// Cancelling a post whose deliveries wait to retry after an attempt that may have reached
/// the platform: each is cancelled, then looked up. One the platform has is published
/// after all (and said so); one it does not have stays cancelled, owing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_looks_up_what_may_have_gone_out() {
    let w = World::new("cancellookup", 2).await;
    let (p, claims) = w.claimed_now("Maybe out").await;
    let q = w.t.store.queue();
    for c in &claims {
        q.start_publishing(c).await.unwrap();
        let lost = AttemptFailure {
            kind: FailureKind::Transient,
            error: "the connection dropped".into(),
            next: DeliveryStatus::Retrying,
            run_at: Some(Utc::now() + Duration::hours(1)),
            maybe_published: true,
        };
        q.fail(c, lost).await.unwrap();
    }
    let (gone, there) = (&claims[0], &claims[1]);
    let account = w
        .accounts
        .iter()
        .find(|a| a.id == there.delivery.social_account_id)
        .unwrap();
    let remote = w.x.add_foreign_tweet(&account.remote_id, "Maybe out");
    let (post, skipped) = w.planner().cancel(p.post.id, None).await.unwrap();
    let deliveries = w.tenant().deliveries();
    let d = deliveries.get(gone.delivery.id).await.unwrap();
    assert_eq!((d.status, d.lookup_first), (DeliveryStatus::Cancelled, false));
    let d = deliveries.get(there.delivery.id).await.unwrap();
    assert_eq!(
        (d.status, d.remote_id.as_deref()),
        (DeliveryStatus::Published, Some(remote.as_str()))
    );
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].reason.contains("already on the platform"), "{skipped:?}");
    assert_ne!(post.status, PostStatus::Cancelled, "part of it went out");
}

#[tokio::test]
async fn a_brand_that_requires_approval_holds_its_posts_until_approved_and_again_after_an_edit() {
    let w = World::new("approval", 1).await;
    w.tenant().brands().set_requires_approval(w.brand, true).await.unwrap();
    let p = w
        .planner()
        .compose(w.brand, None, draft("Needs a yes"), &w.targets(&[None]))
        .await
        .unwrap();
    let at = (Utc::now() + Duration::hours(2)).trunc_subsecs(0);
    let zone = Zone::parse("zone", "America/New_York").unwrap();
    let held = w.planner().schedule(p.post.id, When::At(at, zone), None).await.unwrap();
    assert!(held.held_for_approval);
    assert_eq!(held.post.status, PostStatus::InReview);
    let d = &held.deliveries[0];
    assert_eq!(
        (d.status, d.scheduled_at, d.run_at),
        (DeliveryStatus::Pending, Some(at), None)
    );
    let q = w.t.store.queue();
    let later = at + Duration::hours(1);
    assert!(
        q.claim("w", 10, StdDuration::from_secs(30), later)
            .await
            .unwrap()
            .is_empty(),
        "a held delivery is never claimed"
    );

    let approved = w.planner().approve(p.post.id, None, Some("ok")).await.unwrap();
    assert_eq!(approved.post.status, PostStatus::Scheduled);
    assert_eq!(approved.deliveries[0].status, DeliveryStatus::Scheduled);
    assert_eq!(
        approved.deliveries[0].run_at,
        Some(at),
        "scheduled at the planned instant"
    );

    // Editing what was approved sends it back for review and takes it out of the queue.
    let edited = w.planner().edit(p.post.id, 1, None, draft("Changed")).await.unwrap();
    assert_eq!(edited.post.status, PostStatus::Draft);
    let d = &w.tenant().deliveries().list_for_post(p.post.id).await.unwrap()[0];
    assert_eq!(
        (d.status, d.scheduled_at, d.run_at),
        (DeliveryStatus::Pending, Some(at), None)
    );
    assert!(
        q.claim("w", 10, StdDuration::from_secs(30), later)
            .await
            .unwrap()
            .is_empty()
    );
    // Rejection needs a comment, and sends it back to draft.
    w.planner().schedule(p.post.id, When::At(at, zone), None).await.unwrap();
    assert!(w.planner().reject(p.post.id, None, " ").await.is_err());
    let rejected = w.planner().reject(p.post.id, None, "too long").await.unwrap();
    assert_eq!(rejected.status, PostStatus::Draft);
}

#[tokio::test]
async fn add_to_queue_takes_each_accounts_next_free_posting_slot_in_its_zone() {
    let w = World::new("slots", 1).await;
    let cron = "0 9,17 * * 1-5";
    let s = w
        .tenant()
        .schedules()
        .create(w.brand, None, "weekdays", cron, "Europe/Stockholm")
        .await
        .unwrap();
    let expected = w.tenant().schedules().next_slots(s.id, Utc::now(), 3).await.unwrap();
    let mut got = Vec::new();
    for n in 0..3 {
        let p = w
            .planner()
            .compose(w.brand, None, draft(&format!("queued {n}")), &w.targets(&[None]))
            .await
            .unwrap();
        let planned = w.planner().schedule(p.post.id, When::NextSlot, None).await.unwrap();
        let d = &planned.deliveries[0];
        assert_eq!(d.timezone, "Europe/Stockholm");
        got.push(d.scheduled_at.unwrap());
    }
    assert_eq!(got, expected, "each post takes the next slot no other delivery holds");
    let tz = Zone::parse("z", "Europe/Stockholm").unwrap().tz();
    for t in &got {
        let local = t.with_timezone(&tz);
        assert!([9, 17].contains(&local.hour()) && local.minute() == 0, "{local}");
    }
    // A cancelled post frees its slot for the next one.
    let first = w.tenant().deliveries().list(&[], 100).await.unwrap();
    let first_post = first.iter().find(|d| d.scheduled_at == Some(got[0])).unwrap().post_id;
    w.planner().cancel(first_post, None).await.unwrap();
    let p = w
        .planner()
        .compose(w.brand, None, draft("takes the freed slot"), &w.targets(&[None]))
        .await
        .unwrap();
    let planned = w.planner().schedule(p.post.id, When::NextSlot, None).await.unwrap();
    assert_eq!(planned.deliveries[0].scheduled_at, Some(got[0]));
    // An account without slots is told how to add some.
    let other = World::new("noslots", 1).await;
    let p = other
        .planner()
        .compose(other.brand, None, draft("nowhere"), &other.targets(&[None]))
        .await
        .unwrap();
    let e = other
        .planner()
        .schedule(p.post.id, When::NextSlot, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("chorus schedule add"), "{e}");
}

#[tokio::test]
async fn retry_resends_only_what_did_not_publish_and_cancel_spares_what_went_out() {
    let w = World::new("retry", 3).await;
    let p = w
        .planner()
        .compose(w.brand, None, draft("Three accounts"), &w.targets(&[None]))
        .await
        .unwrap();
    w.planner().schedule(p.post.id, When::Now, None).await.unwrap();
    let q = w.t.store.queue();
    let mut claims = q
        .claim("w", 3, StdDuration::from_secs(30), Utc::now() + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(claims.len(), 3);
    let (ok, dead, failed) = (claims.remove(0), claims.remove(0), claims.remove(0));
    q.start_publishing(&ok).await.unwrap();
    q.complete(
        &ok,
        chorus_core::store::PublishedPost {
            remote_id: "9".into(),
            remote_url: None,
            extra_ids: vec![],
        },
    )
    .await
    .unwrap();
    for (c, next) in [(&dead, DeliveryStatus::Dead), (&failed, DeliveryStatus::Failed)] {
        q.fail(
            c,
            AttemptFailure {
                kind: FailureKind::Transient,
                error: "gave up".into(),
                next,
                run_at: None,
                maybe_published: false,
            },
        )
        .await
        .unwrap();
    }
    leader::pass(&w.t.store, "n", StdDuration::from_secs(5)).await.unwrap();
    assert_eq!(
        w.tenant().posts().get(p.post.id).await.unwrap().status,
        PostStatus::PartiallyPublished
    );
    let retried = w.planner().retry(p.post.id, None).await.unwrap();
    assert_eq!(retried.post.status, PostStatus::Scheduled);
    let ids: Vec<Uuid> = retried.deliveries.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&ok.delivery.id), "the published delivery is never resent");
    assert!(
        retried
            .deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Scheduled && d.attempts == 0)
    );
    // Cancel: the published one is reported as not changed, the two others are cancelled.
    let (post, skipped) = w.planner().cancel(p.post.id, None).await.unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].id, ok.delivery.id);
    assert_eq!(
        post.status,
        PostStatus::Scheduled,
        "part of it went out: not cancelled as a whole"
    );
    leader::pass(&w.t.store, "n", StdDuration::from_secs(5)).await.unwrap();
    assert_eq!(
        w.tenant().posts().get(p.post.id).await.unwrap().status,
        PostStatus::PartiallyPublished
    );
}

#[tokio::test]
async fn a_recurring_post_materialises_each_occurrence_once_across_dst_and_nodes() {
    let w = World::new("recurs", 2).await;
    let p = w
        .planner()
        .compose(w.brand, None, draft("Weekday tip"), &w.targets(&[None]))
        .await
        .unwrap();
    let zone = Zone::parse("z", "Europe/Stockholm").unwrap();
    // 02:30 does not exist on 2027-03-28 in Stockholm; weekdays and Sunday (0) included.
    let cron = CronSchedule::parse("30 2 * * 0-5").unwrap();
    w.planner()
        .schedule(
            p.post.id,
            When::Every {
                cron: cron.clone(),
                zone,
                until: None,
            },
            None,
        )
        .await
        .unwrap();
    // Rewind the horizon to just before the change and materialise as of then.
    let before = Utc.with_ymd_and_hms(2027, 3, 26, 0, 0, 0).unwrap();
    let r = w
        .tenant()
        .recurrences()
        .set(p.post.id, cron.as_str(), zone, None, true, before)
        .await
        .unwrap();
    let made = recurrence::materialize(w.tenant(), &r, before).await.unwrap();
    let occurrences: Vec<_> = w
        .tenant()
        .deliveries()
        .list_for_post(p.post.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.occurrence.is_some() && d.occurrence.unwrap() > before)
        .collect();
    // Within 48 h of Friday 00:00 UTC: Friday 02:30 CET and Sunday's 02:30, which does not
    // exist and runs once at 03:00 CEST (01:00 UTC); Saturday (6) is not in 0-5.
    let mut instants: Vec<_> = occurrences.iter().map(|d| d.occurrence.unwrap()).collect();
    instants.sort();
    instants.dedup();
    assert_eq!(
        instants,
        vec![Utc.with_ymd_and_hms(2027, 3, 26, 1, 30, 0).unwrap(),],
        "48 h from Friday 00:00 UTC ends Sunday 00:00 UTC"
    );
    assert_eq!(made, 2, "one per template (two accounts)");
    let later = Utc.with_ymd_and_hms(2027, 3, 27, 12, 0, 0).unwrap();
    let r = w.tenant().recurrences().get(p.post.id).await.unwrap().unwrap();
    recurrence::materialize(w.tenant(), &r, later).await.unwrap();
    let sunday: Vec<_> = w
        .tenant()
        .deliveries()
        .list_for_post(p.post.id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|d| d.occurrence)
        .filter(|o| o.date_naive() == chrono::NaiveDate::from_ymd_opt(2027, 3, 28).unwrap())
        .collect();
    assert_eq!(
        sunday,
        vec![Utc.with_ymd_and_hms(2027, 3, 28, 1, 0, 0).unwrap(); 2],
        "the gap's time runs once per account, when the gap ends"
    );

    // Materialising the same occurrences again (a stale node) adds nothing: the key is unique.
    let templates = w.tenant().recurrences().templates(p.post.id).await.unwrap();
    assert_eq!(templates.len(), 2);
    let again = w
        .tenant()
        .recurrences()
        .materialize(
            &r,
            &templates,
            &[Utc.with_ymd_and_hms(2027, 3, 28, 1, 0, 0).unwrap()],
            later,
        )
        .await
        .unwrap();
    assert_eq!(again, 0);

    // Two nodes: exactly one leads at a time; the other takes over once it resigns.
    let (a, b) = tokio::join!(
        leader::pass(&w.t.store, "node-a", StdDuration::from_secs(30)),
        leader::pass(&w.t.store, "node-b", StdDuration::from_secs(30)),
    );
    let led: Vec<bool> = [a.unwrap(), b.unwrap()].iter().map(Option::is_some).collect();
    assert_eq!(led.iter().filter(|l| **l).count(), 1, "{led:?}");
    let leader_name = if led[0] { "node-a" } else { "node-b" };
    let follower = if led[0] { "node-b" } else { "node-a" };
    assert!(
        leader::pass(&w.t.store, follower, StdDuration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    w.t.store.resign(leader::LEASE, leader_name).await.unwrap();
    assert!(
        leader::pass(&w.t.store, follower, StdDuration::from_secs(30))
            .await
            .unwrap()
            .is_some()
    );

    // Cancelling the post stops the recurrence and cancels what was waiting.
    let (post, skipped) = w.planner().cancel(p.post.id, None).await.unwrap();
    assert!(skipped.is_empty());
    assert_eq!(post.status, PostStatus::Cancelled);
    assert!(!w.tenant().recurrences().get(p.post.id).await.unwrap().unwrap().enabled);
}

/// Rescheduling replaces the plan: a one-off post made recurring gets templates and
/// occurrences; a changed rule replaces the waiting occurrences; made a one-off again, the
/// recurrence and its waiting occurrences go and the deliveries are scheduled once.
#[tokio::test]
async fn rescheduling_between_one_off_and_recurring_replaces_the_plan() {
    let w = World::new("replan", 2).await;
    let p = w
        .planner()
        .compose(
            w.brand,
            None,
            draft("Sometimes once, sometimes daily"),
            &w.targets(&[None]),
        )
        .await
        .unwrap();
    let zone = Zone::parse("z", "Europe/Stockholm").unwrap();
    let tomorrow = Utc::now() + Duration::days(1);
    w.planner()
        .schedule(p.post.id, When::At(tomorrow, zone), None)
        .await
        .unwrap();
    let every = |cron: &str| When::Every {
        cron: CronSchedule::parse(cron).unwrap(),
        zone,
        until: None,
    };
    let list = || async { w.tenant().deliveries().list_for_post(p.post.id).await.unwrap() };
    let occurrence_minutes = |ds: &[chorus_core::store::entity::delivery::Model]| {
        let mut m: Vec<u32> = ds
            .iter()
            .filter_map(|d| d.occurrence)
            .map(|o| o.with_timezone(&zone.tz()).minute())
            .collect();
        m.sort();
        m.dedup();
        m
    };

    // One-off → every day at 09:15: both deliveries become templates, occurrences follow.
    w.planner()
        .schedule(p.post.id, every("15 9 * * *"), None)
        .await
        .unwrap();
    let ds = list().await;
    let templates = w.tenant().recurrences().templates(p.post.id).await.unwrap();
    assert_eq!(templates.len(), 2, "the scheduled deliveries became templates: {ds:?}");
    assert!(ds.iter().filter(|d| d.occurrence.is_none()).all(|d| d.run_at.is_none()));
    assert!(ds.iter().any(|d| d.occurrence.is_some()), "occurrences were made");
    assert_eq!(occurrence_minutes(&ds), [15]);

    // A new rule (09:45): the 09:15 occurrences still waiting go, 09:45 ones come.
    w.planner()
        .schedule(p.post.id, every("45 9 * * *"), None)
        .await
        .unwrap();
    let ds = list().await;
    assert_eq!(occurrence_minutes(&ds), [45], "only the new rule's occurrences wait");
    assert_eq!(w.tenant().recurrences().templates(p.post.id).await.unwrap().len(), 2);

    // Back to a one-off: no recurrence, no waiting occurrence, two deliveries due once.
    w.planner()
        .schedule(p.post.id, When::At(tomorrow, zone), None)
        .await
        .unwrap();
    assert!(w.tenant().recurrences().get(p.post.id).await.unwrap().is_none());
    let ds = list().await;
    assert_eq!(ds.len(), 2, "{ds:?}");
    for d in &ds {
        assert_eq!((d.status, d.occurrence), (DeliveryStatus::Scheduled, None));
        assert_eq!(d.scheduled_at.map(|t| t.timestamp()), Some(tomorrow.timestamp()));
    }
}

#[tokio::test]
async fn media_that_breaks_the_platforms_rule_is_refused_at_compose_naming_platform_item_and_rule() {
    let w = World::new("media-rule", 1).await;
    let video = |seconds: i64| NewMediaAsset {
        brand_id: w.brand,
        kind: MediaKind::Video,
        mime_type: "video/mp4".into(),
        byte_size: 40_000_000,
        width: Some(1280),
        height: Some(720),
        duration_ms: Some(seconds * 1000),
        sha256: "ab".repeat(32),
        storage_key: "v.mp4".into(),
        alt_text: None,
        codec: Some("h264".into()),
        frame_rate: Some(30.0),
        original_name: None,
    };
    // X takes videos up to 140 s: a 4-minute one is refused when composed, not at publish.
    let long = w.tenant().media().register(video(240)).await.unwrap();
    let post = PostDraft {
        media: vec![long.id],
        ..draft("Our launch film")
    };
    match w.planner().compose(w.brand, None, post, &w.targets(&[None])).await {
        Err(StoreError::Invalid(i)) => {
            assert_eq!(i.field, "media[0]");
            assert!(i.message.contains("targets[0]"), "{i}");
            assert!(
                i.message.contains("X: the video lasts 240 s; at most 140 s is allowed"),
                "{i}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        w.tenant().posts().list(w.brand, None).await.unwrap().is_empty(),
        "nothing stored"
    );
    // A video within the rule composes.
    let short = w.tenant().media().register(video(60)).await.unwrap();
    let post = PostDraft {
        media: vec![short.id],
        ..draft("Our launch film")
    };
    w.planner()
        .compose(w.brand, None, post, &w.targets(&[None]))
        .await
        .unwrap();
}
