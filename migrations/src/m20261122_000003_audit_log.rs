//! The audit log: an append-only record of who did what to which object, per workspace.

use crate::cols::{self, fk, fk_workspace, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Action,
    SubjectKind,
    SubjectId,
    Detail,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(cols::id())
                .col(cols::workspace_id())
                .col(uuid_null(Alias::new("actor_user_id")))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len(AuditLog::SubjectKind, 32))
                .col(uuid_null(AuditLog::SubjectId))
                .col(json_binary(AuditLog::Detail))
                .col(timestamp_with_time_zone(AuditLog::At))
                .foreign_key(&mut fk_workspace(AuditLog::Table))
                .foreign_key(&mut fk(
                    AuditLog::Table,
                    "actor_user_id",
                    Alias::new("users"),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("audit_log", &["workspace_id", "at"], false))
            .await?;
        m.create_index(index("audit_log", &["subject_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await
    }
}
