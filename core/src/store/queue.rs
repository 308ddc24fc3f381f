//! The delivery queue: claims, leases, fenced outcomes and the rescue of lost attempts.
//!
//! Workers serve every workspace, so these queries are not tenant-scoped; what a worker
//! then reads about a delivery (its account, its credentials) goes through
//! [`super::Tenant`] with the delivery's own `workspace_id`.
//!
//! - A claim is one `UPDATE … WHERE id IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED])
//!   RETURNING *`: on PostgreSQL concurrent workers skip each other's rows, on SQLite the
//!   single writer makes it atomic. There is no read-then-write window on either.
//! - Every claim gets a fresh lease token. Every later write of that attempt is filtered by
//!   the token and the states it may come from (`DeliveryStatus::allowed_next`), so a
//!   worker whose lease was rescued cannot overwrite what the next attempt did.
//! - One worker at a time works on an account, and only for what one claim gave it: a
//!   claim skips every account with a delivery in flight (in any worker, this one too)
//!   and the accounts a platform paused (429), so a Retry-After heard by one worker holds
//!   for all. An account is free again once its claimed deliveries are done, and the next
//!   claim of any worker may take it: no worker keeps an account to itself, and one killed
//!   strands at most one claim's deliveries per account until its lease expires. On
//!   PostgreSQL claims take a transaction-scoped advisory lock, so two claims never both
//!   pick a free account.
//! - The rescuer frees attempts whose lease expired: a `claimed` one goes back to
//!   `retrying` (nothing was sent), a `publishing` one to `outcome_unknown` (the post may
//!   exist: the next attempt looks it up first).

use super::entity::{delivery, social_account};
use super::{Store, map_db_err, now};
use crate::StoreError;
use crate::domain::{DeliveryStatus, FailureKind};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Statement,
};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// `deliveries.status IN ('…', …)` with the states written into the statement, not bound.
/// The partial indexes the queue relies on (`ix_deliveries_due` for due deliveries,
/// `ix_deliveries_leased` for the ones in flight) carry the same predicate, and a planner
/// uses a partial index only where it can see that the query implies its predicate: a
/// bound parameter hides that (SQLite then sorted every due delivery on each claim: 12 ms
/// for 50 rows with 20,000 due, against 2.7 ms with 2,000; PostgreSQL's generic plans for
/// prepared statements cannot use such an index either). The states are this crate's own
/// constants, never input.
fn status_in(states: &[DeliveryStatus]) -> Expr {
    Expr::cust(status_in_sql(states))
}

fn status_in_sql(states: &[DeliveryStatus]) -> String {
    let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("\"deliveries\".\"status\" IN ({})", list.join(", "))
}

/// The same test, for a row already found by its id: on SQLite a unary `+` keeps the
/// planner from reaching the rows through the status index instead. Planner statistics
/// taken while nothing was in flight say the in-flight states are rare (the partial index
/// `ix_deliveries_leased` was empty), so for a short `VALUES` list of ids SQLite chose to
/// walk every delivery in flight once per id.
fn row_status_in_sql(backend: sea_orm::DatabaseBackend, states: &[DeliveryStatus]) -> String {
    match backend {
        sea_orm::DatabaseBackend::Sqlite => format!("+{}", status_in_sql(states)),
        _ => status_in_sql(states),
    }
}

