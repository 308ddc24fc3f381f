//! What the engine did, counted as it happens: the figures `chorus queue`, the benchmark
//! and `/metrics` read.

use crate::domain::DeliveryStatus;
use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Label set of an outcome: `[("platform", "x"), ("outcome", "published")]`.
pub type OutcomeLabels = Vec<(String, String)>;

/// Most lateness samples kept for exact percentiles (8 MB); the histogram keeps counting
/// after that, so a long-running engine's memory stays bounded.
const MAX_SAMPLES: usize = 1_000_000;

/// Counters, outcomes per platform, and the lateness of every published delivery (how long
/// after its planned instant it went out), per engine.
#[derive(Debug)]
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
    /// Attempt outcomes per platform: published, retried, failed, dead.
    pub outcomes: Family<OutcomeLabels, Counter>,
    /// Seconds from the planned instant to the platform's answer, per published delivery.
    pub lateness: Histogram,
    samples: Mutex<Vec<u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            published: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dead: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            recovered: AtomicU64::new(0),
            rescued: AtomicU64::new(0),
            budget_delays: AtomicU64::new(0),
            held: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            refresh_failures: AtomicU64::new(0),
            outcomes: Family::default(),
            // 10 ms to ~5.5 h: "on time" is under a second; hours mean a stuck account.
            lateness: Histogram::new([
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 20000.0,
            ]),
            samples: Mutex::new(Vec::new()),
        }
    }
}

impl Stats {
    pub(crate) fn published(&self, platform: &str, planned: Option<DateTime<Utc>>) {
        self.published.fetch_add(1, Relaxed);
        self.outcome(platform, "published");
        if let Some(p) = planned {
            let late = (Utc::now() - p).num_milliseconds().max(0) as u64;
            self.lateness.observe(late as f64 / 1000.0);
            let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
            if s.len() < MAX_SAMPLES {
                s.push(late);
            }
        }
    }
    pub(crate) fn retried(&self, platform: &str) {
        self.retries.fetch_add(1, Relaxed);
        self.outcome(platform, "retried");
    }
    pub(crate) fn ended(&self, platform: &str, status: DeliveryStatus) {
        match status {
            DeliveryStatus::Dead => self.dead.fetch_add(1, Relaxed),
            _ => self.failed.fetch_add(1, Relaxed),
        };
        self.outcome(platform, status.as_str());
    }
    fn outcome(&self, platform: &str, outcome: &str) {
        self.outcomes
            .get_or_create(&vec![
                ("platform".to_owned(), platform.to_owned()),
                ("outcome".to_owned(), outcome.to_owned()),
            ])
            .inc();
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

    /// Lateness percentiles in milliseconds (`q` in 0..=1) over the published deliveries
    /// (the first million of them).
    pub fn lateness_ms(&self, q: f64) -> Option<u64> {
        let mut v = self.samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
        Some(v[i])
    }
}
