//! Refreshing an account's access token before it expires, with the `oauth2` crate.
//!
//! The order is what keeps a connection alive when refresh tokens are single-use (X's
//! rotate: the old one dies the moment the new one is issued):
//! 1. one worker at a time takes the account's refresh lock (one conditional UPDATE, so
//!    two workers on two machines never both refresh); the others wait and re-read;
//! 2. the holder reads the credentials again (someone may have refreshed meanwhile);
//! 3. it asks the token endpoint, and stores the new tokens before anything uses them;
//! 4. a refusal (`invalid_grant`, and X's `invalid_request`) means the grant is gone: the
//!    account needs a person to reconnect, and its deliveries wait. A failure to reach the
//!    endpoint (a timeout, a 5xx, a 429, an answer that is not OAuth) is transient and is
//!    retried; it is never mistaken for a dead token.

use super::{OAuthClient, OAuthClients};
use crate::StoreError;
use crate::domain::AccountStatus;
use crate::secrets::Credentials;
use crate::store::Store;
use crate::store::entity::social_account;
use chrono::{DateTime, Utc};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, TokenResponse, TokenUrl};
use std::time::Duration;

/// How long before expiry a token is refreshed.
pub const MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a worker may hold an account's refresh lock (well above the request timeout).
pub const LOCK: Duration = Duration::from_secs(120);
/// The token endpoint's request timeout.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the worker may do with the account now.
#[derive(Debug)]
pub enum Fresh {
    /// Credentials good to use (refreshed now if they were about to expire).
    Ready { credentials: Credentials, refreshed: bool },
    /// Another worker is refreshing this account's token: wait and look again.
    Busy,
    /// The platform refused the refresh: the account now needs a person to reconnect.
    Refused(String),
    /// The token endpoint failed or could not be reached: try again later.
    Transient(String),
}

/// How an account's access token is renewed: the plugin's `describe` says.
#[derive(Debug, Clone, Copy)]
pub enum Renewal<'a> {
    /// OAuth 2 refresh at the plugin's `oauth-spec.token-url` (the operator may override
    /// it), sending the app's credentials as the spec says (`None`: HTTP Basic, `client_id`).
    OAuth {
        spec: Option<&'a crate::plugins::types::OauthSpec>,
    },
    /// An app-password session on `api_base` (the account's server, else the platform's).
    Session {
        spec: &'a crate::plugins::types::SessionSpec,
        api_base: &'a str,
    },
}

/// Refreshes tokens with the operator's app registrations.
pub struct Refresher {
    clients: OAuthClients,
    http: reqwest::Client,
}

impl Refresher {
    pub fn new(clients: OAuthClients) -> Self {
        Self {
            clients,
            http: super::token_client(TIMEOUT),
        }
    }

    /// The account's credentials, refreshed first when they expire within [`MARGIN`] and a
    /// refresh is possible (OAuth: a refresh token, an app registration, a token URL; a
    /// session: a refresh token or the app password).
    pub async fn fresh(
        &self,
        store: &Store,
        account: &social_account::Model,
        via: Renewal<'_>,
        holder: &str,
    ) -> Result<Fresh, StoreError> {
        let accounts = store.tenant(account.workspace_id).accounts();
        let creds = accounts.open(account)?;
        let now = Utc::now();
        if !due(&creds, now) {
            return Ok(Fresh::Ready {
                credentials: creds,
                refreshed: false,
            });
        }
        let spec_token_url = match via {
            Renewal::OAuth { spec } => spec,
            Renewal::Session { spec, api_base } => {
                return self.renew_session(store, account, spec, api_base, holder).await;
            }
        };
        let spec = spec_token_url;
        let Some((client, token_url)) = self.client(&account.platform, spec.map(|s| s.token_url.as_str())) else {
            return Ok(unrefreshable(
                &creds,
                now,
                &account.platform,
                "no app registration for it is configured",
            ));
        };
        if creds.refresh_token.is_none() {
            return Ok(unrefreshable(
                &creds,
                now,
                &account.platform,
                "the account has no refresh token",
            ));
        }
        if !accounts.begin_refresh(account.id, holder, now + LOCK).await? {
            return Ok(Fresh::Busy);
        }
        let outcome = self
            .refresh_locked(store, account, client, spec, &token_url, holder)
            .await;
        if !matches!(outcome, Ok(Fresh::Ready { .. })) {
            let _ = accounts.end_refresh(account.id, holder).await;
        }
        outcome
    }

