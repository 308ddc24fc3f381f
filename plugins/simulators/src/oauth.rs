//! A strict fake OAuth 2 token endpoint (RFC 6749 §6, the refresh-token grant), shared by
//! the platform fakes: the host refreshes expiring access tokens against it, so it refuses
//! what a real authorization server refuses, with the RFC 6749 §5.2 JSON error body.
//!
//! Platform specifics are parameters ([`Config`]): the path, whether refresh tokens rotate
//! (X's are single-use), the error code for a bad or spent refresh token (X answers
//! `invalid_request` where RFC 6749 says `invalid_grant`) and the shape of minted tokens.
//! The platform fake supplies a hook that grants each minted access token on its API, so
//! the new token works at once; the old one is left alone (it lives until it expires).
//!
//! The authorization-code grant (RFC 6749 §4.1, with PKCE, RFC 7636) is simulated too: the
//! authorize route checks the app, its registered redirect URI, the scope list (joined the
//! platform's way), `state` and, where the platform requires it, an S256 code challenge, then
//! sends the browser back with a single-use code as the person set with
//! [`TokenEndpoint::consent_as`] (or with `access_denied`). The token endpoint redeems a code
//! once, for the same app and redirect URI, with the verifier that matches the challenge.
//! Other grant types get `unsupported_grant_type`.
//!
//! Test controls: client registration, transient failures that leave the refresh token
//! unspent, latency (so two racing refreshes really overlap) and a record of every request.
//! A request is decided (and its refresh token spent) when it arrives; the latency is then
//! served before the answer, so a caller that gives up meanwhile has still spent its token,
//! as over a slow network.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What differs between platforms' token endpoints.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The route, e.g. `/2/oauth2/token`.
    pub path: &'static str,
    /// Whether a refresh answers a new refresh token and kills the one used (X: yes).
    pub rotate_refresh_tokens: bool,
    /// `error` for an unknown, spent or revoked refresh token (RFC 6749: `invalid_grant`).
    pub bad_token_error: &'static str,
    /// `error_description` for it.
    pub bad_token_description: &'static str,
    /// Prefix of minted access tokens (followed by a counter), e.g. `x-at-`.
    pub access_token_prefix: &'static str,
    /// Prefix of minted refresh tokens, e.g. `x-rt-`.
    pub refresh_token_prefix: &'static str,
    /// The form field of the app's id: `client_id` (RFC 6749), TikTok's `client_key`.
    pub client_id_field: &'static str,
    /// Whether the client may authenticate with HTTP Basic (TikTok: form fields only).
    pub basic_allowed: bool,
    /// Whether the client may send its credentials as form fields (Pinterest: Basic only).
    pub body_credentials_allowed: bool,
    /// The authorize route, e.g. X's `/i/oauth2/authorize` (on the same fake as the API).
    pub authorize_path: &'static str,
    /// Whether an authorization request without an S256 code challenge is refused (X).
    pub pkce_required: bool,
    /// What joins scopes in the authorize URL and the token answer (`" "`, TikTok's `","`).
    pub scope_separator: &'static str,
}

/// One request to the token endpoint, as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest {
    /// When it arrived.
    pub at: Instant,
    /// The `grant_type` parameter (empty if missing or the body was not a form).
    pub grant_type: String,
    pub refresh_token: Option<String>,
    /// The HTTP status answered.
    pub outcome: u16,
}

/// Who a refresh token (and the access tokens minted from it) acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub user_id: String,
    pub username: String,
    pub scopes: Vec<String>,
}

/// Grants a minted access token on the platform fake for `expires_in` seconds; answers
/// false if that token string is already taken there (the endpoint then tries the next).
pub(crate) type MintHook = Arc<dyn Fn(&str, &Grant, u64) -> bool + Send + Sync>;

struct Client {
    id: String,
    /// None: a public client (PKCE), which authenticates by `client_id` alone.
    secret: Option<String>,
}

/// An authorization code the authorize route handed out, until it is redeemed.
struct Code {
    client_id: String,
    redirect_uri: String,
    /// The S256 challenge, when the request carried one.
    challenge: Option<String>,
    grant: Grant,
    expires: Instant,
}

/// How long an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);

