//! Recurring posts: their schedules, their template deliveries and the occurrences made
//! from them. An occurrence's idempotency key carries its fire instant, and the unique
//! index on that key is what makes materialising one occurrence twice impossible: a
//! second insert of the same occurrence does nothing, on either database.

use super::entity::{delivery, recurrence};
use super::{Store, Tenant, map_db_err, now};
use crate::StoreError;
use crate::domain::{DeliveryStatus, Zone, idempotency_key, new_id};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

pub struct Recurrences<'a> {
    pub(crate) t: Tenant<'a>,
}

impl Recurrences<'_> {
    /// Creates or replaces the post's recurrence; it is materialised from `from` on.
    pub async fn set(
        &self,
        post_id: Uuid,
        cron: &str,
        zone: Zone,
        until: Option<DateTime<Utc>>,
        enabled: bool,
        from: DateTime<Utc>,
    ) -> Result<recurrence::Model, StoreError> {
        self.t.posts().get(post_id).await?;
        let at = now();
        if let Some(existing) = self.get(post_id).await? {
            let mut row: recurrence::ActiveModel = existing.into();
            row.cron = Set(cron.to_owned());
            row.timezone = Set(zone.to_string());
            row.ends_at = Set(until);
            row.enabled = Set(enabled);
            row.materialized_until = Set(from);
            row.updated_at = Set(at);
            return Ok(row.update(self.t.db()).await?);
        }
        recurrence::ActiveModel {
            id: Set(new_id()),
            workspace_id: Set(self.t.workspace_id),
            post_id: Set(post_id),
            cron: Set(cron.to_owned()),
            timezone: Set(zone.to_string()),
            materialized_until: Set(from),
            ends_at: Set(until),
            enabled: Set(enabled),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("recurrence", e))
    }

    pub async fn get(&self, post_id: Uuid) -> Result<Option<recurrence::Model>, StoreError> {
        Ok(self
            .t
            .select::<recurrence::Entity>()
            .filter(recurrence::Column::PostId.eq(post_id))
            .one(self.t.db())
            .await?)
    }

    /// Ends the post's recurrence (it was scheduled another way): the rule goes, and so do
    /// the occurrences made from it that no worker has touched yet; those that went out or
    /// are going out stay. Returns how many occurrences were removed.
    pub async fn remove(&self, post_id: Uuid) -> Result<u64, StoreError> {
        let gone = self.drop_waiting_occurrences(post_id).await?;
        recurrence::Entity::delete_many()
            .filter(recurrence::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(recurrence::Column::PostId.eq(post_id))
            .exec(self.t.db())
            .await?;
        Ok(gone)
    }

    /// Removes the post's occurrences still waiting (pending or scheduled): the rule that
    /// made them is being replaced, and the new one makes its own (an occurrence of the same
    /// instant would otherwise be skipped as existing).
    pub async fn drop_waiting_occurrences(&self, post_id: Uuid) -> Result<u64, StoreError> {
        let res = delivery::Entity::delete_many()
            .filter(delivery::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(delivery::Column::PostId.eq(post_id))
            .filter(delivery::Column::Occurrence.is_not_null())
            .filter(delivery::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Scheduled]))
            .exec(self.t.db())
            .await?;
        Ok(res.rows_affected)
    }

    /// Starts or stops a post's recurrence (approval holds it; cancelling stops it).
    pub async fn enable(&self, post_id: Uuid, enabled: bool) -> Result<(), StoreError> {
        recurrence::Entity::update_many()
            .col_expr(recurrence::Column::Enabled, Expr::value(enabled))
            .col_expr(recurrence::Column::UpdatedAt, Expr::value(now()))
            .filter(recurrence::Column::WorkspaceId.eq(self.t.workspace_id))
            .filter(recurrence::Column::PostId.eq(post_id))
            .exec(self.t.db())
            .await?;
        Ok(())
    }

    /// The post's templates: the deliveries each occurrence is copied from.
    pub async fn templates(&self, post_id: Uuid) -> Result<Vec<delivery::Model>, StoreError> {
        Ok(self
            .t
            .select::<delivery::Entity>()
            .filter(delivery::Column::PostId.eq(post_id))
            .filter(delivery::Column::Occurrence.is_null())
            .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(delivery::Column::ScheduledAt.is_null())
            .order_by_asc(delivery::Column::Id)
            .all(self.t.db())
            .await?)
    }

    /// Stores the occurrences at `instants` of every template, skipping those that exist;
    /// then moves the recurrence's horizon from `seen` to `until` (only if no one else
    /// moved it meanwhile). Returns how many deliveries were created.
    pub async fn materialize(
        &self,
        r: &recurrence::Model,
        templates: &[delivery::Model],
        instants: &[DateTime<Utc>],
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let at = now();
        let mut rows = Vec::with_capacity(templates.len() * instants.len());
        for fire in instants {
            for t in templates {
                rows.push(delivery::ActiveModel {
                    id: Set(new_id()),
                    status: Set(DeliveryStatus::Scheduled),
                    scheduled_at: Set(Some(*fire)),
                    run_at: Set(Some(*fire)),
                    timezone: Set(r.timezone.clone()),
                    occurrence: Set(Some(*fire)),
                    idempotency_key: Set(idempotency_key(
                        t.post_id,
                        t.social_account_id,
                        t.segment_id,
                        Some(*fire),
                    )),
                    created_at: Set(at),
                    updated_at: Set(at),
                    ..copy_of(t)
                });
            }
        }
        let mut created = 0;
        while !rows.is_empty() {
            let chunk: Vec<_> = rows.drain(..rows.len().min(200)).collect();
            created += delivery::Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::column(delivery::Column::IdempotencyKey)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(self.t.db())
                .await
                .map_err(|e| map_db_err("delivery", e))?;
        }
        recurrence::Entity::update_many()
            .col_expr(recurrence::Column::MaterializedUntil, Expr::value(until))
            .col_expr(recurrence::Column::UpdatedAt, Expr::value(at))
            .filter(recurrence::Column::Id.eq(r.id))
            .filter(recurrence::Column::MaterializedUntil.eq(r.materialized_until))
            .exec(self.t.db())
            .await?;
        Ok(created)
    }
}

/// A template's content, for an occurrence (the caller sets what differs).
fn copy_of(t: &delivery::Model) -> delivery::ActiveModel {
    delivery::ActiveModel {
        workspace_id: Set(t.workspace_id),
        post_id: Set(t.post_id),
        social_account_id: Set(t.social_account_id),
        segment_id: Set(t.segment_id),
        segment_snapshot_id: Set(t.segment_snapshot_id),
        adapted_text: Set(t.adapted_text.clone()),
        adaptation: Set(t.adaptation.clone()),
        targeting: Set(t.targeting.clone()),
        remote_id: Set(None),
        remote_url: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        published_at: Set(None),
        lease_token: Set(None),
        lease_expires_at: Set(None),
        claimed_by: Set(None),
        lookup_first: Set(false),
        error_kind: Set(None),
        extra_ids: Set(None),
        post_revision: Set(t.post_revision),
        plugin_id: Set(t.plugin_id.clone()),
        plugin_version: Set(t.plugin_version.clone()),
        ..Default::default()
    }
}

impl Store {
    /// Enabled recurrences, across workspaces, whose horizon is before `before` (for the
    /// leader that materialises them).
    pub async fn recurrences_due(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<recurrence::Model>, StoreError> {
        Ok(recurrence::Entity::find()
            .filter(recurrence::Column::Enabled.eq(true))
            .filter(recurrence::Column::MaterializedUntil.lt(before))
            .order_by_asc(recurrence::Column::MaterializedUntil)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}
