//! OAuth 2 on the host's side. The host, never a plugin, holds an account's tokens and the
//! operator's app credentials; plugins only declare the platform's endpoints (`describe`'s
//! `oauth-spec`).
//!
//! - [`refresh`]: an expiring access token is refreshed before publishing, once per
//!   account across every worker, and the new token is stored before it is used.
//! - [`session`]: the same for accounts that sign in with an app password (`describe`'s
//!   `session`): the session is renewed with its refresh token, or opened again.
//!
//! - [`connect`]: connecting an account with the authorization-code flow (PKCE, a
//!   single-use `state`), its tokens sealed before anything else sees them.

pub mod connect;
pub mod refresh;
pub mod session;

use crate::plugins::types::{ClientAuth, OauthSpec};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, TokenUrl};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// The operator's app registration on one platform.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    /// None for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// Overrides the plugin's `token-url` (a sandbox, or a local fake in tests).
    pub token_url: Option<url::Url>,
    /// Overrides the plugin's `authorize-url` (a sandbox, or a local fake in tests).
    pub authorize_url: Option<url::Url>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("token_url", &self.token_url.as_ref().map(url::Url::as_str))
            .field("authorize_url", &self.authorize_url.as_ref().map(url::Url::as_str))
            .finish()
    }
}

/// App registrations by platform id.
pub type OAuthClients = BTreeMap<String, OAuthClient>;

/// A token-endpoint client for the app, authenticating the platform's way (`None`: HTTP
/// Basic, as RFC 6749 prefers).
pub(crate) fn app_client(
    client: &OAuthClient,
    spec: Option<&OauthSpec>,
    token_url: TokenUrl,
) -> BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet> {
    let mut oauth = BasicClient::new(ClientId::new(client.client_id.clone())).set_token_uri(token_url);
    if let Some(secret) = &client.client_secret {
        oauth = oauth.set_client_secret(ClientSecret::new(secret.clone()));
    }
    if spec.is_some_and(|s| s.client_auth == ClientAuth::RequestBody) {
        oauth = oauth.set_auth_type(AuthType::RequestBody);
    }
    oauth
}

/// The `oauth2` crate's token requests, sent with reqwest: the app id's field renamed to the
/// platform's (TikTok: `client_key`), and the answer's HTTP status kept, since a 5xx or 429
/// is transient whatever its body says.
pub(crate) struct TokenHttp {
    http: reqwest::Client,
    id_field: Option<String>,
    status: Mutex<Option<u16>>,
}

impl TokenHttp {
    pub(crate) fn new(http: &reqwest::Client, spec: Option<&OauthSpec>) -> Self {
        let id_field = spec
            .map(|s| s.client_id_field.trim())
            .filter(|f| !f.is_empty() && *f != "client_id")
            .map(str::to_owned);
        Self {
            http: http.clone(),
            id_field,
            status: Mutex::new(None),
        }
    }

    /// The HTTP status of the last answer, if one came.
    pub(crate) fn status(&self) -> Option<u16> {
        *self.status.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, req: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match &self.id_field {
                Some(field) => rename_form_field(&body, "client_id", field),
                None => body,
            };
            let mut r = self.http.request(parts.method, parts.uri.to_string()).body(body);
            for (name, value) in &parts.headers {
                r = r.header(name, value);
            }
            let resp = r.send().await?;
            *self.status.lock().unwrap_or_else(|e| e.into_inner()) = Some(resp.status().as_u16());
            let mut out = oauth2::http::Response::builder().status(resp.status().as_u16());
            for (name, value) in resp.headers() {
                out = out.header(name, value);
            }
            let bytes = resp.bytes().await?;
            Ok(out.body(bytes.to_vec()).unwrap_or_default())
        })
    }
}

/// A form body with the field `from` renamed `to` (values and the other fields kept).
fn rename_form_field(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(body) {
        out.append_pair(if k == from { to } else { &k }, &v);
    }
    out.finish().into_bytes()
}

/// An HTTP client for token endpoints: no proxy, a timeout, and no redirects (RFC 6749
/// §3.2 wants none).
pub(crate) fn token_client(timeout: std::time::Duration) -> reqwest::Client {
    // rustls is built without a default provider (ring is shared with sqlx).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}
