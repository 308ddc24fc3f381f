//! Deliveries: the adapted versions of a post, one per account and segment.

use super::entity::delivery;
use super::{Tenant, map_db_err, now};
use crate::domain::{DeliveryStatus, Zone, idempotency_key, new_id};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub struct Deliveries<'a> {
    pub(crate) t: Tenant<'a>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub post_id: Uuid,
    pub account_id: Uuid,
    pub segment_id: Option<Uuid>,
    pub adapted_text: Option<String>,
    pub adaptation: Option<serde_json::Value>,
    pub targeting: Option<serde_json::Value>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The IANA zone the person planned the instant in.
    pub timezone: String,
}

/// What happened when a delivery was attempted.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Published {
        remote_id: String,
        remote_url: Option<String>,
        at: DateTime<Utc>,
    },
    /// Failed for good; `error` says why, for the person who will fix it.
    Failed { error: String },
}

impl Deliveries<'_> {
    /// Stores one delivery; the (post, account, segment) triple is unique. Checks that need
    /// the audience (a segment too small for native targeting) are the caller's:
    /// [`crate::delivery::plan::create_delivery`].
    pub async fn create(&self, new: NewDelivery) -> Result<delivery::Model, StoreError> {
        let zone = Zone::parse("delivery.timezone", &new.timezone)?;
        let post = self.t.posts().get(new.post_id).await?;
        let account = self.t.accounts().get(new.account_id).await?;
        if account.brand_id != post.brand_id {
            return Err(Invalid::new(
                "delivery.account_id",
                "the account belongs to another brand than the post",
            )
            .into());
        }
        let mut snapshot_id = None;
        if let Some(s) = new.segment_id {
            let segment = self.t.segments().get(s).await?;
            if segment.brand_id != post.brand_id {
                return Err(Invalid::new(
                    "delivery.segment_id",
                    "the segment belongs to another brand than the post",
                )
                .into());
            }
            snapshot_id = self.t.segments().latest_snapshot(s).await?.map(|snap| snap.id);
        }
        let at = now();
        delivery::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            post_id: Set(new.post_id),
            social_account_id: Set(new.account_id),
            segment_id: Set(new.segment_id),
            segment_snapshot_id: Set(snapshot_id),
            status: Set(if new.scheduled_at.is_some() {
                DeliveryStatus::Scheduled
            } else {
                DeliveryStatus::Pending
            }),
            adapted_text: Set(new.adapted_text),
            adaptation: Set(new.adaptation),
            targeting: Set(new.targeting),
            scheduled_at: Set(new.scheduled_at),
            timezone: Set(zone.to_string()),
            remote_id: Set(None),
            remote_url: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            idempotency_key: Set(idempotency_key(new.post_id, new.account_id, new.segment_id)),
            published_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("delivery", e))
    }

    pub async fn get(&self, id: Uuid) -> Result<delivery::Model, StoreError> {
        self.t.get::<delivery::Entity>(id).await
    }

    pub async fn list_for_post(&self, post_id: Uuid) -> Result<Vec<delivery::Model>, StoreError> {
        Ok(self
            .t
            .select::<delivery::Entity>()
            .filter(delivery::Column::PostId.eq(post_id))
            .order_by_asc(delivery::Column::Id)
            .all(self.t.db())
            .await?)
    }

    /// Records an attempt's outcome. Fenced on `publishing`: only the holder of an attempt
    /// can finish it, and a finished delivery cannot be finished twice.
    pub async fn record_outcome(&self, id: Uuid, outcome: DeliveryOutcome) -> Result<delivery::Model, StoreError> {
        let mut q = delivery::Entity::update_many()
            .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now()));
        q = match outcome {
            DeliveryOutcome::Published {
                remote_id,
                remote_url,
                at,
            } => q
                .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Published))
                .col_expr(delivery::Column::RemoteId, Expr::value(remote_id))
                .col_expr(delivery::Column::RemoteUrl, Expr::value(remote_url))
                .col_expr(delivery::Column::PublishedAt, Expr::value(at))
                .col_expr(delivery::Column::LastError, Expr::value(Option::<String>::None)),
            DeliveryOutcome::Failed { error } => q
                .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Failed))
                .col_expr(delivery::Column::LastError, Expr::value(error)),
        };
        let res = q
            .filter(delivery::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(delivery::Column::Id.eq(id))
            .filter(delivery::Column::Status.eq(DeliveryStatus::Publishing))
            .exec(self.t.db())
            .await?;
        if res.rows_affected == 0 {
            let found = self.get(id).await?;
            return Err(StoreError::Stale {
                kind: "delivery",
                id,
                expected: "publishing".into(),
                found: format!("{:?}", found.status).to_lowercase(),
            });
        }
        self.get(id).await
    }

    /// Marks a scheduled delivery as being published (the delivery engine replaces this
    /// with leased claims).
    pub async fn start_publishing(&self, id: Uuid) -> Result<delivery::Model, StoreError> {
        let res = delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Publishing))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now()))
            .filter(delivery::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(delivery::Column::Id.eq(id))
            .filter(delivery::Column::Status.is_in([DeliveryStatus::Scheduled, DeliveryStatus::Pending]))
            .exec(self.t.db())
            .await?;
        if res.rows_affected == 0 {
            let found = self.get(id).await?;
            return Err(StoreError::Stale {
                kind: "delivery",
                id,
                expected: "scheduled or pending".into(),
                found: format!("{:?}", found.status).to_lowercase(),
            });
        }
        self.get(id).await
    }
}
