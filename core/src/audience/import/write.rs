//! The writing half of an import: upserts the reader's batches inside the import's
//! transaction.
//!
//! A batch is one multi-row statement. Its SQL depends only on its shape (table, columns,
//! row count), so sea-query writes each shape once and later batches bind their values to
//! the same text, which also lets the driver reuse its prepared statement. Tags, three
//! small values per row and most of the rows, travel instead as one JSON parameter.

use super::{ContactRow, EventRow, MAX_REPORTED, RowError, TEXT_COLUMNS};
use crate::audience::AudienceError;
use crate::domain::{TagFacet, new_id};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, InsertStatement, OnConflict, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use uuid::Uuid;

/// Columns of `contacts` an import writes, in insert order.
fn contact_columns() -> Vec<&'static str> {
    let mut cols = vec![
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
    cols
}

const EVENT_COLUMNS: [&str; 10] = [
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
];

/// Contacts ready to upsert, prepared on the reader's thread so that the writer's thread
/// only hands statements to the database.
pub(super) struct ContactBatch {
    /// The fields the rows give: an update changes only these.
    present: Arc<[String]>,
    /// When the batch was prepared, in whole microseconds as PostgreSQL keeps them: the
    /// `created_at` of the rows it inserts, which tells them from rows that existed.
    now: DateTime<Utc>,
    /// The `contacts` values ([`contact_columns`]), row after row.
    values: Vec<Value>,
    /// Per row: external id, the id it gets if new, its tags.
    rows: Vec<(String, Uuid, Vec<(TagFacet, String)>)>,
    /// The tags as [`tags_json`] with the new ids: what is written when every row is new.
    tags: String,
}

impl ContactBatch {
    pub(super) fn prepare(
        contacts: Vec<ContactRow>,
        present: Arc<[String]>,
        workspace_id: Uuid,
        brand_id: Uuid,
    ) -> Self {
        let now = Utc::now().trunc_subsecs(6);
        let mut values = Vec::with_capacity(contacts.len() * (11 + TEXT_COLUMNS.len()));
        let mut rows = Vec::with_capacity(contacts.len());
        for c in contacts {
            let id = new_id();
            values.extend([
                Value::from(id),
                Value::from(workspace_id),
                Value::from(brand_id),
                Value::from(c.external_id.clone()),
                Value::from(c.relation.unwrap_or("prospect")),
                Value::from(c.consent.unwrap_or(false)),
                Value::ChronoDate(c.birth_date),
            ]);
            values.extend(c.texts.into_iter().map(Value::String));
            values.extend([
                Value::Json((!c.custom.is_empty()).then(|| Box::new(serde_json::Value::Object(c.custom)))),
                Value::ChronoDateTimeUtc(c.signed_up_at),
                Value::from(now),
                Value::from(now),
            ]);
            rows.push((c.external_id, id, c.tags));
        }
        let tags = tags_json(rows.iter().map(|(_, id, tags)| (*id, tags.as_slice())));
        ContactBatch {
            present,
            now,
            values,
            rows,
            tags,
        }
    }
}

/// A batch's tags as one JSON array of `[contact id (hex), facet, tag]`, which the database
/// unpacks in one statement: binding four values per tag made the driver, not the B-trees,
/// most of an import's cost.
fn tags_json<'t>(rows: impl Iterator<Item = (Uuid, &'t [(TagFacet, String)])>) -> String {
    let mut out = String::from("[");
    for (id, tags) in rows {
        for (facet, tag) in tags {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str("[\"");
            out.push_str(id.simple().encode_lower(&mut Uuid::encode_buffer()));
            out.push_str("\",\"");
            out.push_str(facet.as_str());
            out.push_str("\",");
            out.push_str(&serde_json::Value::from(tag.as_str()).to_string());
            out.push(']');
        }
    }
    out.push(']');
    out
}

pub(super) struct Writer<'a> {
    txn: &'a DatabaseTransaction,
    backend: DbBackend,
    brand_id: Uuid,
    skip_invalid: bool,
    /// Rows inserted or updated.
    pub written: u64,
    /// Rows only the database could judge (events for unknown contacts).
    pub invalid: u64,
    pub errors: Vec<RowError>,
    /// SQL text per statement shape: (statement, variant, rows).
    sql: HashMap<(&'static str, u64, usize), String>,
}

impl<'a> Writer<'a> {
    pub(super) fn new(txn: &'a DatabaseTransaction, backend: DbBackend, brand_id: Uuid, skip_invalid: bool) -> Self {
        Writer {
            txn,
            backend,
            brand_id,
            skip_invalid,
            written: 0,
            invalid: 0,
            errors: Vec::new(),
            sql: HashMap::new(),
        }
    }

