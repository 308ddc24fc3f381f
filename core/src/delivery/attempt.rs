//! One attempt at one delivery: from a claim to an outcome recorded under its lease.
//!
//! The order is what makes a publish happen once:
//! 1. an attempt that may follow a publish whose answer was lost (`lookup_first`) asks the
//!    plugin's `find-published` with the delivery's marker, and ends as published if the
//!    platform has the post;
//! 2. the intent is recorded (`publishing`) before the plugin's `publish` runs, so a worker
//!    that dies during the call leaves an `outcome_unknown` delivery, never a `scheduled`
//!    one that would be published again blindly;
//! 3. the outcome is written under the attempt's lease token.
//!
//! One attempt per account talks to the platform at a time (its turn). An attempt records
//! its intent while it waits for the turn, so an account's deliveries follow each other at
//! the platform's pace rather than the database's; once it has the turn it asks again
//! whether the account must wait (a 429 heard meanwhile, a budget filled) and, if so, gives
//! the delivery back owing no more lookup than it owed when claimed, since nothing was sent.

use super::backoff::Backoff;
use super::budget::BudgetBook;
use super::stats::Stats;
use super::writer::Writer;
use crate::domain::{AccountStatus, DeliveryStatus, FailureKind};
use crate::oauth::refresh::{Fresh, Refresher, Renewal};
use crate::plugins::types::{self, PluginError};
use crate::plugins::{CallError, CallErrorKind, Invocation, Plugin, PluginRegistry};
use crate::store::entity::{media_asset, social_account};
use crate::store::queue::HELD;
use crate::store::{AttemptFailure, Claim, PublishedPost, Store, Write};
use crate::{StoreError, plugins::error::describe_plugin_error};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// What attempts share: the store, the plugins, the policy, and what was learnt about
/// accounts (a 429 pauses that account, not the queue).
pub(crate) struct Attempts {
    pub store: Store,
    pub plugins: Arc<PluginRegistry>,
    pub backoff: Backoff,
    pub max_attempts: i32,
    /// This engine's name, for the refresh lock.
    pub worker: String,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// Set when the engine stops: attempts that have not sent anything yet hand their
    /// delivery back at once instead of holding it until their lease runs out.
    pub stopping: std::sync::atomic::AtomicBool,
    /// Where attempts' fenced writes go (group commit).
    pub writer: Writer,
    pub refresher: Refresher,
    pub stats: Arc<Stats>,
    pub budgets: BudgetBook,
    /// When this engine last wrote to an account (see [`Attempts::account_for`]).
    pub touched: Mutex<HashMap<Uuid, std::time::Instant>>,
    /// Accounts the platform told to wait, until when.
    pub paused: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    /// One attempt per account talks to the platform at a time, so a 429 is heard before
    /// the account's next request is sent.
    pub account_turns: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    /// The media library: signed URLs and upload streams for posts with media.
    pub media: Option<crate::media::MediaLibrary>,
}

/// What a claim statement brought: its accounts, read in one query.
pub(crate) struct Batch {
    pub accounts: HashMap<Uuid, social_account::Model>,
    pub loaded: std::time::Instant,
}

/// How long a delivery of an account that needs a person waits before it is looked at again.
const HOLD: Duration = Duration::from_secs(15 * 60);
/// How long a delivery waits while another worker refreshes its account's token.
const REFRESH_WAIT: Duration = Duration::from_secs(2);

impl Attempts {
    /// Runs one attempt; a lost lease (the attempt was rescued) is logged and dropped: the
    /// next attempt owns the delivery.
    pub async fn run(&self, claim: Claim, batch: Option<Arc<Batch>>) {
        let id = claim.delivery.id;
        if let Err(e) = self.attempt(&claim, batch.as_deref()).await {
            match e {
                StoreError::Stale { .. } => {
                    tracing::warn!(delivery = %id, error = %e, "attempt lost its lease; the next attempt owns it")
                }
                e => {
                    tracing::warn!(delivery = %id, error = %e, "attempt could not record its outcome; the lease will expire and it is retried")
                }
            }
        }
    }

