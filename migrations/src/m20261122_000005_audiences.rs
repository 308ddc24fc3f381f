//! Audience data and what segments need to be sized, compared and prioritised:
//! contacts with their tags and events, membership snapshots, and the segment canvas.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contacts {
    Table,
    ExternalId,
    Relation,
    Consent,
    BirthDate,
    Gender,
    IncomeBand,
    Education,
    Family,
    Country,
    Region,
    City,
    Language,
    Industry,
    CompanySize,
    Seniority,
    JobFunction,
    Custom,
    SignedUpAt,
}

#[derive(DeriveIden)]
enum ContactTags {
    Table,
    BrandId,
    ContactId,
    Facet,
    Tag,
}

#[derive(DeriveIden)]
enum ContactEvents {
    Table,
    Kind,
    Platform,
    AmountMinor,
    Currency,
    OccurredAt,
    ExternalEventId,
}

#[derive(DeriveIden)]
enum SegmentSnapshots {
    Table,
    Version,
    Size,
    Definition,
}

#[derive(DeriveIden)]
enum SegmentMembers {
    Table,
    SnapshotId,
    ContactId,
}

#[derive(DeriveIden)]
enum AudienceSegments {
    Table,
    Bases,
    IsPrimary,
    Canvas,
    Targeting,
    ReviewedAt,
}

#[derive(DeriveIden)]
enum Brands {
    Table,
    AudienceScale,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    SegmentSnapshotId,
}

fn brand_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    fk(table, "brand_id", Alias::new("brands"), ForeignKeyAction::Cascade)
}

