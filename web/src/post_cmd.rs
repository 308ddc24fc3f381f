//! `chorus post …` and `chorus schedule …`: compose, schedule, approve, edit, cancel and
//! retry posts, and manage posting slots, from the command line (until the REST API lands,
//! this is the whole workflow). Every command takes `--json`.

use crate::audience_cmd::{BrandRef, tenant_for};
use anyhow::{Context, anyhow, bail};
use chorus_core::delivery::plan::{Planned, Planner, Skipped, Target, When};
use chorus_core::domain::{CronSchedule, PostDraft, PostStatus, Zone};
use chorus_core::plugins::PluginRegistry;
use chorus_core::store::entity::{brand, delivery, social_account};
use chorus_core::store::{Store, Tenant};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::path::Path;
use uuid::Uuid;

/// What a post says, from flags or a JSON file (`PostDraft`).
#[derive(Debug, Default)]
pub struct Content<'a> {
    pub text: Option<&'a str>,
    pub file: Option<&'a Path>,
    pub link: Option<&'a str>,
    pub hashtags: &'a [String],
    pub locale: Option<&'a str>,
    pub title: Option<&'a str>,
    pub media: &'a [Uuid],
    /// `SCOPE.KEY=VALUE`, SCOPE a platform id or an account id.
    pub options: &'a [String],
}

/// When, from `--at [--zone]`, `--now`, `--queue` or `--every [--zone] [--until]`.
#[derive(Debug, Default)]
pub struct WhenArgs<'a> {
    pub at: Option<&'a str>,
    pub zone: Option<&'a str>,
    pub now: bool,
    pub queue: bool,
    pub every: Option<&'a str>,
    pub until: Option<&'a str>,
}

impl WhenArgs<'_> {
    fn given(&self) -> bool {
        self.at.is_some() || self.now || self.queue || self.every.is_some()
    }

    /// The instant or rule, read in `--zone` or else the brand's zone.
    fn resolve(&self, brand: &brand::Model) -> anyhow::Result<When> {
        let zone = Zone::parse("--zone", self.zone.unwrap_or(&brand.timezone))?;
        if let Some(at) = self.at {
            return Ok(When::At(parse_instant("--at", at, zone)?, zone));
        }
        if self.now {
            return Ok(When::Now);
        }
        if self.queue {
            return Ok(When::NextSlot);
        }
        if let Some(cron) = self.every {
            let until = self.until.map(|u| parse_instant("--until", u, zone)).transpose()?;
            return Ok(When::Every {
                cron: CronSchedule::parse(cron)?,
                zone,
                until,
            });
        }
        bail!("say when: --at TIME, --now, --queue (the next free posting slot) or --every CRON")
    }
}

/// A wall-clock time in `zone` (`2026-12-24 09:00`, `2026-12-24T09:00:30`), or an instant
/// with its offset (`2026-12-24T09:00:00+01:00`, `…Z`). A wall time the clocks skip is
/// refused with the time they jump to; one they pass twice is the first of the two.
pub fn parse_instant(flag: &str, s: &str, zone: Zone) -> anyhow::Result<DateTime<Utc>> {
    zone.instant(flag, s).map_err(|e| anyhow!("{flag} {}", e.message))
}

/// Targets from `--account` (platform, `platform:handle` or an account id) × `--segment`
/// (a segment name, or `everyone`; none means everyone).
pub async fn targets(
    tenant: Tenant<'_>,
    brand_id: Uuid,
    accounts: &[String],
    segments: &[String],
) -> anyhow::Result<Vec<Target>> {
    if accounts.is_empty() {
        bail!("say where the post goes with --account PLATFORM (or PLATFORM:HANDLE), once per account");
    }
    let all = tenant.accounts().list_for_brand(brand_id).await?;
    let mut chosen = Vec::new();
    for spec in accounts {
        chosen.push(find_account(&all, spec)?.id);
    }
    let mut segment_ids = Vec::new();
    for name in segments {
        if name.eq_ignore_ascii_case("everyone") {
            segment_ids.push(None);
        } else {
            let s = tenant.segments().by_name(brand_id, name).await.map_err(|_| {
                anyhow!(
                    "--segment {name:?}: no such segment in this brand (see `chorus segment list`), or say `everyone`"
                )
            })?;
            segment_ids.push(Some(s.id));
        }
    }
    if segment_ids.is_empty() {
        segment_ids.push(None);
    }
    Ok(chosen
        .iter()
        .flat_map(|a| {
            segment_ids.iter().map(|s| Target {
                account_id: *a,
                segment_id: *s,
            })
        })
        .collect())
}

