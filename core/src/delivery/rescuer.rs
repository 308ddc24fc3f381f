//! The rescuer: frees attempts whose lease expired (their worker stopped, crashed or lost
//! the database). Safe to run on every node at once: each rescue is one conditional UPDATE.

use super::stats::Stats;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::watch;

pub async fn run(store: Store, every: Duration, stats: Arc<Stats>, mut stop: watch::Receiver<bool>) {
    loop {
        match store.queue().rescue(chrono::Utc::now()).await {
            Ok(r) if r.claimed + r.publishing > 0 => {
                stats.rescued.fetch_add(r.claimed + r.publishing, Relaxed);
                tracing::warn!(
                    claimed = r.claimed,
                    publishing = r.publishing,
                    "rescued deliveries whose worker's lease expired (publishing ones are looked up before publishing again)"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rescuing expired leases failed; trying again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
