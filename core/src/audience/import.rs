//! Importing contacts and events from CSV or JSON Lines.
//!
//! One pass over the file inside one transaction: rows are mapped, validated and upserted
//! by external id in batches. A bad row is reported with its line, column and reason; by
//! default one bad row means nothing is written (the transaction is rolled back after the
//! whole file was checked, so every problem is reported at once). With `skip_invalid` the
//! good rows are written and the bad ones reported.

use super::AudienceError;
use super::attributes::check_custom_key;
use crate::domain::{
    COMPANY_SIZES, ENGAGEMENT_KINDS, EVENT_KINDS, GENDERS, JOB_FUNCTIONS, PlatformId, RELATIONS, SENIORITIES, TagFacet,
    country_code, language_code, money_minor, new_id,
};
use crate::store::Tenant;
use crate::store::entity::brand;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SimpleExpr, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Rows per INSERT: under SQLite's 32,766 bound parameters with every contact column.
const BATCH_ROWS: usize = 1000;
/// Errors kept for the report; beyond this only the count grows.
const MAX_REPORTED: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// From the file name: `.jsonl` / `.ndjson` are JSON Lines, everything else CSV.
    pub fn guess(path: &std::path::Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson") => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Records {
    Contacts,
    Events,
}

/// How the file's columns map onto Chorus's fields (`--mapping FILE`, JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// Source column → field (or `"ignore"`). Columns already named like a field need no entry.
    pub columns: BTreeMap<String, String>,
    /// Splits list cells (values, lifestyle, interests) in CSV.
    pub list_separator: char,
    /// CSV field delimiter.
    pub delimiter: char,
    /// How dates are written (chrono format), e.g. `%d/%m/%Y`.
    pub date_format: String,
    /// Per field, source value → Chorus value, e.g. `{"gender": {"K": "female"}}`.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            columns: BTreeMap::new(),
            list_separator: ';',
            delimiter: ',',
            date_format: "%Y-%m-%d".into(),
            values: BTreeMap::new(),
        }
    }
}

pub struct ImportOptions {
    pub format: Format,
    pub records: Records,
    pub mapping: Mapping,
    pub skip_invalid: bool,
}

/// Told how far the import is: bytes of the file read, rows handled.
pub trait Progress: Send + Sync {
    fn advance(&self, bytes_read: u64, rows: u64);
}

impl Progress for () {
    fn advance(&self, _: u64, _: u64) {}
}

/// One row that could not be imported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowError {
    /// 1-based line in the file (the CSV header is line 1).
    pub line: u64,
    /// The source column (or JSON key).
    pub column: String,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub records: Records,
    pub rows: u64,
    /// Rows written (inserted or updated); 0 when nothing was committed.
    pub written: u64,
    /// New contacts (contacts imports only).
    pub inserted: u64,
    pub invalid: u64,
    /// The first invalid rows (all of them up to 100,000).
    pub errors: Vec<RowError>,
    pub committed: bool,
    pub seconds: f64,
}

const CONTACT_FIELDS: &[&str] = &[
    "external_id",
    "relation",
    "customer",
    "consent",
    "birth_date",
    "gender",
    "income_band",
    "education",
    "family",
    "country",
    "region",
    "city",
    "language",
    "industry",
    "company_size",
    "seniority",
    "job_function",
    "values",
    "lifestyle",
    "interests",
    "signed_up_at",
];

const EVENT_FIELDS: &[&str] = &[
    "external_id",
    "event",
    "occurred_at",
    "amount",
    "currency",
    "platform",
    "event_id",
];

/// The plain text columns of `contacts`, in insert order after the fixed ones.
const TEXT_COLUMNS: &[&str] = &[
    "gender",
    "income_band",
    "education",
    "family",
    "country",
    "region",
    "city",
    "language",
    "industry",
    "company_size",
    "seniority",
    "job_function",
];

/// A cell as read: CSV gives text, JSON Lines may give lists and numbers.
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    List(Vec<String>),
    Json(serde_json::Value),
}

