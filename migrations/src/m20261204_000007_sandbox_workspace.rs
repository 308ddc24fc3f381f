//! Marks the workspace `chorus serve --demo` seeded. The demo's unauthenticated sandbox
//! routes act only on a workspace marked here, never on one found by its slug, so a
//! person's own workspace called `demo` is never touched by the demo.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Sandbox,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Workspaces::Table)
                .add_column(boolean(Workspaces::Sandbox).default(false))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Workspaces::Table)
                .drop_column(Workspaces::Sandbox)
                .to_owned(),
        )
        .await
    }
}