struct EndpointState {
    client: Option<Client>,
    /// Redirect URIs registered with the app; the authorize route takes only these, exactly.
    redirect_uris: Vec<String>,
    /// Who signs in and approves at the authorize route (None: the person declines).
    consent: Option<(String, String)>,
    codes: HashMap<String, Code>,
    next_code: u64,
    /// Live refresh tokens.
    refresh: HashMap<String, Grant>,
    /// Every refresh token ever live, so minted ones never reuse a name.
    seen: HashSet<String>,
    requests: Vec<TokenRequest>,
    /// Statuses the next requests answer, one each, before any other check.
    fail_next: VecDeque<u16>,
    latency: Duration,
    lifetime: u64,
    bad_token_error: String,
    next_access: u64,
    next_refresh: u64,
}

/// A token endpoint: its state, controls and route. Clones share the state.
#[derive(Clone)]
pub struct TokenEndpoint {
    config: Config,
    mint: MintHook,
    state: Arc<Mutex<EndpointState>>,
}

/// A request refused, as an RFC 6749 §5.2 error.
struct Refusal {
    status: StatusCode,
    error: String,
    description: String,
    /// The client tried HTTP Basic: a 401 then names that scheme (RFC 6749 §5.2).
    basic_challenge: bool,
}

impl Refusal {
    fn new(status: StatusCode, error: &str, description: &str) -> Self {
        Self {
            status,
            error: error.to_owned(),
            description: description.to_owned(),
            basic_challenge: false,
        }
    }

    fn bad_request(error: &str, description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    fn invalid_client(description: &str, basic: bool) -> Self {
        Self {
            basic_challenge: basic,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut r = no_store((self.status, axum::Json(body)).into_response());
        if self.basic_challenge {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        r
    }
}

/// The request's form parameters, in order (a parameter sent twice is an error).
struct Form(Vec<(String, String)>);

impl Form {
    /// A parameter's value; an empty value counts as omitted (RFC 6749 §3.1).
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn repeated(&self) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, (k, _))| self.0[..*i].iter().any(|(p, _)| p == k))
            .map(|(_, (k, _))| k.as_str())
    }
}

impl TokenEndpoint {
    /// A token endpoint with no client registered, minting access tokens through `mint`.
    pub(crate) fn new(config: Config, mint: MintHook) -> Self {
        Self {
            config,
            mint,
            state: Arc::new(Mutex::new(EndpointState {
                client: None,
                redirect_uris: Vec::new(),
                consent: None,
                codes: HashMap::new(),
                next_code: 0,
                refresh: HashMap::new(),
                seen: HashSet::new(),
                requests: Vec::new(),
                fail_next: VecDeque::new(),
                latency: Duration::ZERO,
                lifetime: 7200,
                bad_token_error: config.bad_token_error.to_owned(),
                next_access: 0,
                next_refresh: 0,
            })),
        }
    }

    /// The endpoint's route, to merge into the platform's router (before the fault layer,
    /// so injected faults reach it like any other route).
    pub(crate) fn router(&self) -> Router {
        Router::new()
            .route(self.config.path, post(token))
            .route(self.config.authorize_path, axum::routing::get(authorize))
            .with_state(self.clone())
    }

    /// Registers the app's client credentials (replacing any); until then every request
    /// gets `invalid_client`. `secret: None` is a public client.
    pub fn register_client(&self, client_id: &str, client_secret: Option<&str>) {
        self.lock().client = Some(Client {
            id: client_id.to_owned(),
            secret: client_secret.map(str::to_owned),
        });
    }

    /// Registers a redirect URI of the app (the authorize route takes registered ones only).
    pub fn register_redirect_uri(&self, uri: &str) {
        self.lock().redirect_uris.push(uri.to_owned());
    }

    /// The person who signs in at the authorize route and approves what the app asks;
    /// until this is called (or after [`TokenEndpoint::decline_consent`]) they decline.
    pub fn consent_as(&self, user_id: &str, username: &str) {
        self.lock().consent = Some((user_id.to_owned(), username.to_owned()));
    }

    /// The person declines: the authorize route answers `access_denied`.
    pub fn decline_consent(&self) {
        self.lock().consent = None;
    }

