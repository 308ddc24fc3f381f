//! The delivery queue on a real database (SQLite, or PostgreSQL with
//! `CHORUS_TEST_DATABASE_URL`): claims never overlap, leases fence every write, the rescuer
//! frees lost attempts by state and lease age.

use chorus_core::StoreError;
use chorus_core::domain::{DeliveryStatus, FailureKind};
use chorus_core::store::{AttemptFailure, PublishedPost, Rescued};
use chorus_tests::TestStore;
use chorus_tests::queue::seed_due;
use chrono::{Duration as Days, Utc};
use std::collections::HashSet;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(30);

/// Records every claim as published, in one group commit.
async fn complete_all(q: &chorus_core::store::Queue<'_>, claims: Vec<chorus_core::store::Claim>) {
    let done = claims
        .into_iter()
        .map(|c| (c, chorus_core::store::Write::Complete(published("p"))))
        .collect();
    assert!(q.write_all(done).await.unwrap().iter().all(|r| r.is_ok()));
}

fn published(id: &str) -> PublishedPost {
    PublishedPost {
        remote_id: id.into(),
        remote_url: None,
        extra_ids: vec![],
    }
}

/// Eight workers claim and finish concurrently: every delivery is claimed exactly once, and
/// no account is ever in two workers' hands at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_hand_one_delivery_or_one_account_to_two_workers() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("claims").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (40, 15), now - Days::seconds(1), "claim").await;
    // Which worker holds which account now: set after a claim, cleared before the
    // deliveries are finished (so before another claim can see the account free).
    let holders: Arc<Mutex<HashMap<uuid::Uuid, usize>>> = Arc::default();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (store, holders) = (t.store.clone(), holders.clone());
            tokio::spawn(async move {
                let q = store.queue();
                let mut mine = Vec::new();
                loop {
                    let batch = q.claim(&format!("w{w}"), 7, LEASE, now).await.unwrap();
                    if batch.is_empty() {
                        // Nothing free: the rest is in other workers' hands, or done.
                        if q.next_due().await.unwrap().is_none() && holders.lock().unwrap().is_empty() {
                            return mine;
                        }
                        assert!(std::time::Instant::now() < deadline, "the claims stalled");
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    }
                    let accounts: HashSet<_> = batch.iter().map(|c| c.delivery.social_account_id).collect();
                    for a in &accounts {
                        let held = holders.lock().unwrap().insert(*a, w);
                        assert_eq!(held, None, "account {a} claimed by w{w} while w{held:?} holds it");
                    }
                    tokio::task::yield_now().await;
                    for a in &accounts {
                        holders.lock().unwrap().remove(a);
                    }
                    for c in batch {
                        q.start_publishing(&c).await.unwrap();
                        q.complete(&c, published(&c.delivery.id.to_string())).await.unwrap();
                        mine.push(c.delivery.id);
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut workers_with_work = 0;
    for w in workers {
        let mine = w.await.unwrap();
        workers_with_work += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 600, "every delivery claimed");
    assert_eq!(distinct.len(), 600, "no delivery claimed twice");
    assert!(workers_with_work >= 2, "the accounts went to one worker only");
}

/// A worker holding an account's deliveries cannot claim more of that account until they
/// are done: otherwise the first worker keeps every account busy and the others idle, and
/// when it dies all it queued waits for its lease.
#[tokio::test]
async fn an_account_in_flight_is_not_claimed_again_even_by_the_same_worker() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("in-flight").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (3, 1), now - Days::seconds(1), "one").await;
    let q = t.store.queue();
    let first = q.claim("w", 1, LEASE, now).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(q.claim("w", 10, LEASE, now).await.unwrap().is_empty(), "same worker");
    assert!(q.claim("v", 10, LEASE, now).await.unwrap().is_empty(), "another worker");
    q.start_publishing(&first[0]).await.unwrap();
    q.complete(&first[0], published("first")).await.unwrap();
    assert_eq!(
        q.claim("v", 10, LEASE, now).await.unwrap().len(),
        2,
        "free again for anyone"
    );
}

#[tokio::test]
async fn only_due_deliveries_are_claimed_and_each_claim_counts_an_attempt() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("due").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (2, 1), now - Days::minutes(5), "past").await;
    seed_due(&t.store, ws, brand, "x", (3, 1), now + Days::minutes(5), "future").await;
    let q = t.store.queue();
    let claimed = q.claim("w", 10, LEASE, now).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for c in &claimed {
        assert_eq!(c.delivery.status, DeliveryStatus::Claimed);
        assert_eq!(c.delivery.attempts, 1);
        assert_eq!(c.delivery.lease_token, Some(c.token));
        assert!(c.delivery.adapted_text.as_deref().unwrap().starts_with("past"));
    }
    assert!(q.claim("w", 10, LEASE, now).await.unwrap().is_empty());
    assert_eq!(q.next_due().await.unwrap(), Some(claimed_due(&t, now).await));
}

