//! `chorus plugin ...` and `chorus preview`: tooling for plugin authors and operators.

use crate::config::Settings;
use anyhow::{Context, anyhow, bail};
use chorus_core::plugins::conformance::{self, UNREACHABLE_API_BASE};
use chorus_core::plugins::convert::{SegmentView, measure};
use chorus_core::plugins::types::{Account, MediaKind, MediaRef, Post, Segment};
use chorus_core::plugins::{
    EngineSettings, Grant, Invocation, KvBackend, Manifest, MemoryKv, Plugin, PluginEngine, PluginRegistry,
};
use serde::Deserialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens the registry for a command that has no database: the plugins' key-value store is
/// kept in memory for the command's lifetime.
pub async fn registry(settings: &Settings) -> anyhow::Result<PluginRegistry> {
    registry_with_kv(settings, Arc::new(MemoryKv::default())).await
}

/// Opens the registry: bundled plugins plus those installed in the data directory.
pub async fn registry_with_kv(settings: &Settings, kv: Arc<dyn KvBackend>) -> anyhow::Result<PluginRegistry> {
    settings.prepare_data_dir()?;
    let engine = PluginEngine::new(EngineSettings {
        cache_dir: Some(settings.data_dir.join("plugin-cache")),
        kv,
    })?;
    let (registry, problems) =
        PluginRegistry::load(engine, settings.plugins.clone(), chorus_plugins_bundled::BUNDLED).await?;
    for p in problems {
        tracing::warn!("skipping an installed plugin: {p}");
    }
    Ok(registry)
}

fn find(reg: &PluginRegistry, id: &str) -> anyhow::Result<Arc<Plugin>> {
    reg.get(id)
        .or_else(|| reg.list().find(|p| p.description.id == id).cloned())
        .ok_or_else(|| {
            let known: Vec<_> = reg.list().map(|p| p.id().to_owned()).collect();
            anyhow!("no plugin {id:?}; installed: {}", known.join(", "))
        })
}

