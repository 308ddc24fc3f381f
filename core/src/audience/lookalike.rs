//! Lookalike segments: rank the contacts outside a seed segment by how much they resemble
//! its members, and take the top few percent.
//!
//! The model is a smoothed log-likelihood ratio per attribute value: a value twice as
//! common among the seed as among everyone else adds ln 2 to a contact's score.
//! The weights are computed with a handful of GROUP BY queries, then the ranking is one SQL
//! `ORDER BY score DESC, id` (ties broken by id), so the result is deterministic and the
//! weights that drove it can be shown.

use super::AudienceError;
use super::compile::{CONTACTS, Compiler, col, in_brand};
use chrono::{Months, NaiveDate};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use serde::Serialize;

/// Plain attributes the model compares (tags and age bands are added to these).
const COLUMNS: &[&str] = &[
    "relation",
    "gender",
    "income_band",
    "education",
    "family",
    "language",
    "country",
    "region",
    "city",
    "industry",
    "company_size",
    "seniority",
    "job_function",
];

/// At most this many values per attribute carry a weight (the strongest, either way).
const MAX_VALUES_PER_ATTRIBUTE: usize = 40;

/// One attribute value and how strongly it marks a seed member.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Driver {
    pub attribute: String,
    pub value: String,
    /// Share of seed members with this value.
    pub seed_share: f64,
    /// Share of everyone else with this value.
    pub pool_share: f64,
    /// ln(seed_share / pool_share), smoothed: what the value adds to a contact's score.
    pub weight: f64,
}

/// What building a lookalike learned, for display and for the snapshot's audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct Lookalike {
    pub seed: String,
    pub percent: f64,
    pub seed_size: u64,
    /// Contacts outside the seed, ranked.
    pub pool: u64,
    /// How many of the pool are taken (the top `percent`).
    pub take: u64,
    /// The values that most mark a seed member, strongest first.
    pub drivers: Vec<Driver>,
    /// Every weight used.
    pub weights: Vec<Driver>,
    #[serde(skip)]
    pub(crate) membership: Expr,
}

/// A feature the model scores: a name and the SQL expression giving a contact's value.
struct Feature {
    name: String,
    value: Expr,
}

fn features(c: &Compiler<'_>) -> Vec<Feature> {
    let mut out: Vec<Feature> = COLUMNS
        .iter()
        .map(|n| Feature {
            name: (*n).to_owned(),
            value: col(n),
        })
        .collect();
    out.push(Feature {
        name: "age".into(),
        value: age_band(c.today()),
    });
    out
}

/// Age bands as platforms report them, from `birth_date`.
fn age_band(today: NaiveDate) -> Expr {
    let born_by = |years: u32| {
        today
            .checked_sub_months(Months::new(12 * years))
            .unwrap_or(NaiveDate::MIN)
    };
    let bd = col("birth_date");
    let bands = [
        (18, "13-17"),
        (25, "18-24"),
        (35, "25-34"),
        (45, "35-44"),
        (55, "45-54"),
        (65, "55-64"),
    ];
    let mut case = Expr::case(bd.clone().is_null(), Expr::null());
    for (upper, label) in bands {
        // Younger than `upper`: born after the date `upper` years ago.
        case = case.case(bd.clone().gt(born_by(upper)), Expr::val(label));
    }
    case.finally(Expr::val("65+")).into()
}

fn count(row: &QueryResult, col: &str) -> Result<u64, AudienceError> {
    let v: Option<i64> = row.try_get("", col)?;
    Ok(v.unwrap_or(0).clamp(0, i64::MAX) as u64)
}

fn weight(s: u64, q: u64, seed: u64, pool: u64) -> f64 {
    ((s as f64 + 0.5) / (seed as f64 + 1.0)).ln() - ((q as f64 + 0.5) / (pool as f64 + 1.0)).ln()
}

