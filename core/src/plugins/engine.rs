//! The sandbox: one wasmtime engine, components compiled once, a fresh store per call.
//!
//! Speed comes from doing the expensive parts once: a component is compiled once per
//! content hash (and cached on disk keyed by its sha256 and the engine's compatibility
//! hash), linked once into an `InstancePre`, and instantiated per call from the pooling
//! allocator's pre-reserved slots. Safety comes from what each call's store gets: a memory
//! limit, an epoch deadline, a locked-down WASI context, and the host imports in `host.rs`.

use super::bindings::types::{Account, Adapted, Description, Metrics, Post, Published, Segment};
use super::bindings::{Platform, PlatformPre, types, v0_1_0};
use super::cpu::{CpuExhausted, CpuMeter, long_lane_permits};
use super::error::{CallError, CallErrorKind};
use super::host::{FrozenClock, HostState, LogBudget, MemoryGuard};
use super::http::{CallHttp, HttpClients, MediaSource};
use super::kv::KvBackend;
use super::limits::Limits;
use super::manifest::{Manifest, ManifestError};
use super::policy::Grant;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uuid::Uuid;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// How often the engine's epoch advances: the granularity of CPU deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Calls running at once; more wait for a slot instead of failing.
const MAX_CONCURRENT_CALLS: usize = 96;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("plugin {id}: the component is not a valid chorus:plugin@{version} component: {message}")]
    Compile {
        id: String,
        version: String,
        message: String,
    },
    #[error("plugin {id}: {message}")]
    Describe { id: String, message: String },
    #[error("cannot start the plugin engine: {0}")]
    Engine(String),
}

/// Settings for the engine as a whole.
#[derive(Clone)]
pub struct EngineSettings {
    /// Where compiled components are cached (`None`: compile on every start).
    pub cache_dir: Option<PathBuf>,
    pub kv: Arc<dyn KvBackend>,
}

/// Owns the wasmtime engine, the linker and the epoch ticker.
#[derive(Clone)]
pub struct PluginEngine {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    linker: Linker<HostState>,
    clients: HttpClients,
    settings: EngineSettings,
    slots: Arc<tokio::sync::Semaphore>,
    /// Guests that have run past the fast lane share these permits (see [`super::cpu`]).
    long_lane: Arc<tokio::sync::Semaphore>,
    /// Compiled components by sha256: identical bytes are compiled once per process.
    compiled: std::sync::Mutex<std::collections::HashMap<String, Component>>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl PluginEngine {
    pub fn new(settings: EngineSettings) -> Result<Self, LoadError> {
        let engine_err = |e: wasmtime::Error| LoadError::Engine(e.to_string());
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_CONCURRENT_CALLS as u32 + 32)
            .total_core_instances((MAX_CONCURRENT_CALLS as u32 + 32) * 8)
            .total_memories(MAX_CONCURRENT_CALLS as u32 + 32)
            .total_tables((MAX_CONCURRENT_CALLS as u32 + 32) * 4)
            .total_stacks(MAX_CONCURRENT_CALLS as u32 + 32)
            .max_memory_size(Limits::default().memory_bytes.max(256 << 20));
        // Keep the first 2 MiB of a reused slot resident (the 1 MiB shadow stack, the data
        // segment, the start of the heap) so the next call does not fault them in again.
        // Measured with `chorus bench plugins`: when the SDK's data (twitter-text's TLD and
        // emoji tables) pushed the heap past 1 MiB, a realistic adapt went from 42 to 92 µs
        // with 1 MiB resident, and back to 41 µs with 2 MiB. The cost is at most 2 MiB of
        // resident memory per pool slot that has been used.
        // Resetting a used slot is the main per-call cost on a multi-core host: every
        // madvise flushes the TLBs of the other cores. Where the kernel has PAGEMAP_SCAN
        // (Linux 6.7+), only the pages a call dirtied are reset; decommits are batched.
        pool.pagemap_scan(wasmtime::Enabled::Auto).decommit_batch_size(32);
        pool.linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            .async_stack_keep_resident(64 << 10);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(1 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(engine_err)?;
        let mut linker = Linker::<HostState>::new(&engine);
        // Rust's std on wasip2 imports WASI; it is linked, but every context is locked down.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(engine_err)?;
        // Every contract version's imports: a component links against the one it was built for.
        Platform::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(engine_err)?;
        v0_1_0::Platform::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).map_err(engine_err)?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (ticking, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("chorus-plugin-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        let clients = HttpClients::new().map_err(LoadError::Engine)?;
        Ok(Self {
            shared: Arc::new(Shared {
                engine,
                linker,
                clients,
                settings,
                slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_CALLS)),
                long_lane: Arc::new(tokio::sync::Semaphore::new(long_lane_permits(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                ))),
                compiled: Default::default(),
                stop_ticker,
            }),
        })
    }

