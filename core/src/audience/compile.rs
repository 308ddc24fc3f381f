//! Rules to SQL: every rule becomes one boolean expression over the `contacts` table, built
//! with sea-query so the same rule runs on SQLite and PostgreSQL and every user value is a
//! bound parameter, never SQL text.
//!
//! Each leaf is two-valued (true or false, never NULL), so `not` and `exclude` mean what a
//! person expects: "everyone except Swedes" includes contacts whose country is unknown.

use super::rule::{AttributeRule, Compare, EventMeasure, EventRule, Op, RfmRule, Rule, Scalar};
use super::{
    AudienceError,
    attributes::{AttrKind, Attribute},
    lookalike, rfm,
};
use crate::domain::currency_exponent;
use crate::store::entity::audience_segment;
use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use sea_orm::sea_query::extension::postgres::PgBinOper;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Query, QueryStatementBuilder, SelectStatement};
use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter};
use uuid::Uuid;

pub(crate) const CONTACTS: &str = "contacts";

/// `contacts.<name>`.
pub(crate) fn col(name: &str) -> Expr {
    Expr::col((Alias::new(CONTACTS), Alias::new(name)))
}

/// `contacts.brand_id = id`, the filter every audience query starts from. On SQLite it is
/// marked `likely` (true for almost every row): without that hint, and with no statistics
/// gathered, SQLite walks the (brand, external id) index and looks up each row, several
/// times slower than scanning the table when one brand holds most contacts. Indexes that
/// narrow the rows further (a tag, a segment's members) are still used.
pub(crate) fn in_brand(backend: DbBackend, brand_id: Uuid) -> Expr {
    let eq = col("brand_id").eq(brand_id);
    match backend {
        DbBackend::Sqlite => Func::cust(Alias::new("likely")).arg(eq).into(),
        _ => eq,
    }
}

/// A compiled rule and what compiling it learned (lookalike weights, for display and audit).
pub struct Compiled {
    pub expr: Expr,
    pub lookalikes: Vec<lookalike::Lookalike>,
}

/// Compiles rules for one brand, at one instant (so "in the last 90 days" is stable across
/// the several queries of an overlap matrix).
pub struct Compiler<'a> {
    pub(crate) db: &'a DatabaseConnection,
    pub(crate) workspace_id: Uuid,
    pub(crate) brand_id: Uuid,
    pub(crate) now: DateTime<Utc>,
    /// Segments being compiled, to report loops (A refers to B refers to A).
    stack: Vec<String>,
    lookalikes: Vec<lookalike::Lookalike>,
}

