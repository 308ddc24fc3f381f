//! Connecting an account with OAuth 2's authorization-code flow (RFC 6749 §4.1).
//!
//! 1. [`Connector::begin`]: a person asks to connect a brand's account on a platform. Chorus
//!    records the authorization (a single-use 256-bit `state`, stored hashed; a PKCE verifier,
//!    sealed) and answers the platform's authorize URL with the plugin's scopes, joined the
//!    platform's way, and the app id under the platform's field name.
//! 2. The platform sends the person back to the redirect URI with `code` and `state`
//!    ([`Connector::finish`]) or with `error` ([`Connector::fail`]). The state is taken once,
//!    whatever happens next; an unknown, spent or expired state connects nothing.
//! 3. The code is redeemed at the token endpoint (the app authenticating the platform's way,
//!    with the PKCE verifier where the platform requires it), and the tokens are sealed into
//!    the account: a new one, or the brand's existing account with that remote id, which is
//!    connected again (how an account that needs re-authorization is repaired).

use super::{OAuthClient, OAuthClients, TokenHttp, app_client, refresh::transient_status, token_client};
use crate::StoreError;
use crate::plugins::types::OauthSpec;
use crate::secrets::Credentials;
use crate::store::entity::social_account;
use crate::store::{NewAccount, NewAuthorization, Store, Tenant};
use chrono::{DateTime, Utc};
use oauth2::{
    AuthorizationCode, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, TokenResponse, TokenUrl,
};
use std::time::Duration;
use uuid::Uuid;