/// The claim: up to `limit` due deliveries, oldest first, skipping the accounts with a
/// delivery in flight and the accounts a platform paused, moved to `claimed` under `token`
/// in one statement.
///
/// On SQLite the due rows are read through `ix_deliveries_due` by name (`INDEXED BY`): the
/// planner otherwise weighs the status index against it from sampled statistics, and when
/// it picks the status index it sorts every due delivery on each claim, so claims grow
/// with the queue. Walking the due index in `run_at` order stops after the batch.
fn claim_statement(
    backend: sea_orm::DatabaseBackend,
    worker: &str,
    token: Uuid,
    limit: u32,
    lease: Duration,
    at: DateTime<Utc>,
) -> sea_orm::UpdateMany<delivery::Entity> {
    let due = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            let in_flight = Query::select()
                .column(delivery::Column::SocialAccountId)
                .from(delivery::Entity)
                .and_where(status_in(DeliveryStatus::LEASED))
                .to_owned();
            let paused = Query::select()
                .column(social_account::Column::Id)
                .from(social_account::Entity)
                .and_where(social_account::Column::PausedUntil.gt(at))
                .to_owned();
            let due = Query::select()
                .column(delivery::Column::Id)
                .from(delivery::Entity)
                .and_where(status_in(DeliveryStatus::CLAIMABLE))
                .and_where(delivery::Column::RunAt.lte(at))
                .and_where(delivery::Column::SocialAccountId.not_in_subquery(in_flight))
                .and_where(delivery::Column::SocialAccountId.not_in_subquery(paused))
                .order_by(delivery::Column::RunAt, Order::Asc)
                .limit(u64::from(limit))
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .to_owned();
            delivery::Column::Id.in_subquery(due)
        }
        _ => Expr::cust_with_values(
            format!(
                "\"deliveries\".\"id\" IN (SELECT \"id\" FROM \"deliveries\" INDEXED BY \"ix_deliveries_due\" \
                 WHERE {} AND \"run_at\" <= ? \
                 AND \"social_account_id\" NOT IN (SELECT \"social_account_id\" FROM \"deliveries\" \
                   WHERE {}) \
                 AND \"social_account_id\" NOT IN (SELECT \"id\" FROM \"social_accounts\" WHERE \"paused_until\" > ?) \
                 ORDER BY \"run_at\" ASC LIMIT ?)",
                status_in_sql(DeliveryStatus::CLAIMABLE),
                status_in_sql(DeliveryStatus::LEASED),
            ),
            [
                sea_orm::Value::from(at),
                sea_orm::Value::from(at),
                sea_orm::Value::from(i64::from(limit)),
            ],
        ),
    };
    delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Claimed))
        .col_expr(delivery::Column::LeaseToken, Expr::value(token))
        .col_expr(delivery::Column::LeaseExpiresAt, Expr::value(at + lease))
        .col_expr(delivery::Column::ClaimedBy, Expr::value(worker))
        .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(at))
        .filter(due)
        // Checked again on the row itself: a row another claim moved is not taken.
        .filter(status_in(DeliveryStatus::CLAIMABLE))
}

/// How the reason of a delivery held for a person starts (`Queue::held`).
pub const HELD: &str = "held:";

/// The queue as workers see it.
pub struct Queue<'a> {
    pub(crate) store: &'a Store,
}

/// A delivery a worker holds: its row as claimed, and the token that fences its writes.
#[derive(Debug, Clone)]
pub struct Claim {
    pub delivery: delivery::Model,
    pub token: Uuid,
}

/// What a published delivery records.
#[derive(Debug, Clone)]
pub struct PublishedPost {
    pub remote_id: String,
    pub remote_url: Option<String>,
    pub extra_ids: Vec<String>,
}

/// One write of an attempt, fenced by its lease token ([`Queue::write`],
/// [`Queue::write_all`]).
#[derive(Debug, Clone)]
pub enum Write {
    /// The intent to publish (`publishing`, a lookup owed from now on).
    Start,
    /// Published, now or found by `find-published`.
    Complete(PublishedPost),
    /// Did not publish.
    Fail(AttemptFailure),
    /// Given back without counting an attempt; waits until `run_at`.
    Postpone { run_at: DateTime<Utc>, reason: String },
}

impl Write {
    /// Given back until `run_at`, for `reason` (shown by `chorus queue`).
    pub fn postpone(run_at: DateTime<Utc>, reason: impl Into<String>) -> Self {
        Write::Postpone {
            run_at,
            reason: reason.into(),
        }
    }

