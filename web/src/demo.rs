//! `chorus serve --demo`: an offline sandbox. It seeds a demo agency (two brands with a
//! synthetic audience, segments and personas) whose X, LinkedIn, Facebook and Bluesky
//! accounts are connected to the same platform fakes the test suite uses, served on loopback by this
//! process, and points the plugins at them. Previews and publishing then work on a fresh
//! machine without any platform account; later features (scheduling, metrics, the UI) use
//! the same sandbox.

use crate::api::ApiState;
use crate::api::auth::Caller;
use crate::api::problem::Problem;
use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chorus_core::StoreError;
use chorus_core::audience::import::{Format, ImportOptions, Mapping, Records, import};
use chorus_core::audience::{Audience, PersonaDefinition, SegmentDefinition};
use chorus_core::delivery::plan::{Planner, Target, When};
use chorus_core::domain::{PostDraft, PostStatus, Role, WorkspaceKind};
use chorus_core::media::MediaLibrary;
use chorus_core::plugins::PluginRegistry;
use chorus_core::secrets::Credentials;
use chorus_core::store::entity::brand;
use chorus_core::store::{NewAccount, NewBrand, NewWorkspace, Store, Tenant};
use chorus_simulators::bluesky::BlueskyFake;
use chorus_simulators::facebook::FacebookFake;
use chorus_simulators::instagram::InstagramFake;
use chorus_simulators::linkedin::{LinkedInFake, TEST_ORGANIZATION};
use chorus_simulators::pinterest::PinterestFake;
use chorus_simulators::tiktok::{Creator, TikTokFake};
use chorus_simulators::x::{ALL_SCOPES, XFake};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The demo workspace's slug.
pub const WORKSPACE: &str = "demo";

/// The sandbox platforms, running in this process.
#[derive(Clone)]
pub struct Sandbox {
    pub x: XFake,
    pub linkedin: LinkedInFake,
    pub facebook: FacebookFake,
    pub bluesky: BlueskyFake,
    pub instagram: InstagramFake,
    pub tiktok: TikTokFake,
    pub pinterest: PinterestFake,
}

impl Sandbox {
    pub async fn start() -> anyhow::Result<Self> {
        Ok(Self {
            x: XFake::start().await.context("starting the X sandbox")?,
            linkedin: LinkedInFake::start().await.context("starting the LinkedIn sandbox")?,
            facebook: FacebookFake::start().await.context("starting the Facebook sandbox")?,
            bluesky: BlueskyFake::start().await.context("starting the Bluesky sandbox")?,
            instagram: InstagramFake::start().await.context("starting the Instagram sandbox")?,
            tiktok: TikTokFake::start().await.context("starting the TikTok sandbox")?,
            pinterest: PinterestFake::start().await.context("starting the Pinterest sandbox")?,
        })
    }

    /// Platform id → API base, for the plugin settings.
    pub fn api_bases(&self) -> BTreeMap<String, url::Url> {
        [
            ("x", &self.x.base_url),
            ("linkedin", &self.linkedin.base_url),
            ("facebook", &self.facebook.base_url),
            ("bluesky", &self.bluesky.base_url),
            ("instagram", &self.instagram.base_url),
            ("tiktok", &self.tiktok.base_url),
            ("pinterest", &self.pinterest.base_url),
        ]
        .into_iter()
        .map(|(p, u)| (p.to_owned(), url::Url::parse(u).expect("a loopback URL")))
        .collect()
    }

    /// Platform id → the simulators standing in for its other declared hosts.
    pub fn local_origins(&self) -> BTreeMap<String, Vec<(String, url::Url)>> {
        let origin = |host: &str, base: &str| vec![(host.to_owned(), url::Url::parse(base).expect("a loopback URL"))];
        [
            (
                "tiktok".to_owned(),
                origin("open-upload.tiktokapis.com", &self.tiktok.upload_base),
            ),
            (
                "pinterest".to_owned(),
                origin(
                    "pinterest-media-upload.s3-accelerate.amazonaws.com",
                    &self.pinterest.upload_base,
                ),
            ),
        ]
        .into()
    }

    /// Lets the platforms that pull media only from verified URLs (TikTok) pull from
    /// Chorus's media route at `public_base`.
    pub fn trust_media_at(&self, public_base: &str) {
        self.tiktok
            .verify_prefix(&format!("{}/media/", public_base.trim_end_matches('/')));
    }

