//! The small key-value store each plugin gets, private to the plugin and the workspace.

use crate::cols::{fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginKv {
    Table,
    PluginId,
    WorkspaceId,
    Key,
    Value,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PluginKv::Table)
                .col(string_len(PluginKv::PluginId, 64))
                .col(uuid(PluginKv::WorkspaceId))
                .col(string_len(PluginKv::Key, 256))
                .col(blob(PluginKv::Value))
                .col(timestamp_with_time_zone(PluginKv::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(PluginKv::PluginId)
                        .col(PluginKv::WorkspaceId)
                        .col(PluginKv::Key),
                )
                .foreign_key(&mut fk_workspace(PluginKv::Table))
                .to_owned(),
        )
        .await?;
        m.create_index(index("plugin_kv", &["workspace_id"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PluginKv::Table).to_owned()).await
    }
}
