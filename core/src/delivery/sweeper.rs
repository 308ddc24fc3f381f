//! The sweeper: the leader's chore of deleting sign-in state that can no longer be used,
//! expired browser sessions and OAuth authorizations nobody finished, so those tables hold
//! only what is live.

use crate::StoreError;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub authorizations: u64,
}

/// Deletes what expired before `at`.
pub async fn sweep(store: &Store, at: DateTime<Utc>) -> Result<Swept, StoreError> {
    Ok(Swept {
        sessions: store.identity().sweep_sessions(at).await?,
        authorizations: store.sweep_authorizations(at).await?,
    })
}
