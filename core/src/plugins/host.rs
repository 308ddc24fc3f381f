//! What one call's store holds, and the host imports a plugin may use.

use super::bindings::{host_api, types};
use super::cpu::CpuMeter;
use super::http::CallHttp;
use super::kv::KvBackend;
use super::limits::Limits;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The state of one call: a fresh one per call, dropped with the store.
pub struct HostState {
    pub(crate) plugin: String,
    pub(crate) workspace: Uuid,
    pub(crate) limits: Arc<Limits>,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) memory: MemoryGuard,
    pub(crate) http: CallHttp,
    pub(crate) kv: Arc<dyn KvBackend>,
    pub(crate) slept: Duration,
    pub(crate) cpu: CpuMeter,
    pub(crate) log: LogBudget,
    /// Set when the guest called a host function its phase forbids (the call then fails
    /// with this reason, whatever the guest returns).
    pub(crate) forbidden: Option<String>,
    /// What the plugin wrote to stderr (a panic message, usually).
    pub(crate) stderr: MemoryOutputPipe,
    /// Held for the call's lifetime: bounds how many calls run at once.
    pub(crate) _slot: tokio::sync::OwnedSemaphorePermit,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What one call may still write to the host's log.
#[derive(Default)]
pub struct LogBudget {
    pub(crate) lines: u32,
    pub(crate) bytes: usize,
    pub(crate) dropped: u32,
}

impl HostState {
    /// After the call: one line for everything the budget dropped.
    pub(crate) fn report_dropped_logs(&self) {
        if self.log.dropped > 0 {
            tracing::warn!(
                target: "chorus::plugin_log",
                plugin = %self.plugin,
                dropped = self.log.dropped,
                "the plugin's log lines past its per-call budget ({} lines, {} bytes) were dropped",
                self.limits.log_lines_per_call,
                self.limits.log_bytes_per_call
            );
        }
    }

    fn refuse_in_pure_call(&mut self, what: &str) -> Option<String> {
        if self.http.allowed {
            return None;
        }
        let why = format!(
            "{what} is not allowed during describe and adapt, which must be pure; publish, find-published and fetch-metrics may write the key-value store"
        );
        self.forbidden.get_or_insert_with(|| why.clone());
        Some(why)
    }
}

/// Enforces the memory limit and remembers that it did, so the trap can be named.
pub struct MemoryGuard {
    pub(crate) limit: usize,
    pub(crate) hit: bool,
}

impl wasmtime::ResourceLimiter for MemoryGuard {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Err(wasmtime::format_err!("memory limit of {} bytes reached", self.limit));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Wall and monotonic clocks that always read zero: plugins get time only from the host's
/// `now-ms`, so every clock read is one the host chose to give.
pub(crate) struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl types::Host for HostState {}

impl host_api::Host for HostState {
    async fn limits(&mut self) -> wasmtime::Result<host_api::CallLimits> {
        let l = &self.limits;
        let (requests, time) = if self.http.allowed {
            (l.http_requests_per_call, l.publish_time)
        } else {
            (0, l.adapt_time)
        };
        Ok(host_api::CallLimits {
            max_requests: requests,
            publish_max_requests: l.http_requests_per_call,
            max_call_ms: u32::try_from(time.as_millis()).unwrap_or(u32::MAX),
            max_response_bytes: l.http_response_bytes,
            max_output_items: u32::try_from(l.output_items).unwrap_or(u32::MAX),
        })
    }

    async fn send(
        &mut self,
        request: host_api::HttpRequest,
    ) -> wasmtime::Result<Result<host_api::HttpResponse, host_api::HttpError>> {
        let url = request.url.clone();
        self.cpu.pause();
        let result = self.http.send(request).await;
        self.cpu.resume();
        match &result {
            Ok(r) => tracing::debug!(plugin = %self.plugin, %url, status = r.status, "plugin http"),
            // A traced call (`plugin run`, `plugin test`) shows its exchanges itself.
            Err(e) if self.http.trace.is_some() => {
                tracing::debug!(plugin = %self.plugin, %url, error = ?e, "plugin http refused or failed")
            }
            Err(e) => tracing::info!(plugin = %self.plugin, %url, error = ?e, "plugin http refused or failed"),
        }
        Ok(result)
    }

