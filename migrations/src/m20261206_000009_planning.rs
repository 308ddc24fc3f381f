//! Planning: approvals that hold a post, recurring posts, and the leader lease that lets
//! exactly one node materialise recurrences.
//!
//! - `brands.requires_approval`: a post of such a brand is held (its deliveries stay
//!   `pending` with their planned instant) until it is approved.
//! - `deliveries.occurrence`: the fire instant of a recurring post's delivery (NULL for a
//!   one-off delivery, and for a recurring post's templates). The occurrence is part of the
//!   delivery's idempotency key, so the unique index on that key makes enqueueing one
//!   occurrence twice impossible on every database.
//! - `recurrences`: a post's cron schedule on a zone's wall clock and how far ahead it has
//!   been materialised.
//! - `leader_leases`: named leases a node holds for a while (`maintenance` is one), taken
//!   with one conditional UPDATE so two nodes never both hold one.
//! - `social_accounts.refresh_holder`, `refresh_until`: the worker refreshing the account's
//!   token, and until when its lock holds, so one refresh runs per account across workers
//!   (single-use refresh tokens would otherwise be spent twice).
//! - `social_accounts.paused_until`: the platform answered 429; every worker leaves the
//!   account alone until then (a 429 slows that account down, not the queue).

use crate::cols;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Brands {
    Table,
    RequiresApproval,
}

#[derive(DeriveIden)]
enum SocialAccounts {
    Table,
    RefreshHolder,
    RefreshUntil,
    PausedUntil,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Occurrence,
}

#[derive(DeriveIden)]
enum Recurrences {
    Table,
    PostId,
    Cron,
    Timezone,
    MaterializedUntil,
    EndsAt,
    Enabled,
}

#[derive(DeriveIden)]
enum LeaderLeases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Brands::Table)
                .add_column(boolean(Brands::RequiresApproval).default(false))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .add_column(timestamp_with_time_zone_null(Deliveries::Occurrence))
                .to_owned(),
        )
        .await?;
        for column in [
            string_len_null(SocialAccounts::RefreshHolder, 120),
            timestamp_with_time_zone_null(SocialAccounts::RefreshUntil),
            timestamp_with_time_zone_null(SocialAccounts::PausedUntil),
        ] {
            m.alter_table(
                Table::alter()
                    .table(SocialAccounts::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(Recurrences::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Recurrences::PostId).unique_key())
                .col(string_len(Recurrences::Cron, 120))
                .col(string_len(Recurrences::Timezone, 64))
                .col(timestamp_with_time_zone(Recurrences::MaterializedUntil))
                .col(timestamp_with_time_zone_null(Recurrences::EndsAt))
                .col(boolean(Recurrences::Enabled).default(true))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut cols::fk_workspace(Recurrences::Table))
                .foreign_key(&mut cols::fk(
                    Recurrences::Table,
                    "post_id",
                    Alias::new("posts"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(cols::index("recurrences", &["enabled", "materialized_until"], false))
            .await?;
        m.create_table(
            Table::create()
                .table(LeaderLeases::Table)
                .col(cols::id())
                .col(string_len(LeaderLeases::Name, 64).unique_key())
                .col(string_len(LeaderLeases::Holder, 120))
                .col(timestamp_with_time_zone(LeaderLeases::ExpiresAt))
                .col(cols::created_at())
                .col(cols::updated_at())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LeaderLeases::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Recurrences::Table).to_owned()).await?;
        for column in [
            SocialAccounts::RefreshHolder,
            SocialAccounts::RefreshUntil,
            SocialAccounts::PausedUntil,
        ] {
            m.alter_table(
                Table::alter()
                    .table(SocialAccounts::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .drop_column(Deliveries::Occurrence)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Brands::Table)
                .drop_column(Brands::RequiresApproval)
                .to_owned(),
        )
        .await
    }
}
