//! Recurring posts become deliveries ahead of time: every occurrence in the next
//! [`AHEAD`] gets one delivery per template, so the queue (and a calendar) sees it like any
//! other. Materialising is idempotent (an occurrence's key is unique), and the [`leader`]
//! makes one node do it at a time.
//!
//! [`leader`]: super::leader

use crate::StoreError;
use crate::domain::{CronSchedule, Zone};
use crate::store::Tenant;
use crate::store::entity::recurrence;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// How far ahead occurrences are materialised.
pub const AHEAD: Duration = Duration::hours(48);
/// Most occurrences of one recurrence made in one pass (a `* * * * *` schedule is 2,880
/// in 48 hours); the next pass continues from where this one stopped.
pub const MAX_PER_PASS: usize = 500;

/// Materialises one post's recurrence up to `now + AHEAD`; returns the deliveries made.
pub async fn materialize_post(tenant: Tenant<'_>, post_id: Uuid, now: DateTime<Utc>) -> Result<u64, StoreError> {
    match tenant.recurrences().get(post_id).await? {
        Some(r) if r.enabled => materialize(tenant, &r, now).await,
        _ => Ok(0),
    }
}

/// Materialises `r`'s occurrences after its horizon and up to `now + AHEAD` (or its end).
pub async fn materialize(tenant: Tenant<'_>, r: &recurrence::Model, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let cron = CronSchedule::parse(&r.cron)?;
    let zone = Zone::parse("recurrence.timezone", &r.timezone)?;
    let mut horizon = now + AHEAD;
    if let Some(end) = r.ends_at {
        horizon = horizon.min(end);
    }
    // Occurrences already due when the horizon was behind (a node was down) still go out:
    // late, not lost.
    let instants: Vec<DateTime<Utc>> = cron
        .slots_after(zone, r.materialized_until)
        .take_while(|t| *t <= horizon)
        .take(MAX_PER_PASS)
        .collect();
    let until = if instants.len() == MAX_PER_PASS {
        *instants.last().unwrap_or(&horizon)
    } else {
        horizon
    };
    if until <= r.materialized_until {
        return Ok(0);
    }
    let templates = tenant.recurrences().templates(r.post_id).await?;
    tenant.recurrences().materialize(r, &templates, &instants, until).await
}
