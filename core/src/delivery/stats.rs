//! What the engine did, counted as it happens: the figures `chorus queue`, the benchmark
//! and `/metrics` read.

use crate::domain::DeliveryStatus;
use chrono::{DateTime, Utc};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters and the lateness of every published delivery (how long after its planned
/// instant it went out), per engine.
#[derive(Debug, Default)]
pub struct Stats {
    pub published: AtomicU64,
    pub retries: AtomicU64,
    pub failed: AtomicU64,
    pub dead: AtomicU64,
    pub lookups: AtomicU64,
    /// Lookups that found the post on the platform (a publish whose answer was lost).
    pub recovered: AtomicU64,
    pub rescued: AtomicU64,
    /// Attempts given back because the account was over a budget or paused by a 429.
    pub budget_delays: AtomicU64,
    /// Attempts given back because the account needs a person.
    pub held: AtomicU64,
    /// Access tokens refreshed before publishing.
    pub refreshes: AtomicU64,
    /// Refreshes refused or failed.
    pub refresh_failures: AtomicU64,
    lateness_ms: Mutex<Vec<u64>>,
}

impl Stats {
    pub(crate) fn published(&self, planned: Option<DateTime<Utc>>) {
        self.published.fetch_add(1, Relaxed);
        if let Some(p) = planned {
            let late = (Utc::now() - p).num_milliseconds().max(0) as u64;
            self.lateness_ms.lock().unwrap_or_else(|e| e.into_inner()).push(late);
        }
    }
    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }
    pub(crate) fn ended(&self, status: DeliveryStatus) {
        match status {
            DeliveryStatus::Dead => self.dead.fetch_add(1, Relaxed),
            _ => self.failed.fetch_add(1, Relaxed),
        };
    }
    pub(crate) fn lookup(&self) {
        self.lookups.fetch_add(1, Relaxed);
    }
    pub(crate) fn recovered(&self) {
        self.recovered.fetch_add(1, Relaxed);
    }
    pub(crate) fn budget_delayed(&self) {
        self.budget_delays.fetch_add(1, Relaxed);
    }
    pub(crate) fn held(&self) {
        self.held.fetch_add(1, Relaxed);
    }
    pub(crate) fn refreshed(&self) {
        self.refreshes.fetch_add(1, Relaxed);
    }
    pub(crate) fn refresh_failed(&self) {
        self.refresh_failures.fetch_add(1, Relaxed);
    }

    /// Lateness percentiles in milliseconds (`q` in 0..=1) over the published deliveries.
    pub fn lateness_ms(&self, q: f64) -> Option<u64> {
        let mut v = self.lateness_ms.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
        Some(v[i])
    }
}
