//! Media assets (metadata; the bytes live in media storage) and campaigns.

use super::entity::{campaign, media_asset, post_media};
use super::{Tenant, map_db_err, now, workspaces::required_name};
use crate::domain::{MediaKind, new_id};
use crate::{Invalid, StoreError};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Media<'a> {
    pub(crate) t: Tenant<'a>,
}

/// What is known about an uploaded file.
#[derive(Debug, Clone)]
pub struct NewMediaAsset {
    pub brand_id: Uuid,
    pub kind: MediaKind,
    pub mime_type: String,
    pub byte_size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    pub sha256: String,
    pub storage_key: String,
    pub alt_text: Option<String>,
    pub codec: Option<String>,
    pub frame_rate: Option<f64>,
    pub original_name: Option<String>,
}

impl Media<'_> {
    pub async fn register(&self, new: NewMediaAsset) -> Result<media_asset::Model, StoreError> {
        if new.sha256.len() != 64 || !new.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Invalid::new("media.sha256", "must be 64 hexadecimal characters").into());
        }
        if new.byte_size <= 0 {
            return Err(Invalid::new("media.byte_size", "must be positive").into());
        }
        if !new.mime_type.contains('/') {
            return Err(Invalid::new(
                "media.mime_type",
                format!("{:?} is not a MIME type like image/jpeg", new.mime_type),
            )
            .into());
        }
        self.t.brands().get(new.brand_id).await?;
        media_asset::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(new.brand_id),
            kind: Set(new.kind),
            mime_type: Set(new.mime_type),
            byte_size: Set(new.byte_size),
            width: Set(new.width),
            height: Set(new.height),
            duration_ms: Set(new.duration_ms),
            sha256: Set(new.sha256.to_lowercase()),
            storage_key: Set(new.storage_key),
            alt_text: Set(new.alt_text),
            created_at: Set(now()),
            codec: Set(new.codec),
            frame_rate: Set(new.frame_rate),
            original_name: Set(new.original_name),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("media asset", e))
    }

    pub async fn get(&self, id: Uuid) -> Result<media_asset::Model, StoreError> {
        self.t.get::<media_asset::Entity>(id).await
    }

    /// The assets of `brand`, newest first.
    pub async fn list(&self, brand: Uuid) -> Result<Vec<media_asset::Model>, StoreError> {
        self.t.brands().get(brand).await?;
        Ok(media_asset::Entity::find()
            .filter(media_asset::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(media_asset::Column::BrandId.eq(brand))
            .order_by_desc(media_asset::Column::CreatedAt)
            .order_by_desc(media_asset::Column::Id)
            .all(self.t.db())
            .await?)
    }

    /// How many posts use `id`.
    pub async fn uses(&self, id: Uuid) -> Result<u64, StoreError> {
        Ok(post_media::Entity::find()
            .filter(post_media::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(post_media::Column::MediaAssetId.eq(id))
            .count(self.t.db())
            .await?)
    }

    /// Forgets `id` (its bytes are the caller's to remove), refused while a post uses it:
    /// a scheduled post would lose its media, a published one its record.
    pub async fn remove(&self, id: Uuid) -> Result<media_asset::Model, StoreError> {
        let asset = self.get(id).await?;
        let uses = self.uses(id).await?;
        if uses > 0 {
            return Err(Invalid::new(
                "media",
                format!("media asset {id} is used by {uses} post(s); remove it from them (or cancel them) first"),
            )
            .into());
        }
        media_asset::Entity::delete_by_id(id)
            .filter(media_asset::Column::WorkspaceId.eq(self.t.workspace_id))
            .exec(self.t.db())
            .await?;
        Ok(asset)
    }

    pub async fn create_campaign(&self, brand_id: Uuid, name: &str) -> Result<campaign::Model, StoreError> {
        self.t.brands().get(brand_id).await?;
        campaign::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(brand_id),
            name: Set(required_name("campaign.name", name)?),
            created_at: Set(now()),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("campaign", e))
    }
}

impl super::Store {
    /// An asset by id alone, whatever its workspace: for the media route, where a valid
    /// signature on the id is the permission (see [`crate::media::UrlSigner`]).
    pub async fn media_asset(&self, id: Uuid) -> Result<media_asset::Model, StoreError> {
        media_asset::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::not_found("media asset", id))
    }
}
