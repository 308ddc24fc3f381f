//! Waking workers when deliveries become due: on PostgreSQL a `NOTIFY` on one channel,
//! which every worker `LISTEN`s to, so a post scheduled for "now" on one node starts at
//! once on another; polling (every `EngineSettings::poll`) backs it up, and is all there is
//! on SQLite, where the engine runs in the same process as whoever scheduled.

use super::{DatabaseKind, Store, Tenant};
use crate::StoreError;
use sea_orm::ConnectionTrait;

/// The channel workers listen on.
pub const CHANNEL: &str = "chorus_deliveries";

impl Store {
    /// Tells listening workers that deliveries are due (a no-op on SQLite). A lost
    /// notification costs at most one poll interval, so failures are only logged.
    pub async fn notify_due(&self) {
        if self.kind == DatabaseKind::Postgres
            && let Err(e) = self.db.execute_unprepared(&format!("NOTIFY {CHANNEL}")).await
        {
            tracing::debug!(error = %e, "NOTIFY failed; workers will see the deliveries at their next poll");
        }
    }

    /// A listener for [`CHANNEL`] on PostgreSQL (its own connection from the pool); `None`
    /// on SQLite.
    pub async fn listen_due(&self) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        if self.kind != DatabaseKind::Postgres {
            return Ok(None);
        }
        let pool = self.db.get_postgres_connection_pool();
        let mut listener = sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(|e| StoreError::Database(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string()))))?;
        listener
            .listen(CHANNEL)
            .await
            .map_err(|e| StoreError::Database(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string()))))?;
        Ok(Some(listener))
    }
}

impl Tenant<'_> {
    /// [`Store::notify_due`], for code that holds a tenant.
    pub async fn notify_due(&self) {
        self.store.notify_due().await
    }
}
