//! Deliveries: one post, adapted for one account and one audience segment.

use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Created with its adaptation; not yet given a time.
    Pending,
    Scheduled,
    /// A worker holds it and is talking to the platform.
    Publishing,
    Published,
    /// Failed for good (a permanent error, or retries exhausted).
    Failed,
    Cancelled,
}

/// The key that makes a delivery unique per (post, account, segment), and the marker a
/// plugin can look for on the platform to recover a post it made before a crash.
pub fn idempotency_key(post: Uuid, account: Uuid, segment: Option<Uuid>) -> String {
    let segment = segment
        .map(|s| s.simple().to_string())
        .unwrap_or_else(|| "all".to_owned());
    format!("{}.{}.{}", post.simple(), account.simple(), segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_differs_per_segment_and_fits_the_column() {
        let (p, a, s) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let with = idempotency_key(p, a, Some(s));
        assert_ne!(with, idempotency_key(p, a, None));
        assert!(with.len() <= 120);
    }
}
