//! Webhooks: telling a workspace's own systems what happened.
//!
//! - Which changes are events: [`event_of`] reads the audit entry every change already
//!   writes, so the event is queued in the change's own transaction
//!   (`crate::store::webhooks`, an outbox).
//! - Where they may go: [`check_target`], like the plugin host's policy: https, or http on
//!   loopback only when the operator allows private targets; never a private, loopback or
//!   link-local address otherwise (names are resolved and every address checked again when
//!   sending, so a public name cannot be pointed inside later).
//! - How they are signed: [`signature`], Stripe's scheme: `Chorus-Signature: t=UNIX,v1=HEX`
//!   where HEX is HMAC-SHA256 of `"{t}.{body}"` with the subscription's secret. Receivers
//!   check it and reject old timestamps (replays).
//! - How they are sent: [`Sender`], claimed from the outbox, retried with exponential
//!   backoff and jitter ([`crate::delivery::backoff`]), dead after a number of attempts,
//!   every attempt logged on its row. Delivery is at least once: the payload's `id` lets a
//!   receiver drop a repeat.

use crate::delivery::backoff::Backoff;
use crate::plugins::policy::is_public;
use crate::store::{AuditEntry, Store};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::watch;

/// The event an audit entry reports to webhooks, with its `data`, if any.
pub(crate) fn event_of(e: &AuditEntry) -> Option<(&'static str, Value)> {
    let actor = e.actor;
    match e.action {
        "post.status_changed" => {
            let (from, to) = (e.detail["from"].as_str()?, e.detail["to"].as_str()?);
            let post = e.subject_id?;
            let note = e.detail["note"].clone();
            match (from, to) {
                (_, "in_review") => Some(("approval.requested", json!({ "post_id": post, "actor_id": actor }))),
                ("in_review", "draft") => Some((
                    "approval.decided",
                    json!({ "post_id": post, "decision": "rejected", "comment": note, "actor_id": actor }),
                )),
                ("in_review", "approved" | "scheduled") => Some((
                    "approval.decided",
                    json!({ "post_id": post, "decision": "approved", "comment": note, "actor_id": actor }),
                )),
                (_, "published" | "partially_published") => {
                    Some(("post.published", json!({ "post_id": post, "status": to })))
                }
                (_, "failed") => Some(("post.failed", json!({ "post_id": post, "status": to }))),
                _ => None,
            }
        }
        "account.needs_reauth" => Some((
            "account.needs_reauth",
            json!({ "account_id": e.subject_id, "platform": e.detail["platform"], "handle": e.detail["handle"] }),
        )),
        _ => None,
    }
}

/// Why a webhook URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{0:?} is not a URL")]
    NotUrl(String),
    #[error("{url} must be https (http only on a loopback address the operator allows)")]
    NotHttps { url: String },
    #[error(
        "{url} points at a private, loopback or link-local address; webhooks go to public hosts \
         (an operator may allow private targets with [webhooks] allow_private)"
    )]
    Private { url: String },
    #[error("{url} has user info or a fragment; give the plain URL")]
    Odd { url: String },
}

/// Checks a webhook URL before it is stored, like the plugin host checks hosts.
pub fn check_target(raw: &str, allow_private: bool) -> Result<url::Url, TargetError> {
    let url = url::Url::parse(raw.trim()).map_err(|_| TargetError::NotUrl(raw.to_owned()))?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(TargetError::Odd { url: raw.to_owned() });
    }
    let ip: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(a)) => Some(a.into()),
        Some(url::Host::Ipv6(a)) => Some(a.into()),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Some(IpAddr::from([127, 0, 0, 1])),
        Some(url::Host::Domain(_)) => None,
        None => return Err(TargetError::NotUrl(raw.to_owned())),
    };
    let private = ip.is_some_and(|ip| !is_public(ip));
    if private && !allow_private {
        return Err(TargetError::Private { url: raw.to_owned() });
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_private && ip.is_some_and(|ip| ip.is_loopback()) => Ok(url),
        _ => Err(TargetError::NotHttps { url: raw.to_owned() }),
    }
}

/// `t=UNIX,v1=HEX`: HMAC-SHA256 of `"{t}.{body}"` with `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Private, loopback and link-local targets allowed (an operator's internal systems;
    /// tests on loopback). Off by default.
    pub allow_private: bool,
    pub backoff: Backoff,
    /// Attempts before a delivery is given up (`dead`).
    pub max_attempts: i32,
    /// How often the outbox is looked at.
    pub poll: Duration,
    /// The time a receiver has to answer.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            // 10 s, 20 s, 40 s … up to an hour: about a day of retries over 12 attempts.
            backoff: Backoff {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(60 * 60),
            },
            max_attempts: 12,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Sends due webhook deliveries.
pub struct Sender {
    settings: WebhookSettings,
    http: reqwest::Client,
}

impl Sender {
    pub fn new(settings: WebhookSettings) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = reqwest::Client::builder()
            .timeout(settings.timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("chorus-webhooks/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private {
            // Names are resolved to public addresses only, at every send.
            b = b.dns_resolver(std::sync::Arc::new(crate::plugins::http::PublicOnlyResolver));
        }
        Self {
            http: b.build().unwrap_or_default(),
            settings,
        }
    }

    /// One round: claims what is due and sends it; answers how many were sent.
    pub async fn round(&self, store: &Store) -> Result<usize, crate::StoreError> {
        let claimed = store
            .claim_webhook_deliveries(
                32,
                chrono::Duration::from_std(self.settings.timeout * 3).unwrap_or_default(),
            )
            .await?;
        let n = claimed.len();
        // Sent together: one slow receiver must not hold the others past their claim's
        // lock (three timeouts), which would let another node send them again.
        let outcomes = futures::future::join_all(claimed.iter().map(|c| self.send(c))).await;
        for (c, (delivered, status, error)) in claimed.iter().zip(outcomes) {
            let retry_at = (!delivered && c.delivery.attempts < self.settings.max_attempts).then(|| {
                let delay = self
                    .settings
                    .backoff
                    .delay(c.delivery.attempts as u32, None, &mut rand::rng());
                chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default()
            });
            store
                .finish_webhook_delivery(&c.delivery, delivered, status, error, retry_at)
                .await?;
        }
        Ok(n)
    }

    async fn send(&self, c: &crate::store::webhooks::Outgoing) -> (bool, Option<u16>, Option<String>) {
        // Checked again: the policy may have changed since the subscription was made.
        if let Err(e) = check_target(&c.url, self.settings.allow_private) {
            return (false, None, Some(e.to_string()));
        }
        let body = &c.delivery.payload;
        let t = chrono::Utc::now().timestamp();
        let r = self
            .http
            .post(&c.url)
            .header("content-type", "application/json")
            .header("chorus-event", &c.delivery.event)
            .header("chorus-delivery", c.delivery.id.to_string())
            .header("chorus-signature", signature(&c.secret, t, body))
            .body(body.clone())
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => (true, Some(r.status().as_u16()), None),
            Ok(r) => (
                false,
                Some(r.status().as_u16()),
                Some(format!("the receiver answered {}", r.status())),
            ),
            Err(e) => (false, None, Some(crate::plugins::http::error_chain(&e))),
        }
    }

    /// Sends until `stop` turns true.
    pub async fn run(self, store: Store, mut stop: watch::Receiver<bool>) {
        loop {
            match self.round(&store).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sending webhooks failed; trying again"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.changed() => break,
            }
        }
    }
}