fn find_account<'a>(all: &'a [social_account::Model], spec: &str) -> anyhow::Result<&'a social_account::Model> {
    if let Ok(id) = Uuid::parse_str(spec) {
        return all
            .iter()
            .find(|a| a.id == id)
            .ok_or_else(|| anyhow!("--account {spec}: no such account in this brand"));
    }
    let (platform, handle) = match spec.split_once(':') {
        Some((p, h)) => (p, Some(h.trim_start_matches('@'))),
        None => (spec, None),
    };
    let matching: Vec<_> = all
        .iter()
        .filter(|a| a.platform == platform && handle.is_none_or(|h| a.handle.trim_start_matches('@') == h))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => bail!(
            "--account {spec}: the brand has no such account; it has {}",
            if all.is_empty() {
                "none".to_owned()
            } else {
                all.iter()
                    .map(|a| format!("{}:{}", a.platform, a.handle))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        many => bail!(
            "--account {spec}: the brand has several {platform} accounts ({}); say which with {platform}:HANDLE",
            many.iter().map(|a| a.handle.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn draft(content: &Content<'_>, base: Option<PostDraft>) -> anyhow::Result<PostDraft> {
    let mut d = match (content.file, base) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<PostDraft>(&text).map_err(|e| {
                anyhow!(
                    "{}: {e}; expected {{\"body\", \"link\"?, \"hashtags\"?, \"locale\"?, \"media\"?, \"title\"?, \"options\"?}}",
                    path.display()
                )
            })?
        }
        (None, Some(base)) => base,
        (None, None) => PostDraft {
            locale: "en".into(),
            ..PostDraft::default()
        },
    };
    if let Some(t) = content.text {
        d.body = t.to_owned();
    }
    if let Some(l) = content.link {
        d.link = (!l.is_empty()).then(|| l.to_owned());
    }
    if !content.hashtags.is_empty() {
        d.hashtags = content.hashtags.to_vec();
    }
    if let Some(l) = content.locale {
        d.locale = l.to_owned();
    }
    if let Some(t) = content.title {
        d.title = (!t.is_empty()).then(|| t.to_owned());
    }
    if !content.media.is_empty() {
        d.media = content.media.to_vec();
    }
    for (i, o) in content.options.iter().enumerate() {
        let (path, value) = o.split_once('=').ok_or_else(|| {
            anyhow!(
                "--option #{} {o:?}: expected SCOPE.KEY=VALUE, e.g. tiktok.privacy_level=SELF_ONLY",
                i + 1
            )
        })?;
        let (scope, key) = path.split_once('.').ok_or_else(|| {
            anyhow!(
                "--option #{} {o:?}: expected SCOPE.KEY=VALUE, SCOPE a platform id or an account id",
                i + 1
            )
        })?;
        if value.is_empty() {
            if let Some(m) = d.options.0.get_mut(scope) {
                m.remove(key);
            }
        } else {
            d.options.set(scope, key, value);
        }
    }
    Ok(d)
}

pub struct CreateArgs<'a> {
    pub at: BrandRef<'a>,
    pub content: Content<'a>,
    pub accounts: &'a [String],
    pub segments: &'a [String],
    pub when: WhenArgs<'a>,
    pub json: bool,
}

pub async fn create(store: &Store, plugins: &PluginRegistry, a: CreateArgs<'_>) -> anyhow::Result<()> {
    let (tenant, brand_id) = tenant_for(store, &a.at).await?;
    let brand = tenant.brands().get(brand_id).await?;
    let targets = targets(tenant, brand_id, a.accounts, a.segments).await?;
    let when = a.when.given().then(|| a.when.resolve(&brand)).transpose()?;
    let planner = Planner::new(tenant, plugins);
    let mut planned = planner
        .compose(brand_id, None, draft(&a.content, None)?, &targets)
        .await?;
    if let Some(when) = when {
        planned = planner.schedule(planned.post.id, when, None).await?;
    }
    print_planned(tenant, &planned, &[], a.json).await
}

/// The post and the tenant it belongs to.
async fn locate(store: &Store, id: Uuid) -> anyhow::Result<Tenant<'_>> {
    let ws = store
        .locate_post(id)
        .await
        .map_err(|_| anyhow!("no post {id}; `chorus post list --brand BRAND` lists a brand's posts"))?;
    Ok(store.tenant(ws))
}

