//! Bulk import of a brand's posts from CSV. Every row is checked first, the way composing
//! checks one post (accounts and segments of the brand, the time on the zone's wall clock,
//! media of the library, and each target adapted by its platform's plugin); nothing is
//! stored when a row fails, unless `partial=true` asks for the good rows anyway.
//!
//! Columns (a header row names them, in any order):
//! `text` (required), `accounts` (required: account ids or `platform:handle`, `;`-separated),
//! `segments` (segment names, `;`-separated: each account × each segment), `time` (a wall
//! time like `2027-01-04 09:00`, or RFC 3339; empty: the post stays a draft), `timezone`
//! (IANA; default the brand's), `media` (media ids, `;`-separated), `link`, `hashtags`
//! (`;`-separated).

use super::ApiState;
use super::auth::Caller;
use super::extract::{ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use chorus_core::delivery::plan::{Planner, Target, When};
use chorus_core::domain::{PostDraft, Role, Zone};
use chorus_core::store::entity::{audience_segment, social_account};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Most rows in one import.
pub const MAX_ROWS: usize = 10_000;
/// Largest CSV body.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

const COLUMNS: &[&str] = &[
    "text", "accounts", "segments", "time", "timezone", "media", "link", "hashtags",
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    /// The line of the CSV (the header is line 1).
    pub line: u64,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOut {
    /// Data rows read.
    pub rows: usize,
    /// Posts created (scheduled where the row had a time).
    pub created: usize,
    pub posts: Vec<Uuid>,
    /// Rows left out (only with `partial=true`).
    pub errors: Vec<RowError>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Create the good rows even when others fail (default: nothing unless all pass).
    pub partial: Option<bool>,
    /// Check every row and create nothing.
    pub dry_run: Option<bool>,
}

/// One row, checked: what to compose and when.
struct Checked {
    draft: PostDraft,
    targets: Vec<Target>,
    when: Option<When>,
}

/// Imports posts from a CSV body (`text/csv`; columns in the module docs and docs/api.md).
/// Every row is checked before anything is created; a row that fails is reported with its
/// line and column. Editors, admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands/{brand}/posts/import", tag = "posts",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id"), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "A header row, then one post per row"),
    responses((status = 200, body = ImportOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn import(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<ImportOut>> {
    let access = caller.access(&api, ws).await?;
    access.require_in(brand, "import posts", Role::can_compose)?;
    let tenant = access.tenant(&api.store);
    let brand_row = tenant.brands().get(brand).await?;
    let accounts = tenant.accounts().list_for_brand(brand).await?;
    let segments = tenant.segments().list_for_brand(brand).await?;
    let planner = Planner::new(tenant, &api.plugins);

    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body.as_ref());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Problem::invalid("csv", format!("line 1: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(Problem::invalid(
            "csv",
            format!("line 1: unknown column {bad:?}; the columns are {}", COLUMNS.join(", ")),
        ));
    }
    for needed in ["text", "accounts"] {
        if !header.iter().any(|h| h == needed) {
            return Err(Problem::invalid(
                "csv",
                format!("line 1: the {needed:?} column is missing"),
            ));
        }
    }

    let mut checked: Vec<Option<Checked>> = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Problem::invalid("csv", format!("line {line}: {e}"))
        })?;
        if checked.len() == MAX_ROWS {
            return Err(Problem::invalid("csv", format!("at most {MAX_ROWS} rows per import")));
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let row: Row = header
            .iter()
            .cloned()
            .zip(record.iter().map(|v| v.trim().to_owned()))
            .collect();
        let fail = |column: &str, message: String| RowError {
            line,
            column: column.to_owned(),
            message,
        };
        match check_row(&row, &brand_row.timezone, &accounts, &segments, brand, &planner).await {
            Ok(c) => checked.push(Some(c)),
            Err((column, message)) => {
                errors.push(fail(column, message));
                checked.push(None);
            }
        }
    }
    let rows = checked.len();
    if rows == 0 {
        return Err(Problem::invalid("csv", "no rows after the header"));
    }
    if !errors.is_empty() && !q.partial.unwrap_or(false) {
        return Err(Problem::invalid(
            "csv",
            format!(
                "{} of {rows} rows failed; nothing was imported (`partial=true` imports the rest)",
                errors.len()
            ),
        )
        .with_errors(serde_json::to_value(&errors).unwrap_or_default()));
    }
    let mut posts = Vec::new();
    if !q.dry_run.unwrap_or(false) {
        for c in checked.into_iter().flatten() {
            let mut planned = planner
                .compose(brand, Some(caller.user.id), c.draft, &c.targets)
                .await?;
            if let Some(w) = c.when {
                planned = planner.schedule(planned.post.id, w, Some(caller.user.id)).await?;
            }
            posts.push(planned.post.id);
        }
    }
    Ok(Json(ImportOut {
        rows,
        created: posts.len(),
        posts,
        errors,
    }))
}

fn list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// One row's cells by column name.
type Row = std::collections::HashMap<String, String>;

/// Checks one row; a failure names its column.
async fn check_row(
    row: &Row,
    brand_zone: &str,
    accounts: &[social_account::Model],
    segments: &[audience_segment::Model],
    brand: Uuid,
    planner: &Planner<'_>,
) -> Result<Checked, (&'static str, String)> {
    let cell = |name: &str| row.get(name).map(String::as_str).unwrap_or("");
    let text = cell("text");
    if text.is_empty() {
        return Err(("text", "is empty".into()));
    }
    let mut picked = Vec::new();
    for a in list(cell("accounts")) {
        let found = accounts.iter().find(|acc| {
            acc.id.to_string() == a
                || a.split_once(':').is_some_and(|(p, h)| {
                    acc.platform == p && acc.handle.trim_start_matches('@') == h.trim_start_matches('@')
                })
        });
        match found {
            Some(acc) => picked.push(acc.id),
            None => {
                return Err((
                    "accounts",
                    format!("{a:?} is not an account of this brand (use its id or platform:handle)"),
                ));
            }
        }
    }
    if picked.is_empty() {
        return Err(("accounts", "name at least one account".into()));
    }
    let mut segs = Vec::new();
    for name in list(cell("segments")) {
        match segments.iter().find(|s| s.name == name) {
            Some(s) => segs.push(Some(s.id)),
            None => return Err(("segments", format!("the brand has no segment named {name:?}"))),
        }
    }
    if segs.is_empty() {
        segs.push(None);
    }
    let targets: Vec<Target> = picked
        .iter()
        .flat_map(|a| {
            segs.iter().map(|s| Target {
                account_id: *a,
                segment_id: *s,
            })
        })
        .collect();
    let zone_name = match cell("timezone") {
        "" => brand_zone,
        z => z,
    };
    let zone = Zone::parse("timezone", zone_name).map_err(|e| ("timezone", e.message))?;
    let when = match cell("time") {
        "" => None,
        t => Some(When::At(
            zone.instant("time", t).map_err(|e| ("time", e.message))?,
            zone,
        )),
    };
    let mut media = Vec::new();
    for m in list(cell("media")) {
        media.push(
            m.parse::<Uuid>()
                .map_err(|_| ("media", format!("{m:?} is not a media id")))?,
        );
    }
    let mut draft = serde_json::json!({
        "body": text,
        "hashtags": list(cell("hashtags")).collect::<Vec<_>>(),
        "media": media,
    });
    if !cell("link").is_empty() {
        draft["link"] = cell("link").into();
    }
    let draft: PostDraft = serde_json::from_value(draft).map_err(|e| ("text", e.to_string()))?;
    // The plugins that will publish it adapt it now: what they refuse fails here.
    planner
        .preview(brand, draft.clone(), &targets)
        .await
        .map_err(|e| (column_of(&e), e.to_string()))?;
    Ok(Checked { draft, targets, when })
}

/// The CSV column a core error is about.
fn column_of(e: &chorus_core::StoreError) -> &'static str {
    match e {
        chorus_core::StoreError::Invalid(i) if i.field.starts_with("media") => "media",
        chorus_core::StoreError::Invalid(i) if i.field.starts_with("link") => "link",
        chorus_core::StoreError::Invalid(i) if i.field.starts_with("hashtags") => "hashtags",
        chorus_core::StoreError::Invalid(i) if i.field.starts_with("target") => "accounts",
        chorus_core::StoreError::NotFound { kind, .. } if kind.contains("media") => "media",
        _ => "text",
    }
}