async fn claimed_due(t: &TestStore, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    let future = t
        .store
        .queue()
        .claim("peek", 10, LEASE, now + Days::minutes(10))
        .await
        .unwrap();
    future[0].delivery.run_at.unwrap()
}

#[tokio::test]
async fn a_zombie_attempt_cannot_overwrite_the_next_one() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("zombie").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (1, 1), now, "z").await;
    let q = t.store.queue();
    let zombie = q.claim("old", 1, LEASE, now).await.unwrap().remove(0);
    // The old worker stalls past its lease; the rescuer frees the delivery.
    let later = now + Days::seconds(31);
    assert_eq!(
        q.rescue(later).await.unwrap(),
        Rescued {
            claimed: 1,
            publishing: 0
        }
    );
    let fresh = q.claim("new", 1, LEASE, later).await.unwrap().remove(0);
    assert_eq!(fresh.delivery.id, zombie.delivery.id);
    assert_ne!(fresh.token, zombie.token);
    assert_eq!(fresh.delivery.attempts, 2);
    // The zombie wakes up and tries to record its result: refused, and it says why.
    match q.complete(&zombie, published("zombie")).await.unwrap_err() {
        StoreError::Stale { found, .. } => assert!(found.contains("another lease"), "{found}"),
        other => panic!("{other}"),
    }
    assert!(q.start_publishing(&zombie).await.is_err());
    q.start_publishing(&fresh).await.unwrap();
    q.complete(&fresh, published("fresh")).await.unwrap();
    let d = t.store.tenant(ws).deliveries().get(fresh.delivery.id).await.unwrap();
    assert_eq!(
        (d.status, d.remote_id.as_deref()),
        (DeliveryStatus::Published, Some("fresh"))
    );
    assert_eq!((d.lease_token, d.lookup_first), (None, false));
    // Finished once: a second outcome by the same attempt is refused too.
    assert!(q.complete(&fresh, published("again")).await.is_err());
}

/// Group commit fences each write on its own: in one `write_all`, a zombie's intent and
/// completion beside its successor's, a second completion, and writes of other deliveries
/// each get the answer they would get alone, and only the right rows change.
#[tokio::test]
async fn writes_applied_together_are_each_fenced_by_their_own_lease() {
    use chorus_core::store::Write;
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("group").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (4, 1), now, "g").await;
    let q = t.store.queue();
    let zombie = q.claim("old", 1, LEASE, now).await.unwrap().remove(0);
    let later = now + Days::seconds(31);
    q.rescue(later).await.unwrap();
    let (mine, others): (Vec<_>, Vec<_>) = q
        .claim("new", 4, LEASE, later)
        .await
        .unwrap()
        .into_iter()
        .partition(|c| c.delivery.id == zombie.delivery.id);
    let fresh = mine.into_iter().next().expect("the rescued delivery is claimed again");
    let (a, b, c) = (&others[0], &others[1], &others[2]);
    q.start_publishing(b).await.unwrap();
    q.start_publishing(c).await.unwrap();
    q.complete(c, published("c-first")).await.unwrap();
    let results = q
        .write_all(vec![
            (zombie.clone(), Write::Start),
            (fresh.clone(), Write::Start),
            (a.clone(), Write::Start),
            (b.clone(), Write::Complete(published("b"))),
            (zombie.clone(), Write::Complete(published("zombie"))),
            (c.clone(), Write::Complete(published("c-again"))),
        ])
        .await
        .unwrap();
    let ok: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
    assert_eq!(ok, [false, true, true, true, false, false], "{results:?}");
    for r in [&results[0], &results[4]] {
        match r {
            Err(StoreError::Stale { found, .. }) => assert!(found.contains("another lease"), "{found}"),
            other => panic!("{other:?}"),
        }
    }
    let store = &t.store;
    let get = |id| async move { store.tenant(ws).deliveries().get(id).await.unwrap() };
    let f = get(fresh.delivery.id).await;
    assert_eq!(
        (f.status, f.lease_token, f.lookup_first),
        (DeliveryStatus::Publishing, Some(fresh.token), true)
    );
    assert_eq!(get(a.delivery.id).await.status, DeliveryStatus::Publishing);
    let bd = get(b.delivery.id).await;
    assert_eq!(
        (bd.status, bd.remote_id.as_deref(), bd.lease_token, bd.lookup_first),
        (DeliveryStatus::Published, Some("b"), None, false)
    );
    assert!(bd.published_at.is_some() && bd.run_at.is_none());
    assert_eq!(get(c.delivery.id).await.remote_id.as_deref(), Some("c-first"));
    // Thread replies' ids travel with a completion written in a group too.
    let post = PublishedPost {
        remote_id: "t1".into(),
        remote_url: Some("https://x.example/t1".into()),
        extra_ids: vec!["t2".into(), "t3".into()],
    };
    let r = q
        .write_all(vec![
            (fresh.clone(), Write::Complete(post)),
            (a.clone(), Write::Complete(published("a"))),
        ])
        .await
        .unwrap();
    assert!(r.iter().all(|r| r.is_ok()), "{r:?}");
    let f = get(fresh.delivery.id).await;
    assert_eq!(f.remote_url.as_deref(), Some("https://x.example/t1"));
    assert_eq!(f.extra_ids, Some(serde_json::json!(["t2", "t3"])));
}

