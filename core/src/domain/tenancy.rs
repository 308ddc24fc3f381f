//! Workspaces and roles: who may do what.

use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// What kind of organisation owns a workspace. An agency manages several client brands and
/// needs client approval; a company publishes for its own brands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceKind {
    Agency,
    Company,
}

/// A person's role, held for a whole workspace or for one brand in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including deleting the workspace and managing billing.
    Owner,
    /// Manages people, brands and connected accounts.
    Admin,
    /// Composes, schedules and publishes.
    Editor,
    /// Reads everything, changes nothing.
    Viewer,
    /// A client who approves or rejects posts for their brand before they go out.
    ClientApprover,
}

impl Role {
    pub fn can_compose(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Editor)
    }
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::ClientApprover)
    }
    pub fn can_manage_accounts(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}
