//! Tenancy: workspaces (an agency or a company), their brands (clients), the people who
//! work in them with a role, and the social accounts each brand publishes to.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Slug,
    Name,
    Kind,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Email,
    DisplayName,
}

#[derive(DeriveIden)]
enum Brands {
    Table,
    Slug,
    Name,
    Timezone,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Role,
}

#[derive(DeriveIden)]
enum SocialAccounts {
    Table,
    Platform,
    Handle,
    RemoteId,
    DisplayName,
    Timezone,
    Status,
    Credentials,
    CredentialsExpireAt,
    Scopes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Workspaces::Table)
                .col(cols::id())
                .col(string_len_uniq(Workspaces::Slug, 64))
                .col(string_len(Workspaces::Name, 200))
                .col(string_len(Workspaces::Kind, 16))
                .col(cols::created_at())
                .col(cols::updated_at())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(cols::id())
                .col(string_len_uniq(Users::Email, 320))
                .col(string_len(Users::DisplayName, 200))
                .col(cols::created_at())
                .col(cols::updated_at())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Brands::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(string_len(Brands::Slug, 64))
                .col(string_len(Brands::Name, 200))
                .col(string_len(Brands::Timezone, 64))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(Brands::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("brands", &["workspace_id", "slug"], true)).await?;

        // A role applies to the whole workspace when brand_id is NULL, else to one brand.
        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("user_id")))
                .col(uuid_null(Alias::new("brand_id")))
                .col(string_len(Memberships::Role, 24))
                .col(cols::created_at())
                .foreign_key(&mut fk_workspace(Memberships::Table))
                .foreign_key(&mut fk(
                    Memberships::Table,
                    "user_id",
                    Users::Table,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    Memberships::Table,
                    "brand_id",
                    Brands::Table,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("memberships", &["user_id", "workspace_id"], false))
            .await?;

        m.create_table(
            Table::create()
                .table(SocialAccounts::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(string_len(SocialAccounts::Platform, 32))
                .col(string_len(SocialAccounts::Handle, 200))
                .col(string_len(SocialAccounts::RemoteId, 200))
                .col(string_len_null(SocialAccounts::DisplayName, 200))
                .col(string_len(SocialAccounts::Timezone, 64))
                .col(string_len(SocialAccounts::Status, 24))
                // Sealed (encrypted and authenticated) by the host; never plaintext.
                .col(blob_null(SocialAccounts::Credentials))
                .col(timestamp_with_time_zone_null(SocialAccounts::CredentialsExpireAt))
                .col(json_binary(SocialAccounts::Scopes))
                .col(cols::created_at())
                .col(cols::updated_at())
                .foreign_key(&mut fk_workspace(SocialAccounts::Table))
                .foreign_key(&mut fk(
                    SocialAccounts::Table,
                    "brand_id",
                    Brands::Table,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("social_accounts", &["brand_id", "platform", "remote_id"], true))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["social_accounts", "memberships", "brands", "users", "workspaces"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
