//! Signing in: a user's password (argon2id, PHC string), browser sessions, and API tokens
//! for integrations. Sessions and tokens are stored only as SHA-256 digests of their
//! secrets, so a database dump cannot be replayed as a login.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    PasswordHash,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SecretHash,
    CsrfToken,
    ExpiresAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Name,
    Role,
    Prefix,
    SecretHash,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(string_len_null(Users::PasswordHash, 200))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(cols::id())
                .col(uuid(Alias::new("user_id")))
                .col(string_len_uniq(Sessions::SecretHash, 64))
                .col(string_len(Sessions::CsrfToken, 64))
                .col(cols::created_at())
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                .foreign_key(&mut fk(
                    Sessions::Table,
                    "user_id",
                    Users::Table,
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sessions", &["user_id"], false)).await?;

        // A token acts for its user in one workspace (or one brand of it), with a role no
        // greater than the user's own there.
        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("user_id")))
                .col(uuid_null(Alias::new("brand_id")))
                .col(string_len(ApiTokens::Name, 200))
                .col(string_len(ApiTokens::Role, 24))
                .col(string_len(ApiTokens::Prefix, 16))
                .col(string_len_uniq(ApiTokens::SecretHash, 64))
                .col(cols::created_at())
                .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                .foreign_key(&mut fk_workspace(ApiTokens::Table))
                .foreign_key(&mut fk(
                    ApiTokens::Table,
                    "user_id",
                    Users::Table,
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    ApiTokens::Table,
                    "brand_id",
                    Alias::new("brands"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("api_tokens", &["workspace_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ApiTokens::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Sessions::Table).to_owned()).await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::PasswordHash)
                .to_owned(),
        )
        .await
    }
}
