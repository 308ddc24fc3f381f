//! Workspaces: the roots of tenancy.

use super::entity::workspace;
use super::{map_db_err, now};
use crate::domain::{Slug, WorkspaceKind, new_id};
use crate::{Invalid, StoreError};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

pub struct Workspaces<'a> {
    pub(crate) db: &'a DatabaseConnection,
}

#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub slug: String,
    pub name: String,
    pub kind: WorkspaceKind,
}

impl Workspaces<'_> {
    pub async fn create(&self, new: NewWorkspace) -> Result<workspace::Model, StoreError> {
        self.insert(new, false).await
    }

    /// Creates the demo's sandbox workspace, marked as such in the same insert (a crash
    /// can never leave an unmarked workspace the demo would then refuse as someone's own).
    pub async fn create_sandbox(&self, new: NewWorkspace) -> Result<workspace::Model, StoreError> {
        self.insert(new, true).await
    }

    /// The workspace `serve --demo` seeded, if it has run on this database.
    pub async fn sandbox(&self) -> Result<Option<workspace::Model>, StoreError> {
        Ok(workspace::Entity::find()
            .filter(workspace::Column::Sandbox.eq(true))
            .one(self.db)
            .await?)
    }

    async fn insert(&self, new: NewWorkspace, sandbox: bool) -> Result<workspace::Model, StoreError> {
        let slug = Slug::parse("workspace.slug", &new.slug)?;
        let name = required_name("workspace.name", &new.name)?;
        let at = now();
        workspace::ActiveModel {
            id: Set(new_id()),
            slug: Set(slug.to_string()),
            name: Set(name),
            kind: Set(new.kind),
            sandbox: Set(sandbox),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(self.db)
        .await
        .map_err(|e| map_db_err("workspace", e))
    }

    pub async fn by_slug(&self, slug: &str) -> Result<workspace::Model, StoreError> {
        workspace::Entity::find()
            .filter(workspace::Column::Slug.eq(slug))
            .one(self.db)
            .await?
            .ok_or_else(|| StoreError::not_found("workspace", slug))
    }

    pub async fn list(&self) -> Result<Vec<workspace::Model>, StoreError> {
        Ok(workspace::Entity::find()
            .order_by_asc(workspace::Column::Slug)
            .all(self.db)
            .await?)
    }
}

/// A display name: trimmed, 1-200 characters.
pub(crate) fn required_name(field: &str, value: &str) -> Result<String, Invalid> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > 200 {
        return Err(Invalid::new(field, format!("must be 1-200 characters, got {n}")));
    }
    Ok(v.to_owned())
}
