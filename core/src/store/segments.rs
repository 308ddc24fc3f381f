//! Audience segments, their membership snapshots, and personas: the stored rows.
//! Sizing, overlap and lookalikes (queries over contacts) live in `crate::audience`.

use super::entity::{audience_segment, persona, segment_snapshot};
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::StoreError;
use crate::domain::{Basis, FunnelStage, PersonaProfile, SegmentKind, new_id};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Segments<'a> {
    pub(crate) t: Tenant<'a>,
}

/// A segment as stored; `crate::audience::SegmentDefinition` validates what users give.
#[derive(Debug, Clone)]
pub struct NewSegment {
    pub brand_id: Uuid,
    pub name: String,
    pub kind: SegmentKind,
    pub funnel_stage: FunnelStage,
    pub description: Option<String>,
    pub rule: Option<serde_json::Value>,
    pub tone: Option<serde_json::Value>,
    pub bases: Vec<Basis>,
    pub is_primary: bool,
    pub canvas: Option<serde_json::Value>,
    pub targeting: Option<serde_json::Value>,
}

impl NewSegment {
    /// A segment with a name, kind and stage and nothing else (everyone in the brand).
    pub fn named(brand_id: Uuid, name: &str, kind: SegmentKind, funnel_stage: FunnelStage) -> Self {
        Self {
            brand_id,
            name: name.to_owned(),
            kind,
            funnel_stage,
            description: None,
            rule: None,
            tone: None,
            bases: Vec::new(),
            is_primary: false,
            canvas: None,
            targeting: None,
        }
    }
}

impl Segments<'_> {
    pub async fn create(&self, new: NewSegment) -> Result<audience_segment::Model, StoreError> {
        self.t.brands().get(new.brand_id).await?;
        let at = now();
        audience_segment::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(new.brand_id),
            name: Set(required_name("segment.name", &new.name)?),
            kind: Set(new.kind),
            funnel_stage: Set(new.funnel_stage),
            description: Set(new.description),
            rule: Set(new.rule),
            tone: Set(new.tone),
            bases: Set(Some(serde_json::json!(new.bases))),
            is_primary: Set(new.is_primary),
            canvas: Set(new.canvas),
            targeting: Set(new.targeting),
            // A segment is reviewed when it is defined.
            reviewed_at: Set(Some(at)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("segment", e))
    }

    /// Replaces a segment's definition (name included); counts as a review.
    pub async fn update(&self, id: Uuid, new: NewSegment) -> Result<audience_segment::Model, StoreError> {
        let current = self.get(id).await?;
        if current.brand_id != new.brand_id {
            return Err(crate::Invalid::new("segment.brand", "a segment cannot move to another brand").into());
        }
        let at = now();
        let mut row: audience_segment::ActiveModel = current.into();
        row.name = Set(required_name("segment.name", &new.name)?);
        row.kind = Set(new.kind);
        row.funnel_stage = Set(new.funnel_stage);
        row.description = Set(new.description);
        row.rule = Set(new.rule);
        row.tone = Set(new.tone);
        row.bases = Set(Some(serde_json::json!(new.bases)));
        row.is_primary = Set(new.is_primary);
        row.canvas = Set(new.canvas);
        row.targeting = Set(new.targeting);
        row.reviewed_at = Set(Some(at));
        row.updated_at = Set(at);
        row.update(self.t.db()).await.map_err(|e| map_db_err("segment", e))
    }

    /// Records that a person confirmed the segment still holds.
    pub async fn mark_reviewed(&self, id: Uuid) -> Result<audience_segment::Model, StoreError> {
        let mut row: audience_segment::ActiveModel = self.get(id).await?.into();
        row.reviewed_at = Set(Some(now()));
        Ok(row.update(self.t.db()).await?)
    }

    pub async fn get(&self, id: Uuid) -> Result<audience_segment::Model, StoreError> {
        self.t.get::<audience_segment::Entity>(id).await
    }

    pub async fn by_name(&self, brand_id: Uuid, name: &str) -> Result<audience_segment::Model, StoreError> {
        self.t
            .select::<audience_segment::Entity>()
            .filter(audience_segment::Column::BrandId.eq(brand_id))
            .filter(audience_segment::Column::Name.eq(name))
            .one(self.t.db())
            .await?
            .ok_or_else(|| StoreError::not_found("segment", name))
    }

    pub async fn list_for_brand(&self, brand_id: Uuid) -> Result<Vec<audience_segment::Model>, StoreError> {
        Ok(self
            .t
            .select::<audience_segment::Entity>()
            .filter(audience_segment::Column::BrandId.eq(brand_id))
            .order_by_asc(audience_segment::Column::Name)
            .all(self.t.db())
            .await?)
    }

    pub async fn delete(&self, id: Uuid) -> Result<(), StoreError> {
        let row = self.get(id).await?;
        audience_segment::ActiveModel::from(row).delete(self.t.db()).await?;
        Ok(())
    }

    /// The newest membership snapshot of a segment, if it was ever snapshotted.
    pub async fn latest_snapshot(&self, segment_id: Uuid) -> Result<Option<segment_snapshot::Model>, StoreError> {
        Ok(self
            .t
            .select::<segment_snapshot::Entity>()
            .filter(segment_snapshot::Column::SegmentId.eq(segment_id))
            .order_by_desc(segment_snapshot::Column::Version)
            .one(self.t.db())
            .await?)
    }

    pub async fn snapshots(&self, segment_id: Uuid) -> Result<Vec<segment_snapshot::Model>, StoreError> {
        Ok(self
            .t
            .select::<segment_snapshot::Entity>()
            .filter(segment_snapshot::Column::SegmentId.eq(segment_id))
            .order_by_asc(segment_snapshot::Column::Version)
            .all(self.t.db())
            .await?)
    }
}