    /// Lets the sandbox accept an account's token, or for Bluesky its app password (the
    /// fakes keep nothing across restarts).
    fn grant(&self, platform: &str, remote_id: &str, handle: &str, token: &str) {
        match platform {
            "x" => self.x.grant(token, remote_id, handle, ALL_SCOPES),
            "linkedin" => self.linkedin.grant(
                token,
                "urn:li:person:demo",
                &[remote_id],
                &[
                    "w_member_social",
                    "w_organization_social",
                    "r_organization_social",
                    "rw_organization_admin",
                ],
            ),
            "facebook" => self.facebook.grant_page(token, remote_id),
            "bluesky" => self.bluesky.add_account(remote_id, handle, token),
            "instagram" => self.instagram.grant(token, remote_id),
            "tiktok" => self.tiktok.grant(token, Creator::new(remote_id, handle)),
            "pinterest" => {
                self.pinterest.grant(token, remote_id);
                if let Some(b) = BRANDS.iter().find(|b| b.accounts.iter().any(|a| a.2 == remote_id)) {
                    self.pinterest
                        .add_board(remote_id, b.board, &format!("{} ideas", b.name));
                }
            }
            _ => {}
        }
    }
}

struct DemoBrand {
    slug: &'static str,
    name: &'static str,
    interests: &'static [&'static str],
    accounts: [(&'static str, &'static str, &'static str); 7],
    /// The Pinterest account's board the tour pins to.
    board: &'static str,
}

const BRANDS: [DemoBrand; 2] = [
    DemoBrand {
        slug: "northwind",
        name: "Northwind Outdoor",
        interests: &["hiking", "running", "climbing", "camping", "cycling"],
        accounts: [
            ("x", "northwind", "1000001"),
            ("linkedin", "northwind", TEST_ORGANIZATION),
            ("facebook", "northwind", "100000001"),
            ("bluesky", "northwind.bsky.social", "did:plc:northwinddemo"),
            ("instagram", "northwind.outdoor", "17841400000000101"),
            ("tiktok", "northwind.outdoor", "-000northwindOpenId"),
            ("pinterest", "northwindoutdoor", "northwindoutdoor"),
        ],
        board: "549755885175",
    },
    DemoBrand {
        slug: "fika",
        name: "Fika Coffee Roasters",
        interests: &["espresso", "baking", "filter coffee", "tea", "design"],
        accounts: [
            ("x", "fikaroasters", "1000002"),
            ("linkedin", "fika", "urn:li:organization:2000002"),
            ("facebook", "fika", "100000002"),
            ("bluesky", "fika.bsky.social", "did:plc:fikademo"),
            ("instagram", "fikaroasters", "17841400000000102"),
            ("tiktok", "fikaroasters", "-000fikaOpenId"),
            ("pinterest", "fikaroasters", "fikaroasters"),
        ],
        board: "549755885176",
    },
];

/// What the demo holds, for the startup message and `GET /sandbox`.
pub struct Seeded {
    pub created: bool,
    pub brands: Vec<String>,
    /// The demo's people and this run's passwords: (e-mail, role, password).
    pub people: Vec<(String, String, String)>,
}

/// The demo's people: an owner of the agency, and the Fika client who approves its posts.
const PEOPLE: [(&str, &str, Option<&str>, Role); 2] = [
    ("owner@demo.example", "Demo Owner", None, Role::Owner),
    ("client@fika.example", "Fika Client", Some("fika"), Role::ClientApprover),
];

/// Creates the demo's people if missing and gives each a new random password for this run
/// (shown once on the console; only the argon2id hash is stored).
async fn seed_people(
    store: &Store,
    tenant: chorus_core::store::Tenant<'_>,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for (email, name, brand, role) in PEOPLE {
        let user = match store.users().by_email(email).await {
            Ok(u) => u,
            Err(StoreError::NotFound { .. }) => {
                store
                    .users()
                    .create(chorus_core::store::NewUser {
                        email: email.into(),
                        display_name: name.into(),
                    })
                    .await?
            }
            Err(e) => return Err(e.into()),
        };
        let brand = match brand {
            Some(slug) => Some(tenant.brands().by_slug(slug).await?.id),
            None => None,
        };
        tenant.memberships().grant(user.id, brand, role).await?;
        let password = chorus_core::store::identity::generated_password();
        store.identity().set_password(user.id, &password).await?;
        out.push((email.to_owned(), role.as_str().to_owned(), password));
    }
    Ok(out)
}

