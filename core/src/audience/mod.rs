//! Audiences: contacts and their events, segments defined by rules, and what Chorus
//! learns from them (size, snapshots, overlap, lookalikes, RFM, warnings, priority,
//! native targeting).
//!
//! - [`rule`]: the JSON rule tree and its validation (errors name the path to the node);
//! - [`compile`]: rules to one SQL expression over `contacts`, for SQLite and PostgreSQL;
//! - [`lookalike`]: ranking non-members by resemblance to a seed segment;
//! - `rfm`: RFM scores, stored per brand and window and recomputed when events change;
//! - [`import`]: CSV / JSON Lines import with mapping, validation and progress;
//! - [`segments`]: the service the CLI and API call (define, size, snapshot, overlap);
//! - [`warnings`], [`priority`], [`targeting`]: the product's own advice.

pub mod attributes;
pub mod compile;
pub mod definition;
pub mod import;
pub mod lookalike;
pub mod priority;
pub(crate) mod rfm;
pub mod rule;
pub mod segments;
pub mod targeting;
pub mod warnings;

pub use definition::{PersonaDefinition, SegmentDefinition};
pub use segments::{Audience, Overlap, Sizing, Snapshot};

use crate::{Invalid, StoreError};

/// What audience operations fail with.
#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AudienceError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AudienceError::Invalid(Invalid::new(field, message))
    }
}

impl From<sea_orm::DbErr> for AudienceError {
    fn from(e: sea_orm::DbErr) -> Self {
        AudienceError::Store(StoreError::Database(e))
    }
}