    /// The state the delivery moves to, and the columns that change.
    fn update(self, claim: &Claim) -> (DeliveryStatus, sea_orm::UpdateMany<delivery::Entity>) {
        let q = delivery::Entity::update_many();
        match self {
            Write::Start => (
                DeliveryStatus::Publishing,
                q.col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Publishing))
                    .col_expr(delivery::Column::LookupFirst, Expr::value(true)),
            ),
            Write::Complete(post) => {
                let extra = (!post.extra_ids.is_empty()).then(|| serde_json::json!(post.extra_ids));
                (
                    DeliveryStatus::Published,
                    q.col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Published))
                        .col_expr(delivery::Column::RemoteId, Expr::value(post.remote_id))
                        .col_expr(delivery::Column::RemoteUrl, Expr::value(post.remote_url))
                        .col_expr(delivery::Column::ExtraIds, Expr::value(extra))
                        .col_expr(delivery::Column::PublishedAt, Expr::value(now()))
                        .col_expr(delivery::Column::LastError, Expr::value(Option::<String>::None))
                        .col_expr(delivery::Column::ErrorKind, Expr::value(Option::<String>::None))
                        .col_expr(delivery::Column::LookupFirst, Expr::value(false))
                        .col_expr(delivery::Column::RunAt, Expr::value(Option::<DateTime<Utc>>::None)),
                )
            }
            Write::Fail(f) => {
                let mut q = q
                    .col_expr(delivery::Column::Status, Expr::value(f.next))
                    .col_expr(delivery::Column::ErrorKind, Expr::value(f.kind.as_str()))
                    .col_expr(delivery::Column::LastError, Expr::value(f.error))
                    .col_expr(delivery::Column::RunAt, Expr::value(f.run_at));
                if f.maybe_published {
                    // Only ever set here: a lookup that is owed stays owed until the post is
                    // found or published.
                    q = q.col_expr(delivery::Column::LookupFirst, Expr::value(true));
                }
                (f.next, q)
            }
            // Nothing was sent in this attempt, so the lookup owed is the one owed when it
            // was claimed (an intent recorded before the attempt learnt it must wait does
            // not make the next attempt look the post up).
            Write::Postpone { run_at, reason } => (
                DeliveryStatus::Scheduled,
                q.col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Scheduled))
                    .col_expr(delivery::Column::RunAt, Expr::value(run_at))
                    .col_expr(delivery::Column::LastError, Expr::value(reason))
                    .col_expr(delivery::Column::LookupFirst, Expr::value(claim.delivery.lookup_first))
                    .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).sub(1)),
            ),
        }
    }
}

/// Applies `w` only if the attempt still holds its lease and the move is allowed.
async fn fenced(db: &impl ConnectionTrait, claim: &Claim, w: Write) -> Result<(), StoreError> {
    let (next, update) = w.update(claim);
    let from: Vec<DeliveryStatus> = DeliveryStatus::LEASED
        .iter()
        .copied()
        .filter(|s| s.can_move_to(next))
        .collect();
    let mut update = update
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now()))
        .filter(delivery::Column::Id.eq(claim.delivery.id))
        .filter(delivery::Column::LeaseToken.eq(claim.token))
        .filter(delivery::Column::Status.is_in(from));
    if next != DeliveryStatus::Publishing {
        update = update
            .col_expr(delivery::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
            .col_expr(
                delivery::Column::LeaseExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
    }
    let res = update.exec(db).await.map_err(|e| map_db_err("delivery", e))?;
    if res.rows_affected == 1 {
        return Ok(());
    }
    Err(stale(db, claim, next).await?)
}

/// Why a fenced write matched no row: the lease moved on, or the state cannot move.
async fn stale(db: &impl ConnectionTrait, claim: &Claim, next: DeliveryStatus) -> Result<StoreError, StoreError> {
    let found = delivery::Entity::find_by_id(claim.delivery.id).one(db).await?;
    Ok(StoreError::Stale {
        kind: "delivery",
        id: claim.delivery.id,
        expected: format!("the lease {} of this attempt, moving to {next}", claim.token),
        found: match found {
            Some(d) if d.lease_token == Some(claim.token) => format!("{}, which cannot move to {next}", d.status),
            Some(d) => format!("{} under another lease (this attempt was rescued)", d.status),
            None => "no such delivery".into(),
        },
    })
}

/// The writes a busy queue is made of, applied many at a time ([`fenced_bulk`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Start,
    Complete,
}

impl Bulk {
    fn of(w: &Write) -> Option<Self> {
        match w {
            Write::Start => Some(Bulk::Start),
            Write::Complete(_) => Some(Bulk::Complete),
            _ => None,
        }
    }

    /// The state this kind of write moves a delivery to.
    fn next(self) -> DeliveryStatus {
        match self {
            Bulk::Start => DeliveryStatus::Publishing,
            Bulk::Complete => DeliveryStatus::Published,
        }
    }
}

