//! Posts: creation, editing with optimistic concurrency, and lifecycle moves.

use super::audit::{AuditEntry, append};
use super::entity::{StringList, campaign, media_asset, post, post_media};
use super::{Store, Tenant, map_db_err, now};
use crate::domain::{PostDraft, PostStatus, new_id};
use crate::{Invalid, StoreError};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
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
        self.create_with_id(new_id(), brand_id, author, draft).await
    }

    /// [`Self::create`] with an id chosen beforehand (the planner adapts the post under its
    /// id before storing it, so a post the plugins refuse is never stored).
    pub async fn create_with_id(
        &self,
        id: Uuid,
        brand_id: Uuid,
        author: Option<Uuid>,
        draft: PostDraft,
    ) -> Result<post::Model, StoreError> {
        let draft = draft.validated()?;
        self.t.brands().get(brand_id).await?;
        self.check_references(brand_id, &draft).await?;
        let at = now();
        let txn = crate::store::begin_write(self.t.db()).await?;
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
            title: Set(draft.title),
            options: Set((!draft.options.is_empty()).then_some(draft.options)),
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

    /// One page of the workspace's posts, newest first: in `brands` (all when `None`),
    /// optionally in one state, older than the post `before` (the cursor of the previous
    /// page). UUIDv7 ids grow with time, so the id orders and pages at once.
    pub async fn page(
        &self,
        brands: Option<&[Uuid]>,
        status: Option<PostStatus>,
        before: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<post::Model>, StoreError> {
        let mut q = self.t.select::<post::Entity>();
        if let Some(b) = brands {
            q = q.filter(post::Column::BrandId.is_in(b.iter().copied()));
        }
        if let Some(s) = status {
            q = q.filter(post::Column::Status.eq(s));
        }
        if let Some(c) = before {
            q = q.filter(post::Column::Id.lt(c));
        }
        Ok(q.order_by_desc(post::Column::Id).limit(limit).all(self.t.db()).await?)
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
    /// would be published any more. A scheduled post stays scheduled unless its brand
    /// requires approval (`reapprove`), in which case it goes back to draft too.
    pub async fn edit(
        &self,
        id: Uuid,
        revision: i32,
        actor: Option<Uuid>,
        draft: PostDraft,
        reapprove: bool,
    ) -> Result<post::Model, StoreError> {
        let draft = draft.validated()?;
        let current = self.get(id).await?;
        if !current.status.is_editable() {
            return Err(Invalid::new(
                "post.status",
                format!(
                    "a {} post cannot be edited; only draft, in_review, approved or scheduled posts can",
                    current.status
                ),
            )
            .into());
        }
        let next = if current.status == PostStatus::Scheduled && !reapprove {
            PostStatus::Scheduled
        } else {
            PostStatus::Draft
        };
        self.check_references(current.brand_id, &draft).await?;
        let at = now();
        let txn = crate::store::begin_write(self.t.db()).await?;
        let updated = post::Entity::update_many()
            .col_expr(post::Column::Body, Expr::value(draft.body))
            .col_expr(post::Column::Link, Expr::value(draft.link))
            .col_expr(post::Column::Hashtags, Expr::value(StringList(draft.hashtags)))
            .col_expr(post::Column::Locale, Expr::value(draft.locale))
            .col_expr(post::Column::Title, Expr::value(draft.title))
            .col_expr(
                post::Column::Options,
                Expr::value((!draft.options.is_empty()).then_some(draft.options)),
            )
            .col_expr(post::Column::CampaignId, Expr::value(draft.campaign_id))
            .col_expr(post::Column::Status, Expr::value(next))
            .col_expr(post::Column::Revision, Expr::col(post::Column::Revision).add(1))
            .col_expr(post::Column::UpdatedAt, Expr::value(at))
            .filter(post::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(post::Column::Id.eq(id))
            .filter(post::Column::Revision.eq(revision))
            .filter(post::Column::Status.eq(current.status))
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
        if current.status != next {
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
        let txn = crate::store::begin_write(self.t.db()).await?;
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

/// A scheduled post whose deliveries have all ended: what it ends as.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct Settlement {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub total: i64,
    pub published: i64,
    pub cancelled: i64,
}

impl Settlement {
    /// Published when every delivery went out, partially published when some did, cancelled
    /// when every one was cancelled, failed otherwise.
    pub fn outcome(&self) -> PostStatus {
        if self.published == self.total {
            PostStatus::Published
        } else if self.published > 0 {
            PostStatus::PartiallyPublished
        } else if self.cancelled == self.total {
            PostStatus::Cancelled
        } else {
            PostStatus::Failed
        }
    }
}

impl Store {
    /// The workspace a post belongs to (for the operator's command line, which acts on any
    /// workspace; everything after this goes through that workspace's [`Tenant`]).
    pub async fn locate_post(&self, id: Uuid) -> Result<Uuid, StoreError> {
        use sea_orm::QuerySelect;
        post::Entity::find_by_id(id)
            .select_only()
            .column(post::Column::WorkspaceId)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::not_found("post", id))
    }

    /// Scheduled posts, across workspaces, none of whose deliveries is still waiting or on
    /// its way: the settler moves them to their final state.
    pub async fn posts_to_settle(&self, limit: u64) -> Result<Vec<Settlement>, StoreError> {
        use sea_orm::{FromQueryResult, Statement};
        let open = crate::domain::DeliveryStatus::all()
            .filter(|s| !s.is_terminal())
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT p.id AS id, p.workspace_id AS workspace_id, COUNT(*) AS total, \
               SUM(CASE WHEN d.status = 'published' THEN 1 ELSE 0 END) AS published, \
               SUM(CASE WHEN d.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled \
             FROM posts p JOIN deliveries d ON d.post_id = p.id \
             WHERE p.status = 'scheduled' \
             GROUP BY p.id, p.workspace_id \
             HAVING SUM(CASE WHEN d.status IN ({open}) THEN 1 ELSE 0 END) = 0 \
             LIMIT {limit}"
        );
        let backend = self.db.get_database_backend();
        Ok(Settlement::find_by_statement(Statement::from_string(backend, sql))
            .all(&self.db)
            .await?)
    }
}
