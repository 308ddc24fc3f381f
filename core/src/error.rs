//! Typed errors of the core. Each says what was wrong, where, and what is allowed, so the
//! CLI, the API and the UI can show it to a person without guessing.

use uuid::Uuid;

/// One input that broke a rule: which field, and what the rule allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {message}")]
pub struct Invalid {
    /// The field as the user named it, e.g. `timezone` or `hashtags[2]`.
    pub field: String,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a repository call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] Invalid),

    /// The row does not exist, or belongs to another workspace (the two are not told apart,
    /// so one tenant cannot probe another's ids).
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },

    /// A uniqueness rule would be broken.
    #[error("{kind} already exists: {detail}")]
    Conflict { kind: &'static str, detail: String },

    /// The row changed under us (another writer moved it first).
    #[error("{kind} {id} was changed concurrently: expected {expected}, found {found}")]
    Stale {
        kind: &'static str,
        id: Uuid,
        expected: String,
        found: String,
    },

    /// A lifecycle move the domain forbids.
    #[error("cannot move {kind} {id} from {from} to {to}; allowed from {from}: {allowed}")]
    IllegalTransition {
        kind: &'static str,
        id: Uuid,
        from: String,
        to: String,
        allowed: String,
    },

    #[error("credentials could not be {action}: {reason}")]
    Crypto { action: &'static str, reason: String },

    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl StoreError {
    pub(crate) fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}