pub async fn schedule(
    store: &Store,
    plugins: &PluginRegistry,
    id: Uuid,
    when: WhenArgs<'_>,
    json_out: bool,
) -> anyhow::Result<()> {
    let tenant = locate(store, id).await?;
    let post = tenant.posts().get(id).await?;
    let brand = tenant.brands().get(post.brand_id).await?;
    let planned = Planner::new(tenant, plugins)
        .schedule(id, when.resolve(&brand)?, None)
        .await?;
    print_planned(tenant, &planned, &[], json_out).await
}

pub async fn edit(
    store: &Store,
    plugins: &PluginRegistry,
    id: Uuid,
    content: Content<'_>,
    revision: Option<i32>,
    json_out: bool,
) -> anyhow::Result<()> {
    let tenant = locate(store, id).await?;
    let post = tenant.posts().get(id).await?;
    let base = PostDraft {
        body: post.body.clone(),
        link: post.link.clone(),
        hashtags: post.hashtags.0.clone(),
        locale: post.locale.clone(),
        media: tenant.posts().media(id).await?,
        campaign_id: post.campaign_id,
        title: post.title.clone(),
        options: post.options.clone().unwrap_or_default(),
    };
    let planned = Planner::new(tenant, plugins)
        .edit(
            id,
            revision.unwrap_or(post.revision),
            None,
            draft(&content, Some(base))?,
        )
        .await?;
    print_planned(tenant, &planned, &[], json_out).await
}

