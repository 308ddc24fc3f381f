//! Which segment to work on first: a score from potential (size × value per member),
//! reachability (the best channel affinity), fit and competition (rated by the user).
//!
//! score = 20 × (0.35·potential + 0.25·reach + 0.25·fit + 0.15·(6 − competition)), each
//! part on a 0-5 scale, so the score runs 0-100. Potential is scaled logarithmically
//! against the brand's largest, so one huge segment does not flatten the rest.

use super::AudienceError;
use super::compile::{CONTACTS, Compiler, in_brand};
use super::segments::{Audience, canvas, parsed_rule};
use crate::domain::currency_exponent;
use chrono::{Duration, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use serde::Serialize;

/// Ratings used when the canvas gives none: the middle of the scale.
const DEFAULT_RATING: u8 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct Priority {
    pub rank: usize,
    pub segment: String,
    pub size: u64,
    /// Value of one member: measured (purchases in the last 365 days) or the canvas estimate.
    pub value_per_member: f64,
    /// `measured` (with its currency) or `estimated`, or `none` (value counted as 1).
    pub value_source: String,
    pub potential: f64,
    pub potential_score: f64,
    pub reach_score: f64,
    pub fit: u8,
    pub competition: u8,
    pub score: f64,
}

/// Ranks the brand's segments, best first.
pub async fn rank(audience: &Audience<'_>) -> Result<Vec<Priority>, AudienceError> {
    let segs = audience.segments().await?;
    let now = Utc::now();
    let tenant = audience.tenant();
    let mut rows = Vec::with_capacity(segs.len());
    for seg in &segs {
        let mut compiler = Compiler::new(tenant.db(), tenant.workspace_id(), audience.brand.id, now);
        let compiled = compiler.compile_segment(&seg.name, parsed_rule(seg)?.as_ref()).await?;
        let size = audience.count(compiled.expr.clone()).await?;
        let c = canvas(seg)?;
        let measured = if size > 0 {
            purchase_value(&compiler, compiled.expr, size).await?
        } else {
            None
        };
        let (value, source) = match (measured, c.value_per_member) {
            (Some((v, cur)), _) => (v, format!("measured ({cur}, last 365 days)")),
            (None, Some(v)) => (v, "estimated".to_owned()),
            (None, None) => (1.0, "none".to_owned()),
        };
        let reach = c.channels.values().copied().fold(0.0f64, f64::max) * 5.0;
        rows.push(Priority {
            rank: 0,
            segment: seg.name.clone(),
            size,
            value_per_member: value,
            value_source: source,
            potential: size as f64 * value,
            potential_score: 0.0,
            reach_score: reach,
            fit: c.fit.unwrap_or(DEFAULT_RATING),
            competition: c.competition.unwrap_or(DEFAULT_RATING),
            score: 0.0,
        });
    }
    let max_potential = rows.iter().map(|r| r.potential).fold(0.0f64, f64::max);
    for r in &mut rows {
        r.potential_score = if max_potential > 0.0 {
            5.0 * (1.0 + r.potential).ln() / (1.0 + max_potential).ln()
        } else {
            0.0
        };
        r.score = 20.0
            * (0.35 * r.potential_score
                + 0.25 * r.reach_score
                + 0.25 * f64::from(r.fit)
                + 0.15 * (6.0 - f64::from(r.competition)));
    }
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.segment.cmp(&b.segment)));
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(rows)
}

/// Average purchase value per member over the last 365 days, in the members' most used
/// currency (amounts in different currencies are never added together).
async fn purchase_value(c: &Compiler<'_>, members: Expr, size: u64) -> Result<Option<(f64, String)>, AudienceError> {
    let ev = |n: &str| Expr::col((Alias::new("contact_events"), Alias::new(n)));
    let mut ids = Query::select();
    ids.column((Alias::new(CONTACTS), Alias::new("id")))
        .from(Alias::new(CONTACTS))
        .and_where(in_brand(c.backend(), c.brand_id))
        .and_where(members);
    let mut q = Query::select();
    q.expr_as(ev("currency"), Alias::new("currency"))
        .expr_as(
            Expr::cust("CAST(SUM(\"contact_events\".\"amount_minor\") AS BIGINT)"),
            Alias::new("total"),
        )
        .expr_as(ev("id").count(), Alias::new("n"))
        .from(Alias::new("contact_events"))
        .and_where(ev("brand_id").eq(c.brand_id))
        .and_where(ev("kind").eq("purchase"))
        .and_where(ev("currency").is_not_null())
        .and_where(ev("occurred_at").gte(c.now - Duration::days(365)))
        .and_where(ev("contact_id").in_subquery(ids))
        .group_by_col((Alias::new("contact_events"), Alias::new("currency")))
        .order_by_expr(ev("id").count(), Order::Desc)
        .limit(1);
    let Some(row) = c.db.query_one(&q).await? else {
        return Ok(None);
    };
    let currency: String = row.try_get("", "currency")?;
    let total: i64 = row.try_get("", "total")?;
    let major = total as f64 / 10f64.powi(currency_exponent(&currency) as i32);
    Ok(Some((major / size as f64, currency)))
}
