//! Connecting an account with OAuth 2: an authorization in progress, from the moment Chorus
//! sends a person to the platform until the platform sends them back. The `state` is stored
//! only as its SHA-256 and the PKCE verifier sealed, so a dump cannot complete a flow.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthAuthorizations {
    Table,
    StateHash,
    Platform,
    RedirectUri,
    Verifier,
    Handle,
    RemoteId,
    DisplayName,
    Timezone,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OauthAuthorizations::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid(Alias::new("brand_id")))
                .col(uuid(Alias::new("user_id")))
                .col(string_len_uniq(OauthAuthorizations::StateHash, 64))
                .col(string_len(OauthAuthorizations::Platform, 64))
                .col(string_len(OauthAuthorizations::RedirectUri, 2000))
                .col(blob(OauthAuthorizations::Verifier))
                .col(string_len(OauthAuthorizations::Handle, 200))
                .col(string_len(OauthAuthorizations::RemoteId, 200))
                .col(string_len_null(OauthAuthorizations::DisplayName, 200))
                .col(string_len(OauthAuthorizations::Timezone, 64))
                .col(cols::created_at())
                .col(timestamp_with_time_zone(OauthAuthorizations::ExpiresAt))
                .foreign_key(&mut fk_workspace(OauthAuthorizations::Table))
                .foreign_key(&mut fk(
                    OauthAuthorizations::Table,
                    "brand_id",
                    Alias::new("brands"),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    OauthAuthorizations::Table,
                    "user_id",
                    Alias::new("users"),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("oauth_authorizations", &["workspace_id"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OauthAuthorizations::Table).to_owned())
            .await
    }
}