/// Brings the demo workspace to its seeded state, adding only what is missing (so a seed
/// cut short by a crash is completed on the next start), then lets the sandbox accept the
/// demo accounts' tokens.
pub async fn seed(store: &Store, sandbox: &Sandbox) -> anyhow::Result<Seeded> {
    let (ws, mut created) = match store.workspaces().sandbox().await? {
        Some(ws) => (ws, false),
        None => match store.workspaces().by_slug(WORKSPACE).await {
            Ok(_) => anyhow::bail!(
                "this database already has a workspace {WORKSPACE:?} that `serve --demo` did not \
                 create, and the demo never touches people's own workspaces; run the demo on \
                 another database (for example `--database-url sqlite://demo.db`)"
            ),
            Err(StoreError::NotFound { .. }) => {
                let ws = store
                    .workspaces()
                    .create_sandbox(NewWorkspace {
                        slug: WORKSPACE.into(),
                        name: "Demo Agency".into(),
                        kind: WorkspaceKind::Agency,
                    })
                    .await?;
                (ws, true)
            }
            Err(e) => return Err(e.into()),
        },
    };
    let tenant = store.tenant(ws.id);
    let mut brands = Vec::new();
    for (n, b) in BRANDS.iter().enumerate() {
        let (brand, added) = seed_brand(tenant, b, n)
            .await
            .with_context(|| format!("seeding the demo brand {}", b.slug))?;
        created |= added;
        for account in tenant.accounts().list_for_brand(brand.id).await? {
            let mut creds = tenant.accounts().credentials(account.id).await?;
            if let Some(password) = creds.app_password.clone() {
                // A new sandbox knows no session: the host opens one with the password.
                sandbox.grant(&account.platform, &account.remote_id, &account.handle, &password);
                creds = Credentials {
                    access_token: String::new(),
                    refresh_token: None,
                    expires_at: None,
                    app_password: Some(password),
                };
                tenant.accounts().set_credentials(account.id, &creds).await?;
                continue;
            }
            sandbox.grant(
                &account.platform,
                &account.remote_id,
                &account.handle,
                &creds.access_token,
            );
        }
        brands.push(b.slug.to_owned());
    }
    let people = seed_people(store, tenant).await.context("seeding the demo's people")?;
    Ok(Seeded {
        created,
        brands,
        people,
    })
}

