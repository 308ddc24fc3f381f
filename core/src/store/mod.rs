//! The repository layer: the only code that builds queries.
//!
//! [`Store`] owns the connection pool and the credential key. Tenant-owned data is reached
//! only through [`Store::tenant`], whose [`Tenant`] adds `workspace_id = ?` to every query
//! it builds, so isolation between workspaces is enforced here and nowhere else.

mod accounts;
pub(crate) mod audit;
pub mod authorizations;
mod brands;
mod connect;
mod deliveries;
pub mod entity;
pub mod identity;
mod leases;
mod media;
mod notify;
mod people;
mod posts;
pub mod queue;
mod recurrences;
mod schedules;
mod segments;
mod tenant;
pub mod webhooks;
mod workspaces;

pub use accounts::NewAccount;
pub use audit::AuditEntry;
pub use authorizations::{NewAuthorization, TakenAuthorization};
pub use brands::NewBrand;
pub use connect::{ConnectError, DatabaseKind, ScratchDatabase, redact_url};
pub use deliveries::{NewDelivery, Readaptation};
pub use identity::{IssuedToken, NewToken, OpenedSession, SignedIn};
pub use media::NewMediaAsset;
pub use people::NewUser;
pub use posts::Settlement;
pub use queue::{AttemptFailure, Claim, PublishedPost, Queue, Rescued, Write};
pub use segments::{NewPersona, NewSegment};
pub use tenant::Tenant;
pub use workspaces::NewWorkspace;

use crate::StoreError;
use crate::secrets::SecretKey;
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so it waits its turn under `busy_timeout`; a deferred transaction
/// that reads first and writes later fails with `SQLITE_BUSY_SNAPSHOT` as soon as another
/// connection has committed in between, and no timeout helps it. PostgreSQL ignores the mode.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The database, migrated and ready, with the key that seals credentials.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    key: SecretKey,
    kind: DatabaseKind,
    /// Queues this process's busiest write transactions on SQLite (see [`Store::write_turn`]).
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Workspaces are the roots of tenancy; listing and creating them is not tenant-scoped.
    pub fn workspaces(&self) -> workspaces::Workspaces<'_> {
        workspaces::Workspaces { db: &self.db }
    }

    /// People exist across workspaces; their roles do not (see [`Tenant::memberships`]).
    pub fn users(&self) -> people::Users<'_> {
        people::Users { db: &self.db }
    }

    /// Passwords, sessions and API-token lookups (before the caller's workspace is known).
    pub fn identity(&self) -> identity::Identity<'_> {
        identity::Identity { db: &self.db }
    }

    /// The delivery queue across workspaces, for workers.
    pub fn queue(&self) -> queue::Queue<'_> {
        queue::Queue { store: self }
    }

    /// Everything that belongs to one workspace.
    pub fn tenant(&self, workspace_id: uuid::Uuid) -> Tenant<'_> {
        Tenant::new(self, workspace_id)
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// Waits for this process's turn to write, on SQLite. SQLite has one writer at a time,
    /// and a connection that finds the database locked polls it from a busy handler that
    /// sleeps between tries (1, 2, 5, 10 ms and more): the claim loop and the delivery
    /// writer, which take turns hundreds of times a second, would spend most of their time
    /// asleep. Waiting here instead hands the turn over the moment it is free. Other
    /// processes (a `chorus` command beside the server) still meet `busy_timeout`. On
    /// PostgreSQL writers do not exclude each other and there is no turn to take.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.kind {
            DatabaseKind::Sqlite => Some(self.write_gate.clone().lock_owned().await),
            DatabaseKind::Postgres => None,
        }
    }

    /// Answers whether the database responds right now (for readiness checks).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }

    /// The plugins' key-value store, kept in this database.
    pub fn plugin_kv(&self) -> crate::plugins::DbKv {
        crate::plugins::DbKv(self.db.clone())
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.db.close().await
    }
}

/// Turns constraint violations into domain errors; everything else stays a database error.
pub(crate) fn map_db_err(kind: &'static str, err: DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => StoreError::Conflict { kind, detail },
        Some(SqlErr::ForeignKeyConstraintViolation(detail)) => StoreError::Invalid(crate::Invalid::new(
            kind,
            format!("refers to something that does not exist in this workspace ({detail})"),
        )),
        _ => StoreError::Database(err),
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