impl<'a> Compiler<'a> {
    pub fn new(db: &'a DatabaseConnection, workspace_id: Uuid, brand_id: Uuid, now: DateTime<Utc>) -> Self {
        Self {
            db,
            workspace_id,
            brand_id,
            now,
            stack: Vec::new(),
            lookalikes: Vec::new(),
        }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Compiles the rule of the segment named `name` (or `None`: everyone in the brand).
    pub async fn compile_segment(&mut self, name: &str, rule: Option<&Rule>) -> Result<Compiled, AudienceError> {
        self.stack.push(name.to_owned());
        let expr = match rule {
            Some(r) => self.compile(r, "rule").await,
            None => Ok(fold(Vec::new(), true)),
        };
        self.stack.pop();
        Ok(Compiled {
            expr: expr?,
            lookalikes: std::mem::take(&mut self.lookalikes),
        })
    }

    pub(crate) fn compile<'s>(
        &'s mut self,
        rule: &'s Rule,
        path: &'s str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Expr, AudienceError>> + Send + 's>>
    where
        'a: 's,
    {
        Box::pin(async move {
            Ok(match rule {
                Rule::All { rules, exclude } | Rule::Any { rules, exclude } => {
                    let all = matches!(rule, Rule::All { .. });
                    let key = if all { "all" } else { "any" };
                    // An event rule beside attribute rules in `all` only has to be checked
                    // for the contacts those leave (see `event`).
                    let narrowed = all && rules.iter().any(|r| matches!(r, Rule::Attribute(_)));
                    let mut parts = Vec::with_capacity(rules.len());
                    for (i, r) in rules.iter().enumerate() {
                        parts.push(match r {
                            Rule::Event(e) if narrowed => self.event(e, true),
                            r => self.compile(r, &format!("{path}.{key}[{i}]")).await?,
                        });
                    }
                    let mut expr = fold(parts, all);
                    if !exclude.is_empty() {
                        let mut ex = Vec::with_capacity(exclude.len());
                        for (i, r) in exclude.iter().enumerate() {
                            ex.push(self.compile(r, &format!("{path}.exclude[{i}]")).await?);
                        }
                        expr = expr.and(fold(ex, false).not());
                    }
                    expr
                }
                Rule::Not(r) => self.compile(r, &format!("{path}.not")).await?.not(),
                Rule::Attribute(a) => self.attribute(a),
                Rule::Event(e) => self.event(e, false),
                Rule::Rfm(r) => self.rfm(r).await?,
                Rule::Segment(name) => {
                    let seg_rule = self.referenced(name, &format!("{path}.segment")).await?;
                    self.stack.push(name.clone());
                    let expr = match &seg_rule {
                        Some(r) => self.compile(r, &format!("{path}.segment({name})")).await,
                        None => Ok(fold(Vec::new(), true)),
                    };
                    self.stack.pop();
                    expr?
                }
                Rule::Lookalike(l) => {
                    let seed_rule = self.referenced(&l.seed, &format!("{path}.lookalike.seed")).await?;
                    self.stack.push(l.seed.clone());
                    let seed = match &seed_rule {
                        Some(r) => self.compile(r, &format!("{path}.lookalike.seed({})", l.seed)).await,
                        None => Ok(fold(Vec::new(), true)),
                    };
                    self.stack.pop();
                    let found = lookalike::build(self, &l.seed, seed?, l.percent).await?;
                    let expr = found.membership.clone();
                    self.lookalikes.push(found);
                    expr
                }
            })
        })
    }

    /// Loads a segment this rule refers to, refusing loops.
    async fn referenced(&self, name: &str, path: &str) -> Result<Option<Rule>, AudienceError> {
        if let Some(pos) = self.stack.iter().position(|s| s == name) {
            let mut cycle = self.stack[pos..].to_vec();
            cycle.push(name.to_owned());
            return Err(AudienceError::invalid(
                path,
                format!("segments refer to each other in a loop: {}", cycle.join(" → ")),
            ));
        }
        let seg = audience_segment::Entity::find()
            .filter(audience_segment::Column::WorkspaceId.eq(self.workspace_id))
            .filter(audience_segment::Column::BrandId.eq(self.brand_id))
            .filter(audience_segment::Column::Name.eq(name))
            .one(self.db)
            .await?
            .ok_or_else(|| AudienceError::invalid(path, format!("this brand has no segment named {name:?}")))?;
        match seg.rule {
            None => Ok(None),
            Some(v) => Rule::parse(&v, "rule").map(Some).map_err(|e| {
                AudienceError::invalid(
                    path,
                    format!("the segment {name:?} has a rule that no longer parses: {e}"),
                )
            }),
        }
    }

    fn attribute(&self, a: &AttributeRule) -> Expr {
        match (&a.attribute, a.attribute.kind()) {
            (_, AttrKind::Tags(facet)) => tags(self.brand_id, facet.as_str(), &a.op),
            (Attribute::Builtin("customer"), _) => {
                let prospect = col("relation").eq("prospect");
                match &a.op {
                    Op::Eq(Scalar::Bool(true)) | Op::Neq(Scalar::Bool(false)) => prospect.not(),
                    _ => prospect,
                }
            }
            (Attribute::Builtin("age"), _) => self.age(&a.op),
            (Attribute::Builtin(name), AttrKind::Date) if *name == "signed_up_at" => self.instant(col(name), &a.op),
            (Attribute::Custom(key), _) => self.custom(key, &a.op),
            // Dates and flags are empty only when NULL (a date never equals '').
            (Attribute::Builtin(name), AttrKind::Date | AttrKind::Bool)
                if matches!(a.op, Op::IsEmpty | Op::IsNotEmpty) =>
            {
                if a.op == Op::IsEmpty {
                    col(name).is_null()
                } else {
                    col(name).is_not_null()
                }
            }
            (Attribute::Builtin(name), _) => compare_column(col(name), &a.op, self.today()),
        }
    }

    pub(crate) fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }

    /// Age in whole years, as bounds on `birth_date` (so an index on it could serve).
    fn age(&self, op: &Op) -> Expr {
        let today = self.today();
        // Born on or before this date: at least `n` years old today.
        let born_by = |n: f64| {
            today
                .checked_sub_months(Months::new(12 * n as u32))
                .unwrap_or(NaiveDate::MIN)
        };
        let bd = col("birth_date");
        let at_least = |n: f64| bd.clone().lte(born_by(n));
        let at_most = |n: f64| bd.clone().gt(born_by(n + 1.0));
        let known = bd.clone().is_not_null();
        let num = |s: &Scalar| if let Scalar::Number(n) = s { *n } else { 0.0 };
        match op {
            Op::Eq(v) => known.and(at_least(num(v))).and(at_most(num(v))),
            Op::Neq(v) => known.and(at_least(num(v)).and(at_most(num(v))).not()),
            Op::Gt(v) => known.and(at_least(num(v) + 1.0)),
            Op::Gte(v) => known.and(at_least(num(v))),
            Op::Lt(v) if num(v) < 1.0 => never(),
            Op::Lt(v) => known.and(at_most(num(v) - 1.0)),
            Op::Lte(v) => known.and(at_most(num(v))),
            Op::Between(a, b) => known.and(at_least(num(a))).and(at_most(num(b))),
            Op::IsEmpty => bd.is_null(),
            _ => bd.is_not_null(),
        }
    }

    /// A `timestamp with time zone` column compared by calendar days (UTC).
    fn instant(&self, c: Expr, op: &Op) -> Expr {
        let start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        let next = |d: NaiveDate| start(d.checked_add_days(Days::new(1)).unwrap_or(d));
        let known = c.clone().is_not_null();
        match op {
            Op::Before(d) => known.and(c.lt(start(*d))),
            Op::After(d) => known.and(c.gte(next(*d))),
            Op::Between(Scalar::Date(a), Scalar::Date(b)) => known.and(c.clone().gte(start(*a))).and(c.lt(next(*b))),
            Op::InLastDays(n) => known.and(c.gte(self.now - chrono::Duration::days(i64::from(*n)))),
            Op::IsEmpty => c.is_null(),
            Op::IsNotEmpty => c.is_not_null(),
            _ => never(),
        }
    }

    fn custom(&self, key: &str, op: &Op) -> Expr {
        let sqlite = self.backend() == DbBackend::Sqlite;
        // The key is checked to [a-z0-9_] at parse time, and bound as a value anyway.
        let text = || -> Expr {
            if sqlite {
                Func::cust(Alias::new("json_extract"))
                    .arg(col("custom"))
                    .arg(format!("$.{key}"))
                    .into()
            } else {
                col("custom").binary(PgBinOper::CastJsonField, Expr::val(key.to_owned()))
            }
        };
        let number = || -> Expr {
            if sqlite {
                text()
            } else {
                // Only JSON numbers are compared as numbers; text that looks like one is not.
                let typ = Func::cust(Alias::new("jsonb_typeof"))
                    .arg(col("custom").binary(PgBinOper::GetJsonField, Expr::val(key.to_owned())));
                Expr::case(Expr::expr(typ).eq("number"), text().cast_as(Alias::new("numeric")))
                    .finally(Expr::null())
                    .into()
            }
        };
        // Two-valued even when the key is missing, so `not` and `exclude` keep such contacts.
        let boolean = |b: bool| -> Expr {
            let want = if b { "true" } else { "false" };
            if sqlite {
                // json_extract returns 1/0 for JSON true/false; the type guards against the number 1.
                let typ = || {
                    Func::cust(Alias::new("json_type"))
                        .arg(col("custom"))
                        .arg(format!("$.{key}"))
                };
                Expr::expr(typ()).is_not_null().and(Expr::expr(typ()).eq(want))
            } else {
                text().is_not_null().and(text().eq(want))
            }
        };
        let is_number = |s: &Scalar| matches!(s, Scalar::Number(_));
        match op {
            Op::Eq(Scalar::Bool(b)) => boolean(*b),
            Op::Neq(Scalar::Bool(b)) => boolean(*b).not(),
            Op::Eq(v) | Op::Neq(v) | Op::Gt(v) | Op::Gte(v) | Op::Lt(v) | Op::Lte(v) if is_number(v) => {
                compare_column(number(), op, self.today())
            }
            Op::Between(a, _) if is_number(a) => compare_column(number(), op, self.today()),
            Op::In(vs) | Op::NotIn(vs) if vs.iter().all(is_number) => compare_column(number(), op, self.today()),
            _ => compare_column(text(), op, self.today()),
        }
    }