/// Adds what the demo brand lacks; returns the brand and whether anything was added. Each
/// step is atomic (an import is one transaction) and checked before it runs.
async fn seed_brand(tenant: Tenant<'_>, b: &DemoBrand, n: usize) -> anyhow::Result<(brand::Model, bool)> {
    let mut added = false;
    let brand = match tenant.brands().by_slug(b.slug).await {
        Ok(brand) => brand,
        Err(StoreError::NotFound { .. }) => {
            added = true;
            tenant
                .brands()
                .create(NewBrand {
                    slug: b.slug.into(),
                    name: b.name.into(),
                    timezone: "Europe/Stockholm".into(),
                })
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    let audience = Audience::new(tenant, brand.id).await?;
    // Contacts once; events every time, as their event ids make a second import a no-op.
    let (contacts, events) = synthetic_audience(b, 1200, 0x5EED + n as u64);
    let mut files = vec![(events, Records::Events)];
    if audience.total().await? == 0 {
        files.insert(0, (contacts, Records::Contacts));
    }
    for (data, records) in files {
        let opts = ImportOptions {
            format: Format::Csv,
            records,
            mapping: Mapping::default(),
            skip_invalid: false,
        };
        let r = import(tenant, &brand, std::io::Cursor::new(data), &opts, &()).await?;
        anyhow::ensure!(r.committed, "the demo audience did not import: {:?}", r.errors.first());
        added |= r.written > 0;
    }
    let have: Vec<String> = audience.segments().await?.into_iter().map(|s| s.name).collect();
    for def in segments(b) {
        let def: SegmentDefinition = serde_json::from_value(def)?;
        if !have.contains(&def.name) {
            added = true;
            audience.define(&def).await?;
        }
    }
    let have: Vec<String> = audience.personas().await?.into_iter().map(|p| p.name).collect();
    for p in personas(b) {
        let def = PersonaDefinition::from_json(p)?;
        if !have.contains(&def.name) {
            added = true;
            audience.add_persona(&def).await?;
        }
    }
    let have: Vec<String> = tenant
        .accounts()
        .list_for_brand(brand.id)
        .await?
        .into_iter()
        .map(|a| a.platform)
        .collect();
    for (platform, handle, remote_id) in b.accounts {
        if have.iter().any(|p| p == platform) {
            continue;
        }
        added = true;
        tenant
            .accounts()
            .connect(NewAccount {
                api_base: None,
                brand_id: brand.id,
                platform: platform.into(),
                handle: handle.into(),
                remote_id: remote_id.into(),
                display_name: Some(format!("{} (sandbox)", b.name)),
                timezone: "Europe/Stockholm".into(),
                scopes: vec![],
                credentials: if platform == "bluesky" {
                    // Bluesky accounts sign in with an app password; the host opens the session.
                    Credentials {
                        access_token: String::new(),
                        refresh_token: None,
                        expires_at: None,
                        app_password: Some(format!("sandbox-{}", uuid::Uuid::now_v7().simple())),
                    }
                } else {
                    Credentials {
                        access_token: format!("sandbox-{}", uuid::Uuid::now_v7().simple()),
                        refresh_token: None,
                        expires_at: None,
                        app_password: None,
                    }
                },
            })
            .await?;
    }
    Ok((brand, added))
}

/// A small deterministic audience: contacts with demographics and interests, and
/// purchases for about half of them.
fn synthetic_audience(b: &DemoBrand, n: u64, seed: u64) -> (String, String) {
    let mut state = seed;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let countries = ["SE", "SE", "SE", "NO", "DK", "FI", "DE"];
    let genders = ["female", "male", "female", "male", "non_binary"];
    let relations = ["prospect", "prospect", "customer", "customer", "loyal", "ambassador"];
    let seniorities = ["entry", "senior", "manager", "director", "vp", "cxo"];
    let mut contacts =
        String::from("external_id,relation,birth_date,gender,country,language,interests,seniority,consent\n");
    let mut events = String::from("external_id,event,occurred_at,amount,currency,event_id\n");
    let today = chrono::Utc::now().date_naive();
    for i in 0..n {
        let born = today - chrono::Duration::days(365 * 18 + next(365 * 45) as i64);
        contacts.push_str(&format!(
            "d{i},{},{born},{},{},{},{};{},{},yes\n",
            relations[next(relations.len() as u64) as usize],
            genders[next(genders.len() as u64) as usize],
            countries[next(countries.len() as u64) as usize],
            ["sv", "en", "no", "da"][next(4) as usize],
            b.interests[next(b.interests.len() as u64) as usize],
            b.interests[next(b.interests.len() as u64) as usize],
            seniorities[next(seniorities.len() as u64) as usize],
        ));
        if next(2) == 0 {
            for k in 0..1 + next(5) {
                let at = chrono::Utc::now() - chrono::Duration::hours(1 + next(24 * 500) as i64);
                events.push_str(&format!(
                    "d{i},purchase,{},{}.00,SEK,d{i}-{k}\n",
                    at.to_rfc3339(),
                    99 + next(900)
                ));
            }
        }
    }
    (contacts, events)
}

fn segments(b: &DemoBrand) -> Vec<Value> {
    let interest = b.interests[0];
    vec![
        json!({"name": "Best customers", "kind": "customer_group", "funnel_stage": "retention", "primary": true,
               "rule": {"rfm": {"cell": "champions"}},
               "tone": {"formality": "casual", "emoji": "few", "call_to_action": "Thanks for being with us"},
               "targeting": {"countries": ["SE", "NO", "DK"]},
               "canvas": {"who": "Our most frequent, most recent buyers", "where": {"instagram": 0.8, "facebook": 0.6},
                          "why": {"angle": "insider first", "value_proposition": "early access"}, "fit": 5, "competition": 2}}),
        json!({"name": format!("Nordic {interest} fans"), "kind": "target_group", "funnel_stage": "consideration", "primary": true,
               "rule": {"all": [{"attribute": "country", "op": "in", "value": ["SE", "NO", "DK", "FI"]},
                                {"attribute": "interests", "op": "contains", "value": interest},
                                {"attribute": "relation", "op": "eq", "value": "prospect"}]},
               "tone": {"formality": "neutral", "max_hashtags": 2, "hashtag_placement": "inline"},
               "targeting": {"mode": "prefer", "countries": ["SE", "NO", "DK", "FI"], "age_min": 25, "age_max": 44},
               "canvas": {"who": format!("Nordic people into {interest} who have not bought yet"), "where": {"x": 0.5, "facebook": 0.7},
                          "why": {"angle": "made for the Nordic outdoors", "value_proposition": "local and durable"}, "fit": 4, "competition": 4}}),
        json!({"name": "Decision makers", "kind": "target_group", "funnel_stage": "awareness",
               "rule": {"attribute": "seniority", "op": "in", "value": ["director", "vp", "cxo"]},
               "tone": {"formality": "professional", "emoji": "none", "call_to_action": "Book a call"},
               "targeting": {"countries": ["SE"], "seniorities": ["director", "vp", "cxo"]},
               "canvas": {"who": "Leaders who buy for their teams", "where": {"linkedin": 0.9},
                          "why": {"angle": "team offers", "value_proposition": "one invoice"}, "fit": 3, "competition": 3}}),
    ]
}

fn personas(b: &DemoBrand) -> Vec<Value> {
    let interest = b.interests[0];
    vec![
        json!({"name": "Loyal Lena", "segment": "Best customers",
               "demographics": {"age": 41, "gender": "female", "location": "Uppsala"},
               "goals": ["Gear that lasts"], "pain_points": ["Hard to find what is new"], "values": ["quality"],
               "media_habits": ["Instagram"], "preferred_channels": ["instagram", "facebook"],
               "message": "You see it first."}),
        json!({"name": "Curious Kalle", "segment": format!("Nordic {interest} fans"),
               "demographics": {"age": 29, "gender": "male", "location": "Oslo"},
               "goals": [format!("Get into {interest}")], "pain_points": ["Too many choices"], "values": ["adventure"],
               "media_habits": ["X", "Podcasts"], "preferred_channels": ["x", "facebook"],
               "message": "Start here, with what locals use."}),
        json!({"name": "Director Dana", "segment": "Decision makers",
               "demographics": {"age": 48, "gender": "female", "location": "Stockholm", "occupation": "Operations director"},
               "goals": ["Happy teams"], "pain_points": ["Procurement overhead"], "values": ["efficiency"],
               "media_habits": ["LinkedIn"], "preferred_channels": ["linkedin"],
               "message": "One order for the whole team."}),
    ]
}

/// What `/sandbox` routes can reach.
#[derive(Clone)]
pub struct SandboxState {
    pub api: ApiState,
    pub sandbox: Sandbox,
}

impl axum::extract::FromRef<SandboxState> for ApiState {
    fn from_ref(s: &SandboxState) -> ApiState {
        s.api.clone()
    }
}

/// `GET /sandbox` (what is where) and `POST /sandbox/publish` (compose one post, schedule
/// it for now and wait for the engine to publish it to the sandbox platform). Publishing
/// needs a signed-in person (session with CSRF token, or API token) who may compose in the
/// brand: nothing unauthenticated publishes, even to the sandbox.
pub fn routes(state: SandboxState) -> Router {
    Router::new()
        .route("/sandbox", get(overview))
        .route("/sandbox/publish", post(publish))
        .with_state(state)
}

async fn overview(State(s): State<SandboxState>) -> impl IntoResponse {
    let queue: serde_json::Map<String, Value> = match s.api.store.queue().depth().await {
        Ok(depth) => depth.iter().map(|d| (d.status.to_string(), json!(d.count))).collect(),
        Err(_) => Default::default(),
    };
    Json(json!({
        "workspace": WORKSPACE,
        "brands": BRANDS.iter().map(|b| json!({"slug": b.slug, "name": b.name,
            "accounts": b.accounts.iter().map(|(p, h, r)| json!({"platform": p, "handle": h, "remote_id": r})).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
        "platforms": {
            "x": {"api_base": s.sandbox.x.base_url, "posts": s.sandbox.x.tweets().len()},
            "linkedin": {"api_base": s.sandbox.linkedin.base_url, "posts": s.sandbox.linkedin.posts().len()},
            "facebook": {"api_base": s.sandbox.facebook.base_url, "posts": s.sandbox.facebook.posts().len()},
            "bluesky": {"api_base": s.sandbox.bluesky.base_url, "posts": s.sandbox.bluesky.posts().len()},
            "instagram": {"api_base": s.sandbox.instagram.base_url, "posts": s.sandbox.instagram.media().len()},
            "tiktok": {"api_base": s.sandbox.tiktok.base_url, "posts": s.sandbox.tiktok.posts().len()},
            "pinterest": {"api_base": s.sandbox.pinterest.base_url, "posts": s.sandbox.pinterest.pins().len()},
        },
        "queue": queue,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    brand: String,
    platform: String,
    text: String,
    #[serde(default)]
    segment: Option<String>,
}

async fn publish(State(s): State<SandboxState>, caller: Caller, body: axum::body::Bytes) -> axum::response::Response {
    let req: PublishRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("expected {{\"brand\", \"platform\", \"text\", \"segment\"?}}: {e}")})),
            )
                .into_response();
        }
    };
    match publish_one(&s, &caller, &req).await {
        Err(Refused::Api(p)) => p.into_response(),
        Err(Refused::Other(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": format!("{e:#}")})),
        )
            .into_response(),
        Ok(v) => Json(v).into_response(),
    }
}

/// Why `/sandbox/publish` said no: the caller may not (a problem+json answer), or the
/// request could not be carried out (422 naming what was wrong).
enum Refused {
    Api(Problem),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Refused {
    fn from(e: anyhow::Error) -> Self {
        Refused::Other(e)
    }
}

impl From<chorus_core::StoreError> for Refused {
    fn from(e: chorus_core::StoreError) -> Self {
        Refused::Other(e.into())
    }
}

impl From<Problem> for Refused {
    fn from(p: Problem) -> Self {
        Refused::Api(p)
    }
}

async fn publish_one(s: &SandboxState, caller: &Caller, req: &PublishRequest) -> Result<Value, Refused> {
    let ws = s
        .api
        .store
        .workspaces()
        .sandbox()
        .await?
        .context("the demo has not seeded its workspace on this database")?;
    let access = caller.access(&s.api, ws.id).await?;
    let tenant = access.tenant(&s.api.store);
    let brand = tenant
        .brands()
        .by_slug(&req.brand)
        .await
        .with_context(|| format!("brand {:?}: the demo has northwind and fika", req.brand))?;
    access.require_in(brand.id, "publish", Role::can_compose)?;
    let account = tenant
        .accounts()
        .list_for_brand(brand.id)
        .await?
        .into_iter()
        .find(|a| a.platform == req.platform)
        .with_context(|| {
            format!(
                "platform {:?}: the demo accounts are x, linkedin, facebook, bluesky, instagram, tiktok and pinterest",
                req.platform
            )
        })?;
    let plugin = s
        .api
        .plugins
        .for_platform(&req.platform, None)
        .with_context(|| format!("no plugin for {:?}", req.platform))?;
    ensure_simulated(
        &s.sandbox.api_bases(),
        &account.platform,
        &plugin.manifest.platform,
        &plugin.api_base(),
    )?;
    let segment_id = match &req.segment {
        None => None,
        Some(name) => Some(
            tenant
                .segments()
                .by_name(brand.id, name)
                .await
                .with_context(|| format!("segment {name:?}: no such segment in {}", brand.slug))?
                .id,
        ),
    };
    // Through the engine, like any post: composed, scheduled for now, published by a worker.
    let planner = Planner::new(tenant, &s.api.plugins);
    let draft = PostDraft {
        body: req.text.clone(),
        locale: "en".into(),
        ..PostDraft::default()
    };
    let target = Target {
        account_id: account.id,
        segment_id,
    };
    let planned = planner.compose(brand.id, None, draft, &[target]).await?;
    planner.schedule(planned.post.id, When::Now, None).await?;
    let id = planned.deliveries[0].id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let d = loop {
        let d = tenant.deliveries().get(id).await?;
        if d.status.is_terminal() || std::time::Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let adapted = d.adaptation.clone().unwrap_or(Value::Null);
    let targeting = adapted["targeting"]
        .as_str()
        .and_then(|t| serde_json::from_str::<Value>(t).ok());
    if d.status != chorus_core::domain::DeliveryStatus::Published {
        return Err(anyhow::anyhow!(
            "delivery {} of post {} is {}: {}",
            d.id,
            d.post_id,
            d.status,
            d.last_error
                .as_deref()
                .unwrap_or("still waiting after 60 s; see `chorus queue`")
        )
        .into());
    }
    Ok(json!({
        "post": d.post_id,
        "delivery": {"id": d.id, "status": d.status, "attempts": d.attempts},
        "adapted": {"text": adapted["text"], "parts": adapted["parts"], "hashtags": adapted["hashtags"],
                    "targeting": targeting, "warnings": adapted["warnings"]},
        "published": {"remote_id": d.remote_id, "url": d.remote_url,
                      "extra_ids": d.extra_ids.clone().unwrap_or(json!([]))},
    }))
}

/// The tour: a few posts per demo brand over the next minutes, for every account and some
/// segments, so a newcomer watches deliveries move from scheduled to published (`chorus post
/// list --brand northwind`, `chorus queue`). A brand that still has posts waiting gets none.
pub async fn schedule_tour(store: &Store, plugins: &PluginRegistry, media: &MediaLibrary) -> anyhow::Result<usize> {
    let Some(ws) = store.workspaces().sandbox().await? else {
        return Ok(0);
    };
    let tenant = store.tenant(ws.id);
    let mut made = 0;
    for (n, b) in BRANDS.iter().enumerate() {
        let brand = tenant.brands().by_slug(b.slug).await?;
        if tenant.posts().count(brand.id, PostStatus::Scheduled).await? > 0 {
            continue;
        }
        let accounts = tenant.accounts().list_for_brand(brand.id).await?;
        let on = |platform: &str| accounts.iter().find(|a| a.platform == platform).map(|a| a.id);
        let segment = |name: String| async move { tenant.segments().by_name(brand.id, &name).await.ok().map(|s| s.id) };
        let interest = b.interests[0];
        let photo = demo_photo(&tenant, brand.id, b, n, media).await?;
        let clip = demo_clip(&tenant, brand.id, b, media).await?;
        type Tour = Vec<(
            i64,
            String,
            Vec<(Option<uuid::Uuid>, Option<uuid::Uuid>)>,
            Vec<uuid::Uuid>,
        )>;
        let tour: Tour = vec![
            (
                30,
                format!(
                    "Welcome to {}: this post was scheduled by the Chorus demo and published by its engine.",
                    b.name
                ),
                vec![
                    (on("x"), None),
                    (on("linkedin"), None),
                    (on("facebook"), None),
                    (on("bluesky"), None),
                ],
                vec![],
            ),
            (
                60,
                format!(
                    "A first look at {}'s season, from the Chorus demo's media library. Details: https://example.com/{}",
                    b.name, b.slug
                ),
                vec![(on("instagram"), None), (on("tiktok"), None), (on("pinterest"), None)],
                vec![photo],
            ),
            (
                75,
                format!(
                    "Five seconds of {}'s season, a video from the Chorus demo's media library.",
                    b.name
                ),
                vec![(on("instagram"), None), (on("tiktok"), None), (on("pinterest"), None)],
                vec![clip],
            ),
            (
                90,
                "Teams that order together save time: one invoice, one delivery. Ask us how.".to_owned(),
                vec![(on("linkedin"), segment("Decision makers".into()).await)],
                vec![],
            ),
            (
                180,
                format!("New season, new {interest} routes. Which one is your favourite? #{interest}"),
                vec![
                    (on("facebook"), segment(format!("Nordic {interest} fans")).await),
                    (on("x"), None),
                ],
                vec![],
            ),
        ];
        let planner = Planner::new(tenant, plugins);
        let zone = chorus_core::domain::Zone::parse("timezone", &brand.timezone)?;
        for (secs, text, targets, media) in tour {
            let targets: Vec<Target> = targets
                .into_iter()
                .filter_map(|(a, s)| {
                    a.map(|account_id| Target {
                        account_id,
                        segment_id: s,
                    })
                })
                .collect();
            // TikTok asks the person who may see each post (the demo's are public), Pinterest
            // which board a Pin goes to.
            let mut options = chorus_core::domain::PostOptions::default();
            options.set("tiktok", "privacy_level", "PUBLIC_TO_EVERYONE");
            options.set("pinterest", "board", b.board);
            let draft = PostDraft {
                body: text,
                locale: "en".into(),
                media,
                options,
                ..PostDraft::default()
            };
            let p = planner.compose(brand.id, None, draft, &targets).await?;
            let at = chrono::Utc::now() + chrono::Duration::seconds(secs + 15 * n as i64);
            planner.schedule(p.post.id, When::At(at, zone), None).await?;
            made += 1;
        }
    }
    Ok(made)
}

/// The brand's demo photo in the media library (a generated JPEG in the brand's colour),
/// added on the first start.
async fn demo_photo(
    tenant: &chorus_core::store::Tenant<'_>,
    brand: uuid::Uuid,
    b: &DemoBrand,
    n: usize,
    media: &MediaLibrary,
) -> anyhow::Result<uuid::Uuid> {
    let name = format!("{}-season.jpg", b.slug);
    if let Some(a) = tenant
        .media()
        .list(brand)
        .await?
        .into_iter()
        .find(|a| a.original_name.as_deref() == Some(name.as_str()))
    {
        return Ok(a.id);
    }
    let colour = [[34, 90, 60], [120, 70, 40]][n % 2];
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(&name);
    std::fs::write(&path, chorus_core::media::synthetic::jpeg(1080, 1350, colour))?;
    let alt = format!(
        "A {} gradient, {}'s demo photo",
        if n % 2 == 0 { "forest green" } else { "coffee brown" },
        b.name
    );
    Ok(media.add_file(tenant, brand, &path, Some(alt)).await?.id)
}

/// The brand's demo video in the media library (a generated 5-second vertical MP4 of a few
/// KB), added on the first start: Instagram publishes it as a reel, TikTok uploads it in a
/// chunk, Pinterest registers and pins it.
async fn demo_clip(
    tenant: &chorus_core::store::Tenant<'_>,
    brand: uuid::Uuid,
    b: &DemoBrand,
    media: &MediaLibrary,
) -> anyhow::Result<uuid::Uuid> {
    let name = format!("{}-season.mp4", b.slug);
    if let Some(a) = tenant
        .media()
        .list(brand)
        .await?
        .into_iter()
        .find(|a| a.original_name.as_deref() == Some(name.as_str()))
    {
        return Ok(a.id);
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(&name);
    std::fs::write(&path, chorus_core::media::synthetic::mp4(720, 1280, 5, 30))?;
    Ok(media.add_file(tenant, brand, &path, None).await?.id)
}

/// The sandbox publishes only to its own simulators: the plugin must be for the account's
/// platform and send to the simulator this process serves for it, whatever else the
/// operator or an installed plugin configured.
fn ensure_simulated(
    simulators: &BTreeMap<String, url::Url>,
    account_platform: &str,
    plugin_platform: &str,
    plugin_api_base: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        plugin_platform == account_platform,
        "the plugin is for {plugin_platform:?}, the account is on {account_platform:?}"
    );
    let simulator = simulators
        .get(account_platform)
        .with_context(|| format!("the demo simulates no {account_platform:?} platform"))?;
    anyhow::ensure!(
        plugin_api_base.trim_end_matches('/') == simulator.as_str().trim_end_matches('/'),
        "the {account_platform} plugin sends to {plugin_api_base}, not to the demo's simulator at \
         {simulator}; the sandbox publishes only to its own simulators"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plugin_aimed_at_the_demo_simulator_of_its_platform_may_publish() {
        let sims: BTreeMap<String, url::Url> =
            [("x".to_owned(), url::Url::parse("http://127.0.0.1:4100").unwrap())].into();
        assert!(ensure_simulated(&sims, "x", "x", "http://127.0.0.1:4100").is_ok());
        assert!(ensure_simulated(&sims, "x", "x", "http://127.0.0.1:4100/").is_ok());
        let real = ensure_simulated(&sims, "x", "x", "https://api.x.com")
            .unwrap_err()
            .to_string();
        assert!(
            real.contains("https://api.x.com") && real.contains("only to its own simulators"),
            "{real}"
        );
        let other = ensure_simulated(&sims, "x", "mastodon", "http://127.0.0.1:4100").unwrap_err();
        assert!(other.to_string().contains("\"mastodon\""), "{other}");
        assert!(ensure_simulated(&sims, "tiktok", "tiktok", "http://127.0.0.1:4100").is_err());
    }
}