    async fn refresh_locked(
        &self,
        store: &Store,
        account: &social_account::Model,
        client: &OAuthClient,
        spec: Option<&crate::plugins::types::OauthSpec>,
        token_url: &str,
        holder: &str,
    ) -> Result<Fresh, StoreError> {
        let accounts = store.tenant(account.workspace_id).accounts();
        // Another worker may have refreshed between our read and our lock.
        let creds = accounts.credentials(account.id).await?;
        let now = Utc::now();
        if !due(&creds, now) {
            accounts.end_refresh(account.id, holder).await?;
            return Ok(Fresh::Ready {
                credentials: creds,
                refreshed: false,
            });
        }
        let Some(refresh_token) = creds.refresh_token.clone() else {
            return Ok(unrefreshable(
                &creds,
                now,
                &account.platform,
                "the account has no refresh token",
            ));
        };
        let url = match TokenUrl::new(token_url.to_owned()) {
            Ok(u) => u,
            Err(e) => {
                return Ok(Fresh::Transient(format!(
                    "the token URL {token_url:?} is not a URL: {e}"
                )));
            }
        };
        let oauth = super::app_client(client, spec, url);
        let http = super::TokenHttp::new(&self.http, spec);
        let answer = oauth
            .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
            .request_async(&http)
            .await;
        let code = http.status();
        match answer {
            Ok(t) => {
                let fresh = Credentials {
                    access_token: t.access_token().secret().clone(),
                    // A platform that does not rotate answers no new refresh token.
                    refresh_token: Some(t.refresh_token().map(|r| r.secret().clone()).unwrap_or(refresh_token)),
                    expires_at: t
                        .expires_in()
                        .and_then(|d| chrono::Duration::from_std(d).ok())
                        .map(|d| Utc::now() + d),
                    app_password: creds.app_password.clone(),
                };
                // Stored before it is used: a crash now loses nothing.
                accounts.finish_refresh(account.id, &fresh).await?;
                Ok(Fresh::Ready {
                    credentials: fresh,
                    refreshed: true,
                })
            }
            Err(RequestTokenError::ServerResponse(e)) if !transient_status(code) && refused(e.error()) => {
                let why = format!(
                    "{} refused the refresh token ({}{}); reconnect the account",
                    account.platform,
                    e.error().as_ref(),
                    e.error_description().map(|d| format!(": {d}")).unwrap_or_default()
                );
                accounts.set_status(account.id, AccountStatus::NeedsReauth).await?;
                Ok(Fresh::Refused(why))
            }
            Err(e) => Ok(Fresh::Transient(format!(
                "refreshing the {} token failed{}: {}",
                account.platform,
                code.map(|c| format!(" (HTTP {c})")).unwrap_or_default(),
                crate::plugins::http::error_chain(&e)
            ))),
        }
    }

    /// [`Refresher::fresh`] for an app-password session, under the same per-account lock.
    async fn renew_session(
        &self,
        store: &Store,
        account: &social_account::Model,
        spec: &crate::plugins::types::SessionSpec,
        api_base: &str,
        holder: &str,
    ) -> Result<Fresh, StoreError> {
        let accounts = store.tenant(account.workspace_id).accounts();
        let now = Utc::now();
        let creds = accounts.open(account)?;
        if creds.refresh_token.is_none() && creds.app_password.is_none() {
            return Ok(unrefreshable(
                &creds,
                now,
                &account.platform,
                "the account has neither a refresh token nor an app password",
            ));
        }
        if !accounts.begin_refresh(account.id, holder, now + LOCK).await? {
            return Ok(Fresh::Busy);
        }
        // Another worker may have renewed between our read and our lock.
        let creds = accounts.credentials(account.id).await?;
        if !due(&creds, Utc::now()) {
            accounts.end_refresh(account.id, holder).await?;
            return Ok(Fresh::Ready {
                credentials: creds,
                refreshed: false,
            });
        }
        let outcome = match super::session::renew(&self.http, spec, api_base, &account.handle, &creds).await {
            super::session::Session::Opened(fresh) => {
                // Stored before it is used, like a refreshed OAuth token.
                accounts.finish_refresh(account.id, &fresh).await?;
                return Ok(Fresh::Ready {
                    credentials: fresh,
                    refreshed: true,
                });
            }
            super::session::Session::Refused(why) => {
                accounts.set_status(account.id, AccountStatus::NeedsReauth).await?;
                Fresh::Refused(format!("{}: {why}; reconnect the account", account.platform))
            }
            super::session::Session::Transient(why) => Fresh::Transient(format!("{}: {why}", account.platform)),
        };
        let _ = accounts.end_refresh(account.id, holder).await;
        Ok(outcome)
    }

    fn client(&self, platform: &str, spec_token_url: Option<&str>) -> Option<(&OAuthClient, String)> {
        let client = self.clients.get(platform)?;
        let url = client
            .token_url
            .as_ref()
            .map(|u| u.to_string())
            .or_else(|| spec_token_url.map(str::to_owned))?;
        Some((client, url))
    }
}

/// Whether the token should be refreshed now: it expires soon, or there is none yet (an
/// account connected with an app password, whose first session opens before its first call).
fn due(creds: &Credentials, now: DateTime<Utc>) -> bool {
    creds.access_token.is_empty()
        || creds
            .expires_at
            .is_some_and(|at| at - now < chrono::Duration::from_std(MARGIN).unwrap_or_default())
}

/// A token that cannot be refreshed: used while it lasts, refused once it has expired.
fn unrefreshable(creds: &Credentials, now: DateTime<Utc>, platform: &str, why: &str) -> Fresh {
    match creds.expires_at {
        Some(at) if at <= now => Fresh::Refused(format!(
            "the {platform} access token expired and cannot be refreshed ({why}); reconnect the account"
        )),
        _ => Fresh::Ready {
            credentials: creds.clone(),
            refreshed: false,
        },
    }
}

/// Errors that mean the grant itself is gone (RFC 6749 §5.2). X answers `invalid_request`
/// for a spent or revoked refresh token, so it counts too; `invalid_client` means the
/// operator's app registration is wrong, which a person must fix as well.
fn refused(e: &BasicErrorResponseType) -> bool {
    matches!(
        e,
        BasicErrorResponseType::InvalidGrant
            | BasicErrorResponseType::InvalidRequest
            | BasicErrorResponseType::InvalidClient
            | BasicErrorResponseType::UnauthorizedClient
            | BasicErrorResponseType::InvalidScope
            | BasicErrorResponseType::UnsupportedGrantType
    )
}

pub(crate) fn transient_status(code: Option<u16>) -> bool {
    code.is_some_and(|c| c >= 500 || c == 429 || c == 408)
}
