//! App-password sessions (Bluesky, self-hosted servers without OAuth 2): the plugin
//! declares the endpoints and field names (`describe`'s `session-spec`); the host signs in
//! with the account's identifier and app password, keeps the session's tokens, refreshes
//! them, and signs in again when the refresh token is refused. The plugin never sees the
//! password or a token.
//!
//! What is transient and what is refused follows the refresh of OAuth tokens
//! ([`super::refresh`]): a 5xx, a 429, a timeout or an answer that is not JSON is retried;
//! a 400 or 401 on sign-in means the password is wrong or revoked, and a person must
//! reconnect the account.

use crate::plugins::types::SessionSpec;
use crate::secrets::Credentials;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// How a session request ended.
#[derive(Debug)]
pub enum Session {
    /// New tokens, ready to store.
    Opened(Credentials),
    /// The server refused the identifier and password (or the refresh token): a person
    /// must reconnect the account.
    Refused(String),
    /// Worth trying again later.
    Transient(String),
}

/// Signs in to `api_base` with `identifier` and `password` (`spec.create-path`).
pub async fn open(
    http: &reqwest::Client,
    spec: &SessionSpec,
    api_base: &str,
    identifier: &str,
    password: &str,
) -> Session {
    let url = format!("{}{}", api_base.trim_end_matches('/'), spec.create_path);
    let body = json!({ spec.identifier_field.clone(): identifier, spec.password_field.clone(): password });
    let answer = http.post(&url).json(&body).send().await;
    read(spec, answer, Some(password), "signing in").await
}

/// Renews the session with its refresh token (`spec.refresh-path`, the refresh token as
/// the bearer); when the platform refuses it and the password is kept, signs in again.
pub async fn renew(
    http: &reqwest::Client,
    spec: &SessionSpec,
    api_base: &str,
    identifier: &str,
    creds: &Credentials,
) -> Session {
    let base = api_base.trim_end_matches('/');
    if let (Some(path), Some(refresh)) = (&spec.refresh_path, &creds.refresh_token) {
        let answer = http.post(format!("{base}{path}")).bearer_auth(refresh).send().await;
        match read(spec, answer, creds.app_password.as_deref(), "refreshing the session").await {
            Session::Refused(why) if creds.app_password.is_none() => return Session::Refused(why),
            Session::Refused(_) => {}
            other => return other,
        }
    }
    match &creds.app_password {
        Some(password) => open(http, spec, api_base, identifier, password).await,
        None => Session::Refused("the session cannot be renewed and no app password is kept".into()),
    }
}

async fn read(
    spec: &SessionSpec,
    answer: Result<reqwest::Response, reqwest::Error>,
    password: Option<&str>,
    doing: &str,
) -> Session {
    let resp = match answer {
        Ok(r) => r,
        Err(e) => return Session::Transient(format!("{doing} failed: {}", crate::plugins::http::error_chain(&e))),
    };
    let status = resp.status().as_u16();
    let body: Option<Value> = resp.json().await.ok();
    let message = body
        .as_ref()
        .and_then(|v| v["message"].as_str().or(v["error"].as_str()).map(str::to_owned))
        .unwrap_or_default();
    match status {
        200..=299 => {}
        400 | 401 | 403 => return Session::Refused(format!("{doing} was refused (HTTP {status}: {message})")),
        _ => return Session::Transient(format!("{doing} failed (HTTP {status}: {message})")),
    }
    let field = |name: &str| body.as_ref().and_then(|v| v[name].as_str()).map(str::to_owned);
    let Some(access) = field(&spec.access_token_field) else {
        return Session::Transient(format!(
            "{doing}: the answer has no {:?} field",
            spec.access_token_field
        ));
    };
    Session::Opened(Credentials {
        expires_at: jwt_expiry(&access),
        refresh_token: spec.refresh_token_field.as_deref().and_then(field),
        access_token: access,
        app_password: password.map(str::to_owned),
    })
}

/// When a JWT access token expires (its `exp` claim), read without verifying it: only to
/// renew the session before the server refuses the token. `None` for other tokens.
pub fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let exp = serde_json::from_slice::<Value>(&bytes).ok()?["exp"].as_i64()?;
    DateTime::from_timestamp(exp, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwts_expiry_is_read_from_its_exp_claim() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"ES256K"}"#),
            b64(r#"{"sub":"did:plc:a","exp":1796639814}"#)
        );
        assert_eq!(jwt_expiry(&token).map(|t| t.timestamp()), Some(1_796_639_814));
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.not-base64!.c"), None);
    }
}
