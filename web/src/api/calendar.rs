//! The calendar: a brand's (or every visible brand's) deliveries in a time range, with
//! each instant also given on the wall clock of the zone the person reads in.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use chorus_core::domain::{DeliveryStatus, Zone};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Most entries one answer carries; a wider range is cut and says so.
const MAX_ENTRIES: u64 = 5000;
/// Longest range one request may ask for.
const MAX_DAYS: i64 = 62;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// Start of the range (inclusive): an instant with offset, or a wall time in `timezone`.
    pub from: String,
    /// End of the range (exclusive), at most 62 days after `from`.
    pub to: String,
    /// The zone to read times in (default UTC), e.g. `Europe/Stockholm`.
    pub timezone: Option<String>,
    /// Only this brand.
    pub brand: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEntry {
    pub delivery_id: Uuid,
    pub post_id: Uuid,
    pub brand_id: Uuid,
    pub account_id: Uuid,
    pub platform: String,
    pub handle: String,
    pub segment_id: Option<Uuid>,
    #[schema(value_type = String, example = "scheduled")]
    pub status: DeliveryStatus,
    /// The planned instant, UTC.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The same instant on the wall clock of the zone asked for, with its offset.
    pub local: String,
    /// The zone the delivery was planned in.
    pub planned_in: String,
    /// The adapted text's first 140 characters.
    pub excerpt: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Calendar {
    pub timezone: String,
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub entries: Vec<CalendarEntry>,
    /// More than 5,000 entries fell in the range: ask for a shorter one.
    pub truncated: bool,
}

/// Deliveries planned in a range, earliest first, for the brands the caller sees.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/calendar", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), CalendarQuery),
    responses((status = 200, body = Calendar), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn calendar(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath(ws): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<CalendarQuery>,
) -> ApiResult<Json<Calendar>> {
    let access = caller.access(&api, ws).await?;
    let zone =
        Zone::parse("timezone", q.timezone.as_deref().unwrap_or("UTC")).map_err(chorus_core::StoreError::from)?;
    let from = zone.instant("from", &q.from).map_err(chorus_core::StoreError::from)?;
    let to = zone.instant("to", &q.to).map_err(chorus_core::StoreError::from)?;
    if to <= from {
        return Err(Problem::invalid("to", "must be after `from`"));
    }
    if to - from > chrono::Duration::days(MAX_DAYS) {
        return Err(Problem::invalid(
            "to",
            format!("the range is at most {MAX_DAYS} days; ask month by month"),
        ));
    }
    let brands = match (q.brand, access.brand_limit()) {
        (Some(b), _) => {
            access.require_in(b, "read the calendar", |_| true)?;
            Some(vec![b])
        }
        (None, limit) => limit,
    };
    let t = access.tenant(&api.store);
    let mut rows = t
        .deliveries()
        .in_range(brands.as_deref(), from, to, MAX_ENTRIES + 1)
        .await?;
    let truncated = rows.len() as u64 > MAX_ENTRIES;
    rows.truncate(MAX_ENTRIES as usize);
    let mut accounts = HashMap::new();
    for a in t.accounts().list().await? {
        accounts.insert(a.id, a);
    }
    let entries = rows
        .into_iter()
        .filter_map(|d| {
            let at = d.scheduled_at?;
            let account = accounts.get(&d.social_account_id)?;
            Some(CalendarEntry {
                delivery_id: d.id,
                post_id: d.post_id,
                brand_id: account.brand_id,
                account_id: account.id,
                platform: account.platform.clone(),
                handle: account.handle.clone(),
                segment_id: d.segment_id,
                status: d.status,
                at,
                local: at.with_timezone(&zone.tz()).to_rfc3339(),
                planned_in: d.timezone,
                excerpt: d.adapted_text.unwrap_or_default().chars().take(140).collect(),
            })
        })
        .collect();
    Ok(Json(Calendar {
        timezone: zone.name().into(),
        from,
        to,
        entries,
        truncated,
    }))
}
