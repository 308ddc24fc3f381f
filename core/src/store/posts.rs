//! Posts: creation, editing with optimistic concurrency, and lifecycle moves.

use super::audit::{AuditEntry, append};
use super::entity::{StringList, campaign, media_asset, post, post_media};
use super::{Tenant, map_db_err, now};
use crate::domain::{PostDraft, PostStatus, new_id};
use crate::{Invalid, StoreError};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

pub struct Posts<'a> {
    pub(crate) t: Tenant<'a>,
}

impl Posts<'_> {
    /// Stores a new draft for `brand_id`, written by `author`.
    pub async fn create(
        &self,
        brand_id: Uuid,
        author: Option<Uuid>,
        draft: PostDraft,
    ) -> Result<post::Model, StoreError> {
        let draft = draft.validated()?;
        self.t.brands().get(brand_id).await?;
        self.check_references(brand_id, &draft).await?;
        let at = now();
        let id = new_id();
        let txn = self.t.db().begin().await?;
        let row = post::ActiveModel {
            id: Set(id),
            workspace_id: Set(self.t.workspace_id),
            brand_id: Set(brand_id),
            author_id: Set(author),
            campaign_id: Set(draft.campaign_id),
            body: Set(draft.body),
            link: Set(draft.link),
            hashtags: Set(StringList(draft.hashtags)),
            locale: Set(draft.locale),
            status: Set(PostStatus::Draft),
            status_changed_at: Set(at),
            revision: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&txn)
        .await
        .map_err(|e| map_db_err("post", e))?;
        self.replace_media(&txn, id, &draft.media).await?;
        append(
            &txn,
            self.t.workspace_id,
            entry(author, "post.created", id, json!({ "brand_id": brand_id })),
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    pub async fn get(&self, id: Uuid) -> Result<post::Model, StoreError> {
        self.t.get::<post::Entity>(id).await
    }

    /// A brand's posts, newest first, optionally in one state.
    pub async fn list(&self, brand_id: Uuid, status: Option<PostStatus>) -> Result<Vec<post::Model>, StoreError> {
        let mut q = self
            .t
            .select::<post::Entity>()
            .filter(post::Column::BrandId.eq(brand_id));
        if let Some(s) = status {
            q = q.filter(post::Column::Status.eq(s));
        }
        Ok(q.order_by_desc(post::Column::Id).all(self.t.db()).await?)
    }

    /// The post's media asset ids, in order.
    pub async fn media(&self, id: Uuid) -> Result<Vec<Uuid>, StoreError> {
        self.get(id).await?;
        let rows = post_media::Entity::find()
            .filter(post_media::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(post_media::Column::PostId.eq(id))
            .order_by_asc(post_media::Column::Position)
            .all(self.t.db())
            .await?;
        Ok(rows.into_iter().map(|r| r.media_asset_id).collect())
    }

    /// Replaces the content of a post the caller last saw at `revision`. Editing a post that
    /// was in review or approved sends it back to draft: what was approved is not what
    /// would be published any more.
    pub async fn edit(
        &self,
        id: Uuid,
        revision: i32,
        actor: Option<Uuid>,
        draft: PostDraft,
    ) -> Result<post::Model, StoreError> {
        let draft = draft.validated()?;
        let current = self.get(id).await?;
        if !current.status.is_editable() {
            return Err(Invalid::new(
                "post.status",
                format!(
                    "a {} post cannot be edited; only draft, in_review or approved posts can",
                    current.status
                ),
            )
            .into());
        }
        self.check_references(current.brand_id, &draft).await?;
        let at = now();
        let txn = self.t.db().begin().await?;
        let updated = post::Entity::update_many()
            .col_expr(post::Column::Body, Expr::value(draft.body))
            .col_expr(post::Column::Link, Expr::value(draft.link))
            .col_expr(post::Column::Hashtags, Expr::value(StringList(draft.hashtags)))
            .col_expr(post::Column::Locale, Expr::value(draft.locale))
            .col_expr(post::Column::CampaignId, Expr::value(draft.campaign_id))
            .col_expr(post::Column::Status, Expr::value(PostStatus::Draft))
            .col_expr(post::Column::Revision, Expr::col(post::Column::Revision).add(1))
            .col_expr(post::Column::UpdatedAt, Expr::value(at))
            .filter(post::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(post::Column::Id.eq(id))
            .filter(post::Column::Revision.eq(revision))
            .filter(post::Column::Status.is_in([PostStatus::Draft, PostStatus::InReview, PostStatus::Approved]))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            txn.rollback().await?;
            let found = self.get(id).await?;
            return Err(StoreError::Stale {
                kind: "post",
                id,
                expected: format!("revision {revision}"),
                found: format!("revision {} ({})", found.revision, found.status),
            });
        }
        if current.status != PostStatus::Draft {
            post::Entity::update_many()
                .col_expr(post::Column::StatusChangedAt, Expr::value(at))
                .filter(post::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        self.replace_media(&txn, id, &draft.media).await?;
        append(
            &txn,
            self.t.workspace_id,
            entry(
                actor,
                "post.edited",
                id,
                json!({ "revision": revision + 1, "previous_status": current.status }),
            ),
        )
        .await?;
        txn.commit().await?;
        self.get(id).await
    }

    /// Moves a post from `from` to `to`. The move is fenced: it applies only if the post is
    /// still in `from`, so two workers (or a worker and a person) cannot both win.
    pub async fn transition(
        &self,
        id: Uuid,
        from: PostStatus,
        to: PostStatus,
        actor: Option<Uuid>,
        note: Option<&str>,
    ) -> Result<post::Model, StoreError> {
        if !from.can_move_to(to) {
            let allowed = from.allowed_next().iter().map(|s| s.as_str()).collect::<Vec<_>>();
            return Err(StoreError::IllegalTransition {
                kind: "post",
                id,
                from: from.to_string(),
                to: to.to_string(),
                allowed: if allowed.is_empty() {
                    "nothing (final state)".into()
                } else {
                    allowed.join(", ")
                },
            });
        }
        let txn = self.t.db().begin().await?;
        let at = now();
        let res = post::Entity::update_many()
            .col_expr(post::Column::Status, Expr::value(to))
            .col_expr(post::Column::StatusChangedAt, Expr::value(at))
            .col_expr(post::Column::UpdatedAt, Expr::value(at))
            .filter(post::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(post::Column::Id.eq(id))
            .filter(post::Column::Status.eq(from))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            let found = self.get(id).await?;
            return Err(StoreError::Stale {
                kind: "post",
                id,
                expected: from.to_string(),
                found: found.status.to_string(),
            });
        }
        let detail = json!({ "from": from, "to": to, "note": note });
        append(
            &txn,
            self.t.workspace_id,
            entry(actor, "post.status_changed", id, detail),
        )
        .await?;
        txn.commit().await?;
        self.get(id).await
    }

    /// Counts a brand's posts per state (for dashboards).
    pub async fn count(&self, brand_id: Uuid, status: PostStatus) -> Result<u64, StoreError> {
        Ok(self
            .t
            .select::<post::Entity>()
            .filter(post::Column::BrandId.eq(brand_id))
            .filter(post::Column::Status.eq(status))
            .count(self.t.db())
            .await?)
    }

    /// Campaign and media must belong to the same workspace and brand as the post.
    async fn check_references(&self, brand_id: Uuid, draft: &PostDraft) -> Result<(), StoreError> {
        if let Some(c) = draft.campaign_id {
            let campaign = self.t.get::<campaign::Entity>(c).await?;
            if campaign.brand_id != brand_id {
                return Err(Invalid::new("campaign_id", "the campaign belongs to another brand").into());
            }
        }
        for (i, m) in draft.media.iter().enumerate() {
            let asset = self.t.get::<media_asset::Entity>(*m).await.map_err(|_| {
                Invalid::new(
                    format!("media[{i}]"),
                    format!("media asset {m} does not exist in this workspace"),
                )
            })?;
            if asset.brand_id != brand_id {
                return Err(Invalid::new(format!("media[{i}]"), "the asset belongs to another brand").into());
            }
        }
        Ok(())
    }

    async fn replace_media(&self, db: &impl ConnectionTrait, post_id: Uuid, media: &[Uuid]) -> Result<(), StoreError> {
        post_media::Entity::delete_many()
            .filter(post_media::Column::PostId.eq(post_id))
            .exec(db)
            .await?;
        for (position, asset) in media.iter().enumerate() {
            post_media::ActiveModel {
                workspace_id: Set(self.t.workspace_id),
                post_id: Set(post_id),
                position: Set(position as i32),
                media_asset_id: Set(*asset),
            }
            .insert(db)
            .await
            .map_err(|e| map_db_err("post media", e))?;
        }
        Ok(())
    }
}

fn entry(actor: Option<Uuid>, action: &'static str, id: Uuid, detail: serde_json::Value) -> AuditEntry {
    AuditEntry {
        actor,
        action,
        subject_kind: "post",
        subject_id: Some(id),
        detail,
    }
}
