//! The audience service for one brand: define segments, size them, snapshot their
//! membership, compare them. The CLI and (later) the API call this; it owns no HTTP.

use super::AudienceError;
use super::compile::{CONTACTS, Compiled, Compiler, in_brand};
use super::definition::{Checked, PersonaDefinition, SegmentDefinition};
use super::lookalike::Lookalike;
use super::rule::Rule;
use crate::domain::{PortableAudience, new_id};
use crate::store::entity::{audience_segment, brand, persona, segment_snapshot};
use crate::store::{NewPersona, NewSegment, Tenant};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, CommonTableExpression, Expr, ExprTrait, Query, WithClause};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use uuid::Uuid;

/// At most this many segments in one overlap matrix (2^n membership combinations).
pub const MAX_OVERLAP_SEGMENTS: usize = 16;

/// One brand's audience.
pub struct Audience<'a> {
    t: Tenant<'a>,
    pub brand: brand::Model,
}

/// How many people a segment holds right now.
#[derive(Debug, Clone, Serialize)]
pub struct Sizing {
    pub segment: String,
    pub size: u64,
    /// Everyone in the brand's audience.
    pub audience: u64,
    pub lookalikes: Vec<Lookalike>,
}

/// A stored, versioned membership.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub id: Uuid,
    pub segment: String,
    pub version: i32,
    pub size: u64,
    pub created_at: DateTime<Utc>,
}

/// |A ∩ B| for every pair of segments (the diagonal holds the sizes).
#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    pub segments: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

impl Overlap {
    pub fn size(&self, i: usize) -> u64 {
        self.counts[i][i]
    }

    /// |A ∩ B| as a share of A (0.0 when A is empty).
    pub fn share_of(&self, a: usize, b: usize) -> f64 {
        let size = self.size(a);
        if size == 0 {
            0.0
        } else {
            self.counts[a][b] as f64 / size as f64
        }
    }
}

impl<'a> Audience<'a> {
    pub async fn new(t: Tenant<'a>, brand_id: Uuid) -> Result<Self, AudienceError> {
        let brand = t.brands().get(brand_id).await?;
        Ok(Self { t, brand })
    }

    pub async fn by_slug(t: Tenant<'a>, slug: &str) -> Result<Self, AudienceError> {
        let brand = t.brands().by_slug(slug).await?;
        Ok(Self { t, brand })
    }

