//! What the media library reads from a video beyond its size and duration: the codec of
//! its video track and its frame rate (Instagram Reels and TikTok name both), and the name
//! the file had when it was added (for people; never trusted for the type).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MediaAssets {
    Table,
    Codec,
    FrameRate,
    OriginalName,
}

fn add(column: ColumnDef) -> TableAlterStatement {
    // SQLite takes one ADD COLUMN per statement.
    Table::alter().table(MediaAssets::Table).add_column(column).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len_null(MediaAssets::Codec, 16),
            double_null(MediaAssets::FrameRate),
            string_len_null(MediaAssets::OriginalName, 255),
        ] {
            m.alter_table(add(column)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [MediaAssets::Codec, MediaAssets::FrameRate, MediaAssets::OriginalName] {
            m.alter_table(Table::alter().table(MediaAssets::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