/// Builds the lookalike of `seed` (whose membership is `seed_expr`) at `percent`.
pub(crate) async fn build(
    c: &Compiler<'_>,
    seed: &str,
    seed_expr: Expr,
    percent: f64,
) -> Result<Lookalike, AudienceError> {
    let flag = || -> Expr {
        Expr::case(seed_expr.clone(), Expr::cust("1"))
            .finally(Expr::cust("0"))
            .into()
    };

    let mut totals = Query::select();
    totals
        .expr_as(flag().sum(), Alias::new("s"))
        .expr_as(
            Expr::col((Alias::new(CONTACTS), Alias::new("id"))).count(),
            Alias::new("n"),
        )
        .from(Alias::new(CONTACTS))
        .and_where(in_brand(c.backend(), c.brand_id));
    let row = c.db.query_one(&totals).await?;
    let (seed_size, total) = match row {
        Some(r) => (count(&r, "s")?, count(&r, "n")?),
        None => (0, 0),
    };
    let pool = total - std::cmp::min(seed_size, total);

    let mut weights: Vec<Driver> = Vec::new();
    let mut score_parts: Vec<Expr> = Vec::new();
    if seed_size > 0 && pool > 0 {
        for f in features(c) {
            let mut q = Query::select();
            q.expr_as(f.value.clone(), Alias::new("v"))
                .expr_as(flag().sum(), Alias::new("s"))
                .expr_as(
                    Expr::col((Alias::new(CONTACTS), Alias::new("id"))).count(),
                    Alias::new("n"),
                )
                .from(Alias::new(CONTACTS))
                .and_where(in_brand(c.backend(), c.brand_id))
                .and_where(f.value.clone().is_not_null())
                .group_by_columns([Alias::new("v")]);
            let rows = c.db.query_all(&q).await?;
            let mut found = Vec::new();
            for r in rows {
                let Some(v): Option<String> = r.try_get("", "v")? else {
                    continue;
                };
                let (s, n) = (count(&r, "s")?, count(&r, "n")?);
                found.push(driver(&f.name, v, s, n - std::cmp::min(s, n), seed_size, pool));
            }
            let kept = strongest(found, seed_size);
            if !kept.is_empty() {
                let mut case = Expr::case(f.value.clone().eq(kept[0].value.clone()), kept[0].weight);
                for d in &kept[1..] {
                    case = case.case(f.value.clone().eq(d.value.clone()), d.weight);
                }
                score_parts.push(case.finally(0.0).into());
            }
            weights.extend(kept);
        }
        let tag_weights = tag_weights(c, &flag(), seed_size, pool).await?;
        for d in &tag_weights {
            let facet = d.attribute.clone();
            let mut has = Query::select();
            has.column((Alias::new("contact_tags"), Alias::new("contact_id")))
                .from(Alias::new("contact_tags"))
                .and_where(Expr::col((Alias::new("contact_tags"), Alias::new("brand_id"))).eq(c.brand_id))
                .and_where(Expr::col((Alias::new("contact_tags"), Alias::new("facet"))).eq(facet))
                .and_where(Expr::col((Alias::new("contact_tags"), Alias::new("tag"))).eq(d.value.clone()));
            score_parts.push(Expr::case(col("id").in_subquery(has), d.weight).finally(0.0).into());
        }
        weights.extend(tag_weights);
    }

    let take = ((pool as f64) * percent / 100.0).ceil() as u64;
    let membership = if take == 0 || seed_size == 0 {
        Expr::val(1).eq(0)
    } else {
        let score = score_parts
            .into_iter()
            .reduce(|a, b| a.add(b))
            .unwrap_or_else(|| Expr::val(0.0));
        let mut ranked: SelectStatement = Query::select();
        ranked
            .column((Alias::new(CONTACTS), Alias::new("id")))
            .from(Alias::new(CONTACTS))
            .and_where(in_brand(c.backend(), c.brand_id))
            .and_where(seed_expr.not())
            .order_by_expr(score, Order::Desc)
            .order_by((Alias::new(CONTACTS), Alias::new("id")), Order::Asc)
            .limit(take);
        col("id").in_subquery(ranked)
    };
    let mut drivers: Vec<Driver> = weights.iter().filter(|d| d.weight > 0.0).cloned().collect();
    drivers.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.attribute.cmp(&b.attribute))
    });
    drivers.truncate(5);
    Ok(Lookalike {
        seed: seed.to_owned(),
        percent,
        seed_size,
        pool,
        take: std::cmp::min(take, pool),
        drivers,
        weights,
        membership,
    })
}

fn driver(attribute: &str, value: String, s: u64, q: u64, seed: u64, pool: u64) -> Driver {
    Driver {
        attribute: attribute.to_owned(),
        value,
        seed_share: s as f64 / std::cmp::max(seed, 1) as f64,
        pool_share: q as f64 / std::cmp::max(pool, 1) as f64,
        weight: weight(s, q, seed, pool),
    }
}

/// Keeps the values that mark seed members (held by at least two of them, and by at least
/// 1 % of the seed), strongest first. Only positive evidence counts: a contact with an
/// unknown value is neither rewarded nor punished for it, so sparse records do not float
/// to the top.
fn strongest(mut found: Vec<Driver>, seed: u64) -> Vec<Driver> {
    let support = std::cmp::max(2, seed.div_ceil(100)) as f64 / std::cmp::max(seed, 1) as f64;
    found.retain(|d| d.weight >= 0.05 && d.seed_share >= support - f64::EPSILON);
    found.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.value.cmp(&b.value)));
    found.truncate(MAX_VALUES_PER_ATTRIBUTE);
    found
}

async fn tag_weights(c: &Compiler<'_>, flag: &Expr, seed: u64, pool: u64) -> Result<Vec<Driver>, AudienceError> {
    let t = |n: &str| Expr::col((Alias::new("contact_tags"), Alias::new(n)));
    let mut q = Query::select();
    q.expr_as(t("facet"), Alias::new("facet"))
        .expr_as(t("tag"), Alias::new("tag"))
        .expr_as(flag.clone().sum(), Alias::new("s"))
        .expr_as(t("contact_id").count(), Alias::new("n"))
        .from(Alias::new("contact_tags"))
        .inner_join(
            Alias::new(CONTACTS),
            Expr::col((Alias::new(CONTACTS), Alias::new("id")))
                .equals((Alias::new("contact_tags"), Alias::new("contact_id"))),
        )
        .and_where(t("brand_id").eq(c.brand_id))
        .group_by_columns([Alias::new("facet"), Alias::new("tag")]);
    let rows = c.db.query_all(&q).await?;
    let mut by_facet: std::collections::BTreeMap<String, Vec<Driver>> = Default::default();
    for r in rows {
        let facet: String = r.try_get("", "facet")?;
        let tag: String = r.try_get("", "tag")?;
        let (s, n) = (count(&r, "s")?, count(&r, "n")?);
        by_facet
            .entry(facet.clone())
            .or_default()
            .push(driver(&facet, tag, s, n - std::cmp::min(s, n), seed, pool));
    }
    Ok(by_facet.into_values().flat_map(|d| strongest(d, seed)).collect())
}