#[tokio::test]
async fn a_publish_lost_with_its_worker_becomes_outcome_unknown_and_is_looked_up_first() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("lost").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (1, 2), now, "l").await;
    let q = t.store.queue();
    let mut claims = q.claim("dies", 2, LEASE, now).await.unwrap();
    q.start_publishing(&claims[0]).await.unwrap();
    // The worker dies here. A heartbeat from another worker's tokens does not save it.
    assert_eq!(q.heartbeat(&[uuid::Uuid::now_v7()], LEASE).await.unwrap(), 0);
    let later = now + Days::minutes(1);
    assert_eq!(
        q.rescue(later).await.unwrap(),
        Rescued {
            claimed: 1,
            publishing: 1
        }
    );
    let d0 = t
        .store
        .tenant(ws)
        .deliveries()
        .get(claims.remove(0).delivery.id)
        .await
        .unwrap();
    let d1 = t
        .store
        .tenant(ws)
        .deliveries()
        .get(claims.remove(0).delivery.id)
        .await
        .unwrap();
    assert_eq!((d0.status, d0.lookup_first), (DeliveryStatus::OutcomeUnknown, true));
    assert_eq!((d1.status, d1.lookup_first), (DeliveryStatus::Retrying, false));
    // Both are claimable again; the one that may exist says so.
    let again = q.claim("next", 5, LEASE, later).await.unwrap();
    assert_eq!(again.len(), 2);
    let owed = again.iter().find(|c| c.delivery.id == d0.id).unwrap();
    assert!(owed.delivery.lookup_first);
}

/// An attempt records its intent while it waits for its account's turn, and may learn then
/// that it must wait (a 429, a full budget): it gives the delivery back owing the lookup it
/// owed when claimed, no more (nothing was sent), and no less.
#[tokio::test]
async fn a_delivery_given_back_after_its_intent_owes_the_lookup_it_owed_when_claimed() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("giveback").await;
    let now = Utc::now();
    seed_due(&t.store, ws, brand, "x", (1, 1), now, "g").await;
    let q = t.store.queue();
    let deliveries = t.store.tenant(ws).deliveries();
    let c = q.claim("w", 1, LEASE, now).await.unwrap().remove(0);
    assert!(!c.delivery.lookup_first);
    q.start_publishing(&c).await.unwrap();
    q.postpone(&c, now, "waiting: 429").await.unwrap();
    let d = deliveries.get(c.delivery.id).await.unwrap();
    assert_eq!((d.status, d.lookup_first), (DeliveryStatus::Scheduled, false));
    // One that may be on the platform keeps its lookup through a give-back.
    let c = q.claim("w", 1, LEASE, now).await.unwrap().remove(0);
    q.start_publishing(&c).await.unwrap();
    let lost = AttemptFailure {
        kind: FailureKind::Transient,
        error: "timed out".into(),
        next: DeliveryStatus::OutcomeUnknown,
        run_at: Some(now),
        maybe_published: true,
    };
    q.fail(&c, lost).await.unwrap();
    let c = q.claim("w", 1, LEASE, now).await.unwrap().remove(0);
    assert!(c.delivery.lookup_first);
    q.start_publishing(&c).await.unwrap();
    q.postpone(&c, now, "waiting: 429").await.unwrap();
    let d = deliveries.get(c.delivery.id).await.unwrap();
    assert_eq!((d.status, d.lookup_first), (DeliveryStatus::Scheduled, true));
}

