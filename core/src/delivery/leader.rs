//! The leader: the maintenance that one node at a time does, under the `maintenance`
//! lease (`crate::store::Store::lead`): materialising recurring posts ahead
//! ([`super::recurrence`]), settling finished posts ([`super::settler`]) and, every few
//! minutes, maintaining the queue's tables and sweeping expired sign-in state
//! ([`super::sweeper`]). Every node
//! runs this loop; the one holding the lease works, the others wait to take over.

use super::recurrence;
use crate::store::Store;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

pub const LEASE: &str = "maintenance";

/// One pass, if `holder` leads: returns (occurrences materialised, posts settled), or
/// `None` when another node leads.
pub async fn pass(store: &Store, holder: &str, ttl: Duration) -> Result<Option<(u64, u64)>, crate::StoreError> {
    let now = Utc::now();
    if !store.lead(LEASE, holder, ttl, now).await? {
        return Ok(None);
    }
    let mut made = 0;
    // Recurrences whose horizon is less than half the look-ahead away are topped up.
    for r in store.recurrences_due(now + recurrence::AHEAD / 2, 200).await? {
        match recurrence::materialize(store.tenant(r.workspace_id), &r, now).await {
            Ok(n) => made += n,
            Err(e) => tracing::warn!(post = %r.post_id, error = %e, "a recurring post could not be materialised"),
        }
    }
    let settled = super::settler::settle(store, 500).await?;
    Ok(Some((made, settled)))
}

/// How often the leader maintains the queue's tables (planner statistics; a vacuum where
/// PostgreSQL's autovacuum is off: see [`crate::store::Queue::maintain_tables`]).
const MAINTAIN_EVERY: Duration = Duration::from_secs(300);
/// The first maintenance waits this long after the engine starts: both kinds persist
/// across restarts, and a starting engine has what fell due while it was down to catch up
/// on first.
const MAINTAIN_FIRST_AFTER: Duration = Duration::from_secs(30);

/// Runs [`pass`] every `every` until stopped; wakes the engine when occurrences were made.
pub async fn run(store: Store, holder: String, every: Duration, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let ttl = every * 3;
    let mut maintain_at = tokio::time::Instant::now() + MAINTAIN_FIRST_AFTER;
    let mut warned = false;
    loop {
        match pass(&store, &holder, ttl).await {
            Ok(Some((made, _))) => {
                if made > 0 {
                    tracing::info!(occurrences = made, "materialised recurring posts");
                    wake.notify_one();
                    store.notify_due().await;
                }
                if tokio::time::Instant::now() >= maintain_at {
                    match store.queue().maintain_tables().await {
                        Ok(true) if !warned => {
                            warned = true;
                            tracing::warn!(
                                "PostgreSQL's autovacuum is off: the leader vacuums the delivery queue \
                                 every few minutes; turn autovacuum on to leave it to the server"
                            )
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "maintaining the queue's tables failed"),
                    }
                    match super::sweeper::sweep(&store, Utc::now()).await {
                        Ok(s) if s != super::sweeper::Swept::default() => tracing::debug!(
                            sessions = s.sessions,
                            authorizations = s.authorizations,
                            "swept expired sign-in state"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "sweeping expired sessions failed"),
                    }
                    maintain_at = tokio::time::Instant::now() + MAINTAIN_EVERY;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "maintenance pass failed; trying again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
    }
    let _ = store.resign(LEASE, &holder).await;
}