impl Cell {
    fn shown(&self) -> String {
        let s = match self {
            Cell::Text(t) => t.clone(),
            Cell::List(l) => l.join(";"),
            Cell::Json(v) => v.to_string(),
        };
        s.chars().take(80).collect()
    }

    fn text(&self) -> Option<String> {
        match self {
            Cell::Text(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
            Cell::Json(serde_json::Value::String(s)) => Some(s.trim().to_owned()).filter(|t| !t.is_empty()),
            Cell::Json(serde_json::Value::Number(n)) => Some(n.to_string()),
            Cell::Json(serde_json::Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// One source row: line number and (field, source column, cell).
struct Row {
    line: u64,
    cells: Vec<(String, String, Cell)>,
}

type RowResult<T> = Result<T, RowError>;

fn row_err(line: u64, column: &str, cell: Option<&Cell>, reason: impl Into<String>) -> RowError {
    RowError {
        line,
        column: column.to_owned(),
        value: cell.map(Cell::shown).unwrap_or_default(),
        reason: reason.into(),
    }
}

/// Resolves a source column to a field, or says what is allowed.
fn field_for(mapping: &Mapping, fields: &[&str], column: &str) -> Result<Option<String>, String> {
    let target = mapping.columns.get(column).map(String::as_str).unwrap_or(column);
    if target == "ignore" {
        return Ok(None);
    }
    if fields.contains(&target) {
        return Ok(Some(target.to_owned()));
    }
    if fields == CONTACT_FIELDS {
        if let Some(key) = target.strip_prefix("custom.") {
            check_custom_key(key)?;
            return Ok(Some(target.to_owned()));
        }
    }
    Err(format!(
        "{target:?} is not a field; map the column in --mapping ({{\"columns\": {{{column:?}: FIELD or \"ignore\"}}}}); fields: {}{}",
        fields.join(", "),
        if fields == CONTACT_FIELDS { ", custom.KEY" } else { "" }
    ))
}

/// Imports `input` for the brand in one transaction.
pub async fn import(
    tenant: Tenant<'_>,
    brand: &brand::Model,
    input: impl BufRead + Send,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport, AudienceError> {
    let started = Instant::now();
    let fields = match options.records {
        Records::Contacts => CONTACT_FIELDS,
        Records::Events => EVENT_FIELDS,
    };
    let db = tenant.db();
    let before = count_contacts(db, brand.id).await?;
    let txn = db.begin().await?;
    let mut job = Job {
        txn: &txn,
        backend: db.get_database_backend(),
        workspace_id: tenant.workspace_id(),
        brand_id: brand.id,
        options,
        report: ImportReport {
            records: options.records,
            rows: 0,
            written: 0,
            inserted: 0,
            invalid: 0,
            errors: Vec::new(),
            committed: false,
            seconds: 0.0,
        },
        seen: HashMap::new(),
        contacts: Vec::with_capacity(BATCH_ROWS),
        events: Vec::with_capacity(BATCH_ROWS),
        present: Vec::new(),
    };
    let mut last_tick = Instant::now();
    let mut tick = |bytes: u64, rows: u64| {
        if last_tick.elapsed() >= Duration::from_millis(100) {
            progress.advance(bytes, rows);
            last_tick = Instant::now();
        }
    };
    match options.format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(ascii(options.mapping.delimiter, "delimiter")?)
                .flexible(false)
                .from_reader(input);
            let headers = reader
                .headers()
                .map_err(|e| AudienceError::invalid("file", format!("cannot read the CSV header: {e}")))?
                .clone();
            let mut columns = Vec::with_capacity(headers.len());
            for (i, h) in headers.iter().enumerate() {
                let f = field_for(&options.mapping, fields, h.trim())
                    .map_err(|m| AudienceError::invalid(format!("column {} ({h:?})", i + 1), m))?;
                columns.push((h.trim().to_owned(), f));
            }
            if !columns.iter().any(|(_, f)| f.as_deref() == Some("external_id")) {
                return Err(AudienceError::invalid(
                    "header",
                    "no column maps to external_id, the id that rows are matched by",
                ));
            }
            job.present = columns.iter().filter_map(|(_, f)| f.clone()).collect();
            let mut record = csv::StringRecord::new();
            loop {
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        let line = record.position().map(|p| p.line()).unwrap_or(0);
                        let cells = columns
                            .iter()
                            .zip(record.iter())
                            .filter_map(|((col, f), v)| {
                                f.as_ref().map(|f| (f.clone(), col.clone(), Cell::Text(v.to_owned())))
                            })
                            .collect();
                        job.row(Row { line, cells }).await?;
                        tick(reader.position().byte(), job.report.rows);
                    }
                    Err(e) => {
                        let line = e.position().map(|p| p.line()).unwrap_or(0);
                        job.invalid(row_err(line, "", None, format!("not valid CSV: {e}")));
                        if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                            break;
                        }
                    }
                }
            }
        }
        Format::Jsonl => {
            let mut bytes = 0u64;
            let mut present = std::collections::BTreeSet::new();
            for (i, line) in input.lines().enumerate() {
                let line_no = i as u64 + 1;
                let text =
                    line.map_err(|e| AudienceError::invalid("file", format!("line {line_no}: cannot be read: {e}")))?;
                bytes += text.len() as u64 + 1;
                if text.trim().is_empty() {
                    continue;
                }
                let obj = match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Object(o)) => o,
                    Ok(_) => {
                        job.invalid(row_err(line_no, "", None, "expected one JSON object per line"));
                        continue;
                    }
                    Err(e) => {
                        job.invalid(row_err(line_no, "", None, format!("not valid JSON: {e}")));
                        continue;
                    }
                };
                let mut cells = Vec::with_capacity(obj.len());
                let mut bad = None;
                for (k, v) in obj {
                    match field_for(&options.mapping, fields, &k) {
                        Ok(Some(f)) => {
                            present.insert(f.clone());
                            let cell = match v {
                                serde_json::Value::Array(items) => Cell::List(
                                    items
                                        .into_iter()
                                        .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
                                        .collect(),
                                ),
                                serde_json::Value::Null => Cell::Text(String::new()),
                                v => Cell::Json(v),
                            };
                            cells.push((f, k, cell));
                        }
                        Ok(None) => {}
                        Err(m) => {
                            bad = Some(row_err(line_no, &k, None, m));
                            break;
                        }
                    }
                }
                if let Some(e) = bad {
                    job.invalid(e);
                    continue;
                }
                job.present = present.iter().cloned().collect();
                job.row(Row { line: line_no, cells }).await?;
                tick(bytes, job.report.rows);
            }
        }
    }
    job.flush().await?;
    let mut report = job.report;
    if report.invalid > 0 && !options.skip_invalid {
        txn.rollback().await?;
        report.written = 0;
    } else {
        if report.written > 0 {
            super::rfm::bump_version(&txn, brand.id).await?;
        }
        txn.commit().await?;
        report.committed = true;
        if options.records == Records::Contacts {
            report.inserted = count_contacts(db, brand.id).await?.saturating_sub(before);
        }
        if report.written > 0 {
            refresh_statistics(db).await?;
            if options.records == Records::Events {
                // Scores are what RFM rules read; computing them now keeps the first
                // segment query after an import as fast as the rest.
                super::rfm::ensure_scores(db, brand.id, 0, chrono::Utc::now()).await?;
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    progress.advance(u64::MAX, report.rows);
    Ok(report)
}

/// Refreshes PostgreSQL's planner statistics after a bulk write, rather than waiting for
/// autovacuum. (SQLite's queries carry a hint instead: see `compile::in_brand`.)
async fn refresh_statistics(db: &sea_orm::DatabaseConnection) -> Result<(), AudienceError> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE contacts, contact_tags, contact_events")
            .await?;
    }
    Ok(())
}

