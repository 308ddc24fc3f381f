//! Deliveries: the adapted versions of a post, one per account and segment.

use super::entity::delivery;
use super::{Tenant, map_db_err, now};
use crate::domain::{DeliveryStatus, Zone, idempotency_key, new_id};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

/// A delivery as a calendar shows it.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct CalendarRow {
    pub id: Uuid,
    pub post_id: Uuid,
    pub social_account_id: Uuid,
    pub segment_id: Option<Uuid>,
    pub status: DeliveryStatus,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub timezone: String,
    pub adapted_text: Option<String>,
}

pub struct Deliveries<'a> {
    pub(crate) t: Tenant<'a>,
}

#[derive(Debug, Clone, Default)]
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
    /// Lineage: the plugin (id, version) whose adaptation this is.
    pub plugin: Option<(String, String)>,
    /// The fire instant, for an occurrence of a recurring post.
    pub occurrence: Option<DateTime<Utc>>,
}

/// The row for `new`: scheduled when it has an instant, pending otherwise.
fn model(
    workspace_id: Uuid,
    new: NewDelivery,
    snapshot_id: Option<Uuid>,
    post_revision: i32,
    at: DateTime<Utc>,
) -> delivery::ActiveModel {
    let status = if new.scheduled_at.is_some() {
        DeliveryStatus::Scheduled
    } else {
        DeliveryStatus::Pending
    };
    delivery::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id),
        post_id: Set(new.post_id),
        social_account_id: Set(new.account_id),
        segment_id: Set(new.segment_id),
        segment_snapshot_id: Set(snapshot_id),
        status: Set(status),
        adapted_text: Set(new.adapted_text),
        adaptation: Set(new.adaptation),
        targeting: Set(new.targeting),
        scheduled_at: Set(new.scheduled_at),
        timezone: Set(new.timezone),
        remote_id: Set(None),
        remote_url: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        idempotency_key: Set(idempotency_key(
            new.post_id,
            new.account_id,
            new.segment_id,
            new.occurrence,
        )),
        published_at: Set(None),
        run_at: Set(new.scheduled_at),
        lease_token: Set(None),
        lease_expires_at: Set(None),
        claimed_by: Set(None),
        lookup_first: Set(false),
        error_kind: Set(None),
        extra_ids: Set(None),
        post_revision: Set(post_revision),
        plugin_id: Set(new.plugin.as_ref().map(|p| p.0.clone())),
        plugin_version: Set(new.plugin.map(|p| p.1)),
        occurrence: Set(new.occurrence),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// A new adaptation for a delivery that has not gone out (the post was edited).
#[derive(Debug, Clone)]
pub struct Readaptation {
    pub adapted_text: Option<String>,
    pub adaptation: Option<serde_json::Value>,
    pub targeting: Option<serde_json::Value>,
    pub post_revision: i32,
    pub plugin: Option<(String, String)>,
}

