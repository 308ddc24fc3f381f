//! When a failed attempt is tried again: exponential backoff with full jitter, never
//! sooner than the platform's Retry-After.

use rand::Rng;
use std::time::Duration;

/// Delays between attempts: `base × 2^(attempt-1)`, capped, with full jitter (a uniform
/// pick below that bound), so many deliveries failing together do not retry together.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The delay after the `attempt`-th failed attempt (1-based). With a Retry-After, the
    /// delay is at least that (plus up to a second of jitter, so an account's deliveries
    /// that were told the same instant do not arrive together).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
        if let Some(after) = retry_after {
            return after + Duration::from_millis(rng.random_range(0..1000));
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.cap);
        // Full jitter, but never less than half the base: a retry is never immediate.
        let floor = self.base / 2;
        floor + Duration::from_millis(rng.random_range(0..=exp.saturating_sub(floor).as_millis() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_is_capped_jittered_and_honours_retry_after() {
        let b = Backoff::default();
        let mut rng = rand::rng();
        for attempt in 1..30 {
            let bound = (b.base * 2u32.pow((attempt - 1).min(20))).min(b.cap);
            for _ in 0..50 {
                let d = b.delay(attempt, None, &mut rng);
                assert!(
                    d >= b.base / 2 && d <= bound.max(b.base / 2),
                    "attempt {attempt}: {d:?}"
                );
            }
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| b.delay(6, None, &mut rng)).collect();
        assert!(spread.len() > 40, "jittered");
        for _ in 0..50 {
            let d = b.delay(1, Some(Duration::from_secs(90)), &mut rng);
            assert!(d >= Duration::from_secs(90) && d < Duration::from_secs(91));
        }
    }
}
