//! Importing contacts and events from CSV or JSON Lines.
//!
//! One pass over the file inside one transaction: rows are mapped, validated and upserted
//! by external id in batches. A bad row is reported with its line, column and reason; by
//! default one bad row means nothing is written (the transaction is rolled back after the
//! whole file was checked, so every problem is reported at once). With `skip_invalid` the
//! good rows are written and the bad ones reported.
//!
//! Two halves run at once: [`read`] parses and validates on a blocking thread while
//! [`write`] upserts the previous batch, so a large file costs about the slower of the two
//! rather than their sum.

mod read;
mod write;

use super::AudienceError;
use crate::domain::TagFacet;
use crate::store::Tenant;
use crate::store::entity::brand;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Instant;
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

#[derive(Debug, Clone)]
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

/// Batches in flight between the reader and the writer: enough to keep the writer busy,
/// few enough to bound memory.
const BATCHES_IN_FLIGHT: usize = 4;

/// What the reader hands the writer: rows to write, and how far the file has been read.
struct Batch {
    bytes: u64,
    rows: u64,
    rows_of: Rows,
}

enum Rows {
    /// Only progress (nothing to write yet, or nothing will be written).
    None,
    /// Contacts, prepared for the writer.
    Contacts(write::ContactBatch),
    /// Events; `write` is false once a bad row dooms the import (they are still checked).
    Events { rows: Vec<EventRow>, write: bool },
}

/// Imports `input` for the brand in one transaction.
pub async fn import(
    tenant: Tenant<'_>,
    brand: &brand::Model,
    input: impl BufRead + Send + 'static,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport, AudienceError> {
    let started = Instant::now();
    let db = tenant.db();
    let before = count_contacts(db, brand.id).await?;
    let txn = crate::store::begin_write(db).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
    let reader = read::Reader::new(options.clone(), tenant.workspace_id(), brand.id, tx);
    let reading = tokio::task::spawn_blocking(move || reader.run(input));
    let mut writer = write::Writer::new(&txn, db.get_database_backend(), brand.id, options.skip_invalid);
    let written: Result<(), AudienceError> = async {
        while let Some(batch) = rx.recv().await {
            match batch.rows_of {
                Rows::None => {}
                Rows::Contacts(batch) => writer.contacts(batch).await?,
                Rows::Events { rows, write } => writer.events(rows, write).await?,
            }
            progress.advance(batch.bytes, batch.rows);
        }
        Ok(())
    }
    .await;
    // After a failed write the reader stops at its next batch.
    drop(rx);
    let read = reading
        .await
        .map_err(|e| AudienceError::invalid("file", format!("reading stopped unexpectedly: {e}")))?;
    written?;
    let read = read?;

    let mut errors = read.errors;
    errors.append(&mut writer.errors);
    errors.sort_by_key(|e| e.line);
    errors.truncate(MAX_REPORTED);
    let mut report = ImportReport {
        records: options.records,
        rows: read.rows,
        written: writer.written,
        inserted: 0,
        invalid: read.invalid + writer.invalid,
        errors,
        committed: false,
        seconds: 0.0,
    };
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