impl Deliveries<'_> {
    /// Stores one delivery; the (post, account, segment) triple is unique. Checks that need
    /// the audience (a segment too small for native targeting) are the caller's:
    /// [`crate::delivery::plan`].
    pub async fn create(&self, mut new: NewDelivery) -> Result<delivery::Model, StoreError> {
        new.timezone = Zone::parse("delivery.timezone", &new.timezone)?.to_string();
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
        model(self.t.workspace_id, new, snapshot_id, post.revision, now())
            .insert(self.t.db())
            .await
            .map_err(|e| map_db_err("delivery", e))
    }

    /// Stores many deliveries at once (a calendar import, a benchmark), with the checks of
    /// [`Self::create`] made once per post and account; all or none are stored.
    pub async fn create_many(&self, rows: Vec<NewDelivery>) -> Result<u64, StoreError> {
        use std::collections::HashMap;
        let mut posts: HashMap<Uuid, (Uuid, i32)> = HashMap::new();
        let mut accounts: HashMap<Uuid, Uuid> = HashMap::new();
        let at = now();
        let mut models = Vec::with_capacity(rows.len());
        for mut new in rows {
            if new.segment_id.is_some() {
                return Err(Invalid::new(
                    "delivery.segment_id",
                    "deliveries to a segment are created one by one (their snapshot is recorded)",
                )
                .into());
            }
            new.timezone = Zone::parse("delivery.timezone", &new.timezone)?.to_string();
            let (brand, revision) = match posts.get(&new.post_id) {
                Some(p) => *p,
                None => {
                    let p = self.t.posts().get(new.post_id).await?;
                    *posts.entry(new.post_id).or_insert((p.brand_id, p.revision))
                }
            };
            let account_brand = match accounts.get(&new.account_id) {
                Some(b) => *b,
                None => {
                    let a = self.t.accounts().get(new.account_id).await?;
                    *accounts.entry(new.account_id).or_insert(a.brand_id)
                }
            };
            if account_brand != brand {
                return Err(Invalid::new(
                    "delivery.account_id",
                    "the account belongs to another brand than the post",
                )
                .into());
            }
            models.push(model(self.t.workspace_id, new, None, revision, at));
        }
        let n = models.len() as u64;
        let txn = crate::store::begin_write(self.t.db()).await?;
        // Bounded statements: SQLite allows 32,766 bound values, PostgreSQL 65,535.
        let mut rest = models;
        while !rest.is_empty() {
            let chunk: Vec<_> = rest.drain(..rest.len().min(500)).collect();
            delivery::Entity::insert_many(chunk)
                .exec(&txn)
                .await
                .map_err(|e| map_db_err("delivery", e))?;
        }
        txn.commit().await?;
        Ok(n)
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

    /// A calendar's worth: deliveries planned in `[from, to)` (by their instant, or the
    /// fire instant of a recurrence), of the accounts of `brands` (all when `None`), earliest
    /// first, at most `limit`. Recurring posts' templates (never published themselves) are
    /// left out.
    pub async fn in_range(
        &self,
        brands: Option<&[Uuid]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<CalendarRow>, StoreError> {
        use super::entity::social_account;
        use sea_orm::sea_query::Query;
        // Every state named, so both databases walk the (status, scheduled_at) index one
        // state at a time instead of the queue's hot table needing another index.
        let mut q = self
            .t
            .select::<delivery::Entity>()
            .filter(delivery::Column::Status.is_in(DeliveryStatus::ALL.iter().copied()))
            .filter(delivery::Column::ScheduledAt.gte(from))
            .filter(delivery::Column::ScheduledAt.lt(to));
        if let Some(b) = brands {
            q = q.filter(
                delivery::Column::SocialAccountId.in_subquery(
                    Query::select()
                        .column(social_account::Column::Id)
                        .from(social_account::Entity)
                        .and_where(social_account::Column::WorkspaceId.eq(self.t.workspace_id))
                        .and_where(social_account::Column::BrandId.is_in(b.iter().copied()))
                        .to_owned(),
                ),
            );
        }
        // Only what a calendar shows: the adaptation and targeting documents stay unread.
        Ok(q.select_only()
            .columns([
                delivery::Column::Id,
                delivery::Column::PostId,
                delivery::Column::SocialAccountId,
                delivery::Column::SegmentId,
                delivery::Column::Status,
                delivery::Column::ScheduledAt,
                delivery::Column::Timezone,
                delivery::Column::AdaptedText,
            ])
            .order_by_asc(delivery::Column::ScheduledAt)
            .order_by_asc(delivery::Column::Id)
            .limit(limit)
            .into_model::<CalendarRow>()
            .all(self.t.db())
            .await?)
    }

    /// Deliveries of this workspace, newest first, optionally in some states.
    pub async fn list(&self, states: &[DeliveryStatus], limit: u64) -> Result<Vec<delivery::Model>, StoreError> {
        let mut q = self.t.select::<delivery::Entity>();
        if !states.is_empty() {
            q = q.filter(delivery::Column::Status.is_in(states.iter().copied()));
        }
        Ok(q.order_by_desc(delivery::Column::Id)
            .limit(limit)
            .all(self.t.db())
            .await?)
    }

    /// Gives a pending or scheduled delivery its instant (planned in `timezone`).
    pub async fn schedule(&self, id: Uuid, at: DateTime<Utc>, timezone: &str) -> Result<delivery::Model, StoreError> {
        let zone = Zone::parse("delivery.timezone", timezone)?;
        self.move_to(
            id,
            DeliveryStatus::Scheduled,
            &[DeliveryStatus::Pending, DeliveryStatus::Scheduled],
            vec![
                (delivery::Column::ScheduledAt, Expr::value(at)),
                (delivery::Column::RunAt, Expr::value(at)),
                (delivery::Column::Timezone, Expr::value(zone.to_string())),
            ],
        )
        .await
    }

    /// Records the instant a held delivery is planned for (its post awaits approval): it
    /// stays `pending` and no worker claims it until it is scheduled.
    pub async fn plan(&self, id: Uuid, at: DateTime<Utc>, timezone: &str) -> Result<delivery::Model, StoreError> {
        let zone = Zone::parse("delivery.timezone", timezone)?;
        self.move_to(
            id,
            DeliveryStatus::Pending,
            &[DeliveryStatus::Pending, DeliveryStatus::Scheduled],
            vec![
                (delivery::Column::ScheduledAt, Expr::value(at)),
                (delivery::Column::RunAt, Expr::value(Option::<DateTime<Utc>>::None)),
                (delivery::Column::Timezone, Expr::value(zone.to_string())),
            ],
        )
        .await
    }

    /// Makes a delivery a recurring post's template again: no instant, out of the queue
    /// (each occurrence is a copy of it).
    pub async fn unplan(&self, id: Uuid) -> Result<delivery::Model, StoreError> {
        self.move_to(
            id,
            DeliveryStatus::Pending,
            &[DeliveryStatus::Pending, DeliveryStatus::Scheduled],
            vec![
                (
                    delivery::Column::ScheduledAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                ),
                (delivery::Column::RunAt, Expr::value(Option::<DateTime<Utc>>::None)),
            ],
        )
        .await
    }

    /// Takes a scheduled delivery out of the queue, keeping its planned instant (its post
    /// went back to review).
    pub async fn hold(&self, id: Uuid) -> Result<delivery::Model, StoreError> {
        self.move_to(
            id,
            DeliveryStatus::Pending,
            &[DeliveryStatus::Scheduled],
            vec![(delivery::Column::RunAt, Expr::value(Option::<DateTime<Utc>>::None))],
        )
        .await
    }

    /// Cancels a delivery that is not on its way to the platform.
    pub async fn cancel(&self, id: Uuid) -> Result<delivery::Model, StoreError> {
        self.move_to(
            id,
            DeliveryStatus::Cancelled,
            DeliveryStatus::CANCELLABLE,
            vec![(delivery::Column::RunAt, Expr::value(Option::<DateTime<Utc>>::None))],
        )
        .await
    }

    /// A person retries a failed, dead or cancelled delivery: it is due now, with a fresh
    /// attempt count. A lookup owed by an earlier attempt stays owed.
    pub async fn retry(&self, id: Uuid, at: DateTime<Utc>) -> Result<delivery::Model, StoreError> {
        self.move_to(
            id,
            DeliveryStatus::Scheduled,
            DeliveryStatus::RETRYABLE_BY_PERSON,
            vec![
                (delivery::Column::RunAt, Expr::value(at)),
                (delivery::Column::Attempts, Expr::value(0)),
                (delivery::Column::ErrorKind, Expr::value(Option::<String>::None)),
            ],
        )
        .await
    }

    /// Replaces the adaptation of a delivery that has not gone out; a delivery that is
    /// publishing or published, or whose post the platform may have, keeps what it sent.
    pub async fn readapt(&self, id: Uuid, r: Readaptation) -> Result<delivery::Model, StoreError> {
        let current = self.get(id).await?;
        if current.lookup_first {
            return Err(StoreError::Stale {
                kind: "delivery",
                id,
                expected: "a delivery the platform cannot have".into(),
                found: format!("{} with a lookup owed (the platform may have the post)", current.status),
            });
        }
        // Only from the state just read and with no lookup owed: a delivery that went out
        // (and failed) meanwhile keeps what it sent.
        self.move_where(
            id,
            current.status,
            &[current.status],
            Some(delivery::Column::LookupFirst.eq(false)),
            vec![
                (delivery::Column::AdaptedText, Expr::value(r.adapted_text)),
                (delivery::Column::Adaptation, Expr::value(r.adaptation)),
                (delivery::Column::Targeting, Expr::value(r.targeting)),
                (delivery::Column::PostRevision, Expr::value(r.post_revision)),
                (
                    delivery::Column::PluginId,
                    Expr::value(r.plugin.as_ref().map(|p| p.0.clone())),
                ),
                (delivery::Column::PluginVersion, Expr::value(r.plugin.map(|p| p.1))),
            ],
        )
        .await
    }

    /// A delivery that did not publish and owed a lookup, which the platform turned out to
    /// have (its plugin's `find-published` found it): it is published after all.
    pub async fn found_on_platform(
        &self,
        id: Uuid,
        from: DeliveryStatus,
        post: &crate::store::PublishedPost,
    ) -> Result<delivery::Model, StoreError> {
        let extra = (!post.extra_ids.is_empty()).then(|| serde_json::json!(post.extra_ids));
        self.move_where(
            id,
            DeliveryStatus::Published,
            &[from],
            Some(delivery::Column::LookupFirst.eq(true)),
            vec![
                (delivery::Column::RemoteId, Expr::value(post.remote_id.clone())),
                (delivery::Column::RemoteUrl, Expr::value(post.remote_url.clone())),
                (delivery::Column::ExtraIds, Expr::value(extra)),
                (delivery::Column::PublishedAt, Expr::value(now())),
                (delivery::Column::LookupFirst, Expr::value(false)),
                (delivery::Column::RunAt, Expr::value(Option::<DateTime<Utc>>::None)),
                (delivery::Column::LastError, Expr::value(Option::<String>::None)),
                (delivery::Column::ErrorKind, Expr::value(Option::<String>::None)),
            ],
        )
        .await
    }

    /// A delivery that did not publish and owed a lookup, which the platform turned out not
    /// to have: nothing of it is out there, so it may be changed and sent afresh.
    pub async fn clear_lookup(&self, id: Uuid, status: DeliveryStatus) -> Result<delivery::Model, StoreError> {
        self.move_where(
            id,
            status,
            &[status],
            Some(delivery::Column::LookupFirst.eq(true)),
            vec![(delivery::Column::LookupFirst, Expr::value(false))],
        )
        .await
    }

    /// One conditional UPDATE: the move happens only from `from`, so a worker's claim and a
    /// person's edit never both win.
    async fn move_to(
        &self,
        id: Uuid,
        to: DeliveryStatus,
        from: &[DeliveryStatus],
        sets: Vec<(delivery::Column, SimpleExpr)>,
    ) -> Result<delivery::Model, StoreError> {
        self.move_where(id, to, from, None, sets).await
    }

    /// [`Self::move_to`], on rows that also match `also`.
    async fn move_where(
        &self,
        id: Uuid,
        to: DeliveryStatus,
        from: &[DeliveryStatus],
        also: Option<SimpleExpr>,
        sets: Vec<(delivery::Column, SimpleExpr)>,
    ) -> Result<delivery::Model, StoreError> {
        let mut q = delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(to))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now()));
        for (c, v) in sets {
            q = q.col_expr(c, v);
        }
        if let Some(also) = &also {
            q = q.filter(also.clone());
        }
        let res = q
            .filter(delivery::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(delivery::Column::Id.eq(id))
            .filter(delivery::Column::Status.is_in(from.iter().copied()))
            .exec(self.t.db())
            .await?;
        if res.rows_affected == 0 {
            let found = self.get(id).await?;
            let lookup = if found.lookup_first { ", a lookup owed" } else { "" };
            return Err(StoreError::Stale {
                kind: "delivery",
                id,
                expected: from.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or "),
                found: format!("{}{lookup}", found.status),
            });
        }
        self.get(id).await
    }
}