fn ascii(c: char, what: &str) -> Result<u8, AudienceError> {
    u8::try_from(c)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| AudienceError::invalid(format!("mapping.{what}"), "must be one ASCII character"))
}

async fn count_contacts(db: &impl ConnectionTrait, brand_id: Uuid) -> Result<u64, AudienceError> {
    let mut q = Query::select();
    q.expr_as(Expr::col(Alias::new("id")).count(), Alias::new("n"))
        .from(Alias::new("contacts"))
        .and_where(Expr::col(Alias::new("brand_id")).eq(brand_id));
    let row = db.query_one(&q).await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0)
        .clamp(0, i64::MAX) as u64)
}

/// A validated contact, ready to upsert.
struct ContactRow {
    external_id: String,
    relation: Option<&'static str>,
    consent: Option<bool>,
    birth_date: Option<NaiveDate>,
    texts: [Option<String>; TEXT_COLUMNS.len()],
    tags: Vec<(TagFacet, String)>,
    custom: serde_json::Map<String, serde_json::Value>,
    signed_up_at: Option<DateTime<Utc>>,
}

struct EventRow {
    line: u64,
    external_id: String,
    kind: &'static str,
    occurred_at: DateTime<Utc>,
    amount_minor: Option<i64>,
    currency: Option<String>,
    platform: Option<String>,
    event_id: Option<String>,
}