/// Applies many writes of one kind in one statement, each fenced exactly as [`fenced`]
/// fences it: a row changes only under its own attempt's lease token and from a state that
/// may move on. The rows' own values travel in a `VALUES` list joined by id and token
/// (`UPDATE … FROM`, which SQLite and PostgreSQL both have). Returns the ids it changed;
/// the caller gives each other write its [`stale`] reason. The ids must be distinct.
async fn fenced_bulk(
    db: &impl ConnectionTrait,
    kind: Bulk,
    writes: &[&(Claim, Write)],
) -> Result<std::collections::HashSet<Uuid>, StoreError> {
    let changed = db
        .query_all_raw(bulk_statement(db.get_database_backend(), kind, writes))
        .await
        .map_err(|e| map_db_err("delivery", e))?;
    changed
        .iter()
        .map(|r| r.try_get::<Uuid>("", "id").map_err(StoreError::from))
        .collect()
}

/// The statement of [`fenced_bulk`].
fn bulk_statement(backend: sea_orm::DatabaseBackend, kind: Bulk, writes: &[&(Claim, Write)]) -> Statement {
    use sea_orm::Value;
    let mut values: Vec<Value> = Vec::with_capacity(writes.len() * 5 + 8);
    // Numbered placeholders (`$n`, which SQLite takes too), so a value may appear more
    // than once in the statement.
    let p = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    let mut rows = Vec::with_capacity(writes.len());
    for (claim, w) in writes {
        let id = p(claim.delivery.id.into(), &mut values);
        let token = p(claim.token.into(), &mut values);
        let row = match w {
            Write::Complete(post) => {
                let extra = (!post.extra_ids.is_empty()).then(|| serde_json::json!(post.extra_ids));
                let remote_id = p(post.remote_id.clone().into(), &mut values);
                let url = p(post.remote_url.clone().into(), &mut values);
                let extra = p(extra.into(), &mut values);
                format!("({id}, {token}, {remote_id}, {url}, {extra})")
            }
            _ => format!("({id}, {token})"),
        };
        rows.push(row);
    }
    let next = kind.next();
    let at = now();
    let set = match kind {
        Bulk::Start => format!(
            "status = {}, lookup_first = {}, updated_at = {}",
            p(next.as_str().into(), &mut values),
            p(true.into(), &mut values),
            p(at.into(), &mut values),
        ),
        Bulk::Complete => format!(
            "status = {}, remote_id = v.remote_id, remote_url = v.remote_url, extra_ids = v.extra_ids, \
             published_at = {}, last_error = NULL, error_kind = NULL, lookup_first = {}, run_at = NULL, \
             lease_token = NULL, lease_expires_at = NULL, updated_at = {}",
            p(next.as_str().into(), &mut values),
            p(at.into(), &mut values),
            p(false.into(), &mut values),
            p(at.into(), &mut values),
        ),
    };
    let from: Vec<DeliveryStatus> = DeliveryStatus::LEASED
        .iter()
        .filter(|s| s.can_move_to(next))
        .copied()
        .collect();
    let columns = match kind {
        Bulk::Start => "id, token",
        Bulk::Complete => "id, token, remote_id, remote_url, extra_ids",
    };
    let sql = format!(
        "WITH v({columns}) AS (VALUES {}) \
         UPDATE deliveries SET {set} FROM v \
         WHERE deliveries.id = v.id AND deliveries.lease_token = v.token AND {} \
         RETURNING deliveries.id",
        rows.join(", "),
        row_status_in_sql(backend, &from),
    );
    Statement::from_sql_and_values(backend, sql, values)
}

/// Applies writes on `db` (a transaction, or the connection for one statement) and answers
/// each: intents and completions of distinct deliveries in one [`fenced_bulk`] statement per
/// kind, the rest one by one. A delivery named twice (a rescued attempt's late write beside its
/// successor's) goes alone the second time, so each id appears once in the statement.
async fn apply(
    db: &impl ConnectionTrait,
    writes: Vec<(Claim, Write)>,
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    let mut out: Vec<Option<Result<(), StoreError>>> = writes.iter().map(|_| None).collect();
    let mut seen = std::collections::HashSet::new();
    for kind in [Bulk::Start, Bulk::Complete] {
        let picked: Vec<usize> = (0..writes.len())
            .filter(|&i| Bulk::of(&writes[i].1) == Some(kind) && seen.insert(writes[i].0.delivery.id))
            .collect();
        if picked.is_empty() {
            continue;
        }
        let batch: Vec<&(Claim, Write)> = picked.iter().map(|&i| &writes[i]).collect();
        let changed = match fenced_bulk(db, kind, &batch).await {
            Err(StoreError::Database(e)) => return Err(StoreError::Database(e)),
            r => r?,
        };
        for i in picked {
            let claim = &writes[i].0;
            out[i] = Some(if changed.contains(&claim.delivery.id) {
                Ok(())
            } else {
                Err(stale(db, claim, kind.next()).await?)
            });
        }
    }
    for (i, (claim, w)) in writes.into_iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        out[i] = Some(match fenced(db, &claim, w).await {
            Err(StoreError::Database(e)) => return Err(StoreError::Database(e)),
            r => r,
        });
    }
    Ok(out.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
}

