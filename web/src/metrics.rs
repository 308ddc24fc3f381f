//! `/metrics`: the delivery engine's figures in the Prometheus text format (OpenMetrics),
//! read at scrape time: queue depth per state from the database (every node's work), and
//! this process's engine counters, outcomes per platform and lateness histogram.

use chorus_core::delivery::Stats;
use chorus_core::store::Store;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The content type Prometheus negotiates for this text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The whole exposition.
pub async fn render(store: &Store, stats: Option<&Stats>) -> Result<String, chorus_core::StoreError> {
    let mut registry = Registry::with_prefix("chorus");
    let depth: Family<Vec<(String, String)>, Gauge> = Family::default();
    for s in store.queue().depth().await? {
        depth
            .get_or_create(&vec![("state".to_owned(), s.status.to_string())])
            .set(i64::try_from(s.count).unwrap_or(i64::MAX));
    }
    registry.register("deliveries", "Deliveries per queue state (all nodes)", depth);
    let held = Gauge::<i64>::default();
    held.set(store.queue().held(100_000).await?.len() as i64);
    registry.register(
        "deliveries_held",
        "Scheduled deliveries held until a person reconnects their account",
        held,
    );
    if let Some(st) = stats {
        let counter = |v: &AtomicU64| {
            let c = Counter::<u64>::default();
            c.inc_by(v.load(Relaxed));
            c
        };
        for (name, help, value) in [
            ("published", "Deliveries this engine published", &st.published),
            (
                "retries",
                "Attempts that will be tried again (5xx, 429, timeouts)",
                &st.retries,
            ),
            (
                "failed",
                "Deliveries refused for good (invalid input, policy)",
                &st.failed,
            ),
            ("dead", "Deliveries that ran out of attempts", &st.dead),
            ("lookups", "find-published calls before publishing again", &st.lookups),
            (
                "recovered",
                "Lookups that found the post already on the platform",
                &st.recovered,
            ),
            (
                "rescues",
                "Attempts freed after their worker's lease expired",
                &st.rescued,
            ),
            (
                "budget_delays",
                "Attempts delayed by a publish budget or a 429 pause",
                &st.budget_delays,
            ),
            ("holds", "Attempts held because the account needs a person", &st.held),
            (
                "token_refreshes",
                "Access tokens refreshed before publishing",
                &st.refreshes,
            ),
            (
                "token_refresh_failures",
                "Token refreshes refused or failed",
                &st.refresh_failures,
            ),
        ] {
            registry.register(format!("engine_{name}"), help, counter(value));
        }
        registry.register(
            "delivery_outcomes",
            "Attempt outcomes per platform (published, retried, failed, dead)",
            st.outcomes.clone(),
        );
        registry.register(
            "delivery_lateness_seconds",
            "From a delivery's planned instant to the platform's answer",
            st.lateness.clone(),
        );
    }
    let mut out = String::new();
    encode(&mut out, &registry)
        .map_err(|e| chorus_core::StoreError::Invalid(chorus_core::Invalid::new("metrics", e.to_string())))?;
    Ok(out)
}