    /// An event rule. Usually a list (the contacts whose events satisfy it, grouped once
    /// from the brand's events index); with `per_contact` on SQLite, a count for each
    /// contact from the (contact, kind, time) index instead, which is cheaper when other
    /// rules in the same `all` have already left few contacts: SQLite evaluates subquery
    /// terms after the plain ones. PostgreSQL hashes the list either way.
    fn event(&self, e: &EventRule, per_contact: bool) -> Expr {
        let ev = |c: &str| Expr::col((Alias::new("contact_events"), Alias::new(c)));
        let mut q = Query::select();
        q.from(Alias::new("contact_events")).and_where(ev("kind").eq(e.kind));
        if let Some(p) = &e.platform {
            q.and_where(ev("platform").eq(p.as_str()));
        }
        if let Some(days) = e.within_days {
            q.and_where(ev("occurred_at").gte(self.now - chrono::Duration::days(i64::from(days))));
        }
        let (agg, compare): (Expr, Compare) = match &e.measure {
            EventMeasure::Count => (
                Expr::col((Alias::new("contact_events"), Alias::new("contact_id"))).count(),
                e.compare,
            ),
            EventMeasure::Total { currency } => {
                q.and_where(ev("currency").eq(currency.as_str()));
                let scale = 10f64.powi(currency_exponent(currency) as i32);
                (Expr::expr(ev("amount_minor").sum()).if_null(0), e.compare.scaled(scale))
            }
        };
        if per_contact && self.backend() == DbBackend::Sqlite {
            // Two-valued: COUNT is 0 and the SUM is coalesced to 0 for a contact with none.
            q.expr(agg)
                .and_where(ev("contact_id").equals((Alias::new(CONTACTS), Alias::new("id"))));
            return compare_expr(Expr::SubQuery(None, Box::new(q.into_sub_query_statement())), compare);
        }
        q.column((Alias::new("contact_events"), Alias::new("contact_id")))
            .and_where(ev("brand_id").eq(self.brand_id))
            .group_by_col((Alias::new("contact_events"), Alias::new("contact_id")));
        membership_by_aggregate(q, agg, compare)
    }

    /// Membership by RFM scores, read from the brand's stored scores (computed first if
    /// the events changed since, or, for a window, if the day changed).
    async fn rfm(&self, r: &RfmRule) -> Result<Expr, AudienceError> {
        let window = r.window_days.unwrap_or(0);
        rfm::ensure_scores(self.db, self.brand_id, window, self.now).await?;
        let score = |name: &str| Expr::col((Alias::new(rfm::SCORES), Alias::new(name)));
        let mut conds = Vec::new();
        for (name, c) in [("r", r.recency), ("f", r.frequency), ("m", r.monetary)] {
            if let Some(c) = c {
                conds.push(compare_expr(score(name), c));
            }
        }
        if let Some(cell) = r.cell {
            let mut cells = Vec::new();
            for rv in 1..=5u8 {
                for fv in 1..=5u8 {
                    if cell.covers(rv, fv) {
                        cells.push(score("r").eq(i32::from(rv)).and(score("f").eq(i32::from(fv))));
                    }
                }
            }
            conds.push(fold(cells, false));
        }
        let mut q = Query::select();
        q.column((Alias::new(rfm::SCORES), Alias::new("contact_id")))
            .from(Alias::new(rfm::SCORES))
            .and_where(score("brand_id").eq(self.brand_id))
            .and_where(score("window_days").eq(i64::from(window)))
            .and_where(fold(conds, true));
        Ok(col("id").in_subquery(q))
    }
}

/// `id IN (… HAVING agg ⋈ x)`, or, when zero events satisfy the comparison ("no purchase
/// in 180 days"), `id NOT IN (… HAVING NOT agg ⋈ x)` so people with no events count too.
fn membership_by_aggregate(mut q: SelectStatement, agg: Expr, compare: Compare) -> Expr {
    let cond = compare_expr(agg, compare);
    if compare.holds(0.0) {
        q.and_having(cond.not());
        col("id").not_in_subquery(q)
    } else {
        q.and_having(cond);
        col("id").in_subquery(q)
    }
}