    /// Compiles (or loads from cache), links and describes a plugin. `require_hash`
    /// refuses a manifest without `sha256` (installed plugins); bundled plugins carry one
    /// from the build.
    pub async fn load(
        &self,
        manifest: Manifest,
        component: &[u8],
        require_hash: bool,
        grant: Grant,
        limits: Limits,
    ) -> Result<Plugin, LoadError> {
        let sha256 = manifest.verify(component, require_hash)?;
        let compiled = self.compile(&manifest.id, &manifest.api_version, &sha256, component)?;
        let linked = self.shared.linker.instantiate_pre(&compiled);
        let pre = match manifest.api_version.as_str() {
            "0.1.0" => linked.and_then(v0_1_0::PlatformPre::new).map(Pre::V0_1),
            _ => linked.and_then(PlatformPre::new).map(Pre::Latest),
        }
        .map_err(|e| LoadError::Compile {
            id: manifest.id.clone(),
            version: manifest.api_version.clone(),
            message: format!("{e:#}"),
        })?;
        let mut sandbox = Sandbox {
            id: manifest.id.clone(),
            pre,
            grant,
            limits: Arc::new(limits),
            engine: self.clone(),
        };
        let description = sandbox.describe().await.map_err(|e| LoadError::Describe {
            id: manifest.id.clone(),
            message: e.kind.to_string(),
        })?;
        if description.id != manifest.platform {
            return Err(LoadError::Describe {
                id: manifest.id.clone(),
                message: format!(
                    "describe() says platform {:?} but the manifest says {:?}",
                    description.id, manifest.platform
                ),
            });
        }
        sandbox.grant.default_credential_host(&description.default_api_base);
        Ok(Plugin {
            manifest,
            sha256,
            description,
            sandbox,
        })
    }

    fn compile(&self, id: &str, version: &str, sha256: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        if let Some(c) = self.shared.compiled.lock().ok().and_then(|m| m.get(sha256).cloned()) {
            return Ok(c);
        }
        let component = self.compile_uncached(id, version, sha256, bytes)?;
        if let Ok(mut m) = self.shared.compiled.lock() {
            m.insert(sha256.to_owned(), component.clone());
        }
        Ok(component)
    }

    fn compile_uncached(&self, id: &str, version: &str, sha256: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let engine = &self.shared.engine;
        let compile_err = |e: wasmtime::Error| LoadError::Compile {
            id: id.to_owned(),
            version: version.to_owned(),
            message: format!("{e:#}"),
        };
        let Some(dir) = &self.shared.settings.cache_dir else {
            return Component::new(engine, bytes).map_err(compile_err);
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let path = dir.join(format!("{sha256}-{:016x}.cwasm", h.finish()));
        // Read into memory rather than map the file: a cache file truncated or replaced
        // while mapped would crash the process (SIGBUS) instead of failing one load.
        if let Ok(cached) = std::fs::read(&path) {
            // SAFETY: the file is in Chorus's own cache directory, written below by this
            // engine configuration (the name carries its compatibility hash) from a
            // component whose sha256 is also in the name; wasmtime checks its header and
            // the engine's compatibility before using it.
            match unsafe { Component::deserialize(engine, &cached) } {
                Ok(c) => return Ok(c),
                Err(e) => tracing::warn!(plugin = id, error = %e, "ignoring an unreadable compiled-plugin cache entry"),
            }
        }
        let component = Component::new(engine, bytes).map_err(compile_err)?;
        if let Ok(serialized) = component.serialize() {
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
            let written = std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(&tmp, serialized))
                .and_then(|_| std::fs::rename(&tmp, &path));
            if let Err(e) = written {
                tracing::warn!(plugin = id, error = %e, dir = %dir.display(), "cannot cache the compiled plugin");
            }
        }
        Ok(component)
    }
}