pub async fn list(settings: &Settings, as_json: bool) -> anyhow::Result<()> {
    let reg = registry(settings).await?;
    let rows: Vec<_> = reg
        .list()
        .map(|p| {
            json!({
                "id": p.id(),
                "name": p.manifest.name,
                "version": p.manifest.version,
                "api_version": p.manifest.api_version,
                "platform": p.description.id,
                "source": if reg.is_bundled(p.id()) { "bundled" } else { "installed" },
                "sha256": p.sha256,
                "http_hosts": p.grant().hosts,
                "credential_hosts": p.grant().credential_hosts,
                "api_base": p.api_base(),
            })
        })
        .collect();
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<12} {:<20} {:<8} {:<5} {:<10} API BASE",
            "ID", "NAME", "VERSION", "API", "SOURCE"
        );
        for r in rows {
            println!(
                "{:<12} {:<20} {:<8} {:<5} {:<10} {}",
                r["id"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or(""),
                r["version"].as_str().unwrap_or(""),
                r["api_version"].as_str().unwrap_or(""),
                r["source"].as_str().unwrap_or(""),
                r["api_base"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

pub async fn inspect(settings: &Settings, id: &str, as_json: bool) -> anyhow::Result<()> {
    let reg = registry(settings).await?;
    let p = find(&reg, id)?;
    let out = json!({
        "manifest": p.manifest,
        "sha256": p.sha256,
        "api_base": p.api_base(),
        "granted_hosts": p.grant().hosts,
        "credential_hosts": p.grant().credential_hosts,
        "describe": p.description,
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let d = &p.description;
        println!(
            "{} ({}) {} by {}",
            p.manifest.name,
            p.id(),
            p.manifest.version,
            p.manifest.author
        );
        println!("  contract     chorus:plugin@{}", p.manifest.api_version);
        println!("  component    sha256 {}", p.sha256);
        println!("  api base     {}", p.api_base());
        println!("  may reach    {}", p.grant().hosts.join(", "));
        println!(
            "  credentials  sent only to {} (and the API base)",
            p.grant().credential_hosts.join(", ")
        );
        println!(
            "  text         up to {} ({} counting)",
            d.text.max_length,
            name_of(&d.text.length_rule)
        );
        println!(
            "  media        up to {} item(s){}",
            d.media.max_count,
            if d.media.required { ", required" } else { "" }
        );
        println!("  threads      {}", if d.features.threads { "yes" } else { "no" });
        println!(
            "  targeting    {}",
            if d.targeting.is_empty() {
                "none".to_owned()
            } else {
                d.targeting.iter().map(name_of).collect::<Vec<_>>().join(", ")
            }
        );
        for b in &d.publish_budgets {
            println!("  budget       {} posts per {} s", b.max_posts, b.window_seconds);
        }
        if let Some(o) = &d.oauth {
            println!(
                "  oauth        {} (scopes: {}; PKCE {})",
                o.authorize_url,
                o.scopes.join(" "),
                if o.pkce_required { "required" } else { "optional" }
            );
        }
    }
    Ok(())
}

pub async fn install(settings: &Settings, path: &Path) -> anyhow::Result<()> {
    let manifest = if path.is_dir() {
        path.join("plugin.toml")
    } else {
        path.to_owned()
    };
    let mut reg = registry(settings).await?;
    let p = reg.install(&manifest).await?;
    println!(
        "installed {} {} ({}), sha256 {}",
        p.id(),
        p.manifest.version,
        p.manifest.name,
        p.sha256
    );
    println!("  may reach    {}", p.grant().hosts.join(", "));
    println!(
        "  credentials  the account's token is sent only to {} (and the configured API base)",
        p.grant().credential_hosts.join(", ")
    );
    Ok(())
}

/// Where a plugin to test comes from: a crate to build, a manifest, or a loaded id. Its
/// API base is a loopback port where nothing listens: the conformance checks' network
/// calls must fail cleanly.
async fn load_for_test(settings: &Settings, target: &str) -> anyhow::Result<(Plugin, Vec<u8>, Option<PathBuf>)> {
    load_target(settings, target, url::Url::parse(UNREACHABLE_API_BASE)?).await
}

/// Loads `target` (a crate to build, a manifest, or a bundled or installed id) in a sandbox
/// of its own whose platform API is at `api_base`.
async fn load_target(
    settings: &Settings,
    target: &str,
    api_base: url::Url,
) -> anyhow::Result<(Plugin, Vec<u8>, Option<PathBuf>)> {
    let path = Path::new(target);
    let (manifest, bytes, dist) = if path.join("Cargo.toml").is_file() && path.join("plugin.toml").is_file() {
        let (manifest, bytes) = build_crate(path)?;
        (manifest, bytes, Some(path.join("dist")))
    } else if path.is_file() || path.join("plugin.toml").is_file() {
        let mpath = if path.is_dir() {
            path.join("plugin.toml")
        } else {
            path.to_owned()
        };
        let manifest = Manifest::load(&mpath)?;
        let cpath = mpath.parent().unwrap_or(Path::new(".")).join(&manifest.component);
        let bytes = std::fs::read(&cpath).with_context(|| format!("reading the component {}", cpath.display()))?;
        (manifest, bytes, None)
    } else {
        let b = chorus_plugins_bundled::BUNDLED
            .iter()
            .find(|b| Manifest::from_toml(Path::new("bundled"), b.manifest).is_ok_and(|m| m.id == target));
        match b {
            Some(b) => {
                let mut m = Manifest::from_toml(Path::new("bundled"), b.manifest)?;
                m.sha256 = Some(b.sha256.to_owned());
                (m, b.component.to_vec(), None)
            }
            None => {
                let mpath = settings.data_dir.join("plugins").join(target).join("plugin.toml");
                if !mpath.is_file() {
                    bail!("{target:?} is neither a plugin crate, a manifest, nor a bundled or installed plugin id");
                }
                let manifest = Manifest::load(&mpath)?;
                let bytes = std::fs::read(mpath.parent().unwrap_or(Path::new(".")).join(&manifest.component))?;
                (manifest, bytes, None)
            }
        }
    };
    let engine = PluginEngine::new(EngineSettings {
        cache_dir: None,
        kv: Arc::new(MemoryKv::default()),
    })?;
    let grant = Grant::for_manifest(&manifest, None, Some(api_base))?;
    let plugin = engine
        .load(manifest, &bytes, false, grant, settings.plugins.limits.clone())
        .await?;
    Ok((plugin, bytes, dist))
}

/// Builds a plugin crate for wasm32-wasip2 and returns its manifest and component.
fn build_crate(dir: &Path) -> anyhow::Result<(Manifest, Vec<u8>)> {
    eprintln!("building {} for wasm32-wasip2 ...", dir.display());
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo")?;
    if !out.status.success() {
        bail!("building the plugin failed (see above); is the target installed? `rustup target add wasm32-wasip2`");
    }
    let wasm = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact")
        .flat_map(|v| v["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| anyhow!("cargo produced no .wasm file; is the crate-type cdylib?"))?;
    let manifest = Manifest::load(&dir.join("plugin.toml"))?;
    Ok((manifest, std::fs::read(&wasm)?))
}

pub async fn test(settings: &Settings, target: &str, account: &str, as_json: bool) -> anyhow::Result<bool> {
    let (plugin, bytes, dist) = load_for_test(settings, target).await?;
    let report = conformance::run(&plugin, account, true).await;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &report.checks {
            let mark = if c.passed { "ok  " } else { "FAIL" };
            println!(
                "{mark} {}{}",
                c.name,
                if c.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", c.detail)
                }
            );
        }
        println!(
            "{} passed, {} failed",
            report.checks.len() - report.failures(),
            report.failures()
        );
    }
    if let (Some(dist), false) = (&dist, report.passed()) {
        // A stale package from an earlier passing build must not be installable.
        if dist.exists() {
            std::fs::remove_dir_all(dist).with_context(|| format!("removing the stale package {}", dist.display()))?;
            if !as_json {
                println!(
                    "removed {}: fix the failures, then test again to package",
                    dist.display()
                );
            }
        }
    }
    if let (Some(dist), true) = (dist, report.passed()) {
        // A crate that passes is packaged, ready for `chorus plugin install`.
        std::fs::create_dir_all(&dist)?;
        let mut m = plugin.manifest.clone();
        m.sha256 = Some(plugin.sha256.clone());
        m.component = format!("{}.wasm", m.id);
        std::fs::write(dist.join(&m.component), bytes)?;
        std::fs::write(dist.join("plugin.toml"), toml::to_string(&m)?)?;
        if !as_json {
            println!(
                "packaged into {} (install with `chorus plugin install {}`)",
                dist.display(),
                dist.display()
            );
        }
    }
    Ok(report.passed())
}

/// A network export `chorus plugin run` can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunExport {
    Publish,
    FindPublished,
    FetchMetrics,
}

pub struct RunArgs<'a> {
    pub export: RunExport,
    pub target: &'a str,
    pub api_base: &'a str,
    pub token: Option<&'a str>,
    pub account: &'a str,
    pub handle: &'a str,
    pub text: Option<&'a str>,
    pub post_file: Option<&'a Path>,
    pub marker: &'a str,
    pub remote_ids: &'a [String],
    pub json: bool,
}

/// `chorus plugin run`: one network export of a plugin in the real sandbox, against the
/// server at `--api-base` (a local fake of the platform), printing each request the plugin
/// sent and what came back, then the call's result or typed error. Returns whether the call
/// succeeded.
pub async fn run(settings: &Settings, args: RunArgs<'_>) -> anyhow::Result<bool> {
    let api_base = url::Url::parse(args.api_base).map_err(|e| {
        anyhow!(
            "--api-base {:?} is not a URL ({e}); give e.g. http://127.0.0.1:8081",
            args.api_base
        )
    })?;
    let (plugin, _, _) = load_target(settings, args.target, api_base.clone()).await?;
    let account = Account {
        id: "plugin-run".into(),
        handle: args.handle.to_owned(),
        remote_id: args.account.to_owned(),
        timezone: "UTC".into(),
    };
    let trace = Arc::new(chorus_core::plugins::HttpTrace::default());
    let inv = Invocation {
        token: args.token.map(str::to_owned),
        trace: Some(trace.clone()),
        ..Invocation::default()
    };
    // publish and find-published take the adaptation, made by the plugin's own `adapt`.
    let adapted = match args.export {
        RunExport::FetchMetrics => {
            if args.remote_ids.is_empty() {
                bail!("fetch-metrics needs the posts' ids on the platform: --remote-id ID (repeatable)");
            }
            None
        }
        _ => {
            let post = post_from(args.text, args.post_file)?;
            Some(plugin.adapt(&post, None, &account, &Invocation::default()).await?)
        }
    };
    let result: Result<serde_json::Value, chorus_core::plugins::CallError> = match (args.export, &adapted) {
        (RunExport::Publish, Some(a)) => plugin.publish(a, args.marker, &account, &inv).await.map(|p| json!(p)),
        (RunExport::FindPublished, Some(a)) => plugin
            .find_published(args.marker, a, &account, &inv)
            .await
            .map(|p| json!(p)),
        _ => plugin
            .fetch_metrics(args.remote_ids, &account, &inv)
            .await
            .map(|m| json!(m)),
    };
    let exchanges = trace.exchanges();
    let export = match args.export {
        RunExport::Publish => "publish",
        RunExport::FindPublished => "find-published",
        RunExport::FetchMetrics => "fetch-metrics",
    };
    if args.json {
        let out = json!({
            "export": export,
            "plugin": plugin.id(),
            "api_base": api_base.as_str(),
            "adapted": adapted,
            "exchanges": exchanges,
            "result": result.as_ref().ok(),
            "error": result.as_ref().err().map(|e| json!({"kind": e.kind_name(), "message": e.to_string()})),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(result.is_ok());
    }
    if let Some(a) = &adapted {
        match a.parts.len() {
            0 => println!("adapted: {}", a.text),
            n => println!("adapted as a thread of {n} parts: {}", a.parts.join(" / ")),
        }
    }
    for (i, x) in exchanges.iter().enumerate() {
        println!("\n#{} → {} {}", i + 1, x.method, x.url);
        for (k, v) in &x.request_headers {
            println!("    {k}: {v}");
        }
        if let Some(b) = &x.request_body {
            println!("    {}", b.replace('\n', "\n    "));
        }
        match (x.status, &x.error) {
            (Some(status), _) => {
                println!("  ← {status}");
                for (k, v) in x.response_headers.iter().filter(|(k, _)| interesting_header(k)) {
                    println!("    {k}: {v}");
                }
                if let Some(b) = &x.response_body {
                    println!("    {}", b.replace('\n', "\n    "));
                }
            }
            (None, Some(e)) => println!("  ← no answer: {e}"),
            (None, None) => println!("  ← no answer"),
        }
    }
    if exchanges.is_empty() {
        println!("\n(the plugin sent no request)");
    }
    match &result {
        Ok(v) => println!("\n{export} returned: {}", serde_json::to_string_pretty(v)?),
        Err(e) => println!("\n{export} failed [{}]: {e}", e.kind_name()),
    }
    Ok(result.is_ok())
}

/// Response headers worth a person's attention when a plugin talks to a platform.
fn interesting_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "content-type" || n == "location" || n == "retry-after" || n.contains("ratelimit") || n.contains("rate-limit")
}

/// The post given as `--text` or `--post-file`.
fn post_from(text: Option<&str>, file: Option<&Path>) -> anyhow::Result<Post> {
    match (text, file) {
        (Some(t), None) => Ok(Post {
            options: vec![],
            title: None,
            id: "preview".into(),
            body: t.to_owned(),
            link: None,
            hashtags: vec![],
            locale: "en".into(),
            media: vec![],
        }),
        (None, Some(f)) => read_post(f),
        _ => bail!("give the post with exactly one of --text TEXT or --post-file FILE"),
    }
}

/// What `--post-file` holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostFile {
    body: String,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    hashtags: Vec<String>,
    #[serde(default = "default_locale")]
    locale: String,
    #[serde(default)]
    media: Vec<MediaFile>,
    #[serde(default)]
    title: Option<String>,
    /// The platform's per-post choices, e.g. `{"privacy_level": "SELF_ONLY"}`.
    #[serde(default)]
    options: std::collections::BTreeMap<String, String>,
}

fn default_locale() -> String {
    "en".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaFile {
    id: String,
    kind: String,
    mime_type: String,
    byte_size: u64,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    #[serde(default)]
    duration_ms: Option<u32>,
    #[serde(default)]
    alt_text: Option<String>,
}

pub struct PreviewArgs<'a> {
    pub platform: &'a str,
    pub text: Option<&'a str>,
    pub post_file: Option<&'a Path>,
    pub segment_file: Option<&'a Path>,
    pub account: &'a str,
    pub json: bool,
}

pub async fn preview(settings: &Settings, args: PreviewArgs<'_>) -> anyhow::Result<()> {
    let post = post_from(args.text, args.post_file)?;
    let segment: Option<Segment> = match args.segment_file {
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let view: SegmentView = serde_json::from_str(&text)
                .map_err(|e| anyhow!("{}: {e} (see docs/plugins/guide.md for the segment shape)", f.display()))?;
            Some((&view).into())
        }
        None => None,
    };
    let reg = registry(settings).await?;
    let plugin = find(&reg, args.platform)?;
    let account = Account {
        id: "preview".into(),
        handle: "preview".into(),
        remote_id: args.account.to_owned(),
        timezone: "UTC".into(),
    };
    let a = plugin
        .adapt(&post, segment.as_ref(), &account, &Invocation::default())
        .await?;
    let d = &plugin.description;
    let rule = d.text.length_rule;
    let limit = d.text.max_length as usize;
    // Every limit, the one shown first and the further ones (`text-rules.also`).
    let limits: Vec<(usize, chorus_core::plugins::types::LengthRule)> = std::iter::once((limit, rule))
        .chain(d.text.also.iter().map(|l| (l.max as usize, l.rule)))
        .collect();
    let texts: Vec<&String> = std::iter::once(&a.text).chain(&a.parts).collect();
    let fits = texts
        .iter()
        .all(|t| limits.iter().all(|&(max, r)| measure(t, r) <= max));
    // What the plugin carries to publish, as the preview shows it (JSON values parsed).
    let extras: Vec<serde_json::Value> = a
        .extras
        .iter()
        .map(|e| {
            json!({
                "key": e.key,
                "label": e.label,
                "value": serde_json::from_str::<serde_json::Value>(&e.value).unwrap_or(json!(e.value)),
            })
        })
        .collect();
    let targeting = a
        .targeting
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
        .unwrap_or(None);
    if args.json {
        let out = json!({
            "platform": d.id,
            "plugin": plugin.id(),
            "text": a.text,
            "parts": a.parts,
            "length": a.length,
            "limit": limit,
            "length_rule": rule,
            "fits": fits,
            "hashtags": a.hashtags,
            "media": a.media,
            "warnings": a.warnings,
            "targeting": targeting,
            "also": d.text.also.iter().map(|l| json!({
                "limit": l.max,
                "length_rule": name_of(&l.rule),
                "length": measure(&a.text, l.rule),
            })).collect::<Vec<_>>(),
            "fields": a.fields,
            "extras": extras,
            "languages": a.languages,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let parts = if a.parts.is_empty() {
            vec![a.text.clone()]
        } else {
            a.parts.clone()
        };
        for (i, p) in parts.iter().enumerate() {
            if parts.len() > 1 {
                println!("--- part {} of {} ({} / {limit})", i + 1, parts.len(), measure(p, rule));
            }
            println!("{p}");
        }
        println!(
            "\n{} {} / {limit} ({}){}",
            d.name,
            a.length,
            name_of(&rule),
            if fits { "" } else { "  DOES NOT FIT" }
        );
        for l in &d.text.also {
            println!("  also {} / {} ({})", measure(&a.text, l.rule), l.max, name_of(&l.rule));
        }
        for f in &a.fields {
            println!("  {}: {} ({})", f.name, f.text, f.length);
        }
        if !a.languages.is_empty() {
            println!("  languages: {}", a.languages.join(", "));
        }
        for w in &a.warnings {
            println!("  note [{}]: {}", w.code, w.message);
        }
        if let Some(t) = targeting {
            println!("  targeting: {t}");
        }
        for e in &extras {
            println!(
                "  {} ({}): {}",
                e["label"].as_str().unwrap_or(""),
                e["key"].as_str().unwrap_or(""),
                e["value"]
            );
        }
    }
    Ok(())
}

/// An enum's name as it appears in JSON output.
fn name_of(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn read_post(path: &Path) -> anyhow::Result<Post> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let f: PostFile = serde_json::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let media = f
        .media
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let kind = match m.kind.as_str() {
                "image" => MediaKind::Image,
                "video" => MediaKind::Video,
                "gif" => MediaKind::Gif,
                "document" => MediaKind::Document,
                other => bail!(
                    "{}: media[{i}].kind {other:?} is not one of image, video, gif, document",
                    path.display()
                ),
            };
            Ok(MediaRef {
                url: None,
                id: m.id,
                kind,
                mime_type: m.mime_type,
                byte_size: m.byte_size,
                width: m.width,
                height: m.height,
                duration_ms: m.duration_ms,
                alt_text: m.alt_text,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Post {
        options: f.options.into_iter().collect(),
        title: f.title,
        id: "preview".into(),
        body: f.body,
        link: f.link,
        hashtags: f.hashtags,
        locale: f.locale,
        media,
    })
}