    /// The statement for `values` (`width` per row): sea-query builds the SQL on the first
    /// batch of a shape; later ones reuse it with their own values.
    fn statement(
        &mut self,
        shape: (&'static str, u64),
        width: usize,
        values: Vec<Value>,
        template: impl FnOnce() -> InsertStatement,
    ) -> Statement {
        let key = (shape.0, shape.1, values.len() / width);
        if let Some(sql) = self.sql.get(&key) {
            return Statement::from_sql_and_values(self.backend, sql.clone(), values);
        }
        let mut insert = template();
        for row in values.chunks(width) {
            insert.values_panic(row.iter().cloned().map(Expr::val));
        }
        let built = self.backend.build(&insert);
        // Reused only when every value became a parameter, as the reuse assumes.
        if built.values.as_ref().map_or(0, |v| v.0.len()) == values.len() {
            self.sql.insert(key, built.sql.clone());
        }
        built
    }

    pub(super) async fn contacts(&mut self, batch: ContactBatch) -> Result<(), AudienceError> {
        let present = &batch.present;
        let has = |f: &str| present.iter().any(|p| p == f);
        // Update only what the file provides; a file without a city keeps the cities known.
        let mut updates: Vec<&str> = vec!["updated_at"];
        if has("relation") || has("customer") {
            updates.push("relation");
        }
        for f in ["consent", "birth_date", "signed_up_at"].iter().chain(TEXT_COLUMNS) {
            if has(f) {
                updates.push(f);
            }
        }
        let merge_custom = present.iter().any(|f| f.starts_with("custom."));
        let variant = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&updates, merge_custom).hash(&mut h);
            h.finish()
        };
        let backend = self.backend;
        let cols = contact_columns();
        let stmt = self.statement(("contacts", variant), cols.len(), batch.values, || {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("contacts"))
                .columns(cols.iter().map(|c| Alias::new(*c)));
            let mut on_conflict = OnConflict::columns([Alias::new("brand_id"), Alias::new("external_id")]);
            on_conflict.update_columns(updates.iter().map(|c| Alias::new(*c)));
            if merge_custom {
                // Merge custom attributes: keys from earlier imports survive.
                let merged = match backend {
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
            insert
        });
        let rows = self.txn.query_all_raw(stmt).await?;
        self.written += rows.len() as u64;
        // Rows this statement inserted carry the batch's `now`; the others existed already
        // and keep their own id.
        let mut existing: Vec<(String, Uuid)> = Vec::new();
        for r in rows {
            let created: chrono::DateTime<Utc> = r.try_get("", "created_at")?;
            if created != batch.now {
                existing.push((r.try_get("", "external_id")?, r.try_get("", "id")?));
            }
        }

        let facets: Vec<&str> = TagFacet::ALL.iter().map(|f| f.as_str()).filter(|f| has(f)).collect();
        if facets.is_empty() {
            return Ok(());
        }
        let tags = if existing.is_empty() {
            batch.tags
        } else {
            // Tags are replaced per facet the file provides (new contacts have none yet).
            let mut delete = Query::delete();
            delete
                .from_table(Alias::new("contact_tags"))
                .and_where(Expr::col(Alias::new("contact_id")).is_in(existing.iter().map(|(_, id)| *id)))
                .and_where(Expr::col(Alias::new("facet")).is_in(facets.iter().copied()));
            self.txn.execute(&delete).await?;
            let existing: HashMap<String, Uuid> = existing.into_iter().collect();
            tags_json(
                batch
                    .rows
                    .iter()
                    .map(|(external_id, new_id, tags)| (*existing.get(external_id).unwrap_or(new_id), tags.as_slice())),
            )
        };
        if tags.len() <= 2 {
            return Ok(());
        }
        // Ids are 16-byte blobs on SQLite (as sqlx writes a Uuid there), uuid on PostgreSQL.
        let sql = match self.backend {
            DbBackend::Postgres => {
                "INSERT INTO contact_tags (brand_id, contact_id, facet, tag) \
                 SELECT $1, (t->>0)::uuid, t->>1, t->>2 FROM jsonb_array_elements($2::jsonb) AS t"
            }
            _ => {
                "INSERT INTO contact_tags (brand_id, contact_id, facet, tag) \
                 SELECT ?, unhex(value->>0), value->>1, value->>2 FROM json_each(?)"
            }
        };
        let stmt = Statement::from_sql_and_values(self.backend, sql, [Value::from(self.brand_id), Value::from(tags)]);
        self.txn.execute_raw(stmt).await?;
        Ok(())
    }

    fn invalid(&mut self, e: RowError) {
        self.invalid += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(e);
        }
    }

    /// Resolves each event's contact (reporting unknown ones) and, when `write`, inserts them.
    pub(super) async fn events(&mut self, batch: Vec<EventRow>, write: bool) -> Result<(), AudienceError> {
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
        let mut values = Vec::with_capacity(batch.len() * EVENT_COLUMNS.len());
        for e in &batch {
            let Some(contact) = ids.get(&e.external_id) else {
                self.invalid(RowError {
                    line: e.line,
                    column: "external_id".into(),
                    value: e.external_id.chars().take(80).collect(),
                    reason: "no contact with this external_id in the brand; import the contacts first".into(),
                });
                continue;
            };
            values.extend([
                Value::from(new_id()),
                Value::from(self.brand_id),
                Value::from(*contact),
                Value::from(e.kind),
                Value::String(e.platform.clone()),
                Value::BigInt(e.amount_minor),
                Value::String(e.currency.clone()),
                Value::from(e.occurred_at),
                Value::String(e.event_id.clone()),
                Value::from(now),
            ]);
        }
        if values.is_empty() || !write || !(self.skip_invalid || self.invalid == 0) {
            return Ok(());
        }
        let stmt = self.statement(("contact_events", 0), EVENT_COLUMNS.len(), values, || {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("contact_events"))
                .columns(EVENT_COLUMNS.map(Alias::new));
            // Re-importing an export skips the events already imported (same event_id).
            insert.on_conflict(
                OnConflict::columns([Alias::new("brand_id"), Alias::new("external_event_id")])
                    .do_nothing()
                    .to_owned(),
            );
            insert
        });
        let done = self.txn.execute_raw(stmt).await?;
        self.written += done.rows_affected();
        Ok(())
    }
}
