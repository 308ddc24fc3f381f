//! The REST API under `/api/v1`: JSON in and out, errors as RFC 9457 problem details,
//! and an OpenAPI 3.1 document at `/api/openapi.json` generated from these handlers (so it
//! cannot drift from what the server accepts), with a reference page at `/api/docs`.
//!
//! Every tenant resource lives under `/api/v1/workspaces/{workspace}/…`; a handler reaches
//! its data only through [`auth::Caller::access`], which resolves the caller's roles there
//! and hands out the store's tenant scope. One module per resource; handlers stay thin.

pub mod accounts;
pub mod auth;
mod calendar;
mod extract;
mod imports;
mod media;
mod plugins;
mod posts;
pub mod problem;
mod reference;
mod schedules;
mod segments;
mod session;
mod tokens;
mod webhooks;
mod workspaces;

use axum::Router;
use chorus_core::plugins::PluginRegistry;
use chorus_core::store::Store;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How the API behaves on this server.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Mark the session cookie `Secure` (off only for plain HTTP on a non-loopback host).
    pub secure_cookies: bool,
    /// Largest request body accepted (media uploads have their own route and limit).
    pub body_limit: usize,
    /// Longest a request may take before it is answered 408.
    pub timeout: Duration,
    /// Where people and platforms reach this server (`http(s)://host[:port]`): OAuth
    /// redirect URIs start with it.
    pub public_base: String,
    /// The operator's OAuth apps, by platform (connecting accounts).
    pub oauth_clients: chorus_core::oauth::OAuthClients,
    /// Webhook URLs may point at private addresses (`[webhooks] allow_private`).
    pub webhooks_allow_private: bool,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            body_limit: 1024 * 1024,
            timeout: Duration::from_secs(30),
            public_base: "http://127.0.0.1:8080".into(),
            oauth_clients: Default::default(),
            webhooks_allow_private: false,
        }
    }
}

/// What API handlers share.
pub struct Api {
    pub store: Store,
    pub plugins: Arc<PluginRegistry>,
    pub settings: ApiSettings,
    pub logins: auth::LoginLimiter,
    pub connector: chorus_core::oauth::connect::Connector,
    /// Where uploads go (none: uploads answer 503).
    pub media: Option<chorus_core::media::MediaLibrary>,
}

pub type ApiState = Arc<Api>;

impl Api {
    /// The API's shared state: one per server (the sign-in limiter lives here).
    pub fn new(
        store: Store,
        plugins: Arc<PluginRegistry>,
        media: Option<chorus_core::media::MediaLibrary>,
        settings: ApiSettings,
    ) -> ApiState {
        Arc::new(Api {
            media,
            connector: chorus_core::oauth::connect::Connector::new(settings.oauth_clients.clone()),
            store,
            plugins,
            settings,
            logins: auth::LoginLimiter::default(),
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chorus API",
        description = "Compose once, adapt per platform and audience segment, schedule and publish. \
                       Sign in with POST /api/v1/session (browsers) or send an API token as a bearer token.",
    ),
    modifiers(&Security),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "workspaces", description = "Workspaces and their brands"),
        (name = "posts", description = "Posts and their deliveries"),
        (name = "tokens", description = "API tokens for integrations"),
        (name = "accounts", description = "Social accounts and connecting them with OAuth 2"),
        (name = "media", description = "A brand's media library: uploads, read and checked by Chorus"),
        (name = "schedules", description = "Posting slots that \"add to queue\" fills"),
        (name = "segments", description = "Audience segments: rules, live sizes, priority, warnings, overlap"),
        (name = "plugins", description = "Installed platform plugins"),
        (name = "webhooks", description = "Signed event notifications to a workspace's own systems"),
        (name = "audit", description = "Who did what"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("chorus_…")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// The API's routes and its OpenAPI document, built from the same handler list.
pub fn routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::sign_in, session::sign_out))
        .routes(routes!(session::me))
        .routes(routes!(workspaces::list))
        .routes(routes!(workspaces::get))
        .routes(routes!(workspaces::brands, workspaces::create_brand))
        .routes(routes!(posts::list, posts::compose))
        .routes(routes!(posts::preview))
        .routes({
            // A CSV of 10,000 posts is larger than the API's 1 MiB JSON limit.
            let (schemas, paths, route) = routes!(imports::import);
            (
                schemas,
                paths,
                route.layer(axum::extract::DefaultBodyLimit::max(imports::MAX_BYTES)),
            )
        })
        .routes(routes!(calendar::calendar))
        .routes(routes!(posts::schedule))
        .routes(routes!(posts::approve))
        .routes(routes!(posts::reject))
        .routes(routes!(posts::cancel))
        .routes(routes!(posts::retry))
        .routes(routes!(posts::get, posts::edit))
        .routes(routes!(posts::deliveries))
        .routes(routes!(tokens::list, tokens::issue))
        .routes(routes!(tokens::revoke))
        .routes(routes!(workspaces::audit))
        .routes(routes!(plugins::list))
        .routes(routes!(accounts::list))
        .routes(routes!(accounts::connect))
        .routes(routes!(accounts::callback))
        .routes({
            // Uploads have their own limit (the API's 1 MiB is for JSON).
            let (schemas, paths, route) = routes!(media::list, media::upload);
            (
                schemas,
                paths,
                route.layer(axum::extract::DefaultBodyLimit::max(media::MAX_UPLOAD)),
            )
        })
        .routes(routes!(schedules::list, schedules::create))
        .routes(routes!(schedules::change, schedules::remove))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(segments::list, segments::create))
        .routes(routes!(segments::size))
        .routes(routes!(segments::overlap))
        .routes(routes!(segments::personas, segments::create_persona))
        .split_for_parts()
        .map_doc(document_errors)
}