    /// Live refresh tokens (to check what a host stored is what the platform issued).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.lock().refresh.keys().cloned().collect()
    }

    /// Makes `refresh_token` live for the user with `scopes`.
    pub fn grant_refresh(&self, refresh_token: &str, user_id: &str, username: &str, scopes: &[&str]) {
        let mut s = self.lock();
        s.seen.insert(refresh_token.to_owned());
        s.refresh.insert(
            refresh_token.to_owned(),
            Grant {
                user_id: user_id.to_owned(),
                username: username.to_owned(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        );
    }

    /// Every request answered by the endpoint, in arrival order. Requests answered by the
    /// fault layer ([`crate::Faults`]) never reach it and are not listed.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.lock().requests.clone()
    }

    /// The next `n` requests answer `status` with a problem body, spending nothing.
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut s = self.lock();
        s.fail_next.extend(std::iter::repeat_n(status, n as usize));
    }

    /// How long the endpoint waits before each answer.
    pub fn set_latency(&self, d: Duration) {
        self.lock().latency = d;
    }

    /// `expires_in` of the access tokens minted from now on.
    pub fn set_access_token_lifetime(&self, secs: u64) {
        self.lock().lifetime = secs;
    }

    /// The `error` answered for a bad or spent refresh token (e.g. `invalid_grant`, the
    /// RFC's code, to check the host refuses on either).
    pub fn set_bad_token_error(&self, error: &str) {
        self.lock().bad_token_error = error.to_owned();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EndpointState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides a request, spends what it spends and records it; returns the answer and the
    /// latency to serve first.
    fn decide(&self, at: Instant, headers: &HeaderMap, body: &[u8]) -> (Response, Duration) {
        let mut s = self.lock();
        let form = is_form(headers).then(|| Form(form_urlencoded::parse(body).into_owned().collect()));
        let param = |name| form.as_ref().and_then(|f| f.get(name)).map(str::to_owned);
        let (grant_type, refresh_token) = (param("grant_type").unwrap_or_default(), param("refresh_token"));
        let response = match s.fail_next.pop_front() {
            Some(status) => transient(status),
            None => match form {
                None => Refusal::bad_request(
                    "invalid_request",
                    "The request body must be application/x-www-form-urlencoded.",
                )
                .into_response(),
                Some(form) => self
                    .refresh(&mut s, headers, &form)
                    .unwrap_or_else(Refusal::into_response),
            },
        };
        s.requests.push(TokenRequest {
            at,
            grant_type,
            refresh_token,
            outcome: response.status().as_u16(),
        });
        (response, s.latency)
    }

    /// The checks of RFC 6749 §6 in order, then the exchange.
    fn refresh(&self, s: &mut EndpointState, headers: &HeaderMap, form: &Form) -> Result<Response, Refusal> {
        if let Some(k) = form.repeated() {
            return Err(Refusal::bad_request(
                "invalid_request",
                &format!("The parameter {k} was included more than once."),
            ));
        }
        authenticate(&self.config, s.client.as_ref(), headers, form)?;
        match form.get("grant_type") {
            None => {
                return Err(Refusal::bad_request(
                    "invalid_request",
                    "Missing required parameter [grant_type].",
                ));
            }
            Some("refresh_token") => {}
            Some("authorization_code") => return self.redeem(s, headers, form),
            Some(other) => {
                return Err(Refusal::bad_request(
                    "unsupported_grant_type",
                    &format!("The grant type {other} is not supported."),
                ));
            }
        }
        let Some(old) = form.get("refresh_token") else {
            return Err(Refusal::bad_request(
                "invalid_request",
                "Missing required parameter [refresh_token].",
            ));
        };
        let Some(grant) = s.refresh.get(old).cloned() else {
            return Err(Refusal::bad_request(
                &s.bad_token_error,
                self.config.bad_token_description,
            ));
        };
        // A narrower scope may be asked for (RFC 6749 §6), never a wider one.
        let scopes: Vec<String> = match form.get("scope") {
            None => grant.scopes.clone(),
            Some(asked) => {
                let asked: Vec<String> = asked.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if let Some(extra) = asked.iter().find(|a| !grant.scopes.contains(a)) {
                    return Err(Refusal::bad_request(
                        "invalid_scope",
                        &format!("The scope {extra} exceeds the scope granted."),
                    ));
                }
                asked
            }
        };
        let access = loop {
            s.next_access += 1;
            let token = format!("{}{}", self.config.access_token_prefix, s.next_access);
            let access_grant = Grant {
                scopes: scopes.clone(),
                ..grant.clone()
            };
            if (self.mint)(&token, &access_grant, s.lifetime) {
                break token;
            }
        };
        let mut body = json!({
            "token_type": "bearer",
            "expires_in": s.lifetime,
            "access_token": access,
            "scope": scopes.join(" "),
        });
        if self.config.rotate_refresh_tokens {
            s.refresh.remove(old);
            let new = loop {
                s.next_refresh += 1;
                let token = format!("{}{}", self.config.refresh_token_prefix, s.next_refresh);
                if s.seen.insert(token.clone()) {
                    break token;
                }
            };
            s.refresh.insert(new.clone(), grant);
            body["refresh_token"] = new.into();
        }
        Ok(no_store(axum::Json(body).into_response()))
    }
}

