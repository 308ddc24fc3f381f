//! OAuth 2 on the host's side. The host, never a plugin, holds an account's tokens and the
//! operator's app credentials; plugins only declare the platform's endpoints (`describe`'s
//! `oauth-spec`).
//!
//! - [`refresh`]: an expiring access token is refreshed before publishing, once per
//!   account across every worker, and the new token is stored before it is used.
//! - [`session`]: the same for accounts that sign in with an app password (`describe`'s
//!   `session`): the session is renewed with its refresh token, or opened again.
//!
//! (Connecting an account, the authorization-code flow, comes with the REST API.)

pub mod refresh;
pub mod session;

use std::collections::BTreeMap;

/// The operator's app registration on one platform.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    /// None for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// Overrides the plugin's `token-url` (a sandbox, or a local fake in tests).
    pub token_url: Option<url::Url>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("token_url", &self.token_url.as_ref().map(url::Url::as_str))
            .finish()
    }
}

/// App registrations by platform id.
pub type OAuthClients = BTreeMap<String, OAuthClient>;
