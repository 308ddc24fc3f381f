//! Deliveries: one post, adapted for one account and one audience segment, and the queue
//! lifecycle each of them goes through. Every state and every allowed move is here; the
//! queue's queries (`crate::store::queue`) are written from these lists.
//!
//! ```text
//!  pending ──► scheduled ──► claimed ──► publishing ──► published
//!                 ▲  ▲          │  ▲          │
//!                 │  │          │  │          ├──► retrying ──► (claimed again)
//!                 │  │          ▼  │          ├──► outcome_unknown ──► (claimed; find-published first)
//!                 │  └── rescued ◄─┘          ├──► failed (permanent: invalid input, policy)
//!                 │   (lease expired)         └──► dead (retries exhausted)
//!                 └── retry by a person (failed, dead, cancelled; or published, when an
//!                     edit finds on the platform one whose last attempt reached it)
//! ```

use chrono::{DateTime, Utc};
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Created with its adaptation; not yet given a time (a draft, or a post held for
    /// approval).
    Pending,
    /// Waiting for its instant (`run_at`).
    Scheduled,
    /// A worker holds its lease and is preparing the call (account, token, budget).
    Claimed,
    /// The intent is recorded and the plugin's `publish` is running, or about to once the
    /// account's previous delivery has gone out: from here on the platform may have the
    /// post, so every recovery asks `find-published` first.
    Publishing,
    Published,
    /// A temporary failure (5xx, 429, a timeout before sending); waits for its backoff.
    Retrying,
    /// A publish whose answer never came (a timeout, a dropped connection, a worker that
    /// died while publishing): the next attempt looks for the post before publishing.
    OutcomeUnknown,
    /// Refused for good: the input is invalid for the platform, or the host's policy denied
    /// what the plugin tried. Retrying the same thing fails again; a person must act.
    Failed,
    /// Retries exhausted. Stays visible with its reason; a person may retry it.
    Dead,
    Cancelled,
}

impl DeliveryStatus {
    /// States a worker may claim once `run_at` has passed.
    pub const CLAIMABLE: &'static [DeliveryStatus] = &[Self::Scheduled, Self::Retrying, Self::OutcomeUnknown];
    /// States held under a lease: the rescuer frees them when the lease expires.
    pub const LEASED: &'static [DeliveryStatus] = &[Self::Claimed, Self::Publishing];
    /// Every state (a test checks none is missing).
    pub const ALL: &'static [DeliveryStatus] = &[
        Self::Pending,
        Self::Scheduled,
        Self::Claimed,
        Self::Publishing,
        Self::Published,
        Self::Retrying,
        Self::OutcomeUnknown,
        Self::Failed,
        Self::Dead,
        Self::Cancelled,
    ];
    /// States a person may retry.
    pub const RETRYABLE_BY_PERSON: &'static [DeliveryStatus] = &[Self::Failed, Self::Dead, Self::Cancelled];
    /// States a person may cancel (nothing is on its way to the platform yet).
    pub const CANCELLABLE: &'static [DeliveryStatus] = &[Self::Pending, Self::Scheduled, Self::Retrying];
    /// States whose adaptation may still be replaced when the post is edited (unless a
    /// lookup is owed: then the platform may have what was sent).
    pub const EDITABLE: &'static [DeliveryStatus] = &[
        Self::Pending,
        Self::Scheduled,
        Self::Failed,
        Self::Dead,
        Self::Cancelled,
    ];

    /// The states a delivery may move to from this one.
    pub fn allowed_next(self) -> &'static [DeliveryStatus] {
        use DeliveryStatus::*;
        match self {
            Pending => &[Scheduled, Cancelled],
            Scheduled => &[Claimed, Pending, Cancelled],
            // Claimed: the attempt starts publishing, or gives the delivery back (over
            // budget, token being refreshed, a lookup failed), or is rescued; a lookup that
            // finds the post ends it as published.
            Claimed => &[Publishing, Published, Scheduled, Retrying, OutcomeUnknown, Failed, Dead],
            // Publishing: the intent is recorded, and `publish` runs once the account's
            // previous delivery has been sent; an attempt that learns before sending that the
            // account must wait (a 429, a full budget) gives the delivery back.
            Publishing => &[Published, Scheduled, Retrying, OutcomeUnknown, Failed, Dead],
            Retrying => &[Claimed, Cancelled],
            OutcomeUnknown => &[Claimed],
            // Back to the queue by a person's retry; or published after all, when a delivery
            // whose outcome was uncertain is found on the platform (an edit looks first).
            Failed | Dead | Cancelled => &[Scheduled, Published],
            Published => &[],
        }
    }

    pub fn can_move_to(self, next: DeliveryStatus) -> bool {
        self.allowed_next().contains(&next)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Published | Self::Failed | Self::Dead | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        use DeliveryStatus::*;
        match self {
            Pending => "pending",
            Scheduled => "scheduled",
            Claimed => "claimed",
            Publishing => "publishing",
            Published => "published",
            Retrying => "retrying",
            OutcomeUnknown => "outcome_unknown",
            Failed => "failed",
            Dead => "dead",
            Cancelled => "cancelled",
        }
    }

    pub fn all() -> impl Iterator<Item = DeliveryStatus> {
        <Self as sea_orm::Iterable>::iter()
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an attempt did not publish: what the queue did about it follows from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The platform refused the input; permanent.
    InvalidInput,
    /// The host's policy refused what the plugin tried; permanent, an operator's matter.
    Denied,
    /// The token was refused; the account needs a refresh or a person to reconnect.
    Auth,
    /// 429: retried after the platform's Retry-After.
    RateLimited,
    /// 5xx, a dropped connection, a timeout: retried with backoff.
    Transient,
    /// The plugin crashed or ran out of a limit.
    Plugin,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Denied => "denied",
            Self::Auth => "auth",
            Self::RateLimited => "rate_limited",
            Self::Transient => "transient",
            Self::Plugin => "plugin",
        }
    }
}