impl TokenEndpoint {
    /// RFC 6749 §4.1.3 and RFC 7636 §4.6: a code is redeemed once, by the app it was issued
    /// to, with the same redirect URI and the verifier of its challenge.
    fn redeem(&self, s: &mut EndpointState, _headers: &HeaderMap, form: &Form) -> Result<Response, Refusal> {
        let Some(code) = form.get("code") else {
            return Err(Refusal::bad_request(
                "invalid_request",
                "Missing required parameter [code].",
            ));
        };
        let client_id = s.client.as_ref().map(|c| c.id.clone()).unwrap_or_default();
        let invalid = || {
            Refusal::bad_request(
                "invalid_grant",
                "The authorization code is invalid, expired or already used.",
            )
        };
        // Spent on the first try, right or wrong (a code is never good twice).
        let Some(pending) = s.codes.remove(code) else {
            return Err(invalid());
        };
        if pending.expires < Instant::now() || pending.client_id != client_id {
            return Err(invalid());
        }
        if form.get("redirect_uri") != Some(pending.redirect_uri.as_str()) {
            return Err(Refusal::bad_request(
                "invalid_grant",
                "The redirect_uri does not match the one of the authorization request.",
            ));
        }
        if let Some(challenge) = &pending.challenge {
            let Some(verifier) = form.get("code_verifier") else {
                return Err(Refusal::bad_request(
                    "invalid_request",
                    "Missing required parameter [code_verifier].",
                ));
            };
            if s256(verifier) != *challenge {
                return Err(Refusal::bad_request(
                    "invalid_grant",
                    "The code_verifier does not match the code_challenge.",
                ));
            }
        }
        let grant = pending.grant;
        let access = loop {
            s.next_access += 1;
            let token = format!("{}{}", self.config.access_token_prefix, s.next_access);
            if (self.mint)(&token, &grant, s.lifetime) {
                break token;
            }
        };
        let refresh = loop {
            s.next_refresh += 1;
            let token = format!("{}{}", self.config.refresh_token_prefix, s.next_refresh);
            if s.seen.insert(token.clone()) {
                break token;
            }
        };
        s.refresh.insert(refresh.clone(), grant.clone());
        Ok(no_store(
            axum::Json(json!({
                "token_type": "bearer",
                "expires_in": s.lifetime,
                "access_token": access,
                "refresh_token": refresh,
                "scope": grant.scopes.join(self.config.scope_separator),
            }))
            .into_response(),
        ))
    }

