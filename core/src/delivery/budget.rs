//! Publish budgets (`describe`'s `publish-budgets`: X 100 per 15 minutes, Mastodon 300 per
//! 3 hours) counted in memory per account: when each of the account's recent posts went
//! out, read from the database when the engine first needs it, again after [`RESEED`], and
//! whenever a claim shows that another worker published the account's latest post
//! ([`crate::store::Queue::last_publishers`]); in between it is kept up to date as this
//! engine publishes. It is exact because a worker publishes for an account only while no
//! other worker does (see `crate::store::queue`): when an account comes back to an engine,
//! everything the others published for it is stored.

use crate::StoreError;
use crate::plugins::types::RateBudget;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;
use uuid::Uuid;

/// How long a seed from the database is trusted.
const RESEED: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Default)]
struct Window {
    seeded: Option<Instant>,
    /// When the account's posts inside the longest budget window went out, oldest first.
    sent: VecDeque<DateTime<Utc>>,
}

/// Each account's recent posts, for the budgets.
#[derive(Default)]
pub struct BudgetBook {
    accounts: Mutex<HashMap<Uuid, Window>>,
}

impl BudgetBook {
    /// When `account` may publish again under `budgets`, if it is over one at `now`.
    pub async fn over(
        &self,
        store: &Store,
        account: Uuid,
        budgets: &[RateBudget],
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(longest) = budgets.iter().map(|b| b.window_seconds).max() else {
            return Ok(None);
        };
        let longest = Duration::seconds(i64::from(longest));
        let fresh = self
            .lock()
            .get(&account)
            .and_then(|w| w.seeded)
            .is_some_and(|at| at.elapsed() < RESEED);
        if !fresh {
            let sent = store.queue().published_since(account, now - longest).await?;
            self.lock().insert(
                account,
                Window {
                    seeded: Some(Instant::now()),
                    sent: sent.into(),
                },
            );
        }
        let mut book = self.lock();
        let w = book.entry(account).or_default();
        while w.sent.front().is_some_and(|t| *t < now - longest) {
            w.sent.pop_front();
        }
        let mut until: Option<DateTime<Utc>> = None;
        for b in budgets {
            let window = Duration::seconds(i64::from(b.window_seconds));
            let inside: Vec<&DateTime<Utc>> = w.sent.iter().filter(|t| **t >= now - window).collect();
            if inside.len() >= b.max_posts as usize {
                // Free once the oldest post that keeps it full leaves the window.
                let oldest = inside[inside.len() - b.max_posts as usize];
                let free = *oldest + window;
                until = Some(until.map_or(free, |u| u.max(free)));
            }
        }
        Ok(until)
    }

    /// Forgets what this engine counted for `account`: another worker published for it
    /// since, so the next look reads the database again.
    pub fn forget(&self, account: Uuid) {
        self.lock().remove(&account);
    }

    /// This engine published for `account` at `at`.
    pub fn sent(&self, account: Uuid, at: DateTime<Utc>) {
        if let Some(w) = self.lock().get_mut(&account) {
            w.sent.push_back(at);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Window>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }
}
