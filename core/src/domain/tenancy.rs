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
    /// Reads posts, deliveries, accounts and segments (every role does).
    pub fn can_read(self) -> bool {
        true
    }
    /// Manages people, API tokens, webhooks and brand settings.
    pub fn can_administer(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Whether someone holding `self` may hand `other` to an API token or a person: never
    /// more than they have. A client approver can delegate only approving and reading.
    pub fn covers(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            Role::Editor => matches!(other, Role::Editor | Role::Viewer),
            Role::Viewer => other == Role::Viewer,
            Role::ClientApprover => matches!(other, Role::ClientApprover | Role::Viewer),
        }
    }

    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Editor,
        Role::Viewer,
        Role::ClientApprover,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
            Role::ClientApprover => "client_approver",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = crate::Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            crate::Invalid::new(
                "role",
                format!("{s:?} is not a role; use owner, admin, editor, viewer or client_approver"),
            )
        })
    }
}