    /// RFC 6749 §4.1.1-4.1.2: errors about the app or its redirect URI are shown to the
    /// person (never redirected); the others go back to the app with `error` and `state`.
    fn authorize(&self, query: &[(String, String)]) -> Response {
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, v)| k == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        let mut s = self.lock();
        let page = |why: &str| (StatusCode::BAD_REQUEST, format!("This app cannot sign you in: {why}")).into_response();
        let registered = s.client.as_ref().map(|c| c.id.clone());
        if param(self.config.client_id_field).is_none() || param(self.config.client_id_field) != registered {
            return page(&format!("unknown {}", self.config.client_id_field));
        }
        let Some(redirect) = param("redirect_uri") else {
            return page("redirect_uri is missing");
        };
        if !s.redirect_uris.contains(&redirect) {
            return page("redirect_uri is not registered for this app");
        }
        let state = param("state");
        let back = |pairs: &[(&str, &str)]| {
            let mut url = redirect.clone();
            url.push(if url.contains('?') { '&' } else { '?' });
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(st) = &state {
                q.append_pair("state", st);
            }
            url.push_str(&q.finish());
            (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
        };
        if param("response_type").as_deref() != Some("code") {
            return back(&[("error", "unsupported_response_type")]);
        }
        if state.is_none() {
            return back(&[("error", "invalid_request"), ("error_description", "state is required")]);
        }
        let Some(scope) = param("scope") else {
            return back(&[("error", "invalid_scope"), ("error_description", "scope is required")]);
        };
        // Scopes joined another way than the platform's arrive as one unknown scope.
        let wrong_join = if self.config.scope_separator == " " { "," } else { " " };
        if scope.contains(wrong_join) {
            return back(&[
                ("error", "invalid_scope"),
                (
                    "error_description",
                    &format!("scopes are separated by {:?}", self.config.scope_separator),
                ),
            ]);
        }
        let challenge = param("code_challenge");
        match (&challenge, param("code_challenge_method").as_deref()) {
            (None, _) if self.config.pkce_required => {
                return back(&[
                    ("error", "invalid_request"),
                    ("error_description", "code_challenge is required"),
                ]);
            }
            (Some(_), m) if m != Some("S256") => {
                return back(&[
                    ("error", "invalid_request"),
                    ("error_description", "code_challenge_method must be S256"),
                ]);
            }
            _ => {}
        }
        let Some((user_id, username)) = s.consent.clone() else {
            return back(&[
                ("error", "access_denied"),
                ("error_description", "The user denied the request."),
            ]);
        };
        s.next_code += 1;
        let code = format!("code-{}-{}", s.next_code, rand::random::<u64>());
        s.codes.insert(
            code.clone(),
            Code {
                client_id: registered.unwrap_or_default(),
                redirect_uri: redirect.clone(),
                challenge,
                grant: Grant {
                    user_id,
                    username,
                    scopes: scope
                        .split(self.config.scope_separator)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                },
                expires: Instant::now() + CODE_LIFETIME,
            },
        );
        back(&[("code", &code)])
    }
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(verifier))`, unpadded.
fn s256(verifier: &str) -> String {
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

async fn authorize(State(ep): State<TokenEndpoint>, axum::extract::RawQuery(q): axum::extract::RawQuery) -> Response {
    let query: Vec<(String, String)> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    ep.authorize(&query)
}

async fn token(State(ep): State<TokenEndpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let (response, latency) = ep.decide(Instant::now(), &headers, &body);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    response
}

/// Whether the body is declared a form (parameters such as `charset` allowed).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Token answers must not be cached (RFC 6749 §5.1).
fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// A transient server failure: an RFC 7807 problem, as gateways in front of the
/// authorization servers send them.
fn transient(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let title = status.canonical_reason().unwrap_or("Error");
    let body = json!({"type": "about:blank", "title": title, "detail": title, "status": status.as_u16()});
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// Client authentication (RFC 6749 §2.3.1): HTTP Basic with the url-encoded id and secret,
/// or `client_id` (and `client_secret`) in the body, or Basic plus a matching `client_id`.
/// A public client (no secret registered) must present none.
fn authenticate(config: &Config, client: Option<&Client>, headers: &HeaderMap, form: &Form) -> Result<(), Refusal> {
    let basic = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(value) => match value.ok().and_then(|v| v.split_once(' ')) {
            Some((scheme, creds)) if scheme.eq_ignore_ascii_case("basic") => match basic_credentials(creds) {
                Some(c) => Some(c),
                None => return Err(Refusal::invalid_client("Malformed HTTP Basic credentials.", true)),
            },
            // Another scheme (a bearer token) does not authenticate a client.
            _ => None,
        },
    };
    let tried_basic = basic.is_some();
    if tried_basic && !config.basic_allowed {
        return Err(Refusal::bad_request(
            "invalid_request",
            &format!(
                "Send the client's credentials as the form fields {} and client_secret.",
                config.client_id_field
            ),
        ));
    }
    if !tried_basic && !config.body_credentials_allowed {
        return Err(Refusal::invalid_client(
            "HTTP Basic authentication with the app's id and secret is required.",
            true,
        ));
    }
    let body_id = form.get(config.client_id_field);
    let body_secret = form.get("client_secret");
    if tried_basic && body_secret.is_some() {
        return Err(Refusal::bad_request(
            "invalid_request",
            "The client used more than one authentication method.",
        ));
    }
    let (id, secret) = match (basic, body_id) {
        (Some((id, _)), Some(body_id)) if id != body_id => {
            return Err(Refusal::invalid_client(
                "The client_id does not match the Authorization header.",
                true,
            ));
        }
        (Some((id, secret)), _) => (id, Some(secret).filter(|s| !s.is_empty())),
        (None, Some(id)) => (id.to_owned(), body_secret.map(str::to_owned)),
        (None, None) => {
            return Err(Refusal::invalid_client("Missing valid authorization header", false));
        }
    };
    let Some(client) = client.filter(|c| c.id == id) else {
        return Err(Refusal::invalid_client("Unknown client.", tried_basic));
    };
    if client.secret != secret {
        return Err(Refusal::invalid_client("Client authentication failed.", tried_basic));
    }
    Ok(())
}

/// `base64(urlencode(id) ":" urlencode(secret))`, decoded; None if malformed.
fn basic_credentials(creds: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(creds.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Decodes one `application/x-www-form-urlencoded` component; None if not UTF-8 after.
/// A `%` not followed by two hex digits stays as it is.
fn form_decode(s: &str) -> Option<String> {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::{Client, Config, Form, authenticate};
    use crate::x::{ALL_SCOPES, XFake};
    use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
    use serde_json::Value;
    use std::time::Duration;

    fn client() -> reqwest::Client {
        // Chorus builds rustls without a default provider (see `chorus_tests::http_client`).
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }

    /// A fake with a public client `app` and a live refresh token `rt-0` for @alice.
    async fn fake() -> XFake {
        let x = XFake::start().await.expect("start the X fake");
        x.register_client("app", None);
        x.grant_refresh("rt-0", "42", "alice", ALL_SCOPES);
        x
    }

    /// A token request with `form` as its body (reqwest's `form` is a feature Chorus
    /// does not build).
    fn token_request(x: &XFake, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        client()
            .post(format!("{}/2/oauth2/token", x.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    async fn refresh(x: &XFake, form: &[(&str, &str)]) -> (u16, Value) {
        let r = token_request(x, form).send().await.expect("token request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn refresh_form(token: &str) -> [(&'static str, &str); 3] {
        [
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", "app"),
        ]
    }

    async fn post_tweet(x: &XFake, token: &str, text: &str) -> u16 {
        client()
            .post(format!("{}/2/tweets", x.base_url))
            .bearer_auth(token)
            .json(&serde_json::json!({"text": text}))
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn a_refresh_mints_a_token_that_posts() {
        let x = fake().await;
        let (status, body) = refresh(&x, &refresh_form("rt-0")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 7200);
        assert_eq!(body["scope"], ALL_SCOPES.join(" "));
        let access = body["access_token"].as_str().expect("access_token");
        let rotated = body["refresh_token"].as_str().expect("refresh_token");
        assert!(access.starts_with("x-at-") && rotated.starts_with("x-rt-"), "{body}");
        assert_ne!(rotated, "rt-0");
        assert_eq!(post_tweet(&x, access, "hi").await, 201);
        assert_eq!(x.tweets()[0].author_id, "42");
        let log = x.token_requests();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (
                log[0].grant_type.as_str(),
                log[0].refresh_token.as_deref(),
                log[0].outcome
            ),
            ("refresh_token", Some("rt-0"), 200)
        );
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_is_refused() {
        let x = fake().await;
        let (_, body) = refresh(&x, &refresh_form("rt-0")).await;
        let rotated = body["refresh_token"].as_str().expect("refresh_token").to_owned();
        let (status, body) = refresh(&x, &refresh_form("rt-0")).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], "Value passed for the token was invalid.");
        x.set_bad_refresh_token_error("invalid_grant");
        assert_eq!(refresh(&x, &refresh_form("rt-0")).await.1["error"], "invalid_grant");
        assert_eq!(
            refresh(&x, &refresh_form(&rotated)).await.0,
            200,
            "the new one works once"
        );
    }

    #[tokio::test]
    async fn a_wrong_client_is_invalid_client() {
        let x = XFake::start().await.expect("start the X fake");
        x.grant_refresh("rt-0", "42", "alice", ALL_SCOPES);
        let (status, body) = refresh(&x, &refresh_form("rt-0")).await;
        assert_eq!(
            (status, &body["error"]),
            (401, &Value::from("invalid_client")),
            "none registered"
        );
        x.register_client("other-app", None);
        let (status, body) = refresh(&x, &refresh_form("rt-0")).await;
        assert_eq!((status, &body["error"]), (401, &Value::from("invalid_client")));
        let form = [("grant_type", "refresh_token"), ("refresh_token", "rt-0")];
        assert_eq!(refresh(&x, &form).await.0, 401, "no client_id at all");
        x.register_client("app", None);
        assert_eq!(
            refresh(&x, &refresh_form("rt-0")).await.0,
            200,
            "not spent by the refusals"
        );
    }

    #[tokio::test]
    async fn a_confidential_client_authenticates_with_basic() {
        let x = fake().await;
        x.register_client("app", Some("s3cret"));
        let form = [("grant_type", "refresh_token"), ("refresh_token", "rt-0")];
        let wrong = token_request(&x, &form).basic_auth("app", Some("nope"));
        let r = wrong.send().await.expect("token request");
        assert_eq!(r.status().as_u16(), 401);
        assert!(r.headers().contains_key("www-authenticate"));
        assert_eq!(
            refresh(&x, &refresh_form("rt-0")).await.0,
            401,
            "client_id without secret"
        );
        let right = token_request(&x, &form).basic_auth("app", Some("s3cret"));
        assert_eq!(right.send().await.expect("token request").status().as_u16(), 200);
    }

    #[tokio::test]
    async fn malformed_requests_are_refused() {
        let x = fake().await;
        let url = format!("{}/2/oauth2/token", x.base_url);
        let json = client()
            .post(&url)
            .json(&serde_json::json!({"grant_type": "refresh_token", "refresh_token": "rt-0", "client_id": "app"}))
            .send()
            .await
            .expect("token request");
        assert_eq!(json.status().as_u16(), 400);
        assert_eq!(json.json::<Value>().await.expect("json")["error"], "invalid_request");
        let code = [
            ("grant_type", "authorization_code"),
            ("code", "c"),
            ("client_id", "app"),
        ];
        assert_eq!(
            refresh(&x, &code).await.1["error"],
            "invalid_grant",
            "a code never issued"
        );
        let password = [("grant_type", "password"), ("client_id", "app")];
        assert_eq!(refresh(&x, &password).await.1["error"], "unsupported_grant_type");
        let (status, body) = refresh(&x, &[("grant_type", "refresh_token"), ("client_id", "app")]).await;
        assert_eq!((status, &body["error"]), (400, &Value::from("invalid_request")));
        let wider = [
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-0"),
            ("client_id", "app"),
            ("scope", "tweet.read dm.write"),
        ];
        assert_eq!(refresh(&x, &wider).await.1["error"], "invalid_scope");
        assert_eq!(
            refresh(&x, &refresh_form("rt-0")).await.0,
            200,
            "not spent by the refusals"
        );
    }

    #[tokio::test]
    async fn a_transient_failure_keeps_the_refresh_token() {
        let x = fake().await;
        x.fail_next_token_requests(1, 503);
        let (status, body) = refresh(&x, &refresh_form("rt-0")).await;
        assert_eq!((status, &body["status"]), (503, &Value::from(503)));
        assert_eq!(refresh(&x, &refresh_form("rt-0")).await.0, 200);
        let outcomes: Vec<u16> = x.token_requests().iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [503, 200]);
    }

    #[tokio::test]
    async fn racing_refreshes_mint_once() {
        let x = fake().await;
        x.set_token_latency(Duration::from_millis(200));
        let form = refresh_form("rt-0");
        let (a, b) = tokio::join!(refresh(&x, &form), refresh(&x, &form));
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 400]);
        let log = x.token_requests();
        assert!(
            log[1].at.duration_since(log[0].at) < Duration::from_millis(200),
            "they overlapped"
        );
    }

    #[tokio::test]
    async fn minted_tokens_expire() {
        let x = fake().await;
        x.set_access_token_lifetime(0);
        let (_, body) = refresh(&x, &refresh_form("rt-0")).await;
        assert_eq!(body["expires_in"], 0);
        let access = body["access_token"].as_str().expect("access_token");
        assert_eq!(post_tweet(&x, access, "hi").await, 401);
    }

    /// Visits the authorize route without following the redirect; answers the status and
    /// the redirect's query (or the page's text).
    async fn authorize(x: &XFake, query: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let r = browser
            .get(format!("{}/i/oauth2/authorize?{q}", x.base_url))
            .send()
            .await
            .expect("authorize");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default();
        let pairs = location
            .split_once('?')
            .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        (status, pairs, r.text().await.unwrap_or_default())
    }

    fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn the_authorization_code_leg_refuses_what_x_refuses() {
        let x = fake().await;
        let redirect = "http://127.0.0.1:9/api/v1/oauth/callback";
        x.oauth().register_redirect_uri(redirect);
        x.oauth().consent_as("42", "alice");
        let verifier = "a-verifier-long-enough-to-be-a-real-pkce-verifier-43";
        let challenge = super::s256(verifier);
        let good = [
            ("response_type", "code"),
            ("client_id", "app"),
            ("redirect_uri", redirect),
            ("scope", "tweet.read tweet.write users.read offline.access"),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let with = |name: &str, value: &'static str| {
            good.iter()
                .map(|(k, v)| if *k == name { (*k, value) } else { (*k, *v) })
                .collect::<Vec<_>>()
        };
        let without = |name: &str| good.iter().copied().filter(|(k, _)| *k != name).collect::<Vec<_>>();
        // The app or its redirect URI wrong: shown to the person, never redirected.
        assert_eq!(authorize(&x, &with("client_id", "other")).await.0, 400);
        assert_eq!(
            authorize(&x, &with("redirect_uri", "http://127.0.0.1:9/elsewhere"))
                .await
                .0,
            400
        );
        // The rest go back to the app with an error and the state.
        for (query, error) in [
            (without("code_challenge"), "invalid_request"),
            (with("code_challenge_method", "plain"), "invalid_request"),
            (with("scope", "tweet.read,tweet.write"), "invalid_scope"),
            (without("state"), "invalid_request"),
            (with("response_type", "token"), "unsupported_response_type"),
        ] {
            let (status, back, _) = authorize(&x, &query).await;
            assert_eq!((status, get(&back, "error")), (302, Some(error)), "{query:?}");
        }
        x.oauth().decline_consent();
        let (_, back, _) = authorize(&x, &good).await;
        assert_eq!(get(&back, "error"), Some("access_denied"));
        assert_eq!(get(&back, "state"), Some("s1"));
        x.oauth().consent_as("42", "alice");
        let code_for = |back: &[(String, String)]| get(back, "code").expect("a code").to_owned();
        let redeem = |code: String, verifier: &'static str, redirect: &'static str| {
            let x = &x;
            async move {
                refresh(
                    x,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", redirect),
                        ("code_verifier", verifier),
                        ("client_id", "app"),
                    ],
                )
                .await
            }
        };
        // A wrong verifier, or another redirect URI, spends the code for nothing.
        let code = code_for(&authorize(&x, &good).await.1);
        assert_eq!(
            redeem(code.clone(), "another-verifier", redirect).await.1["error"],
            "invalid_grant"
        );
        assert_eq!(redeem(code, verifier, redirect).await.1["error"], "invalid_grant");
        let code = code_for(&authorize(&x, &good).await.1);
        let (_, answer) = redeem(code, verifier, "http://127.0.0.1:9/elsewhere").await;
        assert_eq!(answer["error"], "invalid_grant");
        // The right one works once, for a token that posts as the person who consented.
        let code = code_for(&authorize(&x, &good).await.1);
        let (status, answer) = redeem(code.clone(), verifier, redirect).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["scope"], "tweet.read tweet.write users.read offline.access");
        let access = answer["access_token"].as_str().expect("access_token");
        assert_eq!(post_tweet(&x, access, "connected").await, 201);
        assert_eq!(redeem(code, verifier, redirect).await.1["error"], "invalid_grant");
    }

    #[test]
    fn a_basic_only_endpoint_refuses_credentials_in_the_body() {
        let config = Config {
            path: "/token",
            rotate_refresh_tokens: false,
            bad_token_error: "invalid_grant",
            bad_token_description: "",
            access_token_prefix: "a",
            refresh_token_prefix: "r",
            client_id_field: "client_id",
            basic_allowed: true,
            body_credentials_allowed: false,
            authorize_path: "/authorize",
            pkce_required: false,
            scope_separator: " ",
        };
        let app = Client {
            id: "app".into(),
            secret: Some("s".into()),
        };
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("client_id", "app"), ("client_secret", "s")])
            .finish();
        let form = Form(form_urlencoded::parse(body.as_bytes()).into_owned().collect());
        let e = authenticate(&config, Some(&app), &HeaderMap::new(), &form).unwrap_err();
        assert_eq!(
            (e.status, e.error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client")
        );
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YXBwOnM="), // app:s
        );
        assert!(authenticate(&config, Some(&app), &basic, &Form(vec![])).is_ok());
    }
}
