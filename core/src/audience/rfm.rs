//! RFM scores (recency, frequency, monetary; 1-5 each), stored per brand and window.
//!
//! Ranking every purchaser takes seconds on a large audience, and a segment list or an
//! overlap matrix asks for the same scores many times, so they are computed once and kept
//! in `rfm_scores`, with a row in `rfm_score_sets` saying for which audience version (and,
//! for a window, which day) they hold. Rules read the stored scores; any write to the
//! brand's contacts or events bumps the version and the next use recomputes.

use super::AudienceError;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

/// The table of stored scores: `brand_id, window_days, contact_id, r, f, m`.
pub(crate) const SCORES: &str = "rfm_scores";
const SETS: &str = "rfm_score_sets";

fn c(table: &str, name: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(name)))
}

/// Marks the brand's audience data as changed (inside the writer's transaction).
pub(crate) async fn bump_version(db: &impl ConnectionTrait, brand_id: Uuid) -> Result<(), AudienceError> {
    let mut q = Query::update();
    q.table(Alias::new("brands"))
        .value(
            Alias::new("audience_version"),
            Expr::col(Alias::new("audience_version")).add(1),
        )
        .and_where(Expr::col(Alias::new("id")).eq(brand_id));
    db.execute(&q).await?;
    Ok(())
}

/// Makes sure the stored scores for `window_days` (0: all history) are current; returns
/// how many purchasers were scored when it had to recompute.
pub(crate) async fn ensure_scores(
    db: &DatabaseConnection,
    brand_id: Uuid,
    window_days: u32,
    now: DateTime<Utc>,
) -> Result<Option<u64>, AudienceError> {
    let version = audience_version(db, brand_id).await?;
    if fresh(db, brand_id, window_days, now, version).await? {
        return Ok(None);
    }
    recompute(db, brand_id, window_days, now, version).await
}

/// Whether the stored scores were computed for this audience version (and, for a window,
/// today).
async fn fresh(
    db: &impl ConnectionTrait,
    brand_id: Uuid,
    window_days: u32,
    now: DateTime<Utc>,
    version: i64,
) -> Result<bool, AudienceError> {
    let mut q = Query::select();
    q.columns([Alias::new("audience_version"), Alias::new("as_of")])
        .from(Alias::new(SETS))
        .and_where(c(SETS, "brand_id").eq(brand_id))
        .and_where(c(SETS, "window_days").eq(i64::from(window_days)));
    Ok(match db.query_one(&q).await? {
        Some(row) => {
            let stored: i64 = row.try_get("", "audience_version")?;
            let as_of: chrono::NaiveDate = row.try_get("", "as_of")?;
            stored == version && (window_days == 0 || as_of == now.date_naive())
        }
        None => false,
    })
}

/// Recomputes and stores the scores, replacing the old ones in one transaction; `None` if
/// another process did it while this one waited.
async fn recompute(
    db: &DatabaseConnection,
    brand_id: Uuid,
    window_days: u32,
    now: DateTime<Utc>,
    version: i64,
) -> Result<Option<u64>, AudienceError> {
    let since = (window_days > 0).then(|| now - chrono::Duration::days(i64::from(window_days)));
    let txn = crate::store::begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // Two first uses at once (a segment list and an overlap, or two workers) would both
        // insert the same keys: the second waits here, then finds the scores fresh. SQLite
        // has one writer at a time already.
        let key = i64::from_be_bytes(brand_id.as_bytes()[8..].try_into().expect("8 bytes")) ^ i64::from(window_days);
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
        if fresh(&txn, brand_id, window_days, now, version).await? {
            txn.commit().await?;
            return Ok(None);
        }
    }
    for table in [SCORES, SETS] {
        let mut del = Query::delete();
        del.from_table(Alias::new(table))
            .and_where(c(table, "brand_id").eq(brand_id))
            .and_where(c(table, "window_days").eq(i64::from(window_days)));
        txn.execute(&del).await?;
    }
    let mut select = Query::select();
    select
        .expr(Expr::val(brand_id))
        .expr(Expr::val(i64::from(window_days)))
        .columns([
            Alias::new("contact_id"),
            Alias::new("r"),
            Alias::new("f"),
            Alias::new("m"),
        ])
        .from_subquery(ranked(brand_id, since), Alias::new("scored"));
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(SCORES))
        .columns(["brand_id", "window_days", "contact_id", "r", "f", "m"].map(Alias::new))
        .select_from(select)
        .map_err(|e| sea_orm::DbErr::Custom(format!("building the RFM insert: {e}")))?;
    let scored = txn.execute(&insert).await?.rows_affected();
    let mut set = Query::insert();
    set.into_table(Alias::new(SETS))
        .columns(
            [
                "brand_id",
                "window_days",
                "audience_version",
                "as_of",
                "purchasers",
                "computed_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            brand_id.into(),
            i64::from(window_days).into(),
            version.into(),
            now.date_naive().into(),
            (scored as i64).into(),
            Utc::now().into(),
        ]);
    txn.execute(&set).await?;
    txn.commit().await?;
    Ok(Some(scored))
}

