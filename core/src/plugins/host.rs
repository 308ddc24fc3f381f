//! What one call's store holds, and the host imports a plugin may use.

use super::bindings::{host_api, types};
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
    async fn send(
        &mut self,
        request: host_api::HttpRequest,
    ) -> wasmtime::Result<Result<host_api::HttpResponse, host_api::HttpError>> {
        let url = request.url.clone();
        let result = self.http.send(request).await;
        match &result {
            Ok(r) => tracing::debug!(plugin = %self.plugin, %url, status = r.status, "plugin http"),
            Err(e) => tracing::info!(plugin = %self.plugin, %url, error = ?e, "plugin http refused or failed"),
        }
        Ok(result)
    }

    async fn log(&mut self, level: host_api::LogLevel, message: String) -> wasmtime::Result<()> {
        let message: String = message.chars().take(2000).collect();
        let plugin = &self.plugin;
        match level {
            host_api::LogLevel::Trace => tracing::trace!(%plugin, "{message}"),
            host_api::LogLevel::Debug => tracing::debug!(%plugin, "{message}"),
            host_api::LogLevel::Info => tracing::info!(%plugin, "{message}"),
            host_api::LogLevel::Warn => tracing::warn!(%plugin, "{message}"),
            host_api::LogLevel::Error => tracing::error!(%plugin, "{message}"),
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
        tokio::time::sleep(wait).await;
        Ok(())
    }

    async fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self
            .kv
            .get(&self.plugin, self.workspace, &key)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(plugin = %self.plugin, error = %e, "plugin kv read failed");
                None
            }))
    }

    async fn kv_set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
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
        Ok(self
            .kv
            .set(&self.plugin, self.workspace, &key, value, self.limits.kv_keys)
            .await)
    }

    async fn kv_delete(&mut self, key: String) -> wasmtime::Result<()> {
        if let Err(e) = self.kv.delete(&self.plugin, self.workspace, &key).await {
            tracing::warn!(plugin = %self.plugin, error = %e, "plugin kv delete failed");
        }
        Ok(())
    }
}