/// What the host knows about the call beyond its arguments.
#[derive(Clone, Default)]
pub struct Invocation {
    /// The workspace the call acts for (scopes the plugin's key-value store).
    pub workspace: Uuid,
    /// The account's access token, added by the host to the plugin's requests.
    pub token: Option<String>,
    pub media: Option<Arc<dyn MediaSource>>,
    /// What the host knows of those media (type, size), passed to the plugin in the call
    /// context; empty for posts without media.
    pub media_refs: Vec<types::MediaRef>,
    /// Records the call's HTTP exchanges (`chorus plugin run`); `None` in production.
    pub trace: Option<Arc<super::http::HttpTrace>>,
    /// The account's own server (`https://fosstodon.org`), for plugins whose manifest
    /// declares `account_api_base`: the call's API base, reachable in this call only.
    pub api_base: Option<String>,
}

/// A loaded plugin, ready to call. Cheap to share behind an `Arc`.
pub struct Plugin {
    pub manifest: Manifest,
    pub sha256: String,
    /// `describe()` as returned at load time.
    pub description: Description,
    sandbox: Sandbox,
}

/// What every call of one plugin starts from: the linked component, the operator's grant
/// and the limits. Apart from [`Plugin`] so `describe` can run before a plugin exists.
struct Sandbox {
    id: String,
    pre: Pre,
    grant: Grant,
    limits: Arc<Limits>,
    engine: PluginEngine,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.manifest.id)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

enum Phase {
    Pure,
    Network,
}

impl Plugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The API base calls should use: the operator's override, else the platform's own.
    pub fn api_base(&self) -> String {
        self.sandbox
            .grant
            .api_base
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| self.description.default_api_base.trim_end_matches('/').to_owned())
    }

    /// Creates a store and an instance and drops them: the fixed cost of every call
    /// (what `chorus bench plugins` reports as instantiation).
    pub async fn instantiate_only(&self) -> Result<(), CallError> {
        self.sandbox
            .start("instantiate", Phase::Pure, &Invocation::default())
            .await
            .map(|_| ())
    }

    /// Calls `describe` again (the conformance check compares it with the cached one).
    pub async fn describe_fresh(&self) -> Result<Description, CallError> {
        self.sandbox.describe().await
    }

    /// The operator's grant: hosts and API base.
    pub fn grant(&self) -> &Grant {
        &self.sandbox.grant
    }

    pub fn limits(&self) -> &Limits {
        &self.sandbox.limits
    }

    pub async fn adapt(
        &self,
        post: &Post,
        segment: Option<&Segment>,
        account: &Account,
        inv: &Invocation,
    ) -> Result<Adapted, CallError> {
        let (mut store, inst) = self.sandbox.start("adapt", Phase::Pure, inv).await?;
        let limit = self.sandbox.limits.adapt_time;
        let res = tokio::time::timeout(limit * 20, inst.adapt(&mut store, post, segment, account)).await;
        let adapted = self.sandbox.finish("adapt", &store, res, limit)?;
        self.check_output("adapt", text_bytes(&adapted))?;
        self.check_items("adapt", adapted_items(&adapted))?;
        Ok(adapted)
    }

    /// Adapts `post` for several segments in one call (one fresh instance for all of them):
    /// the composer's fan-out. One result per segment, in order; the call as a whole can
    /// still fail (time, memory, a crash), and then no segment has a result.
    pub async fn adapt_segments(
        &self,
        post: &Post,
        segments: &[Option<Segment>],
        account: &Account,
        inv: &Invocation,
    ) -> Result<Vec<Result<Adapted, CallError>>, CallError> {
        let (mut store, inst) = self.sandbox.start("adapt-segments", Phase::Pure, inv).await?;
        let limit = self.sandbox.limits.adapt_time;
        let res = tokio::time::timeout(limit * 20, inst.adapt_segments(&mut store, post, segments, account)).await;
        let results = self
            .sandbox
            .finish("adapt-segments", &store, res.map(|r| r.map(Ok)), limit)?;
        if results.len() != segments.len() {
            return Err(self.sandbox.error(
                "adapt-segments",
                CallErrorKind::Crashed(format!(
                    "returned {} results for {} segments",
                    results.len(),
                    segments.len()
                )),
            ));
        }
        self.check_output("adapt-segments", results.iter().flatten().map(text_bytes).sum())?;
        for adapted in results.iter().flatten() {
            self.check_items("adapt-segments", adapted_items(adapted))?;
        }
        Ok(results
            .into_iter()
            .map(|r| r.map_err(|e| self.sandbox.error("adapt-segments", CallErrorKind::Plugin(e))))
            .collect())
    }

    /// Refuses a result with a list longer than the limit, naming the field.
    fn check_items(
        &self,
        call: &'static str,
        items: impl IntoIterator<Item = (&'static str, usize)>,
    ) -> Result<(), CallError> {
        let limit = self.sandbox.limits.output_items;
        match items.into_iter().find(|(_, count)| *count > limit) {
            Some((field, count)) => Err(self
                .sandbox
                .error(call, CallErrorKind::TooManyItems { field, count, limit })),
            None => Ok(()),
        }
    }

    fn check_output(&self, call: &'static str, bytes: usize) -> Result<(), CallError> {
        let limit = self.sandbox.limits.output_bytes;
        if bytes > limit {
            return Err(self.sandbox.error(call, CallErrorKind::OutputTooLarge { bytes, limit }));
        }
        Ok(())
    }

    pub async fn publish(
        &self,
        adapted: &Adapted,
        marker: &str,
        account: &Account,
        inv: &Invocation,
    ) -> Result<Published, CallError> {
        let ctx = self.context(account, inv);
        let (mut store, inst) = self.sandbox.start("publish", Phase::Network, inv).await?;
        let limit = self.sandbox.limits.publish_time;
        let res = tokio::time::timeout(limit, inst.publish(&mut store, adapted, marker, &ctx)).await;
        let published = self.sandbox.finish("publish", &store, res, limit)?;
        self.check_items("publish", [("extra-ids", published.extra_ids.len())])?;
        Ok(published)
    }

    pub async fn find_published(
        &self,
        marker: &str,
        adapted: &Adapted,
        account: &Account,
        inv: &Invocation,
    ) -> Result<Option<Published>, CallError> {
        let ctx = self.context(account, inv);
        let (mut store, inst) = self.sandbox.start("find-published", Phase::Network, inv).await?;
        let limit = self.sandbox.limits.publish_time;
        let res = tokio::time::timeout(limit, inst.find_published(&mut store, marker, adapted, &ctx)).await;
        let found = self.sandbox.finish("find-published", &store, res, limit)?;
        if let Some(p) = &found {
            self.check_items("find-published", [("extra-ids", p.extra_ids.len())])?;
        }
        Ok(found)
    }

    pub async fn fetch_metrics(
        &self,
        remote_ids: &[String],
        account: &Account,
        inv: &Invocation,
    ) -> Result<Vec<Metrics>, CallError> {
        let ctx = self.context(account, inv);
        let (mut store, inst) = self.sandbox.start("fetch-metrics", Phase::Network, inv).await?;
        let limit = self.sandbox.limits.publish_time;
        let res = tokio::time::timeout(limit, inst.fetch_metrics(&mut store, remote_ids, &ctx)).await;
        let metrics = self.sandbox.finish("fetch-metrics", &store, res, limit)?;
        self.check_items("fetch-metrics", [("metrics", metrics.len())])?;
        Ok(metrics)
    }

    fn context(&self, account: &Account, inv: &Invocation) -> types::CallContext {
        types::CallContext {
            account: account.clone(),
            api_base: inv
                .api_base
                .as_deref()
                .map_or_else(|| self.api_base(), |b| b.trim_end_matches('/').to_owned()),
            media: inv.media_refs.clone(),
        }
    }
}

