//! The background loop that will turn scheduled deliveries into published posts.
//!
//! For now it only proves the plumbing: it runs beside the web server (`chorus serve`) or
//! alone (`chorus worker`), checks the database on every tick, and stops promptly when
//! asked. The delivery engine (leases, fenced acks, retries, cron slots) replaces the body
//! of [`Worker::tick`].

pub mod plan;

use crate::store::Store;
use std::time::Duration;
use tokio::sync::watch;

/// Runs periodic background work until shut down.
pub struct Worker {
    store: Store,
    interval: Duration,
}

impl Worker {
    pub fn new(store: Store, interval: Duration) -> Self {
        Self { store, interval }
    }

    /// Runs until `shutdown` turns true; returns the number of ticks done.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> u64 {
        let mut ticks = 0;
        let mut timer = tokio::time::interval(self.interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = timer.tick() => {
                    self.tick().await;
                    ticks += 1;
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        tracing::info!(ticks, "worker stopped");
                        return ticks;
                    }
                }
            }
        }
    }

    async fn tick(&self) {
        if let Err(e) = self.store.ping().await {
            tracing::warn!(error = %e, "worker: database did not answer; will retry next tick");
        }
    }
}
