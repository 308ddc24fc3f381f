//! The delivery engine: claims due deliveries in batches and runs their attempts, with a
//! heartbeat that keeps the leases of running attempts and a rescuer that frees the leases
//! of attempts that died (in this process or another).
//!
//! Any number of engines may share one database: claims never overlap (see
//! [`crate::store::queue`]), and each maintenance task is safe to run everywhere at once.

use super::attempt::Attempts;
use super::backoff::Backoff;
use super::stats::Stats;
use crate::plugins::PluginRegistry;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};
use uuid::Uuid;

/// How an engine works; the defaults suit one process on a small machine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Names this engine in leases (`claimed_by`), for operators reading the queue.
    pub worker_id: String,
    /// Attempts running at once.
    pub concurrency: usize,
    /// Most deliveries claimed by one statement.
    pub batch: u32,
    /// How long a claim holds without a heartbeat. Heartbeats run every third of it.
    pub lease: Duration,
    /// Longest sleep between looks at the queue when nothing wakes the engine: due
    /// deliveries start within this of their instant.
    pub poll: Duration,
    /// How often expired leases are looked for.
    pub rescue_every: Duration,
    /// Attempts after which a temporary failure becomes `dead`.
    pub max_attempts: i32,
    pub backoff: Backoff,
    /// The operator's app registrations, for refreshing expiring tokens.
    pub oauth: crate::oauth::OAuthClients,
    /// Where posts' media are read from; without it plugins get no media to upload.
    pub media: Option<crate::media::MediaLibrary>,
    /// How webhooks are sent (every engine sends them).
    pub webhooks: crate::webhooks::WebhookSettings,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            worker_id: format!("{}-{}", hostname(), std::process::id()),
            concurrency: 256,
            batch: 128,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(250),
            rescue_every: Duration::from_secs(5),
            max_attempts: 8,
            backoff: Backoff::default(),
            oauth: Default::default(),
            media: None,
            webhooks: Default::default(),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "chorus".into())
}

/// Publishes due deliveries until asked to stop.
pub struct Engine {
    attempts: Arc<Attempts>,
    settings: EngineSettings,
    wake: Arc<Notify>,
}

