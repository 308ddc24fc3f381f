//! What makes segments fast on a million contacts: a covering index for event rules, a
//! version stamp on each brand's audience data, and RFM scores stored per brand and window
//! (recomputed when the events change) instead of ranked on every query.

use crate::cols::{fk, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Brands {
    Table,
    AudienceVersion,
}

#[derive(DeriveIden)]
enum RfmScores {
    Table,
    BrandId,
    WindowDays,
    ContactId,
    R,
    F,
    M,
}

#[derive(DeriveIden)]
enum RfmScoreSets {
    Table,
    BrandId,
    WindowDays,
    AudienceVersion,
    AsOf,
    Purchasers,
    ComputedAt,
}

/// Event rules read only this index: one brand's events of one kind, grouped by contact.
const EVENT_COLUMNS: &[&str] = &[
    "brand_id",
    "kind",
    "contact_id",
    "occurred_at",
    "platform",
    "currency",
    "amount_minor",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_contact_events_brand_id_kind_occurred_at")
                .table(Alias::new("contact_events"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("contact_events", EVENT_COLUMNS, false)).await?;
        // Bumped by every write to a brand's contacts or events, so derived data (RFM
        // scores now, cached sizes later) knows when it is stale.
        m.alter_table(
            Table::alter()
                .table(Brands::Table)
                .add_column(big_integer(Brands::AudienceVersion).default(0))
                .to_owned(),
        )
        .await?;
        // No foreign key to contacts: a deleted contact's scores are ignored (membership is
        // always `contacts.id IN (...)`) and dropped at the next recomputation, which every
        // deletion triggers by bumping the audience version.
        m.create_table(
            Table::create()
                .table(RfmScores::Table)
                .if_not_exists()
                .col(uuid(RfmScores::BrandId))
                .col(integer(RfmScores::WindowDays))
                .col(uuid(RfmScores::ContactId))
                .col(small_integer(RfmScores::R))
                .col(small_integer(RfmScores::F))
                .col(small_integer(RfmScores::M))
                // Scores before the contact, so a cell (r 4-5, f 4-5) is a few range reads
                // of this key alone; a contact still has one row per brand and window.
                .primary_key(
                    Index::create()
                        .col(RfmScores::BrandId)
                        .col(RfmScores::WindowDays)
                        .col(RfmScores::R)
                        .col(RfmScores::F)
                        .col(RfmScores::M)
                        .col(RfmScores::ContactId),
                )
                .foreign_key(&mut fk(
                    RfmScores::Table,
                    "brand_id",
                    Alias::new("brands"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RfmScoreSets::Table)
                .if_not_exists()
                .col(uuid(RfmScoreSets::BrandId))
                .col(integer(RfmScoreSets::WindowDays))
                .col(big_integer(RfmScoreSets::AudienceVersion))
                .col(date(RfmScoreSets::AsOf))
                .col(big_integer(RfmScoreSets::Purchasers))
                .col(timestamp_with_time_zone(RfmScoreSets::ComputedAt))
                .primary_key(Index::create().col(RfmScoreSets::BrandId).col(RfmScoreSets::WindowDays))
                .foreign_key(&mut fk(
                    RfmScoreSets::Table,
                    "brand_id",
                    Alias::new("brands"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RfmScoreSets::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(RfmScores::Table).to_owned()).await?;
        m.alter_table(
            Table::alter()
                .table(Brands::Table)
                .drop_column(Brands::AudienceVersion)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name(format!("ix_contact_events_{}", EVENT_COLUMNS.join("_")))
                .table(Alias::new("contact_events"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("contact_events", &["brand_id", "kind", "occurred_at"], false))
            .await
    }
}