pub enum Decision<'a> {
    Approve(Option<&'a str>),
    Reject(&'a str),
}

pub async fn decide(
    store: &Store,
    plugins: &PluginRegistry,
    id: Uuid,
    d: Decision<'_>,
    json_out: bool,
) -> anyhow::Result<()> {
    let tenant = locate(store, id).await?;
    let planner = Planner::new(tenant, plugins);
    let planned = match d {
        Decision::Approve(note) => planner.approve(id, None, note).await?,
        Decision::Reject(comment) => {
            let post = planner.reject(id, None, comment).await?;
            Planned {
                deliveries: tenant.deliveries().list_for_post(id).await?,
                post,
                held_for_approval: false,
                not_changed: Vec::new(),
            }
        }
    };
    print_planned(tenant, &planned, &[], json_out).await
}

pub async fn cancel(store: &Store, plugins: &PluginRegistry, id: Uuid, json_out: bool) -> anyhow::Result<()> {
    let tenant = locate(store, id).await?;
    let (post, skipped) = Planner::new(tenant, plugins).cancel(id, None).await?;
    let planned = Planned {
        deliveries: tenant.deliveries().list_for_post(id).await?,
        post,
        held_for_approval: false,
        not_changed: Vec::new(),
    };
    print_planned(tenant, &planned, &skipped, json_out).await
}

pub async fn retry(store: &Store, plugins: &PluginRegistry, id: Uuid, json_out: bool) -> anyhow::Result<()> {
    let tenant = locate(store, id).await?;
    let mut planned = Planner::new(tenant, plugins).retry(id, None).await?;
    planned.deliveries = tenant.deliveries().list_for_post(id).await?;
    print_planned(tenant, &planned, &[], json_out).await
}

pub async fn show(store: &Store, id: Uuid, json_out: bool) -> anyhow::Result<()> {
    let tenant = locate(store, id).await?;
    let planned = Planned {
        post: tenant.posts().get(id).await?,
        deliveries: tenant.deliveries().list_for_post(id).await?,
        held_for_approval: false,
        not_changed: Vec::new(),
    };
    print_planned(tenant, &planned, &[], json_out).await
}

pub async fn list(store: &Store, at: &BrandRef<'_>, status: Option<&str>, json_out: bool) -> anyhow::Result<()> {
    let (tenant, brand_id) = tenant_for(store, at).await?;
    let status = status
        .map(|s| {
            serde_json::from_value::<PostStatus>(json!(s)).map_err(|_| {
                anyhow!(
                    "--status {s:?}: one of draft, in_review, approved, scheduled, publishing, published, \
                     partially_published, failed, cancelled"
                )
            })
        })
        .transpose()?;
    let posts = tenant.posts().list(brand_id, status).await?;
    let mut rows = Vec::with_capacity(posts.len());
    for p in &posts {
        let ds = tenant.deliveries().list_for_post(p.id).await?;
        let next = ds
            .iter()
            .filter(|d| d.run_at.is_some())
            .filter_map(|d| d.scheduled_at)
            .min();
        let mut states: std::collections::BTreeMap<String, u64> = Default::default();
        for d in &ds {
            *states.entry(d.status.to_string()).or_default() += 1;
        }
        rows.push(
            json!({"id": p.id, "status": p.status, "revision": p.revision, "body": p.body,
                         "next_at": next, "deliveries": states}),
        );
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no posts");
    }
    for (p, r) in posts.iter().zip(&rows) {
        let states = r["deliveries"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        println!(
            "{}  {:<19}  {}  [{states}]",
            p.id,
            p.status.to_string(),
            one_line(&p.body, 50)
        );
    }
    Ok(())
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max - 1).collect::<String>())
    } else {
        flat
    }
}

/// A delivery as people read it: where, for whom, when (in its zone), its state and why.
async fn delivery_json(tenant: Tenant<'_>, d: &delivery::Model) -> anyhow::Result<Value> {
    let account = tenant.accounts().get(d.social_account_id).await?;
    let segment = match d.segment_id {
        Some(s) => Some(tenant.segments().get(s).await?.name),
        None => None,
    };
    let zone = Zone::parse("timezone", &d.timezone)?;
    let local =
        |t: Option<DateTime<Utc>>| t.map(|t| t.with_timezone(&zone.tz()).format("%Y-%m-%d %H:%M %Z").to_string());
    let warnings = d
        .adaptation
        .as_ref()
        .and_then(|a| a.get("warnings"))
        .cloned()
        .unwrap_or(json!([]));
    let parts = d
        .adaptation
        .as_ref()
        .and_then(|a| a.get("parts"))
        .cloned()
        .unwrap_or(json!([]));
    Ok(json!({
        "id": d.id, "platform": account.platform, "account": account.handle,
        "segment": segment, "status": d.status,
        "held": (d.status == chorus_core::domain::DeliveryStatus::Pending && d.scheduled_at.is_some()),
        "template": chorus_core::delivery::plan::is_template(d) && d.occurrence.is_none(),
        "scheduled_at": d.scheduled_at, "scheduled_local": local(d.scheduled_at), "timezone": d.timezone,
        "occurrence": d.occurrence, "run_at": d.run_at, "attempts": d.attempts,
        "text": d.adapted_text, "parts": parts, "targeting": d.targeting, "warnings": warnings,
        "error_kind": d.error_kind, "reason": d.last_error,
        "remote_id": d.remote_id, "remote_url": d.remote_url, "published_at": d.published_at,
        "lineage": {"post_revision": d.post_revision, "plugin": d.plugin_id, "plugin_version": d.plugin_version,
                    "segment_snapshot": d.segment_snapshot_id},
    }))
}

