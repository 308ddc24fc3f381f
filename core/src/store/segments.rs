//! Audience segments and personas (the segments issue fills in rules, sizing and overlap).

use super::entity::{audience_segment, persona};
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::StoreError;
use crate::domain::{FunnelStage, SegmentKind, new_id};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Segments<'a> {
    pub(crate) t: Tenant<'a>,
}

#[derive(Debug, Clone)]
pub struct NewSegment {
    pub brand_id: Uuid,
    pub name: String,
    pub kind: SegmentKind,
    pub funnel_stage: FunnelStage,
    pub description: Option<String>,
    pub rule: Option<serde_json::Value>,
    pub tone: Option<serde_json::Value>,
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
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("segment", e))
    }

    pub async fn get(&self, id: Uuid) -> Result<audience_segment::Model, StoreError> {
        self.t.get::<audience_segment::Entity>(id).await
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

    pub async fn list_for_brand(&self, brand_id: Uuid) -> Result<Vec<persona::Model>, StoreError> {
        Ok(self
            .t
            .select::<persona::Entity>()
            .filter(persona::Column::BrandId.eq(brand_id))
            .order_by_asc(persona::Column::Name)
            .all(self.t.db())
            .await?)
    }
}
