//! Webhook subscriptions (tenant-scoped) and their outbox. An event is written as one
//! `webhook_deliveries` row per subscriber in the same transaction as the change it reports
//! (see [`enqueue`], called by the audit log), so an event is never lost nor sent for a
//! change that rolled back. Senders claim due rows one conditional UPDATE at a time, fenced
//! by the attempt number, so two nodes never send the same attempt.

use super::entity::StringList;
use super::entity::{webhook, webhook_delivery};
use super::{Store, Tenant, map_db_err, now};
use crate::domain::new_id;
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

/// Events a webhook can subscribe to.
pub const EVENTS: &[&str] = &[
    "post.published",
    "post.failed",
    "approval.requested",
    "approval.decided",
    "account.needs_reauth",
];

/// Delivery states.
pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";

pub struct Webhooks<'a> {
    pub(super) t: Tenant<'a>,
}

/// A subscription as created: its signing secret is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    pub webhook: webhook::Model,
    pub secret: String,
}

impl Webhooks<'_> {
    /// Subscribes `url` (already checked by the caller against the network policy) to
    /// `events`, with a new signing secret.
    pub async fn create(&self, url: &str, events: &[String], by: Option<Uuid>) -> Result<CreatedWebhook, StoreError> {
        if events.is_empty() {
            return Err(Invalid::new("events", format!("name at least one of {}", EVENTS.join(", "))).into());
        }
        if let Some(bad) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(Invalid::new("events", format!("{bad:?} is not an event; use {}", EVENTS.join(", "))).into());
        }
        let id = new_id();
        let secret = super::identity::new_secret("whsec_");
        let row = webhook::ActiveModel {
            id: Set(id),
            workspace_id: Set(self.t.workspace_id),
            url: Set(url.to_owned()),
            events: Set(StringList(events.to_vec())),
            secret: Set(self.t.store.key.seal(id, secret.as_bytes())?),
            enabled: Set(true),
            created_by: Set(by),
            created_at: Set(now()),
        }
        .insert(self.t.db())
        .await
        .map_err(|e| map_db_err("webhook", e))?;
        Ok(CreatedWebhook { webhook: row, secret })
    }

    pub async fn list(&self) -> Result<Vec<webhook::Model>, StoreError> {
        Ok(self
            .t
            .select::<webhook::Entity>()
            .order_by_asc(webhook::Column::CreatedAt)
            .all(self.t.db())
            .await?)
    }

    pub async fn get(&self, id: Uuid) -> Result<webhook::Model, StoreError> {
        self.t.get::<webhook::Entity>(id).await
    }

    /// Removes a subscription and its delivery log.
    pub async fn delete(&self, id: Uuid) -> Result<(), StoreError> {
        let w = self.get(id).await?;
        webhook::Entity::delete_by_id(w.id).exec(self.t.db()).await?;
        Ok(())
    }

    /// A subscription's deliveries, newest first.
    pub async fn deliveries(&self, id: Uuid, limit: u64) -> Result<Vec<webhook_delivery::Model>, StoreError> {
        self.get(id).await?;
        Ok(self
            .t
            .select::<webhook_delivery::Entity>()
            .filter(webhook_delivery::Column::WebhookId.eq(id))
            .order_by_desc(webhook_delivery::Column::CreatedAt)
            .limit(limit)
            .all(self.t.db())
            .await?)
    }
}