    pub fn tenant(&self) -> Tenant<'a> {
        self.t
    }

    fn compiler(&self, now: DateTime<Utc>) -> Compiler<'a> {
        Compiler::new(self.t.db(), self.t.workspace_id(), self.brand.id, now)
    }

    /// Creates a segment from its definition, after checking the rule, the references to
    /// other segments (they exist, no loops), the tone, targeting and canvas.
    pub async fn define(&self, def: &SegmentDefinition) -> Result<audience_segment::Model, AudienceError> {
        let checked = def.check()?;
        self.check_references(&def.name, checked.rule.as_ref()).await?;
        Ok(self.t.segments().create(self.new_segment(def, checked)?).await?)
    }

    /// Replaces the definition of the segment named `name` (renaming it if `def` says so).
    pub async fn redefine(
        &self,
        name: &str,
        def: &SegmentDefinition,
    ) -> Result<audience_segment::Model, AudienceError> {
        let current = self.segment(name).await?;
        let checked = def.check()?;
        self.check_references(&def.name, checked.rule.as_ref()).await?;
        Ok(self
            .t
            .segments()
            .update(current.id, self.new_segment(def, checked)?)
            .await?)
    }

    fn new_segment(&self, def: &SegmentDefinition, checked: Checked) -> Result<NewSegment, AudienceError> {
        let json = |v: serde_json::Value| if serde_json::Value::is_null(&v) { None } else { Some(v) };
        let to_json = |v: Result<serde_json::Value, serde_json::Error>| {
            v.map_err(|e| AudienceError::invalid("segment", format!("cannot be stored: {e}")))
        };
        Ok(NewSegment {
            brand_id: self.brand.id,
            name: def.name.trim().to_owned(),
            kind: def.kind,
            funnel_stage: def.funnel_stage,
            description: def.description.clone(),
            rule: def.rule.clone(),
            tone: json(to_json(serde_json::to_value(&def.tone))?),
            bases: checked.bases,
            is_primary: def.primary,
            canvas: json(to_json(serde_json::to_value(&def.canvas))?),
            targeting: json(to_json(serde_json::to_value(&checked.targeting))?),
        })
    }

    /// Follows `segment` and `lookalike` references: each must exist, none may loop back.
    async fn check_references(&self, name: &str, rule: Option<&Rule>) -> Result<(), AudienceError> {
        let mut stack = vec![(name.to_owned(), rule.map(Rule::references).unwrap_or_default(), 0usize)];
        while let Some((current, refs, i)) = stack.pop() {
            let Some(next) = refs.get(i).cloned() else { continue };
            stack.push((current, refs, i + 1));
            if let Some(pos) = stack.iter().position(|(n, _, _)| *n == next) {
                let mut cycle: Vec<String> = stack[pos..].iter().map(|(n, _, _)| n.clone()).collect();
                cycle.push(next);
                return Err(AudienceError::invalid(
                    "rule",
                    format!("segments refer to each other in a loop: {}", cycle.join(" → ")),
                ));
            }
            let seg = self
                .t
                .segments()
                .by_name(self.brand.id, &next)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { .. } => AudienceError::invalid(
                        "rule",
                        format!("refers to a segment named {next:?}, which this brand does not have"),
                    ),
                    e => e.into(),
                })?;
            let refs = parsed_rule(&seg)?.map(|r| r.references()).unwrap_or_default();
            stack.push((next, refs, 0));
        }
        Ok(())
    }

    pub async fn segment(&self, name: &str) -> Result<audience_segment::Model, AudienceError> {
        self.t
            .segments()
            .by_name(self.brand.id, name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => AudienceError::invalid(
                    "segment",
                    format!("brand {} has no segment named {name:?}", self.brand.slug),
                ),
                e => e.into(),
            })
    }

    pub async fn segments(&self) -> Result<Vec<audience_segment::Model>, AudienceError> {
        Ok(self.t.segments().list_for_brand(self.brand.id).await?)
    }

    async fn compiled(
        &self,
        seg: &audience_segment::Model,
        compiler: &mut Compiler<'a>,
    ) -> Result<Compiled, AudienceError> {
        let rule = parsed_rule(seg)?;
        compiler.compile_segment(&seg.name, rule.as_ref()).await
    }

    /// Everyone in the brand's audience.
    pub async fn total(&self) -> Result<u64, AudienceError> {
        self.count(Expr::val(1).eq(1)).await
    }

    pub(crate) async fn count(&self, expr: Expr) -> Result<u64, AudienceError> {
        let mut q = Query::select();
        q.expr_as(
            Expr::col((Alias::new(CONTACTS), Alias::new("id"))).count(),
            Alias::new("n"),
        )
        .from(Alias::new(CONTACTS))
        .and_where(in_brand(self.t.db().get_database_backend(), self.brand.id))
        .and_where(expr);
        let db = self.t.db();
        let row = db.query_one(&q).await?;
        let n: i64 = match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        };
        Ok(std::cmp::max(n, 0) as u64)
    }

    /// Counts the segment's members now.
    pub async fn size(&self, name: &str) -> Result<Sizing, AudienceError> {
        let seg = self.segment(name).await?;
        self.size_of(&seg).await
    }

    pub async fn size_of(&self, seg: &audience_segment::Model) -> Result<Sizing, AudienceError> {
        let mut compiler = self.compiler(Utc::now());
        let compiled = self.compiled(seg, &mut compiler).await?;
        let size = self.count(compiled.expr).await?;
        Ok(Sizing {
            segment: seg.name.clone(),
            size,
            audience: self.total().await?,
            lookalikes: compiled.lookalikes,
        })
    }

    /// The audience a platform would target: the segment's own estimate of its platform
    /// audience if it gives one (`targeting.estimated_size`), else its measured size.
    pub async fn targeting_size(&self, seg: &audience_segment::Model) -> Result<u64, AudienceError> {
        match portable_audience(seg)?.estimated_size {
            Some(n) => Ok(n),
            None => Ok(self.size_of(seg).await?.size),
        }
    }

    /// The external ids of the segment's members now, in order, at most `limit`.
    pub async fn members(&self, name: &str, limit: u64) -> Result<Vec<String>, AudienceError> {
        let seg = self.segment(name).await?;
        let mut compiler = self.compiler(Utc::now());
        let compiled = self.compiled(&seg, &mut compiler).await?;
        let mut q = Query::select();
        q.column((Alias::new(CONTACTS), Alias::new("external_id")))
            .from(Alias::new(CONTACTS))
            .and_where(in_brand(self.t.db().get_database_backend(), self.brand.id))
            .and_where(compiled.expr)
            .order_by(
                (Alias::new(CONTACTS), Alias::new("external_id")),
                sea_orm::sea_query::Order::Asc,
            )
            .limit(limit);
        let rows = self.t.db().query_all(&q).await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "external_id").map_err(AudienceError::from))
            .collect()
    }

    /// Stores who is in the segment now, as the next version.
    pub async fn snapshot(&self, name: &str) -> Result<Snapshot, AudienceError> {
        let seg = self.segment(name).await?;
        let now = Utc::now();
        let mut compiler = self.compiler(now);
        let compiled = self.compiled(&seg, &mut compiler).await?;
        let definition = serde_json::json!({
            "rule": seg.rule,
            "lookalikes": compiled.lookalikes,
            "evaluated_at": now,
        });
        let previous = self.t.segments().latest_snapshot(seg.id).await?;
        let txn = crate::store::begin_write(self.t.db()).await?;
        let version = previous.map(|s| s.version + 1).unwrap_or(1);
        let id = new_id();
        segment_snapshot::ActiveModel {
            id: Set(id),
            workspace_id: Set(self.t.workspace_id()),
            brand_id: Set(self.brand.id),
            segment_id: Set(seg.id),
            version: Set(version),
            size: Set(0),
            definition: Set(definition),
            created_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| crate::store::map_db_err("segment snapshot", e))?;
        let mut members = Query::select();
        members
            .expr(Expr::val(id))
            .column((Alias::new(CONTACTS), Alias::new("id")))
            .from(Alias::new(CONTACTS))
            .and_where(in_brand(self.t.db().get_database_backend(), self.brand.id))
            .and_where(compiled.expr);
        let insert = Query::insert()
            .into_table(Alias::new("segment_members"))
            .columns([Alias::new("snapshot_id"), Alias::new("contact_id")])
            .select_from(members)
            .map_err(|e| AudienceError::invalid("snapshot", e.to_string()))?
            .to_owned();
        let size = txn.execute(&insert).await?.rows_affected();
        let record_size = Query::update()
            .table(Alias::new("segment_snapshots"))
            .value(Alias::new("size"), size as i64)
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        txn.execute(&record_size).await?;
        txn.commit().await?;
        Ok(Snapshot {
            id,
            segment: seg.name,
            version,
            size,
            created_at: now,
        })
    }

    /// The ids of a snapshot's members (for analytics and tests).
    pub async fn snapshot_members(&self, snapshot_id: Uuid) -> Result<Vec<Uuid>, AudienceError> {
        let snap = self.t.get::<segment_snapshot::Entity>(snapshot_id).await?;
        let mut q = Query::select();
        q.column(Alias::new("contact_id"))
            .from(Alias::new("segment_members"))
            .and_where(Expr::col(Alias::new("snapshot_id")).eq(snap.id))
            .order_by(Alias::new("contact_id"), sea_orm::sea_query::Order::Asc);
        let db = self.t.db();
        let rows = db.query_all(&q).await?;
        rows.iter()
            .map(|r| r.try_get::<Uuid>("", "contact_id").map_err(AudienceError::from))
            .collect()
    }

    /// |A ∩ B| between the named segments (all of the brand's when `names` is empty), in one
    /// pass over the contacts: each contact is grouped by which segments it is in.
    pub async fn overlap(&self, names: &[String]) -> Result<Overlap, AudienceError> {
        let segs = if names.is_empty() {
            self.segments().await?
        } else {
            let mut v = Vec::with_capacity(names.len());
            for n in names {
                v.push(self.segment(n).await?);
            }
            v
        };
        if segs.len() > MAX_OVERLAP_SEGMENTS {
            return Err(AudienceError::invalid(
                "segments",
                format!(
                    "{} segments given; compare at most {MAX_OVERLAP_SEGMENTS} at a time",
                    segs.len()
                ),
            ));
        }
        let n = segs.len();
        let mut counts = vec![vec![0u64; n]; n];
        if n > 0 {
            // One pass over the brand's contacts: each contact's memberships become one
            // integer (bit i: in segment i), grouped, so the database sorts small numbers
            // instead of n columns; the matrix is then summed from at most 2^n groups.
            let mut compiler = self.compiler(Utc::now());
            let mut mask: Option<Expr> = None;
            for (i, seg) in segs.iter().enumerate() {
                let c = self.compiled(seg, &mut compiler).await?;
                let bit = Expr::case(c.expr, Expr::cust((1u32 << i).to_string())).finally(Expr::cust("0"));
                let bit: Expr = bit.into();
                mask = Some(match mask {
                    None => bit,
                    Some(m) => m.add(bit),
                });
            }
            // MATERIALIZED: each contact's mask is computed once; grouped directly, SQLite
            // evaluates the expression again for the group key.
            let mut masks = Query::select();
            masks
                .expr_as(mask.expect("n > 0").cast_as(Alias::new("bigint")), Alias::new("mask"))
                .from(Alias::new(CONTACTS))
                .and_where(in_brand(self.t.db().get_database_backend(), self.brand.id));
            let mut cte = CommonTableExpression::new();
            cte.table_name(Alias::new("masks")).query(masks).materialized(true);
            let mut grouped = Query::select();
            grouped
                .column(Alias::new("mask"))
                .expr_as(Expr::col(Alias::new("mask")).count(), Alias::new("n"))
                .from(Alias::new("masks"))
                .group_by_col(Alias::new("mask"));
            let q = grouped.with(WithClause::new().cte(cte).to_owned());
            let db = self.t.db();
            for row in db.query_all(&q).await? {
                let k: i64 = row.try_get("", "n")?;
                let bits: i64 = row.try_get("", "mask")?;
                let inside: Vec<usize> = (0..n).filter(|i| bits & (1 << i) != 0).collect();
                for &a in &inside {
                    for &b in &inside {
                        counts[a][b] += std::cmp::max(k, 0) as u64;
                    }
                }
            }
        }
        Ok(Overlap {
            segments: segs.into_iter().map(|s| s.name).collect(),
            counts,
        })
    }

    pub async fn review(&self, name: &str) -> Result<audience_segment::Model, AudienceError> {
        let seg = self.segment(name).await?;
        Ok(self.t.segments().mark_reviewed(seg.id).await?)
    }

    pub async fn add_persona(&self, def: &PersonaDefinition) -> Result<persona::Model, AudienceError> {
        def.check()?;
        let seg = self.segment(&def.segment).await.map_err(|_| {
            AudienceError::invalid(
                "segment",
                format!("brand {} has no segment named {:?}", self.brand.slug, def.segment),
            )
        })?;
        let profile = serde_json::to_value(&def.profile)
            .map_err(|e| AudienceError::invalid("persona", format!("cannot be stored: {e}")))?;
        Ok(self
            .t
            .personas()
            .create(NewPersona {
                brand_id: self.brand.id,
                segment_id: Some(seg.id),
                name: def.name.trim().to_owned(),
                profile,
            })
            .await?)
    }

    pub async fn personas(&self) -> Result<Vec<persona::Model>, AudienceError> {
        Ok(self.t.personas().list_for_brand(self.brand.id).await?)
    }
}