trait MapDoc {
    fn map_doc(self, f: fn(&mut utoipa::openapi::OpenApi)) -> Self;
}

impl MapDoc for (Router<ApiState>, utoipa::openapi::OpenApi) {
    fn map_doc(mut self, f: fn(&mut utoipa::openapi::OpenApi)) -> Self {
        f(&mut self.1);
        self
    }
}

/// Errors as the server really answers them, for every operation at once: a problem is
/// `application/problem+json` (RFC 9457), an operation that needs a caller may answer 401,
/// and one that takes a body may answer 413 (over the body limit).
fn document_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    const JSON: &str = "application/json";
    const PROBLEM: &str = "application/problem+json";
    let problem_ref = Ref::from_schema_name("Problem");
    let problem = |why: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(why)
                .content(PROBLEM, ContentBuilder::new().schema(Some(problem_ref.clone())).build())
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for r in op.responses.responses.values_mut() {
                let RefOr::T(resp) = r else { continue };
                let is_problem = resp
                    .content
                    .get(JSON)
                    .is_some_and(|c| matches!(&c.schema, Some(RefOr::Ref(r)) if *r == problem_ref));
                if is_problem && let Some(c) = resp.content.shift_remove(JSON) {
                    resp.content.insert(PROBLEM.to_owned(), c);
                }
            }
            let needs_caller = op.security.as_ref().is_some_and(|s| !s.is_empty());
            if needs_caller {
                op.responses
                    .responses
                    .entry("401".into())
                    .or_insert_with(|| problem("Not signed in: no session, or no valid API token"));
            }
            if op.request_body.is_some() {
                let r = &mut op.responses.responses;
                r.entry("413".into())
                    .or_insert_with(|| problem("The body is larger than the server accepts"));
                r.entry("415".into())
                    .or_insert_with(|| problem("The body is not sent as `application/json`"));
                r.entry("422".into())
                    .or_insert_with(|| problem("The body is not JSON of the documented shape; `field` names where"));
            }
            let takes_query = op
                .parameters
                .iter()
                .flatten()
                .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
            if takes_query {
                let r = &mut op.responses.responses;
                r.entry("400".into())
                    .or_insert_with(|| problem("The query string does not parse; the detail says which parameter"));
                r.entry("422".into())
                    .or_insert_with(|| problem("A parameter is out of range; `field` names it"));
            }
        }
    }
}

/// The API mounted with its document, reference page, body limit and timeout.
pub fn router(state: ApiState) -> Router {
    let (routes, doc) = routes();
    let doc = Arc::new(doc);
    let limit = state.settings.body_limit;
    let timeout = state.settings.timeout;
    routes
        .route(
            "/api/openapi.json",
            axum::routing::get({
                let doc = doc.clone();
                move || async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route(
            "/api/docs",
            axum::routing::get(move || async move { reference::page(&doc) }),
        )
        // Unknown API paths answer as the API does; the rest of the site is not the API's.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { problem::Problem::not_found().detail("no such API route; see /api/docs") }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::map_response(problem::bare_errors_as_problems))
        .with_state(state)
}

/// A cursor page of items: pass `next_cursor` back as `cursor` for the next page.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
