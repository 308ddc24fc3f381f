//! Limits per plugin call, readable in one screen. Operators may tighten or loosen them.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Linear memory one call may use.
    pub memory_bytes: usize,
    /// CPU (time running guest code) for `describe` and `adapt`, which are pure; their wall
    /// time is capped at 20 times this, for a guest that waits on a busy machine.
    pub adapt_time: Duration,
    /// Total wall time for `publish`, `find-published` and `fetch-metrics`, HTTP included.
    pub publish_time: Duration,
    /// CPU those calls may use in guest code (HTTP and sleeps are not CPU).
    pub publish_cpu_time: Duration,
    /// HTTP requests one call may send.
    pub http_requests_per_call: u32,
    /// Largest response body handed to a plugin.
    pub http_response_bytes: u64,
    /// Largest request body a plugin may send from its own memory (media slices excepted).
    pub http_request_bytes: u64,
    /// One request's timeout.
    pub http_timeout: Duration,
    /// Longest single `sleep-ms`, and all sleeps of one call together.
    pub sleep_max: Duration,
    pub sleep_total: Duration,
    /// Largest text a call may return (all strings of the result together).
    pub output_bytes: usize,
    /// Most elements in any one list of a result (parts, hashtags, media, warnings,
    /// metrics, extra ids): empty elements cost nothing in bytes but still cost.
    pub output_items: usize,
    /// What one call may write to the host's log; past either, lines are dropped and one
    /// line at the end says how many.
    pub log_lines_per_call: u32,
    pub log_bytes_per_call: usize,
    /// Key-value store: key length, value size and keys per plugin and workspace.
    pub kv_key_bytes: usize,
    pub kv_value_bytes: usize,
    pub kv_keys: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            adapt_time: Duration::from_millis(100),
            publish_time: Duration::from_secs(120),
            publish_cpu_time: Duration::from_secs(10),
            http_requests_per_call: 50,
            http_response_bytes: 8 << 20,
            http_request_bytes: 8 << 20,
            http_timeout: Duration::from_secs(20),
            sleep_max: Duration::from_secs(10),
            sleep_total: Duration::from_secs(60),
            output_bytes: 1 << 20,
            output_items: 1000,
            log_lines_per_call: 50,
            log_bytes_per_call: 16 << 10,
            kv_key_bytes: 256,
            kv_value_bytes: 64 << 10,
            kv_keys: 1000,
        }
    }
}