/// A stored segment's rule, parsed (stored rules were validated when saved).
pub fn parsed_rule(seg: &audience_segment::Model) -> Result<Option<Rule>, AudienceError> {
    seg.rule
        .as_ref()
        .map(|v| Rule::parse(v, "rule"))
        .transpose()
        .map_err(|e| AudienceError::Invalid(Invalid::new(format!("segment {:?}: {}", seg.name, e.field), e.message)))
}

/// A stored segment's portable audience (empty when it has none).
pub fn portable_audience(seg: &audience_segment::Model) -> Result<PortableAudience, AudienceError> {
    match &seg.targeting {
        None => Ok(PortableAudience::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| AudienceError::invalid(format!("segment {:?}: targeting", seg.name), e.to_string())),
    }
}

/// A stored segment's tone profile (neutral when it has none).
pub fn tone_profile(seg: &audience_segment::Model) -> Result<crate::domain::ToneProfile, AudienceError> {
    match &seg.tone {
        None => Ok(Default::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| AudienceError::invalid(format!("segment {:?}: tone", seg.name), e.to_string())),
    }
}

/// A stored segment's canvas (empty when it has none).
pub fn canvas(seg: &audience_segment::Model) -> Result<crate::domain::SegmentCanvas, AudienceError> {
    match &seg.canvas {
        None => Ok(Default::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| AudienceError::invalid(format!("segment {:?}: canvas", seg.name), e.to_string())),
    }
}