async fn print_planned(tenant: Tenant<'_>, p: &Planned, skipped: &[Skipped], json_out: bool) -> anyhow::Result<()> {
    let skipped: Vec<&Skipped> = skipped.iter().chain(&p.not_changed).collect();
    let mut deliveries = Vec::with_capacity(p.deliveries.len());
    for d in &p.deliveries {
        deliveries.push(delivery_json(tenant, d).await?);
    }
    if json_out {
        let out = json!({
            "post": {"id": p.post.id, "status": p.post.status, "revision": p.post.revision, "body": p.post.body,
                     "link": p.post.link, "hashtags": p.post.hashtags.0, "locale": p.post.locale,
                     "title": p.post.title, "options": p.post.options},
            "held_for_approval": p.held_for_approval,
            "recurrence": tenant.recurrences().get(p.post.id).await?.map(|r| json!({
                "cron": r.cron, "timezone": r.timezone, "until": r.ends_at, "enabled": r.enabled,
                "materialized_until": r.materialized_until})),
            "deliveries": deliveries,
            "not_changed": skipped,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("post {}  {}  revision {}", p.post.id, p.post.status, p.post.revision);
    if let Some(o) = p.post.options.as_ref().filter(|o| !o.is_empty()) {
        let all: Vec<String> =
            o.0.iter()
                .flat_map(|(scope, m)| m.iter().map(move |(k, v)| format!("{scope}.{k}={v}")))
                .collect();
        println!("options: {}", all.join(", "));
    }
    if p.held_for_approval {
        println!(
            "held for approval: it is scheduled once approved (`chorus post approve {}`)",
            p.post.id
        );
    }
    if let Some(r) = tenant.recurrences().get(p.post.id).await? {
        println!(
            "recurs: {} ({}){}{}",
            r.cron,
            r.timezone,
            r.ends_at.map(|u| format!(" until {u}")).unwrap_or_default(),
            if r.enabled { "" } else { " [paused]" }
        );
    }
    for d in &deliveries {
        let s = |k: &str| d[k].as_str().unwrap_or("").to_owned();
        let who = format!(
            "{} @{}{}",
            s("platform"),
            s("account"),
            d["segment"].as_str().map(|x| format!(" / {x}")).unwrap_or_default()
        );
        let when = match (
            d["held"].as_bool(),
            d["template"].as_bool(),
            d["scheduled_local"].as_str(),
        ) {
            (_, Some(true), _) => "template (each occurrence is copied from it)".to_owned(),
            (Some(true), _, Some(t)) => format!("planned {t}, waiting for approval"),
            (_, _, Some(t)) => t.to_owned(),
            _ => "not scheduled".to_owned(),
        };
        println!("  {:<40} {:<16} {when}", who, s("status"));
        println!("      {}", one_line(&s("text"), 90));
        for w in d["warnings"].as_array().into_iter().flatten() {
            println!("      warning: {}", w["message"].as_str().unwrap_or_default());
        }
        if let Some(r) = d["reason"].as_str().filter(|_| !d["reason"].is_null()) {
            let kind = d["error_kind"].as_str().unwrap_or("");
            let policy = if kind == "denied" {
                " [the operator's policy]"
            } else {
                ""
            };
            println!("      reason: {r}{policy}");
        }
        if let Some(u) = d["remote_url"].as_str() {
            println!("      {u}");
        }
    }
    for s in skipped {
        println!("  not changed: delivery {} ({}): {}", s.id, s.status, s.reason);
    }
    Ok(())
}

/// `chorus schedule add`: a named posting slot rule for a brand or one of its accounts.
pub async fn add_schedule(
    store: &Store,
    at: &BrandRef<'_>,
    name: &str,
    cron: &str,
    zone: Option<&str>,
    account: Option<&str>,
    json_out: bool,
) -> anyhow::Result<()> {
    let (tenant, brand_id) = tenant_for(store, at).await?;
    let brand = tenant.brands().get(brand_id).await?;
    let account = match account {
        Some(spec) => Some(find_account(&tenant.accounts().list_for_brand(brand_id).await?, spec)?.clone()),
        None => None,
    };
    let account_id = account.as_ref().map(|a| a.id);
    // An account's slots are on its own wall clock unless a zone is given.
    let zone = zone.unwrap_or(account.as_ref().map_or(&brand.timezone, |a| &a.timezone));
    let s = tenant
        .schedules()
        .create(brand_id, account_id, name, cron, zone)
        .await?;
    let row = schedule_json(tenant, &s, 3).await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&row)?);
        return Ok(());
    }
    let next: Vec<&str> = row["next"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["local"].as_str())
        .collect();
    println!(
        "added posting slots {:?}: {} ({}); next: {}",
        s.name,
        s.cron,
        s.timezone,
        next.join(", ")
    );
    Ok(())
}