struct Job<'a> {
    txn: &'a DatabaseTransaction,
    backend: DbBackend,
    workspace_id: Uuid,
    brand_id: Uuid,
    options: &'a ImportOptions,
    report: ImportReport,
    /// Hash of each external id (contacts) or event id seen, with its line: duplicates in
    /// one file are reported, not silently merged.
    seen: HashMap<u64, u64>,
    contacts: Vec<ContactRow>,
    events: Vec<EventRow>,
    /// The fields the file provides: an update changes only these.
    present: Vec<String>,
}

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl Job<'_> {
    fn invalid(&mut self, e: RowError) {
        self.report.invalid += 1;
        if self.report.errors.len() < MAX_REPORTED {
            self.report.errors.push(e);
        }
    }

    /// Whether rows are still being written (not once a bad row dooms the transaction).
    fn writing(&self) -> bool {
        self.options.skip_invalid || self.report.invalid == 0
    }

    async fn row(&mut self, row: Row) -> Result<(), AudienceError> {
        self.report.rows += 1;
        match self.options.records {
            Records::Contacts => match self.contact(row) {
                Ok(c) => {
                    if self.writing() {
                        self.contacts.push(c);
                        if self.contacts.len() >= BATCH_ROWS {
                            self.flush().await?;
                        }
                    }
                }
                Err(e) => self.invalid(e),
            },
            // Events are resolved to contacts even when nothing will be written, so every
            // unknown contact is reported in the same run.
            Records::Events => match self.event(row) {
                Ok(e) => {
                    self.events.push(e);
                    if self.events.len() >= BATCH_ROWS {
                        self.flush().await?;
                    }
                }
                Err(e) => self.invalid(e),
            },
        }
        if !self.writing() {
            self.contacts.clear();
        }
        Ok(())
    }

    fn mapped(&self, field: &str, cell: Cell) -> Cell {
        match (self.options.mapping.values.get(field), &cell) {
            (Some(map), Cell::Text(t)) | (Some(map), Cell::Json(serde_json::Value::String(t))) => {
                map.get(t.trim()).map(|v| Cell::Text(v.clone())).unwrap_or(cell)
            }
            _ => cell,
        }
    }

    fn date(&self, line: u64, col: &str, cell: &Cell) -> RowResult<Option<NaiveDate>> {
        let Some(t) = cell.text() else { return Ok(None) };
        let fmt = &self.options.mapping.date_format;
        NaiveDate::parse_from_str(&t, fmt)
            .map(Some)
            .map_err(|_| row_err(line, col, Some(cell), format!("not a date in the format {fmt}")))
    }

    fn instant(&self, line: u64, col: &str, cell: &Cell) -> RowResult<Option<DateTime<Utc>>> {
        let Some(t) = cell.text() else { return Ok(None) };
        if let Ok(dt) = DateTime::parse_from_rfc3339(&t) {
            return Ok(Some(dt.with_timezone(&Utc)));
        }
        self.date(line, col, cell)
            .map_err(|_| {
                row_err(
                    line,
                    col,
                    Some(cell),
                    format!(
                        "not a time: use RFC 3339 (2026-11-22T14:05:00Z) or a date ({})",
                        self.options.mapping.date_format
                    ),
                )
            })
            .map(|d| d.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|dt| dt.and_utc()))
    }

    fn contact(&mut self, row: Row) -> RowResult<ContactRow> {
        let line = row.line;
        let mut c = ContactRow {
            external_id: String::new(),
            relation: None,
            consent: None,
            birth_date: None,
            texts: Default::default(),
            tags: Vec::new(),
            custom: serde_json::Map::new(),
            signed_up_at: None,
        };
        let mut customer = None;
        for (field, col, cell) in row.cells {
            let cell = self.mapped(&field, cell);
            let text = cell.text();
            let bad = |reason: String| row_err(line, &col, Some(&cell), reason);
            match field.as_str() {
                "external_id" => match text {
                    Some(t) if t.chars().count() <= 200 => c.external_id = t,
                    Some(_) => return Err(bad("at most 200 characters".into())),
                    None => return Err(bad("every row needs an external_id".into())),
                },
                "relation" => {
                    if let Some(t) = text {
                        c.relation = Some(RELATIONS.check(&col, &t).map_err(|e| bad(e.message))?);
                    }
                }
                "customer" => {
                    customer = text
                        .map(|t| boolean(&t).ok_or_else(|| bad(BOOL_HELP.into())))
                        .transpose()?
                }
                "consent" => {
                    c.consent = text
                        .map(|t| boolean(&t).ok_or_else(|| bad(BOOL_HELP.into())))
                        .transpose()?
                }
                "birth_date" => {
                    c.birth_date = self.date(line, &col, &cell)?;
                    if let Some(d) = c.birth_date {
                        let today = Utc::now().date_naive();
                        if d > today || d < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
                            return Err(bad("a birth date between 1900-01-01 and today".into()));
                        }
                    }
                }
                "signed_up_at" => c.signed_up_at = self.instant(line, &col, &cell)?,
                "values" | "lifestyle" | "interests" => {
                    let facet = TagFacet::parse(&field).expect("tag field");
                    let items: Vec<String> = match &cell {
                        Cell::List(l) => l.clone(),
                        _ => text
                            .map(|t| {
                                t.split(self.options.mapping.list_separator)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default(),
                    };
                    for item in items.iter().filter(|i| !i.trim().is_empty()) {
                        let tag = crate::domain::tag(&col, item).map_err(|e| bad(e.message))?;
                        if !c.tags.iter().any(|(f, t)| *f == facet && *t == tag) {
                            c.tags.push((facet, tag));
                        }
                    }
                }
                f if f.starts_with("custom.") => {
                    let key = f["custom.".len()..].to_owned();
                    let v = match cell {
                        Cell::Json(v) => v,
                        Cell::List(l) => serde_json::json!(l),
                        Cell::Text(ref t) if t.trim().is_empty() => continue,
                        // CSV numbers stay numbers so `gt`/`lt` rules compare them as numbers.
                        Cell::Text(t) => match t.trim().parse::<f64>() {
                            Ok(n) if n.is_finite() => serde_json::json!(n),
                            _ => serde_json::Value::String(t.trim().to_owned()),
                        },
                    };
                    c.custom.insert(key, v);
                }
                f => {
                    let idx = TEXT_COLUMNS.iter().position(|x| *x == f).expect("a contact text field");
                    let Some(t) = text else { continue };
                    let value = match f {
                        "country" => country_code(&col, &t).map_err(|e| bad(e.message))?,
                        "language" => language_code(&col, &t).map_err(|e| bad(e.message))?,
                        "gender" => GENDERS.check(&col, &t).map_err(|e| bad(e.message))?.to_owned(),
                        "company_size" => COMPANY_SIZES.check(&col, &t).map_err(|e| bad(e.message))?.to_owned(),
                        "seniority" => SENIORITIES.check(&col, &t).map_err(|e| bad(e.message))?.to_owned(),
                        "job_function" => JOB_FUNCTIONS.check(&col, &t).map_err(|e| bad(e.message))?.to_owned(),
                        _ => {
                            let max = if matches!(f, "region" | "city" | "industry") {
                                100
                            } else {
                                64
                            };
                            if t.chars().count() > max {
                                return Err(bad(format!("at most {max} characters")));
                            }
                            t
                        }
                    };
                    c.texts[idx] = Some(value);
                }
            }
        }
        if c.external_id.is_empty() {
            return Err(row_err(line, "external_id", None, "every row needs an external_id"));
        }
        if c.relation.is_none() {
            c.relation = customer.map(|yes| if yes { "customer" } else { "prospect" });
        }
        if let Some(first) = self.seen.insert(hash(&c.external_id), line) {
            return Err(row_err(
                line,
                "external_id",
                Some(&Cell::Text(c.external_id.clone())),
                format!("the same external_id already appears on line {first}"),
            ));
        }
        Ok(c)
    }

    fn event(&mut self, row: Row) -> RowResult<EventRow> {
        let line = row.line;
        let (mut external_id, mut kind, mut occurred_at, mut amount, mut currency, mut platform, mut event_id) =
            (None, None, None, None, None, None, None);
        for (field, col, cell) in row.cells {
            let cell = self.mapped(&field, cell);
            let bad = |reason: String| row_err(line, &col, Some(&cell), reason);
            let text = cell.text();
            match field.as_str() {
                "external_id" => external_id = text,
                "event" => {
                    kind = text
                        .map(|t| EVENT_KINDS.check(&col, &t).map_err(|e| bad(e.message)))
                        .transpose()?
                }
                "occurred_at" => occurred_at = self.instant(line, &col, &cell)?,
                "amount" => amount = text.map(|t| (t, col.clone(), cell.clone())),
                "currency" => {
                    currency = match text {
                        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                            Some(c.to_ascii_uppercase())
                        }
                        Some(_) => return Err(bad("an ISO 4217 currency code such as SEK or EUR".into())),
                        None => None,
                    }
                }
                "platform" => {
                    platform = text
                        .map(|t| {
                            PlatformId::parse(&t.to_lowercase())
                                .map(|p| p.as_str().to_owned())
                                .map_err(|e| bad(e.message))
                        })
                        .transpose()?
                }
                _ => event_id = text,
            }
        }
        let external_id = external_id
            .ok_or_else(|| row_err(line, "external_id", None, "every event names its contact's external_id"))?;
        let kind = kind.ok_or_else(|| {
            row_err(
                line,
                "event",
                None,
                format!("missing; one of {}", EVENT_KINDS.values.join(", ")),
            )
        })?;
        let occurred_at =
            occurred_at.ok_or_else(|| row_err(line, "occurred_at", None, "every event needs the time it happened"))?;
        if occurred_at > Utc::now() + chrono::Duration::days(1) {
            return Err(row_err(line, "occurred_at", None, "is in the future"));
        }
        let amount_minor = match (kind, amount, &currency) {
            ("purchase", Some((a, col, cell)), Some(cur)) => {
                Some(money_minor(&col, &a, cur).map_err(|e| row_err(line, &col, Some(&cell), e.message))?)
            }
            ("purchase", Some((_, col, _)), None) => {
                return Err(row_err(line, &col, None, "a purchase amount needs its currency"));
            }
            ("purchase", None, _) => {
                return Err(row_err(
                    line,
                    "amount",
                    None,
                    "a purchase needs an amount and a currency",
                ));
            }
            (_, Some((_, col, cell)), _) => {
                return Err(row_err(
                    line,
                    &col,
                    Some(&cell),
                    format!("only purchases carry an amount, not {kind}"),
                ));
            }
            _ => None,
        };
        if ENGAGEMENT_KINDS.contains(&kind) && platform.is_none() {
            return Err(row_err(
                line,
                "platform",
                None,
                format!("{kind} happens on a platform: say which (e.g. instagram)"),
            ));
        }
        if let Some(id) = &event_id {
            if let Some(first) = self.seen.insert(hash(id), line) {
                return Err(row_err(
                    line,
                    "event_id",
                    None,
                    format!("the same event_id already appears on line {first}"),
                ));
            }
        }
        Ok(EventRow {
            line,
            external_id,
            kind,
            occurred_at,
            amount_minor,
            currency: if kind == "purchase" { currency } else { None },
            platform,
            event_id,
        })
    }

    async fn flush(&mut self) -> Result<(), AudienceError> {
        if !self.contacts.is_empty() {
            let batch = std::mem::take(&mut self.contacts);
            self.write_contacts(batch).await?;
        }
        if !self.events.is_empty() {
            let batch = std::mem::take(&mut self.events);
            self.write_events(batch).await?;
        }
        Ok(())
    }

    fn has(&self, field: &str) -> bool {
        self.present.iter().any(|f| f == field)
    }

    async fn write_contacts(&mut self, batch: Vec<ContactRow>) -> Result<(), AudienceError> {
        // Whole microseconds, as PostgreSQL keeps them, so `created_at == now` below tells
        // the rows this statement inserted on either database.
        let now = Utc::now().trunc_subsecs(6);
        let mut cols: Vec<&str> = vec![
            "id",
            "workspace_id",
            "brand_id",
            "external_id",
            "relation",
            "consent",
            "birth_date",
        ];
        cols.extend_from_slice(TEXT_COLUMNS);
        cols.extend_from_slice(&["custom", "signed_up_at", "created_at", "updated_at"]);
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("contacts"))
            .columns(cols.iter().map(|c| Alias::new(*c)));
        for c in &batch {
            let mut values: Vec<SimpleExpr> = vec![
                Expr::val(new_id()),
                Expr::val(self.workspace_id),
                Expr::val(self.brand_id),
                Expr::val(c.external_id.clone()),
                Expr::val(c.relation.unwrap_or("prospect")),
                Expr::val(c.consent.unwrap_or(false)),
                Expr::val(Value::ChronoDate(c.birth_date)),
            ];
            values.extend(c.texts.iter().map(|t| Expr::val(Value::String(t.clone()))));
            values.push(Expr::val(Value::Json(
                (!c.custom.is_empty()).then(|| Box::new(serde_json::Value::Object(c.custom.clone()))),
            )));
            values.push(Expr::val(Value::ChronoDateTimeUtc(c.signed_up_at)));
            values.push(Expr::val(now));
            values.push(Expr::val(now));
            insert.values_panic(values);
        }
        // Update only what the file provides; a file without a city keeps the cities known.
        let mut on_conflict = OnConflict::columns([Alias::new("brand_id"), Alias::new("external_id")]);
        let mut updates: Vec<Alias> = vec![Alias::new("updated_at")];
        if self.has("relation") || self.has("customer") {
            updates.push(Alias::new("relation"));
        }
        for f in ["consent", "birth_date", "signed_up_at"].iter().chain(TEXT_COLUMNS) {
            if self.has(f) {
                updates.push(Alias::new(*f));
            }
        }
        on_conflict.update_columns(updates);
        if self.present.iter().any(|f| f.starts_with("custom.")) {
            // Merge custom attributes: keys from earlier imports survive.
            let merged = match self.backend {
                DbBackend::Postgres => {
                    "COALESCE(\"contacts\".\"custom\", '{}'::jsonb) || COALESCE(\"excluded\".\"custom\", '{}'::jsonb)"
                }
                _ => "json_patch(COALESCE(\"contacts\".\"custom\", '{}'), COALESCE(\"excluded\".\"custom\", '{}'))",
            };
            on_conflict.value(Alias::new("custom"), Expr::cust(merged));
        }
        insert.on_conflict(on_conflict).returning(Query::returning().columns([
            Alias::new("id"),
            Alias::new("external_id"),
            Alias::new("created_at"),
        ]));
        let rows = self.txn.query_all(&insert).await?;
        self.report.written += rows.len() as u64;
        let mut ids: HashMap<String, Uuid> = HashMap::with_capacity(rows.len());
        let mut existing: Vec<Uuid> = Vec::new();
        for r in rows {
            let id: Uuid = r.try_get("", "id")?;
            let created: chrono::DateTime<Utc> = r.try_get("", "created_at")?;
            if created != now {
                existing.push(id);
            }
            ids.insert(r.try_get("", "external_id")?, id);
        }

        let facets: Vec<&str> = TagFacet::ALL
            .iter()
            .map(|f| f.as_str())
            .filter(|f| self.has(f))
            .collect();
        if facets.is_empty() {
            return Ok(());
        }
        // Tags are replaced per facet the file provides (new contacts have none yet).
        if !existing.is_empty() {
            let mut delete = Query::delete();
            delete
                .from_table(Alias::new("contact_tags"))
                .and_where(Expr::col(Alias::new("contact_id")).is_in(existing))
                .and_where(Expr::col(Alias::new("facet")).is_in(facets.iter().copied()));
            self.txn.execute(&delete).await?;
        }
        let tags: Vec<(Uuid, &'static str, &str)> = batch
            .iter()
            .filter_map(|c| ids.get(&c.external_id).map(|id| (id, c)))
            .flat_map(|(id, c)| c.tags.iter().map(move |(f, t)| (*id, f.as_str(), t.as_str())))
            .collect();
        for chunk in tags.chunks(BATCH_ROWS * 4) {
            let mut ins = Query::insert();
            ins.into_table(Alias::new("contact_tags")).columns([
                Alias::new("brand_id"),
                Alias::new("contact_id"),
                Alias::new("facet"),
                Alias::new("tag"),
            ]);
            for (id, facet, tag) in chunk {
                ins.values_panic([
                    Expr::val(self.brand_id),
                    Expr::val(*id),
                    Expr::val(*facet),
                    Expr::val((*tag).to_owned()),
                ]);
            }
            self.txn.execute(&ins).await?;
        }
        Ok(())
    }

    async fn write_events(&mut self, batch: Vec<EventRow>) -> Result<(), AudienceError> {
        let mut wanted: Vec<&str> = batch.iter().map(|e| e.external_id.as_str()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut q = Query::select();
        q.columns([Alias::new("id"), Alias::new("external_id")])
            .from(Alias::new("contacts"))
            .and_where(Expr::col(Alias::new("brand_id")).eq(self.brand_id))
            .and_where(Expr::col(Alias::new("external_id")).is_in(wanted.iter().map(|s| (*s).to_owned())));
        let mut ids: HashMap<String, Uuid> = HashMap::new();
        for r in self.txn.query_all(&q).await? {
            ids.insert(r.try_get("", "external_id")?, r.try_get("", "id")?);
        }
        let now = Utc::now();
        let mut insert = Query::insert();
        insert.into_table(Alias::new("contact_events")).columns(
            [
                "id",
                "brand_id",
                "contact_id",
                "kind",
                "platform",
                "amount_minor",
                "currency",
                "occurred_at",
                "external_event_id",
                "created_at",
            ]
            .map(Alias::new),
        );
        let mut any = 0u64;
        for e in &batch {
            let Some(contact) = ids.get(&e.external_id) else {
                self.invalid(row_err(
                    e.line,
                    "external_id",
                    Some(&Cell::Text(e.external_id.clone())),
                    "no contact with this external_id in the brand; import the contacts first",
                ));
                continue;
            };
            insert.values_panic([
                Expr::val(new_id()),
                Expr::val(self.brand_id),
                Expr::val(*contact),
                Expr::val(e.kind),
                Expr::val(Value::String(e.platform.clone())),
                Expr::val(Value::BigInt(e.amount_minor)),
                Expr::val(Value::String(e.currency.clone())),
                Expr::val(e.occurred_at),
                Expr::val(Value::String(e.event_id.clone())),
                Expr::val(now),
            ]);
            any += 1;
        }
        if any == 0 || !self.writing() {
            return Ok(());
        }
        // Re-importing an export skips the events already imported (same event_id).
        insert.on_conflict(
            OnConflict::columns([Alias::new("brand_id"), Alias::new("external_event_id")])
                .do_nothing()
                .to_owned(),
        );
        let done = self.txn.execute(&insert).await?;
        self.report.written += done.rows_affected();
        Ok(())
    }
}

const BOOL_HELP: &str = "expected true/false (also yes/no, 1/0)";

fn boolean(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}