impl Engine {
    pub fn new(store: Store, plugins: Arc<PluginRegistry>, settings: EngineSettings) -> Self {
        Self {
            attempts: Arc::new(Attempts {
                store: store.clone(),
                plugins,
                backoff: settings.backoff,
                max_attempts: settings.max_attempts,
                worker: settings.worker_id.clone(),
                lease: settings.lease,
                stopping: Default::default(),
                writer: super::writer::Writer::start(store.clone()).0,
                refresher: crate::oauth::refresh::Refresher::new(settings.oauth.clone()),
                stats: Arc::new(Stats::default()),
                paused: Mutex::new(HashMap::new()),
                budgets: Default::default(),
                touched: Mutex::new(HashMap::new()),
                account_turns: Mutex::new(HashMap::new()),
                media: settings.media.clone(),
            }),
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.attempts.stats.clone()
    }

    /// Wakes the engine now (something was enqueued for "now" in this process).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown` turns true, then stops claiming and lets running attempts
    /// finish within one lease (what is left is rescued by another engine, or this one
    /// after a restart).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let s = &self.settings;
        let store = self.attempts.store.clone();
        let slots = Arc::new(Semaphore::new(s.concurrency));
        let held: Arc<Mutex<HashMap<Uuid, usize>>> = Arc::default();
        // Deliveries in flight here per account. A claim skips accounts with anything in
        // flight, so when an account's last one ends it can be claimed again: the loop is
        // woken then instead of at its next poll (completions during a claim coalesce into
        // one more claim).
        let accounts: Arc<Mutex<HashMap<Uuid, usize>>> = Arc::default();
        let (stop_tx, stop_rx) = watch::channel(false);
        let heartbeat = tokio::spawn(heartbeat(store.clone(), held.clone(), s.lease, stop_rx.clone()));
        let rescuer = tokio::spawn(super::rescuer::run(
            store.clone(),
            s.rescue_every,
            self.attempts.stats.clone(),
            stop_rx.clone(),
        ));
        let leader = tokio::spawn(super::leader::run(
            store.clone(),
            s.worker_id.clone(),
            s.rescue_every,
            self.wake.clone(),
            stop_rx.clone(),
        ));
        let webhooks =
            tokio::spawn(crate::webhooks::Sender::new(s.webhooks.clone()).run(store.clone(), stop_rx.clone()));
        let listener = tokio::spawn(listen(store.clone(), self.wake.clone(), stop_rx));
        tracing::info!(worker = %s.worker_id, concurrency = s.concurrency, "delivery engine started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let available = slots.available_permits();
            let running = s.concurrency - available;
            // Under load, claim whole batches: a claim statement costs about as much for
            // one row as for a batch, and claiming each freed slot alone made claims the
            // busiest statement of a run.
            let worth_claiming = ((s.batch as usize).min(s.concurrency) / 4).max(1);
            let free = available.min(s.batch as usize) as u32;
            if free == 0 || (running > 0 && available < worth_claiming) {
                let wanted = if running > 0 { worth_claiming } else { 1 } as u32;
                tokio::select! {
                    p = slots.clone().acquire_many_owned(wanted) => drop(p),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let claims = match store
                .queue()
                .claim(&s.worker_id, free, s.lease, chrono::Utc::now())
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming deliveries failed; trying again shortly");
                    Vec::new()
                }
            };
            let full = claims.len() as u32 == free;
            // Accounts another worker published for since this engine counted their posts:
            // count again (the budgets).
            match store.queue().last_publishers(&claims).await {
                Ok(last) => {
                    for (account, by) in last {
                        if by != s.worker_id {
                            self.attempts.budgets.forget(account);
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "reading who published last failed; counting every account again");
                    for c in &claims {
                        self.attempts.budgets.forget(c.delivery.social_account_id);
                    }
                }
            }
            // The batch's accounts in one query; attempts fall back to their own read.
            let batch = match store.queue().accounts_of(&claims).await {
                Ok(accounts) => Some(Arc::new(super::attempt::Batch {
                    accounts,
                    loaded: std::time::Instant::now(),
                })),
                Err(e) => {
                    tracing::debug!(error = %e, "reading the batch's accounts failed; each attempt reads its own");
                    None
                }
            };
            for claim in claims {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let (token, account) = (claim.token, claim.delivery.social_account_id);
                count_in(&held, token);
                count_in(&accounts, account);
                let (attempts, held, accounts, batch) =
                    (self.attempts.clone(), held.clone(), accounts.clone(), batch.clone());
                let wake = self.wake.clone();
                tokio::spawn(async move {
                    attempts.run(claim, batch).await;
                    count_out(&held, token);
                    drop(permit);
                    if count_out(&accounts, account) {
                        wake.notify_one();
                    }
                });
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(s.poll) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
        // Drain: no new claims; attempts that have sent nothing hand their delivery back,
        // those talking to the platform finish, within a lease.
        self.attempts.stopping.store(true, Relaxed);
        let running = s.concurrency - slots.available_permits();
        if running > 0 {
            tracing::info!(running, "finishing in-flight deliveries before stopping");
        }
        let all = slots.acquire_many(s.concurrency as u32);
        if tokio::time::timeout(s.lease, all).await.is_err() {
            tracing::warn!("in-flight deliveries did not finish within the lease; they will be rescued");
        }
        let _ = stop_tx.send(true);
        let _ = heartbeat.await;
        let _ = rescuer.await;
        let _ = leader.await;
        let _ = listener.await;
        let _ = webhooks.await;
        let st = &self.attempts.stats;
        tracing::info!(
            published = st.published.load(Relaxed),
            retries = st.retries.load(Relaxed),
            "delivery engine stopped"
        );
    }
}

fn count_in(counts: &Mutex<HashMap<Uuid, usize>>, key: Uuid) {
    *counts.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default() += 1;
}

/// Counts one out; true when that was the last one of `key`.
fn count_out(counts: &Mutex<HashMap<Uuid, usize>>, key: Uuid) -> bool {
    let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
    match counts.get_mut(&key) {
        Some(n) if *n > 1 => {
            *n -= 1;
            false
        }
        Some(_) => {
            counts.remove(&key);
            true
        }
        None => false,
    }
}

/// Wakes the claim loop on every PostgreSQL notification that deliveries are due
/// ([`crate::store::Store::notify_due`]); reconnects after a lost connection. On SQLite
/// there is nothing to listen to and polling does the work.
async fn listen(store: Store, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        let mut listener = match store.listen_due().await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; polling until it works again");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(_) => wake.notify_one(),
                    Err(e) => {
                        tracing::warn!(error = %e, "the LISTEN connection failed; reconnecting");
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}

/// Extends the leases this engine holds, every third of a lease.
async fn heartbeat(
    store: Store,
    held: Arc<Mutex<HashMap<Uuid, usize>>>,
    lease: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(lease / 3) => {}
            _ = stop.changed() => return,
        }
        let tokens: Vec<Uuid> = held.lock().unwrap_or_else(|e| e.into_inner()).keys().copied().collect();
        if let Err(e) = store.queue().heartbeat(&tokens, lease).await {
            tracing::warn!(error = %e, "heartbeat failed; leases may expire and be rescued");
        }
    }
}
