//! The reading half of an import: parses the file, maps and validates each row, and hands
//! batches of good rows to the writer over a bounded channel. It runs on its own thread so
//! parsing one batch overlaps with the database writing the previous one.

use super::write::ContactBatch;
use super::{
    BATCH_ROWS, Batch, CONTACT_FIELDS, ContactRow, EVENT_FIELDS, EventRow, Format, ImportOptions, MAX_REPORTED,
    Records, RowError, Rows, TEXT_COLUMNS,
};
use crate::audience::AudienceError;
use crate::audience::attributes::check_custom_key;
use crate::domain::{
    COMPANY_SIZES, ENGAGEMENT_KINDS, EVENT_KINDS, GENDERS, JOB_FUNCTIONS, PlatformId, RELATIONS, SENIORITIES, TagFacet,
    country_code, language_code, money_minor,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;
use uuid::Uuid;

/// What the reader found, once the whole file was read.
pub(super) struct ReadOutcome {
    pub rows: u64,
    pub invalid: u64,
    pub errors: Vec<RowError>,
}

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

/// One source row: line number and (field, source column, cell). Field and column names
/// are shared by every row, so a row costs one allocation per cell, not three.
struct Row {
    line: u64,
    /// The fields it gives ([`fields_of`]): the header's in CSV, the line's own keys in JSON Lines.
    fields: u64,
    cells: Vec<(Rc<str>, Rc<str>, Cell)>,
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
fn field_for(mapping: &super::Mapping, fields: &[&str], column: &str) -> Result<Option<String>, String> {
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

/// The contact fields given, one bit per entry of [`CONTACT_FIELDS`] and the top bit for
/// any `custom.KEY` (event fields leave it 0, unused).
fn fields_of<'f>(fields: impl Iterator<Item = &'f str>) -> u64 {
    fields.fold(0, |mask, field| {
        mask | match CONTACT_FIELDS.iter().position(|f| *f == field) {
            Some(i) => 1 << i,
            None if field.starts_with("custom.") => 1 << 63,
            None => 0,
        }
    })
}

const _: () = assert!(CONTACT_FIELDS.len() < 63, "fields_of keeps one bit per field");

/// The field names of a [`fields_of`] mask (`custom.*` for custom attributes).
fn present(mask: u64) -> Arc<[String]> {
    let mut names: Vec<String> = CONTACT_FIELDS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, f)| (*f).to_owned())
        .collect();
    if mask & (1 << 63) != 0 {
        names.push("custom.*".to_owned());
    }
    names.into()
}

/// A mapping's delimiter or separator as the one byte the CSV reader takes.
fn ascii(c: char, what: &str) -> Result<u8, AudienceError> {
    u8::try_from(c)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| AudienceError::invalid(format!("mapping.{what}"), "must be one ASCII character"))
}

fn hash(s: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Parses and validates the file on a blocking thread, one batch ahead of the writer.
pub(super) struct Reader {
    options: ImportOptions,
    workspace_id: Uuid,
    brand_id: Uuid,
    fields: &'static [&'static str],
    tx: Sender<Batch>,
    rows: u64,
    invalid: u64,
    errors: Vec<RowError>,
    /// Hash of each external id (contacts) or event id seen, with its line: duplicates in
    /// one file are reported, not silently merged.
    seen: HashMap<u64, u64>,
    /// The fields the current batch's rows give ([`fields_of`]), and as names: an update
    /// changes only these.
    fields_given: u64,
    present: Arc<[String]>,
    contacts: Vec<ContactRow>,
    events: Vec<EventRow>,
    bytes: u64,
    last_tick: Instant,
    /// The writer has gone (it failed): stop reading.
    closed: bool,
}

impl Reader {
    pub(super) fn new(options: ImportOptions, workspace_id: Uuid, brand_id: Uuid, tx: Sender<Batch>) -> Self {
        let fields = match options.records {
            Records::Contacts => CONTACT_FIELDS,
            Records::Events => EVENT_FIELDS,
        };
        Reader {
            options,
            workspace_id,
            brand_id,
            fields,
            tx,
            rows: 0,
            invalid: 0,
            errors: Vec::new(),
            seen: HashMap::new(),
            fields_given: 0,
            present: Arc::from(Vec::new()),
            contacts: Vec::with_capacity(BATCH_ROWS),
            events: Vec::with_capacity(BATCH_ROWS),
            bytes: 0,
            last_tick: Instant::now(),
            closed: false,
        }
    }

    /// Reads the whole file (blocking), sending batches as they fill.
    pub(super) fn run(mut self, input: impl BufRead) -> Result<ReadOutcome, AudienceError> {
        match self.options.format {
            Format::Csv => self.csv(input)?,
            Format::Jsonl => self.jsonl(input)?,
        }
        self.flush();
        Ok(ReadOutcome {
            rows: self.rows,
            invalid: self.invalid,
            errors: self.errors,
        })
    }

