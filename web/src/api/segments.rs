//! A brand's audience segments: defined by rules (docs/segments.md), sized live against the
//! brand's contacts, ranked, checked for warnings, and compared by overlap. The same
//! audience service the CLI's `chorus segment` uses.

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chorus_core::audience::{Audience, AudienceError, SegmentDefinition, priority, warnings};
use chorus_core::domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

impl From<AudienceError> for Problem {
    fn from(e: AudienceError) -> Self {
        match e {
            AudienceError::Invalid(i) => Problem::invalid(i.field, i.message),
            AudienceError::Store(s) => s.into(),
        }
    }
}

/// The brand's audience, once the caller may `what` in it.
async fn audience<'a>(
    api: &'a super::Api,
    caller: &Caller,
    ws: Uuid,
    brand: Uuid,
    what: &str,
    allowed: fn(Role) -> bool,
) -> ApiResult<Audience<'a>> {
    let access = caller.access(api, ws).await?;
    access.require_in(brand, what, allowed)?;
    Ok(Audience::new(access.tenant(&api.store), brand).await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentOut {
    pub id: Uuid,
    pub name: String,
    /// `customer_group` or `target_group`.
    pub kind: String,
    /// `awareness`, `consideration`, `conversion` or `retention`.
    pub funnel_stage: String,
    pub primary: bool,
    /// Members now.
    pub size: u64,
    /// Rank, score and its parts (potential, reach, fit, competition).
    #[schema(value_type = Object)]
    pub priority: serde_json::Value,
    /// Warnings about this segment: `{code, segments, message}`.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<serde_json::Value>,
    /// The rule and the rest of its definition, as stored.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentsOut {
    /// Everyone in the brand's audience.
    pub audience: u64,
    /// Best priority first.
    pub segments: Vec<SegmentOut>,
    /// Warnings about the brand's segments as a whole (too many primaries, personas).
    #[schema(value_type = Vec<Object>)]
    pub brand_warnings: Vec<serde_json::Value>,
}

fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The brand's segments with live sizes, ranked by priority, with their warnings.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands/{brand}/segments", tag = "segments",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    responses((status = 200, body = SegmentsOut), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<SegmentsOut>> {
    let a = audience(&api, &caller, ws, brand, "read segments", Role::can_read).await?;
    let ranked = priority::rank(&a).await?;
    let segs = a.segments().await?;
    let found = warnings::check(&a, &[], chrono::Utc::now()).await?;
    let to_json = |w: &warnings::Warning| serde_json::to_value(w).unwrap_or_default();
    let segments = ranked
        .iter()
        .filter_map(|p| {
            let s = segs.iter().find(|s| s.name == p.segment)?;
            Some(SegmentOut {
                id: s.id,
                name: s.name.clone(),
                kind: enum_name(&s.kind),
                funnel_stage: enum_name(&s.funnel_stage),
                primary: s.is_primary,
                size: p.size,
                priority: serde_json::to_value(p).unwrap_or_default(),
                warnings: found
                    .iter()
                    .filter(|w| w.segments.contains(&s.name))
                    .map(to_json)
                    .collect(),
                rule: s.rule.clone().unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(SegmentsOut {
        audience: a.total().await?,
        segments,
        brand_warnings: found.iter().filter(|w| w.segments.is_empty()).map(to_json).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SizingOut {
    pub id: Uuid,
    pub name: String,
    pub size: u64,
    /// Everyone in the brand's audience.
    pub audience: u64,
}

/// Defines a segment from its definition (the JSON `chorus segment create --file` reads;
/// docs/segments.md): the rule is checked against the brand's attributes and events before
/// anything is stored. Editors, admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands/{brand}/segments", tag = "segments",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    request_body(content = Object, description = "A segment definition (docs/segments.md)"),
    responses((status = 201, body = SizingOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn create(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<SizingOut>)> {
    let a = audience(&api, &caller, ws, brand, "define segments", Role::can_compose).await?;
    let def: SegmentDefinition = serde_json::from_value(body)
        .map_err(|e| Problem::invalid("segment", format!("not a segment definition (docs/segments.md): {e}")))?;
    let seg = a.define(&def).await?;
    let s = a.size_of(&seg).await?;
    Ok((
        StatusCode::CREATED,
        Json(SizingOut {
            id: seg.id,
            name: seg.name,
            size: s.size,
            audience: s.audience,
        }),
    ))
}

/// Counts a segment's members now (the composer's targeting summary; the builder's live size).
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands/{brand}/segments/{segment}/size", tag = "segments",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id"),
           ("segment" = Uuid, Path, description = "Segment id")),
    responses((status = 200, body = SizingOut), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn size(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand, segment)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> ApiResult<Json<SizingOut>> {
    let a = audience(&api, &caller, ws, brand, "read segments", Role::can_read).await?;
    let seg = a.tenant().segments().get(segment).await?;
    if seg.brand_id != brand {
        return Err(Problem::not_found().detail("no such segment here"));
    }
    let s = a.size_of(&seg).await?;
    Ok(Json(SizingOut {
        id: seg.id,
        name: seg.name,
        size: s.size,
        audience: s.audience,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverlapQuery {
    /// Segment names, comma-separated (at most 16); all of the brand's when left out.
    pub names: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverlapOut {
    pub segments: Vec<String>,
    /// `counts[a][b]` = |A ∩ B|; the diagonal holds the sizes.
    pub counts: Vec<Vec<u64>>,
}

/// |A ∩ B| for every pair of the brand's segments: the heatmap of how much they share.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands/{brand}/segments/overlap", tag = "segments",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id"), OverlapQuery),
    responses((status = 200, body = OverlapOut), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn overlap(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(q): ApiQuery<OverlapQuery>,
) -> ApiResult<Json<OverlapOut>> {
    let a = audience(&api, &caller, ws, brand, "read segments", Role::can_read).await?;
    let names: Vec<String> = q
        .names
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let o = a.overlap(&names).await?;
    Ok(Json(OverlapOut {
        segments: o.segments,
        counts: o.counts,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaOut {
    pub id: Uuid,
    pub name: String,
    /// The segment it represents.
    pub segment_id: Option<Uuid>,
    /// Demographics, goals, pains, channels, quote… as defined (docs/segments.md).
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
}

impl From<chorus_core::store::entity::persona::Model> for PersonaOut {
    fn from(p: chorus_core::store::entity::persona::Model) -> Self {
        Self {
            id: p.id,
            name: p.name,
            segment_id: p.segment_id,
            profile: p.profile,
        }
    }
}

/// The brand's personas: named, concrete representatives of its segments.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands/{brand}/personas", tag = "segments",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    responses((status = 200, body = Vec<PersonaOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn personas(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Vec<PersonaOut>>> {
    let a = audience(&api, &caller, ws, brand, "read personas", Role::can_read).await?;
    Ok(Json(a.personas().await?.into_iter().map(Into::into).collect()))
}

/// Adds a persona for one of the brand's segments (the JSON `chorus persona create --file`
/// reads; docs/segments.md). Editors, admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands/{brand}/personas", tag = "segments",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    request_body(content = Object, description = "A persona definition (docs/segments.md)"),
    responses((status = 201, body = PersonaOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn create_persona(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<PersonaOut>)> {
    let a = audience(&api, &caller, ws, brand, "define personas", Role::can_compose).await?;
    let def = chorus_core::audience::PersonaDefinition::from_json(body)?;
    Ok((StatusCode::CREATED, Json(a.add_persona(&def).await?.into())))
}