impl Sandbox {
    async fn describe(&self) -> Result<Description, CallError> {
        let (mut store, inst) = self.start("describe", Phase::Pure, &Invocation::default()).await?;
        let limit = self.limits.adapt_time;
        let res = tokio::time::timeout(limit * 20, inst.describe(&mut store)).await;
        self.finish("describe", &store, res.map(|r| r.map(Ok)), limit)
    }

    fn error(&self, call: &'static str, kind: CallErrorKind) -> CallError {
        CallError {
            plugin: self.id.clone(),
            call,
            kind,
        }
    }

    /// A fresh store with this call's limits, and an instance in it.
    async fn start(
        &self,
        call: &'static str,
        phase: Phase,
        inv: &Invocation,
    ) -> Result<(Store<HostState>, Instance), CallError> {
        let shared = &self.engine.shared;
        // The permit lives in the store for the whole call.
        let slot = shared
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| self.error(call, CallErrorKind::Instantiate(e.to_string())))?;
        let stderr = MemoryOutputPipe::new(4096);
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .stderr(stderr.clone())
            .build();
        let network = matches!(phase, Phase::Network);
        // An account on its own server (a federated platform): that server joins the
        // grant for this call, or the call is refused as a policy problem.
        let grant = match inv.api_base.as_deref().filter(|_| network) {
            Some(base) => self
                .grant
                .for_account(base)
                .map_err(|why| self.error(call, CallErrorKind::Plugin(types::PluginError::Denied(why))))?,
            None => self.grant.clone(),
        };
        let state = HostState {
            plugin: self.id.clone(),
            workspace: inv.workspace,
            limits: self.limits.clone(),
            wasi,
            table: ResourceTable::new(),
            memory: MemoryGuard {
                limit: self.limits.memory_bytes,
                hit: false,
            },
            http: CallHttp {
                clients: shared.clients.clone(),
                grant,
                limits: self.limits.clone(),
                allowed: network,
                token: if network { inv.token.clone() } else { None },
                media: inv.media.clone(),
                sent: 0,
                trace: inv.trace.clone(),
            },
            kv: shared.settings.kv.clone(),
            slept: Duration::ZERO,
            cpu: CpuMeter::new(
                if network {
                    self.limits.publish_cpu_time
                } else {
                    self.limits.adapt_time
                },
                shared.long_lane.clone(),
            ),
            log: LogBudget::default(),
            forbidden: None,
            stderr,
            _slot: slot,
        };
        let mut store = Store::new(&shared.engine, state);
        store.limiter(|s| &mut s.memory);
        // Every tick the guest is charged and yields; past its CPU budget it is stopped.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| ctx.data_mut().cpu.on_deadline());
        let inst = match &self.pre {
            Pre::Latest(pre) => pre.instantiate_async(&mut store).await.map(Instance::Latest),
            Pre::V0_1(pre) => pre.instantiate_async(&mut store).await.map(Instance::V0_1),
        };
        match inst {
            Ok(inst) => Ok((store, inst)),
            Err(e) => Err(self.classify(call, &store, e, self.limits.adapt_time)),
        }
    }

    fn finish<T>(
        &self,
        call: &'static str,
        store: &Store<HostState>,
        res: Result<wasmtime::Result<Result<T, types::PluginError>>, tokio::time::error::Elapsed>,
        limit: Duration,
    ) -> Result<T, CallError> {
        store.data().report_dropped_logs();
        if let Some(why) = &store.data().forbidden {
            return Err(self.error(call, CallErrorKind::Forbidden(why.clone())));
        }
        match res {
            Err(_) => Err(self.error(call, CallErrorKind::Timeout(limit))),
            Ok(Err(trap)) => Err(self.classify(call, store, trap, limit)),
            Ok(Ok(Err(plugin_error))) => Err(self.error(call, CallErrorKind::Plugin(plugin_error))),
            Ok(Ok(Ok(value))) => Ok(value),
        }
    }

    fn classify(
        &self,
        call: &'static str,
        store: &Store<HostState>,
        err: wasmtime::Error,
        limit: Duration,
    ) -> CallError {
        let state = store.data();
        let stderr = String::from_utf8_lossy(&state.stderr.contents()).trim().to_owned();
        let kind = if state.memory.hit {
            CallErrorKind::OutOfMemory(state.memory.limit)
        } else if let Some(cpu) = err.downcast_ref::<CpuExhausted>() {
            CallErrorKind::CpuLimit(cpu.budget)
        } else {
            match err.downcast_ref::<Trap>() {
                Some(Trap::Interrupt) => CallErrorKind::Timeout(limit),
                Some(Trap::StackOverflow) => CallErrorKind::StackOverflow,
                Some(trap) if !stderr.is_empty() => CallErrorKind::Crashed(format!(
                    "{trap}; the plugin wrote: {}",
                    stderr.lines().take(3).collect::<Vec<_>>().join(" / ")
                )),
                Some(trap) => CallErrorKind::Crashed(trap.to_string()),
                None => CallErrorKind::Crashed(format!("{err:#}")),
            }
        };
        self.error(call, kind)
    }
}