/// What `chorus schedule disable|enable|remove` does to a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleChange {
    Disable,
    Enable,
    Remove,
}

/// `chorus schedule disable|enable|remove`: one of a brand's posting-slot rules, by name.
pub async fn change_schedule(
    store: &Store,
    at: &BrandRef<'_>,
    name: &str,
    change: ScheduleChange,
    json_out: bool,
) -> anyhow::Result<()> {
    let (tenant, brand_id) = tenant_for(store, at).await?;
    let schedules = tenant.schedules();
    let (s, done) = match change {
        ScheduleChange::Disable => (schedules.set_enabled(brand_id, name, false).await?, "disabled"),
        ScheduleChange::Enable => (schedules.set_enabled(brand_id, name, true).await?, "enabled"),
        ScheduleChange::Remove => (schedules.remove(brand_id, name).await?, "removed"),
    };
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "id": s.id, "name": s.name, "cron": s.cron, "timezone": s.timezone,
                "enabled": s.enabled, "removed": change == ScheduleChange::Remove,
            }))?
        );
    } else {
        println!(
            "{done} posting slots {:?} ({} in {}); deliveries already planned keep their times",
            s.name, s.cron, s.timezone
        );
    }
    Ok(())
}

/// A posting-slot rule as `chorus schedule add|list --json` show it: the rule and its next
/// `next` slots, each in UTC and in the rule's zone.
async fn schedule_json(
    tenant: chorus_core::store::Tenant<'_>,
    s: &chorus_core::store::entity::posting_schedule::Model,
    next: usize,
) -> anyhow::Result<serde_json::Value> {
    let tz = Zone::parse("timezone", &s.timezone)?;
    let account = match s.social_account_id {
        Some(a) => Some(tenant.accounts().get(a).await?),
        None => None,
    };
    let slots = tenant.schedules().next_slots(s.id, Utc::now(), next).await?;
    Ok(json!({
        "id": s.id, "name": s.name, "cron": s.cron, "timezone": s.timezone, "enabled": s.enabled,
        "account": account.map(|a| format!("{}:{}", a.platform, a.handle)),
        "next": slots.iter().map(|t| json!({"at": t, "local": t.with_timezone(&tz.tz()).format("%a %Y-%m-%d %H:%M %Z").to_string()})).collect::<Vec<_>>(),
    }))
}

/// `chorus schedule list`: each rule with its next slots in its zone.
pub async fn list_schedules(store: &Store, at: &BrandRef<'_>, next: usize, json_out: bool) -> anyhow::Result<()> {
    let (tenant, brand_id) = tenant_for(store, at).await?;
    let mut rows = Vec::new();
    for s in tenant.schedules().list_for_brand(brand_id).await? {
        rows.push(schedule_json(tenant, &s, next).await?);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no posting slots; add some with `chorus schedule add`");
    }
    for r in &rows {
        println!(
            "{}  {}  ({}){}{}",
            r["name"].as_str().unwrap_or(""),
            r["cron"].as_str().unwrap_or(""),
            r["timezone"].as_str().unwrap_or(""),
            r["account"].as_str().map(|a| format!("  for {a}")).unwrap_or_default(),
            if r["enabled"] == false {
                "  [disabled: not used by \"add to queue\"]"
            } else {
                ""
            }
        );
        for n in r["next"].as_array().into_iter().flatten() {
            println!("    {}", n["local"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}
