//! Brands: an agency's clients, or a company's own brands.

use super::entity::brand;
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::StoreError;
use crate::domain::{AudienceScale, Slug, Zone, new_id};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Brands<'a> {
    pub(crate) t: Tenant<'a>,
}

#[derive(Debug, Clone)]
pub struct NewBrand {
    pub slug: String,
    pub name: String,
    pub timezone: String,
}

impl Brands<'_> {
    pub async fn create(&self, new: NewBrand) -> Result<brand::Model, StoreError> {
        let slug = Slug::parse("brand.slug", &new.slug)?;
        let zone = Zone::parse("brand.timezone", &new.timezone)?;
        let at = now();
        brand::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            slug: Set(slug.to_string()),
            name: Set(required_name("brand.name", &new.name)?),
            timezone: Set(zone.to_string()),
            audience_scale: Set(crate::domain::AudienceScale::default().as_str().to_owned()),
            audience_version: Set(0),
            requires_approval: Set(false),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("brand", e))
    }

    pub async fn get(&self, id: Uuid) -> Result<brand::Model, StoreError> {
        self.t.get::<brand::Entity>(id).await
    }

    pub async fn by_slug(&self, slug: &str) -> Result<brand::Model, StoreError> {
        self.t
            .select::<brand::Entity>()
            .filter(brand::Column::Slug.eq(slug))
            .one(self.t.db())
            .await?
            .ok_or_else(|| StoreError::not_found("brand", slug))
    }

    /// Whether the brand's posts wait for approval before they are scheduled.
    pub async fn set_requires_approval(&self, id: Uuid, required: bool) -> Result<brand::Model, StoreError> {
        let mut row: brand::ActiveModel = self.get(id).await?.into();
        row.requires_approval = Set(required);
        row.updated_at = Set(now());
        Ok(row.update(self.t.db()).await?)
    }

    /// How big the brand's audience is, which sets the smallest useful segment.
    pub async fn set_audience_scale(&self, id: Uuid, scale: AudienceScale) -> Result<brand::Model, StoreError> {
        let mut row: brand::ActiveModel = self.get(id).await?.into();
        row.audience_scale = Set(scale.as_str().to_owned());
        row.updated_at = Set(now());
        Ok(row.update(self.t.db()).await?)
    }

    pub async fn list(&self) -> Result<Vec<brand::Model>, StoreError> {
        Ok(self
            .t
            .select::<brand::Entity>()
            .order_by_asc(brand::Column::Slug)
            .all(self.t.db())
            .await?)
    }
}