/// The key that makes a delivery unique per (post, account, segment[, occurrence]), and the
/// marker a plugin can look for on the platform to recover a post it made before a crash.
/// A recurring post's occurrence adds its fire instant, so the unique index on this key
/// makes materialising one occurrence twice impossible.
pub fn idempotency_key(post: Uuid, account: Uuid, segment: Option<Uuid>, occurrence: Option<DateTime<Utc>>) -> String {
    let segment = segment
        .map(|s| s.simple().to_string())
        .unwrap_or_else(|| "all".to_owned());
    match occurrence {
        None => format!("{}.{}.{}", post.simple(), account.simple(), segment),
        Some(at) => format!("{}.{}.{}.{}", post.simple(), account.simple(), segment, at.timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_names_every_state() {
        use sea_orm::Iterable;
        let every: Vec<DeliveryStatus> = DeliveryStatus::iter().collect();
        assert_eq!(every.len(), DeliveryStatus::ALL.len());
        assert!(every.iter().all(|s| DeliveryStatus::ALL.contains(s)));
    }

    #[test]
    fn key_differs_per_segment_and_fits_the_column() {
        let (p, a, s) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let with = idempotency_key(p, a, Some(s), None);
        assert_ne!(with, idempotency_key(p, a, None, None));
        let at = Utc::now();
        let occurrence = idempotency_key(p, a, Some(s), Some(at));
        assert_ne!(occurrence, with);
        assert_ne!(
            occurrence,
            idempotency_key(p, a, Some(s), Some(at + chrono::Duration::minutes(1)))
        );
        assert!(occurrence.len() <= 120);
    }

    #[test]
    fn a_published_delivery_never_moves_and_every_state_is_reachable() {
        use DeliveryStatus::*;
        assert!(Published.allowed_next().is_empty());
        for s in DeliveryStatus::all() {
            let reachable = s == Pending || DeliveryStatus::all().any(|from| from.can_move_to(s));
            assert!(reachable, "{s} is never entered");
        }
        // Publishing goes back to scheduled only when its attempt gives it back before
        // sending (the queue then keeps the lookup owed at the claim); it is never claimed
        // again without passing through a state that says what happened.
        assert!(Publishing.can_move_to(Scheduled));
        assert!(!Publishing.can_move_to(Claimed));
        for s in DeliveryStatus::CLAIMABLE {
            assert!(s.can_move_to(Claimed), "{s}");
        }
        for s in DeliveryStatus::LEASED {
            assert!(!s.is_terminal());
        }
    }

    #[test]
    fn status_names_match_the_database_strings() {
        use sea_orm::ActiveEnum;
        for s in DeliveryStatus::all() {
            assert_eq!(s.to_value(), s.as_str());
        }
    }
}
