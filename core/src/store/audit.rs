//! The audit log: append-only, per workspace.

use super::entity::audit_log;
use super::{Tenant, now};
use crate::StoreError;
use crate::domain::new_id;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

pub struct Audit<'a> {
    pub(crate) t: Tenant<'a>,
}

/// One thing that happened, as recorded.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: Option<Uuid>,
    pub action: &'static str,
    pub subject_kind: &'static str,
    pub subject_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

/// Appends on any connection, so an entry commits in the same transaction as its change.
pub(crate) async fn append(db: &impl ConnectionTrait, workspace_id: Uuid, e: AuditEntry) -> Result<(), StoreError> {
    // A change webhooks report is queued for them in the same transaction (an outbox).
    let event = crate::webhooks::event_of(&e);
    audit_log::ActiveModel {
        id: Set(new_id()),
        workspace_id: Set(workspace_id),
        actor_user_id: Set(e.actor),
        action: Set(e.action.to_owned()),
        subject_kind: Set(e.subject_kind.to_owned()),
        subject_id: Set(e.subject_id),
        detail: Set(e.detail),
        at: Set(now()),
    }
    .insert(db)
    .await?;
    if let Some((event, data)) = event {
        super::webhooks::enqueue(db, workspace_id, event, data).await?;
    }
    Ok(())
}

impl Audit<'_> {
    pub async fn record(&self, entry: AuditEntry) -> Result<(), StoreError> {
        append(self.t.db(), self.t.workspace_id, entry).await
    }

    /// The newest entries first, optionally about one subject.
    pub async fn recent(&self, subject: Option<Uuid>, limit: u64) -> Result<Vec<audit_log::Model>, StoreError> {
        let mut q = self.t.select::<audit_log::Entity>();
        if let Some(s) = subject {
            q = q.filter(audit_log::Column::SubjectId.eq(s));
        }
        // UUIDv7 ids grow with time, so they break ties between equal timestamps.
        Ok(q.order_by_desc(audit_log::Column::At)
            .order_by_desc(audit_log::Column::Id)
            .limit(limit)
            .all(self.t.db())
            .await?)
    }
}
