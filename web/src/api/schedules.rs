//! Posting slots: recurring times on a zone's wall clock ("weekdays at 9:00 and 17:30")
//! that "add to queue" fills, for a brand or one of its accounts. Cron lines are the usual
//! five POSIX fields (0 and 7 are Sunday); DST gaps and folds are handled by the core.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiJson, ApiPath};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chorus_core::domain::{Role, Zone};
use chorus_core::store::entity::posting_schedule;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How many upcoming slots a schedule shows.
const UPCOMING: usize = 5;

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOut {
    pub at: chrono::DateTime<chrono::Utc>,
    /// The same instant on the schedule's wall clock, with its offset.
    pub local: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: Uuid,
    pub brand_id: Uuid,
    /// Only this account's slots; none: shared by the brand's accounts without their own.
    pub account_id: Option<Uuid>,
    pub name: String,
    /// Five POSIX cron fields, e.g. `0 9 * * 1-5`.
    pub cron: String,
    pub timezone: String,
    /// Disabled schedules are skipped by "add to queue".
    pub enabled: bool,
    /// The next slots.
    pub upcoming: Vec<SlotOut>,
}

fn out(s: posting_schedule::Model) -> ApiResult<ScheduleOut> {
    let cron = chorus_core::domain::CronSchedule::parse(&s.cron)?;
    let zone = Zone::parse("schedule.timezone", &s.timezone)?;
    let tz = zone.tz();
    let upcoming = cron
        .next_slots(zone, chrono::Utc::now(), UPCOMING)
        .into_iter()
        .map(|at| SlotOut {
            at,
            local: at.with_timezone(&tz).to_rfc3339(),
        })
        .collect();
    Ok(ScheduleOut {
        id: s.id,
        brand_id: s.brand_id,
        account_id: s.social_account_id,
        name: s.name,
        cron: s.cron,
        timezone: s.timezone,
        enabled: s.enabled,
        upcoming,
    })
}

/// The brand's posting slots with their next times.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands/{brand}/schedules", tag = "schedules",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    responses((status = 200, body = Vec<ScheduleOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Vec<ScheduleOut>>> {
    let access = caller.access(&api, ws).await?;
    access.require_in(brand, "read schedules", Role::can_read)?;
    let rows = access.tenant(&api.store).schedules().list_for_brand(brand).await?;
    Ok(Json(rows.into_iter().map(out).collect::<ApiResult<_>>()?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScheduleIn {
    pub name: String,
    /// Five POSIX cron fields (minute hour day-of-month month day-of-week), e.g. `30 17 * * 1-5`.
    pub cron: String,
    /// IANA zone (default: the account's, else the brand's).
    pub timezone: Option<String>,
    /// Slots for one account of the brand only.
    pub account_id: Option<Uuid>,
}

/// Adds posting slots to the brand (or one of its accounts). Editors, admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands/{brand}/schedules", tag = "schedules",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    request_body = NewScheduleIn,
    responses((status = 201, body = ScheduleOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn create(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<NewScheduleIn>,
) -> ApiResult<(StatusCode, Json<ScheduleOut>)> {
    let access = caller.access(&api, ws).await?;
    access.require_in(brand, "change schedules", Role::can_compose)?;
    let t = access.tenant(&api.store);
    let zone = match (body.timezone, body.account_id) {
        (Some(z), _) => z,
        (None, Some(a)) => t.accounts().get(a).await?.timezone,
        (None, None) => t.brands().get(brand).await?.timezone,
    };
    let s = t
        .schedules()
        .create(brand, body.account_id, &body.name, &body.cron, &zone)
        .await?;
    Ok((StatusCode::CREATED, Json(out(s)?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleChangeIn {
    /// Off: "add to queue" skips it; what is already planned keeps its time.
    pub enabled: bool,
}

/// The brand's schedule, once the caller may `what` in its brand.
async fn schedule_in(
    api: &super::Api,
    access: &super::auth::Access,
    brand: Uuid,
    id: Uuid,
    what: &str,
) -> ApiResult<posting_schedule::Model> {
    access.require_in(brand, what, Role::can_compose)?;
    let s = access.tenant(&api.store).schedules().get(id).await?;
    if s.brand_id != brand {
        return Err(Problem::not_found().detail("no such posting schedule here"));
    }
    Ok(s)
}

/// Turns a schedule on or off.
#[utoipa::path(patch, path = "/api/v1/workspaces/{workspace}/brands/{brand}/schedules/{schedule}", tag = "schedules",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id"),
           ("schedule" = Uuid, Path, description = "Schedule id")),
    request_body = ScheduleChangeIn,
    responses((status = 200, body = ScheduleOut), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn change(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand, id)): ApiPath<(Uuid, Uuid, Uuid)>,
    ApiJson(body): ApiJson<ScheduleChangeIn>,
) -> ApiResult<Json<ScheduleOut>> {
    let access = caller.access(&api, ws).await?;
    let s = schedule_in(&api, &access, brand, id, "change schedules").await?;
    let s = access
        .tenant(&api.store)
        .schedules()
        .set_enabled_id(s.id, body.enabled)
        .await?;
    Ok(Json(out(s)?))
}

/// Removes a schedule; deliveries already planned on its slots keep their times.
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}/brands/{brand}/schedules/{schedule}", tag = "schedules",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id"),
           ("schedule" = Uuid, Path, description = "Schedule id")),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn remove(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand, id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let access = caller.access(&api, ws).await?;
    let s = schedule_in(&api, &access, brand, id, "change schedules").await?;
    access.tenant(&api.store).schedules().remove_id(s.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
