//! Limits per plugin call, readable in one screen. Operators may tighten or loosen them.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Linear memory one call may use.
    pub memory_bytes: usize,
    /// CPU (wall time in guest code) for `describe` and `adapt`, which are pure.
    pub adapt_time: Duration,
    /// Total wall time for `publish`, `find-published` and `fetch-metrics`, HTTP included.
    pub publish_time: Duration,
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
            http_requests_per_call: 50,
            http_response_bytes: 8 << 20,
            http_request_bytes: 8 << 20,
            http_timeout: Duration::from_secs(20),
            sleep_max: Duration::from_secs(10),
            sleep_total: Duration::from_secs(60),
            output_bytes: 1 << 20,
            kv_key_bytes: 256,
            kv_value_bytes: 64 << 10,
            kv_keys: 1000,
        }
    }
}