/// Writes `event` for every enabled subscriber in the workspace, on `db` (the caller's
/// transaction). `data` becomes the payload's `data`.
pub(crate) async fn enqueue(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    event: &str,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    let subscribers = webhook::Entity::find()
        .filter(webhook::Column::WorkspaceId.eq(workspace_id))
        .filter(webhook::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let at = now();
    for w in subscribers.iter().filter(|w| w.events.0.iter().any(|e| e == event)) {
        let id = new_id();
        let payload = serde_json::json!({
            "id": id,
            "type": event,
            "created_at": at,
            "workspace_id": workspace_id,
            "data": data,
        });
        webhook_delivery::ActiveModel {
            id: Set(id),
            workspace_id: Set(workspace_id),
            webhook_id: Set(w.id),
            event: Set(event.to_owned()),
            payload: Set(payload.to_string()),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(at),
            locked_until: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(at),
            delivered_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// A delivery claimed for one attempt: its row (with `attempts` counting this one), its
/// subscription's URL and signing secret.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub delivery: webhook_delivery::Model,
    pub url: String,
    pub secret: String,
}

impl Store {
    /// Claims up to `n` due deliveries for one attempt each, until `lock` from now: pending
    /// ones whose time has come, and sending ones whose sender went quiet.
    pub async fn claim_webhook_deliveries(&self, n: u64, lock: chrono::Duration) -> Result<Vec<Outgoing>, StoreError> {
        let at = now();
        let due = Condition::any()
            .add(
                Condition::all()
                    .add(webhook_delivery::Column::Status.eq(PENDING))
                    .add(webhook_delivery::Column::NextAttemptAt.lte(at)),
            )
            .add(
                Condition::all()
                    .add(webhook_delivery::Column::Status.eq(SENDING))
                    .add(webhook_delivery::Column::LockedUntil.lt(at)),
            );
        let candidates = webhook_delivery::Entity::find()
            .filter(due.clone())
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .limit(n)
            .all(&self.db)
            .await?;
        let mut out = Vec::new();
        for c in candidates {
            // Whoever moves the row from what it read owns this attempt.
            let res = webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::Status, SENDING.into())
                .col_expr(webhook_delivery::Column::Attempts, (c.attempts + 1).into())
                .col_expr(webhook_delivery::Column::LockedUntil, (at + lock).into())
                .filter(webhook_delivery::Column::Id.eq(c.id))
                .filter(webhook_delivery::Column::Attempts.eq(c.attempts))
                .filter(due.clone())
                .exec(&self.db)
                .await?;
            if res.rows_affected != 1 {
                continue;
            }
            let Some(w) = webhook::Entity::find_by_id(c.webhook_id).one(&self.db).await? else {
                continue;
            };
            let secret = String::from_utf8(self.key.open(w.id, &w.secret)?).map_err(|e| StoreError::Crypto {
                action: "opened",
                reason: e.to_string(),
            })?;
            out.push(Outgoing {
                delivery: webhook_delivery::Model {
                    status: SENDING.to_owned(),
                    attempts: c.attempts + 1,
                    ..c
                },
                url: w.url,
                secret,
            });
        }
        Ok(out)
    }

    /// Records the end of a claimed attempt: delivered, tried again at `retry_at`, or dead
    /// (`retry_at` None). Fenced by the attempt number: a sender that lost its claim
    /// changes nothing.
    pub async fn finish_webhook_delivery(
        &self,
        claimed: &webhook_delivery::Model,
        delivered: bool,
        status: Option<u16>,
        error: Option<String>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let at = now();
        let (state, next) = match (delivered, retry_at) {
            (true, _) => (DELIVERED, claimed.next_attempt_at),
            (false, Some(t)) => (PENDING, t),
            (false, None) => (DEAD, claimed.next_attempt_at),
        };
        let res = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, state.into())
            .col_expr(webhook_delivery::Column::NextAttemptAt, next.into())
            .col_expr(
                webhook_delivery::Column::LockedUntil,
                Option::<DateTime<Utc>>::None.into(),
            )
            .col_expr(webhook_delivery::Column::LastStatus, status.map(i32::from).into())
            .col_expr(
                webhook_delivery::Column::LastError,
                error.map(|e| e.chars().take(1000).collect::<String>()).into(),
            )
            .col_expr(webhook_delivery::Column::DeliveredAt, delivered.then_some(at).into())
            .filter(webhook_delivery::Column::Id.eq(claimed.id))
            .filter(webhook_delivery::Column::Status.eq(SENDING))
            .filter(webhook_delivery::Column::Attempts.eq(claimed.attempts))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected == 1)
    }
}
