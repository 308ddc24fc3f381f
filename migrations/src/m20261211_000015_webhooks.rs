//! Webhooks: a workspace's subscriptions (a URL, the events it wants, a signing secret
//! sealed at rest) and the outbox of deliveries to them, written in the same transaction
//! as the change they report, retried with backoff, and kept as the delivery log.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Url,
    Events,
    Secret,
    Enabled,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Event,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastStatus,
    LastError,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(string_len(Webhooks::Url, 2000))
                .col(json_binary(Webhooks::Events))
                .col(blob(Webhooks::Secret))
                .col(boolean(Webhooks::Enabled))
                .col(uuid_null(Alias::new("created_by")))
                .col(cols::created_at())
                .foreign_key(&mut fk_workspace(Webhooks::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("webhooks", &["workspace_id"], false)).await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("webhook_id")))
                .col(string_len(WebhookDeliveries::Event, 64))
                .col(text(WebhookDeliveries::Payload))
                .col(string_len(WebhookDeliveries::Status, 16))
                .col(integer(WebhookDeliveries::Attempts))
                .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                .col(timestamp_with_time_zone_null(WebhookDeliveries::LockedUntil))
                .col(integer_null(WebhookDeliveries::LastStatus))
                .col(string_len_null(WebhookDeliveries::LastError, 1000))
                .col(cols::created_at())
                .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                .foreign_key(&mut fk_workspace(WebhookDeliveries::Table))
                .foreign_key(&mut fk(
                    WebhookDeliveries::Table,
                    "webhook_id",
                    Webhooks::Table,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("webhook_deliveries", &["status", "next_attempt_at"], false))
            .await?;
        m.create_index(index("webhook_deliveries", &["webhook_id", "created_at"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Webhooks::Table).to_owned()).await
    }
}