/// Before sending after a long wait, an attempt checks it still holds its lease for long
/// enough; a rescued one does not.
#[tokio::test]
async fn an_attempt_knows_whether_it_still_holds_its_lease() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("holds").await;
    seed_due(&t.store, ws, brand, "x", (1, 1), Utc::now(), "o").await;
    let q = t.store.queue();
    let c = q.claim("w", 1, LEASE, Utc::now()).await.unwrap().remove(0);
    q.start_publishing(&c).await.unwrap();
    q.holds(&c, Duration::from_secs(10)).await.unwrap();
    assert!(matches!(
        q.holds(&c, Duration::from_secs(60)).await,
        Err(StoreError::Stale { .. })
    ));
    q.rescue(Utc::now() + Days::minutes(1)).await.unwrap();
    assert!(matches!(
        q.holds(&c, Duration::from_secs(1)).await,
        Err(StoreError::Stale { .. })
    ));
}

#[tokio::test]
async fn heartbeats_keep_a_slow_attempt_from_being_rescued() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("beat").await;
    seed_due(&t.store, ws, brand, "x", (1, 1), Utc::now(), "h").await;
    let q = t.store.queue();
    let c = q
        .claim("slow", 1, Duration::from_secs(2), Utc::now())
        .await
        .unwrap()
        .remove(0);
    q.start_publishing(&c).await.unwrap();
    assert_eq!(q.heartbeat(&[c.token], Duration::from_secs(600)).await.unwrap(), 1);
    assert_eq!(
        q.rescue(Utc::now() + Days::seconds(60)).await.unwrap(),
        Rescued::default()
    );
    q.complete(&c, published("ok")).await.unwrap();
}

#[tokio::test]
async fn failures_follow_their_kind_and_a_person_can_retry_what_did_not_publish() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("fail").await;
    // PostgreSQL keeps microseconds.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    seed_due(&t.store, ws, brand, "x", (1, 3), now, "f").await;
    let q = t.store.queue();
    let tenant = t.store.tenant(ws);
    let c = q.claim("w", 3, LEASE, now).await.unwrap();
    q.start_publishing(&c[0]).await.unwrap();
    q.fail(
        &c[0],
        AttemptFailure {
            kind: FailureKind::Transient,
            error: "503 from the platform".into(),
            next: DeliveryStatus::Retrying,
            run_at: Some(now + Days::seconds(5)),
            maybe_published: true,
        },
    )
    .await
    .unwrap();
    q.fail(
        &c[1],
        AttemptFailure {
            kind: FailureKind::InvalidInput,
            error: "text: too long".into(),
            next: DeliveryStatus::Failed,
            run_at: None,
            maybe_published: false,
        },
    )
    .await
    .unwrap();
    q.postpone(&c[2], now + Days::minutes(10), "over the account's budget")
        .await
        .unwrap();
    let retrying = tenant.deliveries().get(c[0].delivery.id).await.unwrap();
    assert_eq!(
        (retrying.status, retrying.error_kind.as_deref(), retrying.lookup_first),
        (DeliveryStatus::Retrying, Some("transient"), true)
    );
    assert!(
        q.claim("w", 3, LEASE, now).await.unwrap().is_empty(),
        "backoff and budget delays hold"
    );
    let postponed = tenant.deliveries().get(c[2].delivery.id).await.unwrap();
    assert_eq!((postponed.status, postponed.attempts), (DeliveryStatus::Scheduled, 0));
    // A person retries the failed one: due now, attempts start again. A published one
    // cannot be retried or cancelled.
    let failed = c[1].delivery.id;
    assert!(tenant.deliveries().cancel(failed).await.is_err());
    let again = tenant.deliveries().retry(failed, now).await.unwrap();
    assert_eq!(
        (again.status, again.attempts, again.run_at),
        (DeliveryStatus::Scheduled, 0, Some(now))
    );
    let c = q.claim("w", 3, LEASE, now).await.unwrap().remove(0);
    q.complete(&c, published("p")).await.unwrap();
    assert!(tenant.deliveries().retry(failed, now).await.is_err());
    assert!(tenant.deliveries().cancel(failed).await.is_err());
    // Depth counts every state.
    let depth = q.depth().await.unwrap();
    let n = |s| depth.iter().find(|d| d.status == s).unwrap().count;
    assert_eq!(
        (
            n(DeliveryStatus::Published),
            n(DeliveryStatus::Retrying),
            n(DeliveryStatus::Scheduled)
        ),
        (1, 1, 1)
    );
}