fn contact_fk(table: impl IntoIden + 'static) -> ForeignKeyCreateStatement {
    fk(table, "contact_id", Contacts::Table, ForeignKeyAction::Cascade)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Contacts::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(string_len(Contacts::ExternalId, 200))
                .col(string_len(Contacts::Relation, 16))
                .col(boolean(Contacts::Consent).default(false))
                .col(date_null(Contacts::BirthDate))
                .col(string_len_null(Contacts::Gender, 16))
                .col(string_len_null(Contacts::IncomeBand, 64))
                .col(string_len_null(Contacts::Education, 64))
                .col(string_len_null(Contacts::Family, 64))
                .col(string_len_null(Contacts::Country, 2))
                .col(string_len_null(Contacts::Region, 100))
                .col(string_len_null(Contacts::City, 100))
                .col(string_len_null(Contacts::Language, 8))
                .col(string_len_null(Contacts::Industry, 100))
                .col(string_len_null(Contacts::CompanySize, 16))
                .col(string_len_null(Contacts::Seniority, 16))
                .col(string_len_null(Contacts::JobFunction, 40))
                .col(json_binary_null(Contacts::Custom))
                .col(timestamp_with_time_zone_null(Contacts::SignedUpAt))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(Contacts::Table))
                .foreign_key(&mut brand_fk(Contacts::Table))
                .to_owned(),
        )
        .await?;
        // Upserts find a contact by its id in the brand's own systems.
        m.create_index(index("contacts", &["brand_id", "external_id"], true))
            .await?;

        // Values, lifestyles and interests: one row per tag, so "has tag" is an index lookup.
        m.create_table(
            Table::create()
                .table(ContactTags::Table)
                .col(uuid(ContactTags::BrandId))
                .col(uuid(ContactTags::ContactId))
                .col(string_len(ContactTags::Facet, 16))
                .col(string_len(ContactTags::Tag, 64))
                .primary_key(
                    Index::create()
                        .col(ContactTags::ContactId)
                        .col(ContactTags::Facet)
                        .col(ContactTags::Tag),
                )
                .foreign_key(&mut contact_fk(ContactTags::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("contact_tags", &["brand_id", "facet", "tag"], false))
            .await?;

        m.create_table(
            Table::create()
                .table(ContactEvents::Table)
                .col(cols::id())
                .col(uuid(Alias::new("brand_id")))
                .col(uuid(Alias::new("contact_id")))
                .col(string_len(ContactEvents::Kind, 24))
                .col(string_len_null(ContactEvents::Platform, 32))
                // Money in the currency's minor unit (cents, öre, yen), never a float.
                .col(big_integer_null(ContactEvents::AmountMinor))
                .col(string_len_null(ContactEvents::Currency, 3))
                .col(timestamp_with_time_zone(ContactEvents::OccurredAt))
                .col(string_len_null(ContactEvents::ExternalEventId, 200))
                .col(cols::created_at())
                .foreign_key(&mut brand_fk(ContactEvents::Table))
                .foreign_key(&mut contact_fk(ContactEvents::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("contact_events", &["brand_id", "kind", "occurred_at"], false))
            .await?;
        m.create_index(index("contact_events", &["contact_id", "kind", "occurred_at"], false))
            .await?;
        // Re-importing the same export does not double-count events that carry an id.
        m.create_index(index("contact_events", &["brand_id", "external_event_id"], true))
            .await?;

        m.create_table(
            Table::create()
                .table(SegmentSnapshots::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(uuid(Alias::new("segment_id")))
                .col(integer(SegmentSnapshots::Version))
                .col(big_integer(SegmentSnapshots::Size))
                // The rule as evaluated (and, for lookalikes, the weights), for later audits.
                .col(json_binary(SegmentSnapshots::Definition))
                .col(cols::created_at())
                .foreign_key(&mut fk_workspace(SegmentSnapshots::Table))
                .foreign_key(&mut brand_fk(SegmentSnapshots::Table))
                .foreign_key(&mut fk(
                    SegmentSnapshots::Table,
                    "segment_id",
                    Alias::new("audience_segments"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("segment_snapshots", &["segment_id", "version"], true))
            .await?;

        m.create_table(
            Table::create()
                .table(SegmentMembers::Table)
                .col(uuid(SegmentMembers::SnapshotId))
                .col(uuid(SegmentMembers::ContactId))
                .primary_key(
                    Index::create()
                        .col(SegmentMembers::SnapshotId)
                        .col(SegmentMembers::ContactId),
                )
                .foreign_key(&mut fk(
                    SegmentMembers::Table,
                    "snapshot_id",
                    SegmentSnapshots::Table,
                    ForeignKeyAction::Cascade,
                ))
                // Erasing a contact erases it from history too.
                .foreign_key(&mut contact_fk(SegmentMembers::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("segment_members", &["contact_id"], false)).await?;

        // Personas are found by name within their brand, like segments.
        m.create_index(index("personas", &["brand_id", "name"], true)).await?;

        // SQLite alters one column per statement.
        for col in [
            json_binary_null(AudienceSegments::Bases),
            boolean(AudienceSegments::IsPrimary).default(false).to_owned(),
            json_binary_null(AudienceSegments::Canvas),
            json_binary_null(AudienceSegments::Targeting),
            timestamp_with_time_zone_null(AudienceSegments::ReviewedAt),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(AudienceSegments::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Brands::Table)
                .add_column(string_len(Brands::AudienceScale, 16).default("small"))
                .to_owned(),
        )
        .await?;
        // Who a delivery was aimed at: the segment's membership as it was when it was planned.
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .add_column(uuid_null(Deliveries::SegmentSnapshotId))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_personas_brand_id_name")
                .table(Alias::new("personas"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .drop_column(Deliveries::SegmentSnapshotId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Brands::Table)
                .drop_column(Brands::AudienceScale)
                .to_owned(),
        )
        .await?;
        for col in [
            AudienceSegments::Bases,
            AudienceSegments::IsPrimary,
            AudienceSegments::Canvas,
            AudienceSegments::Targeting,
            AudienceSegments::ReviewedAt,
        ] {
            m.alter_table(
                Table::alter()
                    .table(AudienceSegments::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for t in [
            SegmentMembers::Table.into_iden(),
            SegmentSnapshots::Table.into_iden(),
            ContactEvents::Table.into_iden(),
            ContactTags::Table.into_iden(),
            Contacts::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