pub struct Personas<'a> {
    pub(crate) t: Tenant<'a>,
}

#[derive(Debug, Clone)]
pub struct NewPersona {
    pub brand_id: Uuid,
    pub segment_id: Option<Uuid>,
    pub name: String,
    pub profile: serde_json::Value,
}

impl Personas<'_> {
    pub async fn create(&self, new: NewPersona) -> Result<persona::Model, StoreError> {
        self.t.brands().get(new.brand_id).await?;
        if let Some(s) = new.segment_id {
            let seg = self.t.segments().get(s).await?;
            if seg.brand_id != new.brand_id {
                return Err(crate::Invalid::new("persona.segment_id", "the segment belongs to another brand").into());
            }
        }
        let at = now();
        persona::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(new.brand_id),
            segment_id: Set(new.segment_id),
            name: Set(required_name("persona.name", &new.name)?),
            profile: Set(new.profile),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("persona", e))
    }

    pub async fn by_name(&self, brand_id: Uuid, name: &str) -> Result<persona::Model, StoreError> {
        self.t
            .select::<persona::Entity>()
            .filter(persona::Column::BrandId.eq(brand_id))
            .filter(persona::Column::Name.eq(name))
            .one(self.t.db())
            .await?
            .ok_or_else(|| StoreError::not_found("persona", name))
    }

    pub async fn list_for_brand(&self, brand_id: Uuid) -> Result<Vec<persona::Model>, StoreError> {
        Ok(self
            .t
            .select::<persona::Entity>()
            .filter(persona::Column::BrandId.eq(brand_id))
            .order_by_asc(persona::Column::Name)
            .all(self.t.db())
            .await?)
    }

    /// The typed profile of a stored persona.
    pub fn profile(row: &persona::Model) -> Result<PersonaProfile, StoreError> {
        serde_json::from_value(row.profile.clone()).map_err(|e| {
            StoreError::Invalid(crate::Invalid::new(
                format!("persona {:?}", row.name),
                format!("stored profile does not parse: {e}"),
            ))
        })
    }
}