    fn csv(&mut self, input: impl BufRead) -> Result<(), AudienceError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(ascii(self.options.mapping.delimiter, "delimiter")?)
            .flexible(false)
            .from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| AudienceError::invalid("file", format!("cannot read the CSV header: {e}")))?
            .clone();
        let mut columns: Vec<(Rc<str>, Option<Rc<str>>)> = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            let f = field_for(&self.options.mapping, self.fields, h.trim())
                .map_err(|m| AudienceError::invalid(format!("column {} ({h:?})", i + 1), m))?;
            columns.push((Rc::from(h.trim()), f.map(Rc::from)));
        }
        if !columns.iter().any(|(_, f)| f.as_deref() == Some("external_id")) {
            return Err(AudienceError::invalid(
                "header",
                "no column maps to external_id, the id that rows are matched by",
            ));
        }
        let fields = fields_of(columns.iter().filter_map(|(_, f)| f.as_deref()));
        let mut record = csv::StringRecord::new();
        while !self.closed {
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
                    self.bytes = reader.position().byte();
                    self.row(Row { line, fields, cells });
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    self.report(row_err(line, "", None, format!("not valid CSV: {e}")));
                    if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn jsonl(&mut self, input: impl BufRead) -> Result<(), AudienceError> {
        for (i, line) in input.lines().enumerate() {
            if self.closed {
                break;
            }
            let line_no = i as u64 + 1;
            let text =
                line.map_err(|e| AudienceError::invalid("file", format!("line {line_no}: cannot be read: {e}")))?;
            self.bytes += text.len() as u64 + 1;
            if text.trim().is_empty() {
                continue;
            }
            let obj = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => {
                    self.report(row_err(line_no, "", None, "expected one JSON object per line"));
                    continue;
                }
                Err(e) => {
                    self.report(row_err(line_no, "", None, format!("not valid JSON: {e}")));
                    continue;
                }
            };
            let mut cells = Vec::with_capacity(obj.len());
            let mut bad = None;
            for (k, v) in obj {
                match field_for(&self.options.mapping, self.fields, &k) {
                    Ok(Some(f)) => {
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
                        cells.push((Rc::from(f), Rc::from(k), cell));
                    }
                    Ok(None) => {}
                    Err(m) => {
                        bad = Some(row_err(line_no, &k, None, m));
                        break;
                    }
                }
            }
            if let Some(e) = bad {
                self.report(e);
                continue;
            }
            self.row(Row {
                line: line_no,
                fields: fields_of(cells.iter().map(|(f, _, _): &(Rc<str>, Rc<str>, Cell)| &**f)),
                cells,
            });
        }
        Ok(())
    }

    fn report(&mut self, e: RowError) {
        self.rows += 1;
        self.invalid(e);
    }

    fn invalid(&mut self, e: RowError) {
        self.invalid += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(e);
        }
    }

    /// Whether rows are still being written (not once a bad row dooms the transaction).
    fn writing(&self) -> bool {
        self.options.skip_invalid || self.invalid == 0
    }

    fn row(&mut self, row: Row) {
        self.rows += 1;
        match self.options.records {
            Records::Contacts => match (row.fields, self.contact(row)) {
                (fields, Ok(c)) if self.writing() => {
                    // A batch is one upsert that updates the same fields in every row, so
                    // a row giving other fields (JSON Lines may) starts a new batch.
                    if fields != self.fields_given {
                        self.flush();
                        self.fields_given = fields;
                        self.present = present(fields);
                    }
                    self.contacts.push(c)
                }
                (_, Ok(_)) => {}
                (_, Err(e)) => {
                    self.invalid(e);
                    if !self.writing() {
                        self.contacts.clear();
                    }
                }
            },
            // Events are resolved to contacts even when nothing will be written, so every
            // unknown contact is reported in the same run.
            Records::Events => match self.event(row) {
                Ok(e) => self.events.push(e),
                Err(e) => self.invalid(e),
            },
        }
        if self.contacts.len() >= BATCH_ROWS || self.events.len() >= BATCH_ROWS {
            self.flush();
        } else if self.last_tick.elapsed() >= Duration::from_millis(100) {
            // Progress while nothing is written (a doomed file is still read to the end).
            let _ = self.tx.try_send(Batch {
                bytes: self.bytes,
                rows: self.rows,
                rows_of: Rows::None,
            });
            self.last_tick = Instant::now();
        }
    }

    fn flush(&mut self) {
        let rows_of = if !self.contacts.is_empty() {
            Rows::Contacts(ContactBatch::prepare(
                std::mem::replace(&mut self.contacts, Vec::with_capacity(BATCH_ROWS)),
                self.present.clone(),
                self.workspace_id,
                self.brand_id,
            ))
        } else if !self.events.is_empty() {
            Rows::Events {
                rows: std::mem::replace(&mut self.events, Vec::with_capacity(BATCH_ROWS)),
                write: self.writing(),
            }
        } else {
            return;
        };
        let batch = Batch {
            bytes: self.bytes,
            rows: self.rows,
            rows_of,
        };
        self.last_tick = Instant::now();
        if self.tx.blocking_send(batch).is_err() {
            self.closed = true;
        }
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
            match &*field {
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
            match &*field {
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
}

const BOOL_HELP: &str = "expected true/false (also yes/no, 1/0)";

fn boolean(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}