    async fn attempt(&self, claim: &Claim, batch: Option<&Batch>) -> Result<(), StoreError> {
        let d = &claim.delivery;
        let queue = &self.writer;
        if let Some(w) = self.handed_back() {
            return queue.write(claim, w).await;
        }
        let account = self.account_for(d, batch).await?;
        let now = Utc::now();
        if account.status != AccountStatus::Connected {
            self.stats.held();
            let why = format!(
                "{HELD} the {} account {} is {}; reconnect it and the delivery goes out",
                account.platform,
                account.handle,
                match account.status {
                    AccountStatus::NeedsReauth => "waiting to be reconnected (its token was refused)",
                    _ => "disconnected",
                }
            );
            return queue.write(claim, Write::postpone(now + HOLD, why)).await;
        }
        let Some(plugin) = self.plugin_for(&account, d.plugin_id.as_deref()) else {
            return self
                .end(
                    claim,
                    FailureKind::Plugin,
                    format!("no plugin for platform {:?} is installed", account.platform),
                    false,
                )
                .await;
        };
        if let Some(w) = self.must_wait(&plugin, &account, now).await? {
            return queue.write(claim, w).await;
        }
        let adapted: types::Adapted = match d.adaptation.clone().map(crate::plugins::convert::stored_adaptation) {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                return self
                    .end(
                        claim,
                        FailureKind::InvalidInput,
                        format!("the stored adaptation cannot be read: {e}"),
                        false,
                    )
                    .await;
            }
            None => {
                return self
                    .end(
                        claim,
                        FailureKind::InvalidInput,
                        "the delivery has no adaptation; edit the post to re-adapt it".into(),
                        false,
                    )
                    .await;
            }
        };
        // The assets the adaptation names, read before anything is sent: one that is gone
        // (or was never ours) fails the delivery with its id instead of publishing without it.
        let assets = match self.media_assets(d.workspace_id, &adapted).await? {
            Ok(a) => a,
            Err(why) => return self.end(claim, FailureKind::InvalidInput, why, d.lookup_first).await,
        };
        let acc = types::Account {
            id: account.id.to_string(),
            handle: account.handle.clone(),
            remote_id: account.remote_id.clone(),
            timezone: account.timezone.clone(),
        };
        let marker = &d.idempotency_key;
        let turn = self.turn(account.id);
        let (my_turn, inv) = if d.lookup_first {
            // The platform may have the post: look first, then record the intent, all in
            // the account's turn.
            let my_turn = turn.lock().await;
            if let Some(w) = self.handed_back() {
                return queue.write(claim, w).await;
            }
            if let Some(w) = self.must_wait(&plugin, &account, Utc::now()).await? {
                return queue.write(claim, w).await;
            }
            let inv = match self.credentials(&account, &plugin).await? {
                Ok(creds) => invocation(d.workspace_id, &account, creds),
                Err(w) => return queue.write(claim, w).await,
            };
            let inv = self.with_media(inv, &assets);
            self.stats.lookup();
            match plugin.find_published(marker, &adapted, &acc, &inv).await {
                Ok(Some(found)) => {
                    self.stats.recovered();
                    self.budgets.sent(claim.delivery.social_account_id, Utc::now());
                    drop(my_turn);
                    return self.published(claim, found).await;
                }
                Ok(None) => {}
                Err(e) => return self.failed(claim, &account, e, true).await,
            }
            queue.write(claim, Write::Start).await?;
            (my_turn, inv)
        } else {
            // The intent is recorded while the account's previous delivery is sent, so an
            // account's deliveries follow each other at the pace of the platform, not of
            // the database.
            let waiting = std::time::Instant::now();
            let (intent, my_turn) = tokio::join!(queue.write(claim, Write::Start), turn.lock());
            intent?;
            if waiting.elapsed() > self.lease / 6 {
                // A long wait (a slow publish ahead): still ours, and for long enough to
                // send?
                self.store.queue().holds(claim, self.lease / 2).await?;
            }
            // The engine stopping, a 429 heard, or the budget filled, while this one waited:
            // give it back.
            if let Some(w) = self.handed_back() {
                return queue.write(claim, w).await;
            }
            if let Some(w) = self.must_wait(&plugin, &account, Utc::now()).await? {
                return queue.write(claim, w).await;
            }
            // In the turn, so one attempt per account refreshes an expiring token and the
            // next ones use what it stored.
            match self.credentials(&account, &plugin).await? {
                Ok(creds) => (
                    my_turn,
                    self.with_media(invocation(d.workspace_id, &account, creds), &assets),
                ),
                Err(w) => return queue.write(claim, w).await,
            }
        };
        match plugin.publish(&adapted, marker, &acc, &inv).await {
            Ok(p) => {
                // The platform has answered: the account's next attempt may talk to it
                // while this one records the outcome. Counted for the budget first, so the
                // next attempt sees this post.
                self.budgets.sent(claim.delivery.social_account_id, Utc::now());
                drop(my_turn);
                self.published(claim, p).await
            }
            Err(e) => self.failed(claim, &account, e, true).await,
        }
    }

    async fn published(&self, claim: &Claim, p: types::Published) -> Result<(), StoreError> {
        let post = PublishedPost {
            remote_id: p.remote_id,
            remote_url: p.url,
            extra_ids: p.extra_ids,
        };
        self.writer.write(claim, Write::Complete(post)).await?;
        self.stats.published(platform_of(claim), claim.delivery.scheduled_at);
        Ok(())
    }

    /// Decides what a failed call means for the delivery.
    async fn failed(
        &self,
        claim: &Claim,
        account: &social_account::Model,
        e: CallError,
        maybe_published: bool,
    ) -> Result<(), StoreError> {
        let message = e.to_string();
        match &e.kind {
            CallErrorKind::Plugin(PluginError::InvalidInput(_)) => {
                self.end(claim, FailureKind::InvalidInput, message, maybe_published)
                    .await
            }
            CallErrorKind::Plugin(PluginError::Denied(_)) | CallErrorKind::Forbidden(_) => {
                let message = format!("refused by the host's policy (an operator's setting, not the post): {message}");
                self.end(claim, FailureKind::Denied, message, maybe_published).await
            }
            CallErrorKind::Plugin(PluginError::AuthExpired(m)) => {
                // Held, not failed. A token the platform refused early is refreshed on the
                // next attempt (unless it was refreshed just now); else the account waits
                // for a person and its deliveries go out once it is connected again.
                let accounts = self.store.tenant(account.workspace_id).accounts();
                let creds = accounts.credentials(account.id).await?;
                let just_refreshed = (Utc::now() - account.updated_at) < chrono::Duration::minutes(2)
                    && creds.expires_at.is_some_and(|e| e > Utc::now());
                if creds.refresh_token.is_some() && !just_refreshed {
                    accounts.expire_token(account.id).await?;
                    self.touch(account.id);
                    self.stats.retried(platform_of(claim));
                    let delay = self.backoff.delay(1, None, &mut rand::rng());
                    return self
                        .retry(
                            claim,
                            FailureKind::Auth,
                            describe_plugin_error(&PluginError::AuthExpired(m.clone())),
                            delay,
                            maybe_published,
                            DeliveryStatus::Retrying,
                        )
                        .await;
                }
                accounts.set_status(account.id, AccountStatus::NeedsReauth).await?;
                self.touch(account.id);
                self.stats.retried(platform_of(claim));
                self.stats.held();
                self.retry(
                    claim,
                    FailureKind::Auth,
                    format!(
                        "{HELD} {}; reconnect the account and it goes out",
                        describe_plugin_error(&PluginError::AuthExpired(m.clone()))
                    ),
                    HOLD,
                    maybe_published,
                    DeliveryStatus::Retrying,
                )
                .await
            }
            CallErrorKind::Plugin(PluginError::RateLimited(r)) => {
                let wait = Duration::from_secs(u64::from(r.retry_after_seconds));
                let delay = self.backoff.delay(1, Some(wait), &mut rand::rng());
                self.pause(account.id, Utc::now() + delay);
                self.touch(account.id);
                self.store
                    .tenant(account.workspace_id)
                    .accounts()
                    .pause(account.id, Utc::now() + delay)
                    .await?;
                self.stats.retried(platform_of(claim));
                self.retry(
                    claim,
                    FailureKind::RateLimited,
                    message,
                    delay,
                    maybe_published,
                    DeliveryStatus::Retrying,
                )
                .await
            }
            CallErrorKind::Plugin(PluginError::Transient(_))
            | CallErrorKind::Timeout(_)
            | CallErrorKind::Instantiate(_) => {
                let attempts = claim.delivery.attempts;
                if attempts >= self.max_attempts {
                    let message = format!("gave up after {attempts} attempts; the last: {message}");
                    return self
                        .end_as(
                            claim,
                            FailureKind::Transient,
                            message,
                            maybe_published,
                            DeliveryStatus::Dead,
                        )
                        .await;
                }
                let next = if matches!(e.kind, CallErrorKind::Timeout(_)) && maybe_published {
                    DeliveryStatus::OutcomeUnknown
                } else {
                    DeliveryStatus::Retrying
                };
                let delay = self.backoff.delay(attempts.max(1) as u32, None, &mut rand::rng());
                self.stats.retried(platform_of(claim));
                self.retry(claim, FailureKind::Transient, message, delay, maybe_published, next)
                    .await
            }
            // A crash, a limit, an oversized answer: the plugin's own fault, and the same
            // input would fail the same way.
            _ => self.end(claim, FailureKind::Plugin, message, maybe_published).await,
        }
    }

    async fn retry(
        &self,
        claim: &Claim,
        kind: FailureKind,
        error: String,
        delay: Duration,
        maybe_published: bool,
        next: DeliveryStatus,
    ) -> Result<(), StoreError> {
        let run_at = Some(Utc::now() + delay);
        self.record_failure(claim, kind, error, next, run_at, maybe_published)
            .await
    }

    async fn end(
        &self,
        claim: &Claim,
        kind: FailureKind,
        error: String,
        maybe_published: bool,
    ) -> Result<(), StoreError> {
        self.end_as(claim, kind, error, maybe_published, DeliveryStatus::Failed)
            .await
    }

    async fn end_as(
        &self,
        claim: &Claim,
        kind: FailureKind,
        error: String,
        maybe_published: bool,
        next: DeliveryStatus,
    ) -> Result<(), StoreError> {
        tracing::warn!(delivery = %claim.delivery.id, status = %next, kind = kind.as_str(), %error, "delivery did not publish");
        self.stats.ended(platform_of(claim), next);
        self.record_failure(claim, kind, error, next, None, maybe_published)
            .await
    }

    /// Writes how an attempt that did not publish ended.
    async fn record_failure(
        &self,
        claim: &Claim,
        kind: FailureKind,
        error: String,
        next: DeliveryStatus,
        run_at: Option<DateTime<Utc>>,
        maybe_published: bool,
    ) -> Result<(), StoreError> {
        let f = AttemptFailure {
            kind,
            error,
            next,
            run_at,
            maybe_published,
        };
        self.writer.write(claim, Write::Fail(f)).await
    }

    /// The account's credentials, refreshed first if they expire soon; or, when they cannot
    /// be had now, the write that gives the delivery back (another worker is refreshing, the
    /// platform refused the refresh token, the token endpoint failed for now).
    async fn credentials(
        &self,
        account: &social_account::Model,
        plugin: &Plugin,
    ) -> Result<Result<crate::secrets::Credentials, Write>, StoreError> {
        let api_base = account.api_base.clone().unwrap_or_else(|| plugin.api_base());
        let via = match &plugin.description.session {
            Some(spec) => {
                // The account's server is held to the plugin's policy before the host
                // signs in there (people name it; it must not lead inside).
                if account.api_base.is_some() {
                    if let Err(why) = plugin.grant().for_account(&api_base) {
                        self.touch(account.id);
                        return Ok(Err(Write::postpone(Utc::now() + HOLD, format!("{HELD} {why}"))));
                    }
                }
                Renewal::Session {
                    spec,
                    api_base: &api_base,
                }
            }
            None => Renewal::OAuth {
                spec: plugin.description.oauth.as_ref(),
            },
        };
        Ok(
            match self.refresher.fresh(&self.store, account, via, &self.worker).await? {
                Fresh::Ready { credentials, refreshed } => {
                    if refreshed {
                        self.stats.refreshed();
                        self.touch(account.id);
                    }
                    Ok(credentials)
                }
                Fresh::Busy => Err(Write::postpone(
                    Utc::now() + REFRESH_WAIT,
                    "waiting: another worker is refreshing this account's token",
                )),
                Fresh::Refused(why) => {
                    self.touch(account.id);
                    self.stats.refresh_failed();
                    self.stats.held();
                    Err(Write::postpone(Utc::now() + HOLD, format!("{HELD} {why}")))
                }
                Fresh::Transient(why) => {
                    self.stats.refresh_failed();
                    let delay = self.backoff.delay(2, None, &mut rand::rng());
                    Err(Write::postpone(
                        Utc::now() + delay,
                        format!("waiting: {why}; trying again"),
                    ))
                }
            },
        )
    }

    /// When the engine is stopping, the write that hands an attempt's delivery back for
    /// now, uncounted (an attempt that has sent nothing yet).
    fn handed_back(&self) -> Option<Write> {
        self.stopping
            .load(std::sync::atomic::Ordering::Relaxed)
            .then(|| Write::postpone(Utc::now(), "handed back: the worker stopped before sending it"))
    }

    /// Why the account must not publish now, as the write that gives the delivery back:
    /// the platform asked it to slow down (a 429 this engine heard, or any worker recorded
    /// on the account), or a publish budget is full. Asked before the intent is recorded
    /// and again in the account's turn, which is when it is exact.
    async fn must_wait(
        &self,
        plugin: &Plugin,
        account: &social_account::Model,
        now: DateTime<Utc>,
    ) -> Result<Option<Write>, StoreError> {
        let paused = [
            self.paused_until(account.id, now),
            account.paused_until.filter(|u| *u > now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(until) = paused {
            self.stats.budget_delayed();
            return Ok(Some(Write::postpone(
                until,
                "waiting: the platform asked this account to slow down (429)",
            )));
        }
        if let Some(until) = self.over_budget(plugin, account, now).await? {
            self.stats.budget_delayed();
            return Ok(Some(Write::postpone(
                until,
                format!(
                    "waiting: {} allows no more posts for this account until then",
                    plugin.description.name
                ),
            )));
        }
        Ok(None)
    }

    fn plugin_for(&self, account: &social_account::Model, preferred: Option<&str>) -> Option<Arc<Plugin>> {
        self.plugins.for_platform(&account.platform, preferred)
    }

    /// When the account may publish again under the platform's publish budgets, if it is
    /// over one now. Deliveries publishing right now count, so concurrent attempts of one
    /// worker do not overshoot.
    async fn over_budget(
        &self,
        plugin: &Plugin,
        account: &social_account::Model,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.budgets
            .over(&self.store, account.id, &plugin.description.publish_budgets, now)
            .await
    }

    /// This engine wrote to the account (a pause, a refresh, a status): attempts of the
    /// same batch read it again instead of using the batch's copy.
    fn touch(&self, account: Uuid) {
        self.touched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account, std::time::Instant::now());
    }

    /// The account row: the batch's copy, unless this engine changed the account since.
    async fn account_for(
        &self,
        d: &crate::store::entity::delivery::Model,
        batch: Option<&Batch>,
    ) -> Result<social_account::Model, StoreError> {
        if let Some(b) = batch
            && let Some(a) = b.accounts.get(&d.social_account_id)
            && a.workspace_id == d.workspace_id
        {
            let touched = self
                .touched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&a.id)
                .is_some_and(|t| *t >= b.loaded);
            if !touched {
                return Ok(a.clone());
            }
        }
        self.store
            .tenant(d.workspace_id)
            .accounts()
            .get(d.social_account_id)
            .await
    }

    fn turn(&self, account: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.account_turns.lock().unwrap_or_else(|p| p.into_inner());
        // Forget accounts nobody is waiting for, so the map stays as small as the work.
        if turns.len() > 4096 {
            turns.retain(|_, t| Arc::strong_count(t) > 1);
        }
        turns.entry(account).or_default().clone()
    }

    fn paused_until(&self, account: Uuid, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        match paused.get(&account) {
            Some(&until) if until > now => Some(until),
            Some(_) => {
                paused.remove(&account);
                None
            }
            None => None,
        }
    }

    /// The call's media: what the platform's version keeps (`adapted.media`), described in
    /// the call context with a signed URL each (for platforms that fetch), and readable as
    /// a stream (for platforms that take uploads). Nothing is read for a post without media.
    /// The media assets `adapted` names, in its order; `Err` says which one cannot be
    /// used (not an asset id, or removed from the library).
    async fn media_assets(
        &self,
        workspace: Uuid,
        adapted: &types::Adapted,
    ) -> Result<Result<Vec<media_asset::Model>, String>, StoreError> {
        let media = self.store.tenant(workspace).media();
        let mut assets = Vec::with_capacity(adapted.media.len());
        for (i, id) in adapted.media.iter().enumerate() {
            let Ok(uuid) = id.parse::<Uuid>() else {
                return Ok(Err(format!(
                    "media[{i}]: {id:?} is not a media asset id; edit the post to re-adapt it"
                )));
            };
            match media.get(uuid).await {
                Ok(a) => assets.push(a),
                Err(StoreError::NotFound { .. }) => {
                    return Ok(Err(format!(
                        "media[{i}]: asset {id} is no longer in the media library; edit the post to choose its media again"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Ok(assets))
    }

    /// `inv` with the assets' descriptions (and signed URLs) and their bytes.
    fn with_media(&self, mut inv: Invocation, assets: &[media_asset::Model]) -> Invocation {
        if assets.is_empty() {
            return inv;
        }
        let refs = assets.iter().map(types::MediaRef::from).collect();
        match &self.media {
            Some(library) => {
                inv.media_refs = library.with_urls(refs, crate::media::signing::DEFAULT_URL_LIFETIME);
                inv.media = Some(library.source(assets));
            }
            None => inv.media_refs = refs,
        }
        inv
    }

    fn pause(&self, account: Uuid, until: DateTime<Utc>) {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        let entry = paused.entry(account).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// A network call's invocation for the account's workspace, with its token, on its own
/// server when it has one (a federated platform).
fn invocation(workspace: Uuid, account: &social_account::Model, creds: crate::secrets::Credentials) -> Invocation {
    Invocation {
        workspace,
        token: Some(creds.access_token),
        api_base: account.api_base.clone(),
        ..Invocation::default()
    }
}

/// The platform label of a delivery's figures: the plugin that adapted it.
fn platform_of(claim: &Claim) -> &str {
    claim.delivery.plugin_id.as_deref().unwrap_or("unknown")
}
