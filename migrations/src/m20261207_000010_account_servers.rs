//! `social_accounts.api_base`: the account's own server on a federated platform
//! (`https://fosstodon.org` for a Mastodon account there), so one Chorus serves accounts on
//! many servers of one platform. NULL: the platform's API base (the operator's, else the
//! plugin's default).
//!
//! An account's id is its server's: `1` on one server and `1` on another are two
//! accounts. The unique key of an account becomes (brand, platform, remote id, server),
//! an expression index so that NULL (the platform's own server) is one value, not many
//! (SQLite and PostgreSQL both index expressions).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SocialAccounts {
    Table,
    ApiBase,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(SocialAccounts::Table)
                .add_column(string_len_null(SocialAccounts::ApiBase, 300))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ix_social_accounts_brand_id_platform_remote_id")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ix_social_accounts_identity ON social_accounts \
             (brand_id, platform, remote_id, COALESCE(api_base, ''))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ix_social_accounts_identity")
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ix_social_accounts_brand_id_platform_remote_id ON social_accounts \
             (brand_id, platform, remote_id)",
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(SocialAccounts::Table)
                .drop_column(SocialAccounts::ApiBase)
                .to_owned(),
        )
        .await
    }
}
