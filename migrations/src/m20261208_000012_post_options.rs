//! A post's title (Pinterest Pins, TikTok photo posts) and the person's per-post answers to
//! the platforms' choices (a Pinterest board, a TikTok privacy level), which plugins need to
//! publish through the engine.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Posts {
    Table,
    Title,
    Options,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one ADD COLUMN per statement.
        for column in [string_len_null(Posts::Title, 500), json_binary_null(Posts::Options)] {
            m.alter_table(Table::alter().table(Posts::Table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [Posts::Title, Posts::Options] {
            m.alter_table(Table::alter().table(Posts::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
