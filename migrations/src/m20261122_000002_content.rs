//! Content: campaigns, media assets, audience segments and personas, posts and their
//! deliveries (one post x one account x one segment), and posting schedules.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum MediaAssets {
    Table,
    Kind,
    MimeType,
    ByteSize,
    Width,
    Height,
    DurationMs,
    Sha256,
    StorageKey,
    AltText,
}

#[derive(DeriveIden)]
enum AudienceSegments {
    Table,
    Name,
    Kind,
    FunnelStage,
    Description,
    Rule,
    Tone,
}

#[derive(DeriveIden)]
enum Personas {
    Table,
    Name,
    Profile,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Body,
    Link,
    Hashtags,
    Locale,
    Status,
    StatusChangedAt,
    Revision,
}

#[derive(DeriveIden)]
enum PostMedia {
    Table,
    PostId,
    Position,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Status,
    AdaptedText,
    Adaptation,
    Targeting,
    ScheduledAt,
    Timezone,
    RemoteId,
    RemoteUrl,
    Attempts,
    LastError,
    IdempotencyKey,
    PublishedAt,
}

#[derive(DeriveIden)]
enum PostingSchedules {
    Table,
    Name,
    Cron,
    Timezone,
    Enabled,
}

fn brand_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    fk(table, "brand_id", Alias::new("brands"), ForeignKeyAction::Cascade)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Campaigns::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(string_len(Campaigns::Name, 200))
                .col(cols::created_at())
                .foreign_key(&mut fk_workspace(Campaigns::Table))
                .foreign_key(&mut brand_fk(Campaigns::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("campaigns", &["brand_id", "name"], true)).await?;

        m.create_table(
            Table::create()
                .table(MediaAssets::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(string_len(MediaAssets::Kind, 16))
                .col(string_len(MediaAssets::MimeType, 100))
                .col(big_integer(MediaAssets::ByteSize))
                .col(integer_null(MediaAssets::Width))
                .col(integer_null(MediaAssets::Height))
                .col(big_integer_null(MediaAssets::DurationMs))
                .col(string_len(MediaAssets::Sha256, 64))
                .col(string_len(MediaAssets::StorageKey, 400))
                .col(text_null(MediaAssets::AltText))
                .col(cols::created_at())
                .foreign_key(&mut fk_workspace(MediaAssets::Table))
                .foreign_key(&mut brand_fk(MediaAssets::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("media_assets", &["brand_id", "sha256"], false))
            .await?;

        // Rule and tone are JSON documents; the segments issue defines their shapes.
        m.create_table(
            Table::create()
                .table(AudienceSegments::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(string_len(AudienceSegments::Name, 200))
                .col(string_len(AudienceSegments::Kind, 24))
                .col(string_len(AudienceSegments::FunnelStage, 24))
                .col(text_null(AudienceSegments::Description))
                .col(json_binary_null(AudienceSegments::Rule))
                .col(json_binary_null(AudienceSegments::Tone))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(AudienceSegments::Table))
                .foreign_key(&mut brand_fk(AudienceSegments::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("audience_segments", &["brand_id", "name"], true))
            .await?;

        m.create_table(
            Table::create()
                .table(Personas::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(uuid_null(Alias::new("segment_id")))
                .col(string_len(Personas::Name, 200))
                .col(json_binary(Personas::Profile))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(Personas::Table))
                .foreign_key(&mut brand_fk(Personas::Table))
                .foreign_key(&mut fk(
                    Personas::Table,
                    "segment_id",
                    AudienceSegments::Table,
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Posts::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(uuid_null(Alias::new("author_id")))
                .col(uuid_null(Alias::new("campaign_id")))
                .col(text(Posts::Body))
                .col(string_len_null(Posts::Link, 2048))
                .col(json_binary(Posts::Hashtags))
                .col(string_len(Posts::Locale, 35))
                .col(string_len(Posts::Status, 24))
                .col(timestamp_with_time_zone(Posts::StatusChangedAt))
                // Bumped on every edit: optimistic concurrency for the composer.
                .col(integer(Posts::Revision).default(1))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(Posts::Table))
                .foreign_key(&mut brand_fk(Posts::Table))
                .foreign_key(&mut fk(
                    Posts::Table,
                    "author_id",
                    Alias::new("users"),
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut fk(
                    Posts::Table,
                    "campaign_id",
                    Campaigns::Table,
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("posts", &["workspace_id", "brand_id", "status"], false))
            .await?;

        m.create_table(
            Table::create()
                .table(PostMedia::Table)
                .col(cols::workspace_id())
                .col(uuid(PostMedia::PostId))
                .col(integer(PostMedia::Position))
                .col(uuid(Alias::new("media_asset_id")))
                .primary_key(Index::create().col(PostMedia::PostId).col(PostMedia::Position))
                .foreign_key(&mut fk_workspace(PostMedia::Table))
                .foreign_key(&mut fk(
                    PostMedia::Table,
                    "post_id",
                    Posts::Table,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    PostMedia::Table,
                    "media_asset_id",
                    MediaAssets::Table,
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("post_id")))
                .col(uuid(Alias::new("social_account_id")))
                .col(uuid_null(Alias::new("segment_id")))
                .col(string_len(Deliveries::Status, 24))
                .col(text_null(Deliveries::AdaptedText))
                .col(json_binary_null(Deliveries::Adaptation))
                .col(json_binary_null(Deliveries::Targeting))
                .col(timestamp_with_time_zone_null(Deliveries::ScheduledAt))
                .col(string_len(Deliveries::Timezone, 64))
                .col(string_len_null(Deliveries::RemoteId, 200))
                .col(string_len_null(Deliveries::RemoteUrl, 2048))
                .col(integer(Deliveries::Attempts).default(0))
                .col(text_null(Deliveries::LastError))
                // One delivery per (post, account, segment); also the marker a plugin uses
                // to find a post it published before a crash.
                .col(string_len_uniq(Deliveries::IdempotencyKey, 120))
                .col(timestamp_with_time_zone_null(Deliveries::PublishedAt))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(Deliveries::Table))
                .foreign_key(&mut fk(
                    Deliveries::Table,
                    "post_id",
                    Posts::Table,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    Deliveries::Table,
                    "social_account_id",
                    Alias::new("social_accounts"),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    Deliveries::Table,
                    "segment_id",
                    AudienceSegments::Table,
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("deliveries", &["status", "scheduled_at"], false))
            .await?;
        m.create_index(index("deliveries", &["post_id"], false)).await?;

        m.create_table(
            Table::create()
                .table(PostingSchedules::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(uuid_null(Alias::new("social_account_id")))
                .col(string_len(PostingSchedules::Name, 200))
                .col(string_len(PostingSchedules::Cron, 200))
                .col(string_len(PostingSchedules::Timezone, 64))
                .col(boolean(PostingSchedules::Enabled).default(true))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(PostingSchedules::Table))
                .foreign_key(&mut brand_fk(PostingSchedules::Table))
                .foreign_key(&mut fk(
                    PostingSchedules::Table,
                    "social_account_id",
                    Alias::new("social_accounts"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "posting_schedules",
            "deliveries",
            "post_media",
            "posts",
            "personas",
            "audience_segments",
            "media_assets",
            "campaigns",
        ] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