/// A component linked for the contract version its manifest names.
enum Pre {
    Latest(PlatformPre<HostState>),
    V0_1(v0_1_0::PlatformPre<HostState>),
}

/// One call's instance. Calls take and return the latest contract's types; an older
/// component's go through its version's conversions.
enum Instance {
    Latest(Platform),
    V0_1(v0_1_0::Platform),
}

type Answer<T> = wasmtime::Result<Result<T, types::PluginError>>;

/// An old component's answer in the latest types.
fn up<A, B>(r: Result<A, v0_1_0::old::PluginError>, value: impl FnOnce(A) -> Result<B, v0_1_0::Mismatch>) -> Answer<B> {
    Ok(match r {
        Ok(a) => Ok(value(a)?),
        Err(e) => Err(v0_1_0::plugin_error(e)?),
    })
}

impl Instance {
    async fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<Description> {
        match self {
            Self::Latest(i) => i.call_describe(store).await,
            Self::V0_1(i) => Ok(v0_1_0::description(i.call_describe(store).await?)?),
        }
    }

    async fn adapt(
        &self,
        store: &mut Store<HostState>,
        post: &Post,
        segment: Option<&Segment>,
        account: &Account,
    ) -> Answer<Adapted> {
        match self {
            Self::Latest(i) => i.call_adapt(store, post, segment, account).await,
            Self::V0_1(i) => {
                let segment = segment.map(v0_1_0::segment).transpose()?;
                let r = i
                    .call_adapt(
                        store,
                        &v0_1_0::post(post)?,
                        segment.as_ref(),
                        &v0_1_0::account(account)?,
                    )
                    .await?;
                up(r, v0_1_0::adapted_up)
            }
        }
    }