/// How an attempt that did not publish ends.
#[derive(Debug, Clone)]
pub struct AttemptFailure {
    pub kind: FailureKind,
    pub error: String,
    /// Where the delivery goes: `Retrying`, `OutcomeUnknown`, `Failed` or `Dead`.
    pub next: DeliveryStatus,
    /// When it may be claimed again (for `Retrying` and `OutcomeUnknown`).
    pub run_at: Option<DateTime<Utc>>,
    /// Whether the platform may have the post (the next attempt looks it up first).
    pub maybe_published: bool,
}

/// What the rescuer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescued {
    /// Claimed but never sent: back to `retrying`.
    pub claimed: u64,
    /// Publishing when the lease ran out: now `outcome_unknown`.
    pub publishing: u64,
}

/// How many deliveries are in one state, and how late the oldest due one is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StateCount {
    pub status: DeliveryStatus,
    pub count: u64,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    status: String,
    n: i64,
}

impl Queue<'_> {
    fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.store.db
    }

    /// Claims up to `limit` deliveries due at `at`, oldest first, under a lease of `lease`.
    pub async fn claim(
        &self,
        worker: &str,
        limit: u32,
        lease: Duration,
        at: DateTime<Utc>,
    ) -> Result<Vec<Claim>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let token = Uuid::now_v7();
        let claim = claim_statement(self.db().get_database_backend(), worker, token, limit, lease, at);
        let claimed = match self.db().get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                let txn = crate::store::begin_write(self.db()).await?;
                // Claims one after another: each sees the accounts the previous one took.
                txn.execute_unprepared("SELECT pg_advisory_xact_lock(730112)").await?;
                let claimed = claim.exec_with_returning(&txn).await?;
                txn.commit().await?;
                claimed
            }
            // One statement is atomic on its own: it takes the write lock when it starts
            // (waiting under busy_timeout, before reading anything), so it holds the lock
            // for one round trip to the database thread instead of three.
            _ => {
                let _turn = self.store.write_turn().await;
                claim.exec_with_returning(self.db()).await?
            }
        };
        // One token per claim statement: the rows of one batch share it, and each write
        // names its row too, so two attempts never share a (row, token) pair.
        Ok(claimed.into_iter().map(|delivery| Claim { delivery, token }).collect())
    }

    /// How the database means to run a claim (its `EXPLAIN`, one line per step), to check
    /// that claims walk the due index in `run_at` order and stop after the batch instead of
    /// sorting every due delivery (which makes each claim grow with the queue).
    pub async fn claim_plan(&self) -> Result<Vec<String>, StoreError> {
        let backend = self.db().get_database_backend();
        let stmt =
            claim_statement(backend, "plan", Uuid::nil(), 128, Duration::from_secs(30), Utc::now()).build(backend);
        self.plan(stmt).await
    }

    /// How the database means to record the completion of `claims` in one statement (its
    /// `EXPLAIN`), to check that each row is reached by its id, not by walking every
    /// delivery in flight.
    pub async fn completion_plan(&self, claims: &[Claim]) -> Result<Vec<String>, StoreError> {
        let writes: Vec<(Claim, Write)> = claims
            .iter()
            .map(|c| {
                let post = PublishedPost {
                    remote_id: "plan".into(),
                    remote_url: None,
                    extra_ids: vec![],
                };
                (c.clone(), Write::Complete(post))
            })
            .collect();
        let refs: Vec<&(Claim, Write)> = writes.iter().collect();
        self.plan(bulk_statement(self.db().get_database_backend(), Bulk::Complete, &refs))
            .await
    }

    async fn plan(&self, stmt: Statement) -> Result<Vec<String>, StoreError> {
        let backend = self.db().get_database_backend();
        let (explain, column) = match backend {
            sea_orm::DatabaseBackend::Postgres => ("EXPLAIN", "QUERY PLAN"),
            _ => ("EXPLAIN QUERY PLAN", "detail"),
        };
        let rows = self
            .db()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!("{explain} {}", stmt.sql),
                stmt.values.map(|v| v.0).unwrap_or_default(),
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", column).map_err(StoreError::from))
            .collect()
    }

    /// Extends the leases of the attempts a worker still holds; returns how many it holds.
    pub async fn heartbeat(&self, tokens: &[Uuid], lease: Duration) -> Result<u64, StoreError> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let res = delivery::Entity::update_many()
            .col_expr(delivery::Column::LeaseExpiresAt, Expr::value(now() + lease))
            .filter(delivery::Column::LeaseToken.is_in(tokens.iter().copied()))
            .filter(status_in(DeliveryStatus::LEASED))
            .exec(self.db())
            .await?;
        Ok(res.rows_affected)
    }

    /// Records the intent to publish: from now on a lost attempt is `outcome_unknown`.
    pub async fn start_publishing(&self, claim: &Claim) -> Result<(), StoreError> {
        self.write(claim, Write::Start).await
    }

    /// The post is on the platform (published now, or found by `find-published`).
    pub async fn complete(&self, claim: &Claim, post: PublishedPost) -> Result<(), StoreError> {
        self.write(claim, Write::Complete(post)).await
    }

    /// Ends an attempt that did not publish.
    pub async fn fail(&self, claim: &Claim, f: AttemptFailure) -> Result<(), StoreError> {
        self.write(claim, Write::Fail(f)).await
    }

    /// Gives a claimed delivery back without counting an attempt (over the account's
    /// budget, a token refresh in progress): it waits until `run_at`.
    pub async fn postpone(&self, claim: &Claim, run_at: DateTime<Utc>, reason: &str) -> Result<(), StoreError> {
        self.write(claim, Write::postpone(run_at, reason)).await
    }

    /// Whether the attempt still holds its lease, and will for at least `margin`: checked
    /// before sending when its intent was recorded a while ago (it waited for the account's
    /// turn), so an attempt that was rescued meanwhile does not publish.
    pub async fn holds(&self, claim: &Claim, margin: Duration) -> Result<(), StoreError> {
        let held = delivery::Entity::find_by_id(claim.delivery.id)
            .filter(delivery::Column::LeaseToken.eq(claim.token))
            .filter(status_in(DeliveryStatus::LEASED))
            .filter(delivery::Column::LeaseExpiresAt.gt(now() + margin))
            .one(self.db())
            .await?;
        match held {
            Some(_) => Ok(()),
            None => Err(stale(self.db(), claim, DeliveryStatus::Publishing).await?),
        }
    }

    /// Applies one attempt's write, fenced by its lease.
    pub async fn write(&self, claim: &Claim, w: Write) -> Result<(), StoreError> {
        fenced(self.db(), claim, w).await
    }

    /// Applies many attempts' writes together (group commit): each is fenced on its own and
    /// answers on its own; only a database failure fails them all. Intents and completions,
    /// what a busy queue writes, go in one statement per kind, each committing on its own
    /// (the writes of different deliveries need not commit together, and on SQLite a
    /// `BEGIN` and a `COMMIT` are two more round trips to the database thread while this
    /// process holds the write lock); with other writes beside them, everything goes in one
    /// transaction. Without a transaction, a database failure in the completions may come
    /// after the intents committed: those attempts hear of a failure and do not publish, and
    /// the rescuer turns their deliveries into `outcome_unknown`, looked up before anything is
    /// sent again, so nothing is published twice.
    pub async fn write_all(&self, writes: Vec<(Claim, Write)>) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let _turn = self.store.write_turn().await;
        if writes.iter().all(|(_, w)| Bulk::of(w).is_some()) {
            return apply(self.db(), writes).await;
        }
        let txn = crate::store::begin_write(self.db()).await?;
        let out = apply(&txn, writes).await?;
        txn.commit().await?;
        Ok(out)
    }

    /// Frees every attempt whose lease expired before `at`.
    pub async fn rescue(&self, at: DateTime<Utc>) -> Result<Rescued, StoreError> {
        let freed = |from: DeliveryStatus, to: DeliveryStatus| {
            debug_assert!(from.can_move_to(to));
            delivery::Entity::update_many()
                .col_expr(delivery::Column::Status, Expr::value(to))
                .col_expr(delivery::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
                .col_expr(
                    delivery::Column::LeaseExpiresAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(delivery::Column::RunAt, Expr::value(at))
                .col_expr(
                    delivery::Column::LastError,
                    Expr::value("the worker's lease expired (it stopped or lost the database)"),
                )
                .col_expr(delivery::Column::UpdatedAt, Expr::value(at))
                .filter(delivery::Column::Status.eq(from))
                .filter(delivery::Column::LeaseExpiresAt.lt(at))
        };
        let claimed = freed(DeliveryStatus::Claimed, DeliveryStatus::Retrying)
            .exec(self.db())
            .await?
            .rows_affected;
        let publishing = freed(DeliveryStatus::Publishing, DeliveryStatus::OutcomeUnknown)
            .col_expr(delivery::Column::LookupFirst, Expr::value(true))
            .exec(self.db())
            .await?
            .rows_affected;
        Ok(Rescued { claimed, publishing })
    }

    /// When the account's posts since `since` went out, oldest first (for the budgets).
    pub async fn published_since(&self, account: Uuid, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError> {
        Ok(delivery::Entity::find()
            .select_only()
            .column(delivery::Column::PublishedAt)
            .filter(delivery::Column::SocialAccountId.eq(account))
            .filter(delivery::Column::PublishedAt.gte(since))
            .filter(delivery::Column::Status.eq(DeliveryStatus::Published))
            .order_by_asc(delivery::Column::PublishedAt)
            .into_tuple::<Option<DateTime<Utc>>>()
            .all(self.db())
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Which worker (`claimed_by`) published each account's latest post, for the accounts of
    /// a batch: an engine's count of an account's recent posts is stale when another worker
    /// published for it since (see `crate::delivery::budget`). One index seek per account.
    pub async fn last_publishers(&self, claims: &[Claim]) -> Result<HashMap<Uuid, String>, StoreError> {
        #[derive(FromQueryResult)]
        struct Row {
            id: Uuid,
            last_by: Option<String>,
        }
        let ids: std::collections::BTreeSet<Uuid> = claims.iter().map(|c| c.delivery.social_account_id).collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.db().get_database_backend();
        let p = |i: usize| match backend {
            sea_orm::DatabaseBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        };
        let list: Vec<String> = (1..=ids.len()).map(p).collect();
        let sql = format!(
            "SELECT a.id AS id, (SELECT d.claimed_by FROM deliveries d \
               WHERE d.social_account_id = a.id AND d.published_at IS NOT NULL \
               ORDER BY d.published_at DESC LIMIT 1) AS last_by \
             FROM social_accounts a WHERE a.id IN ({})",
            list.join(", ")
        );
        let values: Vec<sea_orm::Value> = ids.into_iter().map(Into::into).collect();
        let rows = Row::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
            .all(self.db())
            .await?;
        Ok(rows.into_iter().filter_map(|r| Some((r.id, r.last_by?))).collect())
    }

    /// The accounts of a batch of claims, in one query (each attempt checks its own
    /// delivery's workspace against the row).
    pub async fn accounts_of(
        &self,
        claims: &[Claim],
    ) -> Result<std::collections::HashMap<Uuid, social_account::Model>, StoreError> {
        let ids: std::collections::BTreeSet<Uuid> = claims.iter().map(|c| c.delivery.social_account_id).collect();
        if ids.is_empty() {
            return Ok(Default::default());
        }
        Ok(social_account::Entity::find()
            .filter(social_account::Column::Id.is_in(ids))
            .all(self.db())
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect())
    }

    /// Keeps the queue's tables fit for claiming; the leader runs it every few minutes.
    ///
    /// - SQLite: refreshes the planner's statistics. Without them SQLite picks the `status`
    ///   index for a claim and sorts every due row on each claim (a claim grows with the
    ///   queue); with them it walks the due index in `run_at` order and stops after the
    ///   batch. Sampled (`analysis_limit`), so it takes milliseconds.
    /// - PostgreSQL: autovacuum normally does this. Where an operator turned it off, each
    ///   state change of a delivery leaves a dead row version behind, claims walk ever more
    ///   of them, and the queue slows down as it churns (measured: a claim/ack loop fell from
    ///   about 800 to 320 deliveries/s after 550,000 dead versions). Then the leader vacuums
    ///   the queue's tables itself and says so once. Returns whether it vacuumed.
    pub async fn maintain_tables(&self) -> Result<bool, StoreError> {
        match self.db().get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => {
                self.db()
                    .execute_unprepared("PRAGMA analysis_limit = 1000; ANALYZE deliveries; ANALYZE social_accounts;")
                    .await?;
                Ok(false)
            }
            sea_orm::DatabaseBackend::Postgres => {
                let autovacuum = self
                    .db()
                    .query_one_raw(Statement::from_string(
                        sea_orm::DatabaseBackend::Postgres,
                        "SELECT current_setting('autovacuum') = 'on' AS on",
                    ))
                    .await?
                    .map(|r| r.try_get::<bool>("", "on"))
                    .transpose()?
                    .unwrap_or(true);
                if autovacuum {
                    return Ok(false);
                }
                // VACUUM runs outside a transaction and blocks neither reads nor writes.
                self.db()
                    .execute_unprepared("VACUUM (ANALYZE) deliveries, social_accounts")
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Deliveries per state, across workspaces (for `chorus queue` and `/metrics`).
    pub async fn depth(&self) -> Result<Vec<StateCount>, StoreError> {
        let backend = self.db().get_database_backend();
        let rows = CountRow::find_by_statement(Statement::from_string(
            backend,
            "SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status",
        ))
        .all(self.db())
        .await?;
        Ok(DeliveryStatus::all()
            .map(|status| StateCount {
                status,
                count: rows
                    .iter()
                    .find(|r| r.status == status.as_str())
                    .map_or(0, |r| u64::try_from(r.n).unwrap_or(0)),
            })
            .collect())
    }

    /// Why the `pending` deliveries are not in the queue, with how many for each reason:
    /// `recurring_template` (a recurring post's template, copied for each occurrence), else
    /// the state of their post (`draft`, `in_review` when waiting for approval, `approved`
    /// when approved and not yet scheduled, ...).
    pub async fn pending_by_reason(&self) -> Result<Vec<(String, u64)>, StoreError> {
        #[derive(FromQueryResult)]
        struct Row {
            reason: String,
            n: i64,
        }
        let backend = self.db().get_database_backend();
        let rows = Row::find_by_statement(Statement::from_string(
            backend,
            "SELECT CASE WHEN d.occurrence IS NULL AND EXISTS \
               (SELECT 1 FROM recurrences r WHERE r.post_id = d.post_id) \
               THEN 'recurring_template' ELSE p.status END AS reason, COUNT(*) AS n \
             FROM deliveries d JOIN posts p ON p.id = d.post_id \
             WHERE d.status = 'pending' GROUP BY 1 ORDER BY 1",
        ))
        .all(self.db())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.reason, u64::try_from(r.n).unwrap_or(0)))
            .collect())
    }

    /// When the next claimable delivery is due (to sleep until then).
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(delivery::Entity::find()
            .select_only()
            .column(delivery::Column::RunAt)
            .filter(status_in(DeliveryStatus::CLAIMABLE))
            .filter(delivery::Column::RunAt.is_not_null())
            .order_by_asc(delivery::Column::RunAt)
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.db())
            .await?
            .flatten())
    }

    /// Scheduled deliveries held for a person (their account needs reconnecting), oldest
    /// first: they wait, they do not fail, and `chorus queue` lists them apart.
    pub async fn held(&self, limit: u64) -> Result<Vec<delivery::Model>, StoreError> {
        Ok(delivery::Entity::find()
            .filter(delivery::Column::Status.is_in([DeliveryStatus::Scheduled, DeliveryStatus::Retrying]))
            .filter(delivery::Column::LastError.starts_with(HELD))
            .order_by_asc(delivery::Column::RunAt)
            .limit(limit)
            .all(self.db())
            .await?)
    }

    /// Deliveries in `status`, oldest first (for `chorus queue`: dead ones with reasons).
    pub async fn in_state(&self, status: DeliveryStatus, limit: u64) -> Result<Vec<delivery::Model>, StoreError> {
        Ok(delivery::Entity::find()
            .filter(delivery::Column::Status.eq(status))
            .order_by_asc(delivery::Column::UpdatedAt)
            .limit(limit)
            .all(self.db())
            .await?)
    }
}