    /// Plugin lines go to their own target (`chorus::plugin_log`) with the plugin's id, their
    /// control characters escaped so a plugin cannot start a line that looks like the
    /// host's; each call has a budget of lines and bytes.
    async fn log(&mut self, level: host_api::LogLevel, message: String) -> wasmtime::Result<()> {
        let message: String = message
            .chars()
            .take(2000)
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect();
        let budget = &mut self.log;
        if budget.lines >= self.limits.log_lines_per_call
            || budget.bytes + message.len() > self.limits.log_bytes_per_call
        {
            budget.dropped += 1;
            return Ok(());
        }
        budget.lines += 1;
        budget.bytes += message.len();
        let plugin = &self.plugin;
        match level {
            host_api::LogLevel::Trace => tracing::trace!(target: "chorus::plugin_log", %plugin, "{message}"),
            host_api::LogLevel::Debug => tracing::debug!(target: "chorus::plugin_log", %plugin, "{message}"),
            host_api::LogLevel::Info => tracing::info!(target: "chorus::plugin_log", %plugin, "{message}"),
            host_api::LogLevel::Warn => tracing::warn!(target: "chorus::plugin_log", %plugin, "{message}"),
            host_api::LogLevel::Error => tracing::error!(target: "chorus::plugin_log", %plugin, "{message}"),
        }
        Ok(())
    }

    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(chrono::Utc::now().timestamp_millis().max(0) as u64)
    }

    async fn sleep_ms(&mut self, ms: u32) -> wasmtime::Result<()> {
        if !self.http.allowed {
            return Ok(()); // pure calls have nothing to wait for
        }
        let left = self.limits.sleep_total.saturating_sub(self.slept);
        let wait = Duration::from_millis(ms.into()).min(self.limits.sleep_max).min(left);
        self.slept += wait;
        self.cpu.pause();
        tokio::time::sleep(wait).await;
        self.cpu.resume();
        Ok(())
    }

    async fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        self.cpu.pause();
        let got = self
            .kv
            .get(&self.plugin, self.workspace, &key)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(plugin = %self.plugin, error = %e, "plugin kv read failed");
                None
            });
        self.cpu.resume();
        Ok(got)
    }

    async fn kv_set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        if let Some(why) = self.refuse_in_pure_call("kv-set") {
            return Ok(Err(why));
        }
        if key.is_empty() || key.len() > self.limits.kv_key_bytes {
            return Ok(Err(format!("keys must be 1-{} bytes", self.limits.kv_key_bytes)));
        }
        if value.len() > self.limits.kv_value_bytes {
            return Ok(Err(format!(
                "a value may be at most {} bytes; got {}",
                self.limits.kv_value_bytes,
                value.len()
            )));
        }
        self.cpu.pause();
        let set = self
            .kv
            .set(&self.plugin, self.workspace, &key, value, self.limits.kv_keys)
            .await;
        self.cpu.resume();
        Ok(set)
    }

    async fn kv_delete(&mut self, key: String) -> wasmtime::Result<()> {
        // kv-delete has no error result in the contract: a refused delete fails the
        // whole call (see `forbidden`), so the plugin's author finds out.
        if self.refuse_in_pure_call("kv-delete").is_some() {
            return Ok(());
        }
        self.cpu.pause();
        if let Err(e) = self.kv.delete(&self.plugin, self.workspace, &key).await {
            tracing::warn!(plugin = %self.plugin, error = %e, "plugin kv delete failed");
        }
        self.cpu.resume();
        Ok(())
    }
}
