//! The delivery queue: the columns a worker needs to claim, lease, retry and recover a
//! delivery, and the lineage that says where its adaptation came from.
//!
//! - `run_at`: when the delivery may next be claimed (its instant, or a retry's backoff);
//!   `scheduled_at` stays the instant the person planned, so lateness is measured against it.
//! - `lease_token`, `lease_expires_at`, `claimed_by`: the current attempt's fence. Every
//!   write of a worker names the token; a rescued attempt's token no longer matches.
//! - `lookup_first`: a publish may have reached the platform (the answer was lost or the
//!   worker died): the next attempt asks the plugin's `find-published` before publishing.
//! - `error_kind`: why the last attempt did not publish (`invalid_input`, `denied`, ...).
//! - `extra_ids`: further remote ids of a published delivery (thread replies).
//! - lineage: `post_revision`, `plugin_id`, `plugin_version`.
//!
//! Two partial indexes keep the claim and the rescue scans to the rows they can touch
//! (SQLite and PostgreSQL both take `CREATE INDEX ... WHERE`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    RunAt,
    LeaseToken,
    LeaseExpiresAt,
    ClaimedBy,
    LookupFirst,
    ErrorKind,
    ExtraIds,
    PostRevision,
    PluginId,
    PluginVersion,
}

fn add(column: ColumnDef) -> TableAlterStatement {
    // SQLite takes one ADD COLUMN per statement.
    Table::alter().table(Deliveries::Table).add_column(column).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            timestamp_with_time_zone_null(Deliveries::RunAt),
            uuid_null(Deliveries::LeaseToken),
            timestamp_with_time_zone_null(Deliveries::LeaseExpiresAt),
            string_len_null(Deliveries::ClaimedBy, 120),
            boolean(Deliveries::LookupFirst).default(false).to_owned(),
            string_len_null(Deliveries::ErrorKind, 24),
            json_binary_null(Deliveries::ExtraIds),
            integer(Deliveries::PostRevision).default(1).to_owned(),
            string_len_null(Deliveries::PluginId, 64),
            string_len_null(Deliveries::PluginVersion, 64),
        ] {
            m.alter_table(add(column)).await?;
        }
        let db = m.get_connection();
        db.execute_unprepared("UPDATE deliveries SET run_at = scheduled_at WHERE status = 'scheduled'")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_deliveries_due ON deliveries (run_at) \
             WHERE status IN ('scheduled', 'retrying', 'outcome_unknown')",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_deliveries_leased ON deliveries (lease_expires_at) \
             WHERE status IN ('claimed', 'publishing')",
        )
        .await?;
        // Publish budgets count an account's recent posts.
        db.execute_unprepared(
            "CREATE INDEX ix_deliveries_account_published ON deliveries (social_account_id, published_at)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ix_deliveries_due").await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_deliveries_leased")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_deliveries_account_published")
            .await?;
        for column in [
            Deliveries::RunAt,
            Deliveries::LeaseToken,
            Deliveries::LeaseExpiresAt,
            Deliveries::ClaimedBy,
            Deliveries::LookupFirst,
            Deliveries::ErrorKind,
            Deliveries::ExtraIds,
            Deliveries::PostRevision,
            Deliveries::PluginId,
            Deliveries::PluginVersion,
        ] {
            m.alter_table(Table::alter().table(Deliveries::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