pub(crate) fn compare_expr(e: Expr, c: Compare) -> Expr {
    match c {
        Compare::Eq(v) => e.eq(v),
        Compare::Neq(v) => e.ne(v),
        Compare::Gt(v) => e.gt(v),
        Compare::Gte(v) => e.gte(v),
        Compare::Lt(v) => e.lt(v),
        Compare::Lte(v) => e.lte(v),
        Compare::Between(a, b) => e.between(a, b),
    }
}

fn tags(brand_id: Uuid, facet: &str, op: &Op) -> Expr {
    let t = |c: &str| Expr::col((Alias::new("contact_tags"), Alias::new(c)));
    let mut q = Query::select();
    q.column((Alias::new("contact_tags"), Alias::new("contact_id")))
        .from(Alias::new("contact_tags"))
        .and_where(t("brand_id").eq(brand_id))
        .and_where(t("facet").eq(facet));
    let texts = |vs: &[Scalar]| -> Vec<String> {
        vs.iter()
            .filter_map(|v| if let Scalar::Text(s) = v { Some(s.clone()) } else { None })
            .collect()
    };
    match op {
        Op::Contains(tag) => {
            q.and_where(t("tag").eq(tag.as_str()));
            col("id").in_subquery(q)
        }
        Op::In(vs) => {
            q.and_where(t("tag").is_in(texts(vs)));
            col("id").in_subquery(q)
        }
        Op::NotIn(vs) => {
            q.and_where(t("tag").is_in(texts(vs)));
            col("id").not_in_subquery(q)
        }
        Op::IsEmpty => col("id").not_in_subquery(q),
        _ => col("id").in_subquery(q),
    }
}

fn scalar_expr(s: &Scalar) -> Expr {
    match s {
        Scalar::Text(t) => Expr::val(t.clone()),
        Scalar::Number(n) => Expr::val(*n),
        Scalar::Bool(b) => Expr::val(*b),
        Scalar::Date(d) => Expr::val(*d),
    }
}

/// Escapes `%`, `_` and the escape character itself for a LIKE pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A plain column (or expression) against an operator. `neq` and `not_in` also match
/// contacts with no value: "not Swedish" includes "country unknown".
fn compare_column(c: Expr, op: &Op, today: NaiveDate) -> Expr {
    let known = c.clone().is_not_null();
    let empty = c.clone().is_null().or(c.clone().eq(""));
    match op {
        Op::Eq(v) => known.and(c.eq(scalar_expr(v))),
        Op::Neq(v) => known.clone().and(c.eq(scalar_expr(v))).not(),
        Op::Gt(v) => known.and(c.gt(scalar_expr(v))),
        Op::Gte(v) => known.and(c.gte(scalar_expr(v))),
        Op::Lt(v) => known.and(c.lt(scalar_expr(v))),
        Op::Lte(v) => known.and(c.lte(scalar_expr(v))),
        Op::Between(a, b) => known.and(c.between(scalar_expr(a), scalar_expr(b))),
        Op::In(vs) => known.and(c.is_in(vs.iter().map(scalar_expr))),
        Op::NotIn(vs) => known.and(c.is_in(vs.iter().map(scalar_expr))).not(),
        Op::Contains(s) => {
            known.and(Expr::expr(Func::lower(c)).like(LikeExpr::new(format!("%{}%", like_escape(s))).escape('\\')))
        }
        Op::StartsWith(s) => {
            known.and(Expr::expr(Func::lower(c)).like(LikeExpr::new(format!("{}%", like_escape(s))).escape('\\')))
        }
        Op::IsEmpty => empty,
        Op::IsNotEmpty => empty.not(),
        Op::Before(d) => known.and(c.lt(*d)),
        Op::After(d) => known.and(c.gt(*d)),
        Op::InLastDays(n) => known.and(c.gte(today - chrono::Duration::days(i64::from(*n)))),
    }
}

fn never() -> Expr {
    Expr::val(1).eq(0)
}

/// AND (or OR) of the parts; an empty AND is true, an empty OR false.
pub(crate) fn fold(parts: Vec<Expr>, all: bool) -> Expr {
    let mut it = parts.into_iter();
    let Some(first) = it.next() else {
        return if all { Expr::val(1).eq(1) } else { never() };
    };
    it.fold(first, |acc, e| if all { acc.and(e) } else { acc.or(e) })
}