/// The leader's table maintenance: SQLite gets planner statistics; PostgreSQL with
/// autovacuum off (as on the CI machine) gets its queue vacuumed, and with autovacuum on is
/// left to the server.
#[tokio::test]
async fn the_queue_maintenance_fits_the_database() {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("maint").await;
    seed_due(&t.store, ws, brand, "x", (5, 2), Utc::now(), "m").await;
    let vacuumed = t.store.queue().maintain_tables().await.unwrap();
    let db = Database::connect(&t.db.url).await.unwrap();
    let one = |sql: &str| Statement::from_string(db.get_database_backend(), sql.to_owned());
    if !t.db.is_postgres() {
        assert!(!vacuumed);
        let n = db
            .query_one_raw(one("SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'deliveries'"))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert!(n > 0, "no planner statistics for the queue");
        return;
    }
    let autovacuum = db
        .query_one_raw(one("SELECT current_setting('autovacuum') = 'on' AS on"))
        .await
        .unwrap()
        .unwrap()
        .try_get::<bool>("", "on")
        .unwrap();
    assert_eq!(vacuumed, !autovacuum, "vacuums exactly when autovacuum is off");
    if vacuumed {
        // Statistics reach the view shortly after the command ends.
        let mut seen = false;
        for _ in 0..50 {
            let row = db
                .query_one_raw(one(
                    "SELECT last_vacuum IS NOT NULL AS done FROM pg_stat_user_tables WHERE relname = 'deliveries'",
                ))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<bool>("", "done").unwrap() {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(seen, "the deliveries table was not vacuumed");
    }
}

/// A claim must walk the due index in `run_at` order and stop after its batch. With the
/// claimable states bound as parameters, SQLite could not see that the claim matches the
/// due index's predicate, walked the status index instead and sorted every due delivery
/// on each claim (12 ms for a batch of 50 with 20,000 due). PostgreSQL chooses by table
/// size (a small table is scanned), so there the plan is only read.
#[tokio::test]
async fn a_claim_walks_the_due_index_instead_of_sorting_the_queue() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("plan").await;
    let now = Utc::now();
    // A busy queue: thousands due at once, as many already published.
    seed_due(&t.store, ws, brand, "x", (400, 10), now - Days::seconds(1), "plan").await;
    let q = t.store.queue();
    for _ in 0..4 {
        complete_all(&q, q.claim("w", 500, LEASE, now).await.unwrap()).await;
    }
    q.maintain_tables().await.unwrap();
    let plan = q.claim_plan().await.unwrap();
    assert!(plan.iter().any(|l| l.contains("deliveries")), "{plan:#?}");
    if !t.db.is_postgres() {
        assert!(plan.iter().any(|l| l.contains("ix_deliveries_due")), "{plan:#?}");
        assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{plan:#?}");
    }
}

/// A completion batch reaches each row by its id. With statistics taken while nothing was in
/// flight, SQLite took the in-flight states for rare and, for a short batch, walked every
/// delivery in flight once per row through the status index instead.
#[tokio::test]
async fn completions_reach_each_row_by_its_id_not_through_the_deliveries_in_flight() {
    let t = TestStore::new().await;
    let (ws, brand) = t.workspace_with_brand("complete-plan").await;
    let now = Utc::now();
    let q = t.store.queue();
    // As on a busy server: as many published as waiting when the statistics are taken.
    seed_due(&t.store, ws, brand, "x", (200, 10), now - Days::seconds(1), "done").await;
    loop {
        let claims = q.claim("w", 500, LEASE, now).await.unwrap();
        if claims.is_empty() {
            break;
        }
        complete_all(&q, claims).await;
    }
    seed_due(&t.store, ws, brand, "x", (200, 10), now - Days::seconds(1), "cp").await;
    q.maintain_tables().await.unwrap();
    let in_flight = q.claim("w", 256, LEASE, now).await.unwrap();
    assert_eq!(in_flight.len(), 256);
    for batch in [1, 2, 26] {
        let plan = q.completion_plan(&in_flight[..batch]).await.unwrap();
        assert!(plan.iter().any(|l| l.contains("deliveries")), "{plan:#?}");
        if !t.db.is_postgres() {
            assert!(plan.iter().any(|l| l.contains("(id=?)")), "{batch}: {plan:#?}");
            assert!(
                !plan.iter().any(|l| l.contains("ix_deliveries_status")),
                "{batch}: {plan:#?}"
            );
        }
    }
}