    async fn adapt_segments(
        &self,
        store: &mut Store<HostState>,
        post: &Post,
        segments: &[Option<Segment>],
        account: &Account,
    ) -> wasmtime::Result<Vec<Result<Adapted, types::PluginError>>> {
        match self {
            Self::Latest(i) => i.call_adapt_segments(store, post, segments, account).await,
            Self::V0_1(i) => {
                let segments = segments
                    .iter()
                    .map(|s| s.as_ref().map(v0_1_0::segment).transpose())
                    .collect::<Result<Vec<_>, _>>()?;
                let results = i
                    .call_adapt_segments(store, &v0_1_0::post(post)?, &segments, &v0_1_0::account(account)?)
                    .await?;
                results.into_iter().map(|r| up(r, v0_1_0::adapted_up)).collect()
            }
        }
    }

    async fn publish(
        &self,
        store: &mut Store<HostState>,
        adapted: &Adapted,
        marker: &str,
        ctx: &types::CallContext,
    ) -> Answer<Published> {
        match self {
            Self::Latest(i) => i.call_publish(store, adapted, marker, ctx).await,
            Self::V0_1(i) => {
                let r = i
                    .call_publish(store, &v0_1_0::adapted_down(adapted)?, marker, &v0_1_0::context(ctx)?)
                    .await?;
                up(r, v0_1_0::published)
            }
        }
    }

    async fn find_published(
        &self,
        store: &mut Store<HostState>,
        marker: &str,
        adapted: &Adapted,
        ctx: &types::CallContext,
    ) -> Answer<Option<Published>> {
        match self {
            Self::Latest(i) => i.call_find_published(store, marker, adapted, ctx).await,
            Self::V0_1(i) => {
                let r = i
                    .call_find_published(store, marker, &v0_1_0::adapted_down(adapted)?, &v0_1_0::context(ctx)?)
                    .await?;
                up(r, |found| found.map(v0_1_0::published).transpose())
            }
        }
    }

    async fn fetch_metrics(
        &self,
        store: &mut Store<HostState>,
        remote_ids: &[String],
        ctx: &types::CallContext,
    ) -> Answer<Vec<Metrics>> {
        match self {
            Self::Latest(i) => i.call_fetch_metrics(store, remote_ids, ctx).await,
            Self::V0_1(i) => {
                let r = i.call_fetch_metrics(store, remote_ids, &v0_1_0::context(ctx)?).await?;
                up(r, v0_1_0::metrics)
            }
        }
    }
}

/// The lists an adaptation carries, for the item limit.
fn adapted_items(a: &Adapted) -> [(&'static str, usize); 7] {
    [
        ("parts", a.parts.len()),
        ("hashtags", a.hashtags.len()),
        ("media", a.media.len()),
        ("warnings", a.warnings.len()),
        ("fields", a.fields.len()),
        ("extras", a.extras.len()),
        ("languages", a.languages.len()),
    ]
}

/// The text an adaptation carries, for the output limit.
fn text_bytes(a: &Adapted) -> usize {
    a.text.len()
        + a.parts.iter().map(String::len).sum::<usize>()
        + a.hashtags.iter().map(String::len).sum::<usize>()
        + a.targeting.as_ref().map_or(0, String::len)
        + a.warnings.iter().map(|w| w.code.len() + w.message.len()).sum::<usize>()
        + a.fields.iter().map(|f| f.name.len() + f.text.len()).sum::<usize>()
        + a.extras
            .iter()
            .map(|e| e.key.len() + e.label.len() + e.value.len())
            .sum::<usize>()
        + a.languages.iter().map(String::len).sum::<usize>()
}