/// The token endpoint's request timeout.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why an account could not be connected; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{platform} accounts do not connect with OAuth 2 (its plugin declares no oauth-spec)")]
    NotOAuth { platform: String },
    #[error(
        "no OAuth app is configured for {platform}: set platforms.{platform}.client_id and client_secret \
         (or CHORUS_PLATFORM_<ID>_CLIENT_ID and _CLIENT_SECRET) to the app registered with {platform}"
    )]
    NoApp { platform: String },
    #[error("{what} {url:?} is not a URL: {reason}")]
    BadUrl {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("this sign-in is unknown or was already used: start connecting the account again")]
    UnknownState,
    #[error("the sign-in at {platform} took longer than 10 minutes: start connecting the account again")]
    Expired { platform: String },
    #[error("{platform} did not authorize the connection ({error}{description})")]
    Denied {
        platform: String,
        error: String,
        description: String,
    },
    #[error("{platform} refused the authorization code ({error}{description}): start connecting the account again")]
    Refused {
        platform: String,
        error: String,
        description: String,
    },
    #[error("{0}: start connecting the account again")]
    Transient(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a person asks to connect.
#[derive(Debug, Clone)]
pub struct Begin {
    pub brand_id: Uuid,
    pub user_id: Uuid,
    pub platform: String,
    /// Where the platform sends the person back: Chorus's callback, registered with the app.
    pub redirect_uri: url::Url,
    /// The account as the person names it (until the plugin contract can ask the platform).
    pub handle: String,
    pub remote_id: String,
    pub display_name: Option<String>,
    pub timezone: String,
}

/// Where to send the person, and until when the sign-in may be finished.
#[derive(Debug, Clone)]
pub struct Started {
    pub authorize_url: url::Url,
    pub expires_at: DateTime<Utc>,
}

/// Connects accounts with the operator's app registrations.
pub struct Connector {
    clients: OAuthClients,
    http: reqwest::Client,
}

impl Connector {
    pub fn new(clients: OAuthClients) -> Self {
        Self {
            clients,
            http: token_client(TIMEOUT),
        }
    }

    fn app(&self, platform: &str) -> Result<&OAuthClient, ConnectError> {
        self.clients.get(platform).ok_or_else(|| ConnectError::NoApp {
            platform: platform.to_owned(),
        })
    }

    /// Records the authorization and answers the platform's authorize URL.
    pub async fn begin(&self, tenant: Tenant<'_>, spec: Option<&OauthSpec>, b: Begin) -> Result<Started, ConnectError> {
        let spec = spec.ok_or_else(|| ConnectError::NotOAuth {
            platform: b.platform.clone(),
        })?;
        let app = self.app(&b.platform)?;
        let mut url = match &app.authorize_url {
            Some(u) => u.clone(),
            None => url::Url::parse(&spec.authorize_url).map_err(|e| ConnectError::BadUrl {
                what: "the plugin's authorize URL",
                url: spec.authorize_url.clone(),
                reason: e.to_string(),
            })?,
        };
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (state, expires_at) = tenant
            .authorizations()
            .begin(NewAuthorization {
                brand_id: b.brand_id,
                user_id: b.user_id,
                platform: b.platform.clone(),
                redirect_uri: b.redirect_uri.to_string(),
                verifier: verifier.secret().clone(),
                handle: b.handle,
                remote_id: b.remote_id,
                display_name: b.display_name,
                timezone: b.timezone,
            })
            .await?;
        let id_field = match spec.client_id_field.trim() {
            "" => "client_id",
            f => f,
        };
        let separator = if spec.scope_separator.is_empty() {
            " "
        } else {
            spec.scope_separator.as_str()
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair(id_field, &app.client_id)
                .append_pair("redirect_uri", b.redirect_uri.as_str())
                .append_pair("scope", &spec.scopes.join(separator))
                .append_pair("state", &state);
            // Only where the platform takes it: some refuse a verifier they did not ask for.
            if spec.pkce_required {
                q.append_pair("code_challenge", challenge.as_str())
                    .append_pair("code_challenge_method", challenge.method().as_str());
            }
        }
        Ok(Started {
            authorize_url: url,
            expires_at,
        })
    }

    /// The platform sent the person back with an error (they declined, or the request was
    /// wrong): the authorization is spent and the error named.
    pub async fn fail(&self, store: &Store, state: &str, error: &str, description: Option<&str>) -> ConnectError {
        match store.take_authorization(state).await {
            Ok(Some(taken)) => ConnectError::Denied {
                platform: taken.row.platform,
                error: error.to_owned(),
                description: description.map(|d| format!(": {d}")).unwrap_or_default(),
            },
            Ok(None) => ConnectError::UnknownState,
            Err(e) => e.into(),
        }
    }

    /// Redeems the code for the authorization `state` names and connects the account.
    /// `spec_of` finds the platform's OAuth spec (the installed plugin's `describe`).
    pub async fn finish(
        &self,
        store: &Store,
        spec_of: impl Fn(&str) -> Option<OauthSpec>,
        state: &str,
        code: &str,
    ) -> Result<social_account::Model, ConnectError> {
        let taken = store
            .take_authorization(state)
            .await?
            .ok_or(ConnectError::UnknownState)?;
        let row = taken.row;
        let platform = row.platform.clone();
        if row.expires_at < Utc::now() {
            return Err(ConnectError::Expired { platform });
        }
        let spec = spec_of(&platform).ok_or_else(|| ConnectError::NotOAuth {
            platform: platform.clone(),
        })?;
        let app = self.app(&platform)?;
        let token_url = app
            .token_url
            .as_ref()
            .map(url::Url::to_string)
            .unwrap_or_else(|| spec.token_url.clone());
        let token_url = TokenUrl::new(token_url.clone()).map_err(|e| ConnectError::BadUrl {
            what: "the token URL",
            url: token_url,
            reason: e.to_string(),
        })?;
        let redirect = RedirectUrl::new(row.redirect_uri.clone()).map_err(|e| ConnectError::BadUrl {
            what: "the redirect URI",
            url: row.redirect_uri.clone(),
            reason: e.to_string(),
        })?;
        let oauth = app_client(app, Some(&spec), token_url).set_redirect_uri(redirect);
        let http = TokenHttp::new(&self.http, Some(&spec));
        let mut request = oauth.exchange_code(AuthorizationCode::new(code.to_owned()));
        if spec.pkce_required {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(taken.verifier));
        }
        let answer = request.request_async(&http).await;
        let t = match answer {
            Ok(t) => t,
            Err(RequestTokenError::ServerResponse(e)) if !transient_status(http.status()) => {
                return Err(ConnectError::Refused {
                    platform,
                    error: e.error().as_ref().to_owned(),
                    description: e.error_description().map(|d| format!(": {d}")).unwrap_or_default(),
                });
            }
            Err(e) => {
                return Err(ConnectError::Transient(format!(
                    "redeeming the {platform} authorization code failed{}: {}",
                    http.status().map(|c| format!(" (HTTP {c})")).unwrap_or_default(),
                    crate::plugins::http::error_chain(&e)
                )));
            }
        };
        let credentials = Credentials {
            access_token: t.access_token().secret().clone(),
            refresh_token: t.refresh_token().map(|r| r.secret().clone()),
            expires_at: t
                .expires_in()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| Utc::now() + d),
            app_password: None,
        };
        let scopes = t
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| spec.scopes.clone());
        let tenant = store.tenant(row.workspace_id);
        let accounts = tenant.accounts();
        // The brand's account with this remote id is connected again, not duplicated.
        let existing = accounts
            .list_for_brand(row.brand_id)
            .await?
            .into_iter()
            .find(|a| a.platform == platform && a.remote_id == row.remote_id);
        let reconnected = existing.is_some();
        let account = match existing {
            Some(a) => {
                // Connected again; deliveries held while it needed re-authorization go on.
                accounts.set_credentials(a.id, &credentials).await?;
                accounts.get(a.id).await?
            }
            None => {
                accounts
                    .connect(NewAccount {
                        brand_id: row.brand_id,
                        platform: platform.clone(),
                        handle: row.handle,
                        remote_id: row.remote_id,
                        display_name: row.display_name,
                        timezone: row.timezone,
                        scopes,
                        credentials,
                        api_base: None,
                    })
                    .await?
            }
        };
        tenant
            .audit()
            .record(crate::store::AuditEntry {
                actor: Some(row.user_id),
                action: if reconnected {
                    "account.reconnected"
                } else {
                    "account.connected"
                },
                subject_kind: "social_account",
                subject_id: Some(account.id),
                detail: serde_json::json!({ "platform": platform, "handle": account.handle }),
            })
            .await?;
        Ok(account)
    }
}