async fn audience_version(db: &DatabaseConnection, brand_id: Uuid) -> Result<i64, AudienceError> {
    let mut q = Query::select();
    q.column(Alias::new("audience_version"))
        .from(Alias::new("brands"))
        .and_where(Expr::col(Alias::new("id")).eq(brand_id));
    Ok(match db.query_one(&q).await? {
        Some(row) => row.try_get("", "audience_version")?,
        None => 0,
    })
}

/// A person's RFM scores, 1-5 each, over the brand's purchasers: `contact_id, r, f, m`.
/// Scores come from percent ranks, so ties share a score (every one-time buyer gets the
/// same frequency score), and a higher score is always better (more recent, more often,
/// more money).
fn ranked(brand_id: Uuid, since: Option<DateTime<Utc>>) -> SelectStatement {
    let ev = |c: &str| Expr::col((Alias::new("contact_events"), Alias::new(c)));
    let mut per_contact = Query::select();
    per_contact
        .column((Alias::new("contact_events"), Alias::new("contact_id")))
        .expr_as(ev("occurred_at").max(), Alias::new("last_at"))
        .expr_as(Expr::col(Alias::new("contact_id")).count(), Alias::new("n"))
        .expr_as(Expr::expr(ev("amount_minor").sum()).if_null(0), Alias::new("total"))
        .from(Alias::new("contact_events"))
        .and_where(ev("brand_id").eq(brand_id))
        .and_where(ev("kind").eq("purchase"))
        .group_by_col((Alias::new("contact_events"), Alias::new("contact_id")));
    if let Some(since) = since {
        per_contact.and_where(ev("occurred_at").gte(since));
    }
    // Static SQL only: the window functions have no user input. Each rank is computed once,
    // then bucketed into 1-5 a level up.
    let mut ranked = Query::select();
    ranked
        .column((Alias::new("p"), Alias::new("contact_id")))
        .expr_as(
            Expr::cust("PERCENT_RANK() OVER (ORDER BY \"last_at\")"),
            Alias::new("pr"),
        )
        .expr_as(Expr::cust("PERCENT_RANK() OVER (ORDER BY \"n\")"), Alias::new("pf"))
        .expr_as(Expr::cust("PERCENT_RANK() OVER (ORDER BY \"total\")"), Alias::new("pm"))
        .from_subquery(per_contact, Alias::new("p"));
    let quintile = |rank: &str| {
        let pr = || Expr::col((Alias::new("q"), Alias::new(rank)));
        Expr::case(pr().lt(0.2), Expr::cust("1"))
            .case(pr().lt(0.4), Expr::cust("2"))
            .case(pr().lt(0.6), Expr::cust("3"))
            .case(pr().lt(0.8), Expr::cust("4"))
            .finally(Expr::cust("5"))
    };
    let mut scored = Query::select();
    scored
        .column((Alias::new("q"), Alias::new("contact_id")))
        .expr_as(quintile("pr"), Alias::new("r"))
        .expr_as(quintile("pf"), Alias::new("f"))
        .expr_as(quintile("pm"), Alias::new("m"))
        .from_subquery(ranked, Alias::new("q"));
    scored
}
