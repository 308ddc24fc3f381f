//! `chorus workspace|brand|audience|segment|persona ...`: audiences from the command line.

use crate::config::Settings;
use anyhow::{Context, anyhow, bail};
use chorus_core::audience::import::{Format, ImportOptions, ImportReport, Mapping, Progress, Records, import};
use chorus_core::audience::segments::{canvas, parsed_rule, portable_audience, tone_profile};
use chorus_core::audience::targeting::{PlatformTargeting, plan};
use chorus_core::audience::{Audience, AudienceError, PersonaDefinition, SegmentDefinition, priority, warnings};
use chorus_core::domain::{AudienceScale, WorkspaceKind};
use chorus_core::store::{NewBrand, NewWorkspace, Store, Tenant};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// Where a brand is: `--brand SLUG` and, when the slug is used in several workspaces,
/// `--workspace SLUG`.
pub struct BrandRef<'a> {
    pub brand: &'a str,
    pub workspace: Option<&'a str>,
}

pub async fn tenant_for<'s>(store: &'s Store, at: &BrandRef<'_>) -> anyhow::Result<(Tenant<'s>, uuid::Uuid)> {
    let workspaces =
        match at.workspace {
            Some(ws) => vec![store.workspaces().by_slug(ws).await.map_err(|_| {
                anyhow!("no workspace {ws:?}; create it with `chorus workspace create {ws} --name NAME`")
            })?],
            None => store.workspaces().list().await?,
        };
    let mut found = Vec::new();
    for ws in &workspaces {
        if let Ok(b) = store.tenant(ws.id).brands().by_slug(at.brand).await {
            found.push((ws.id, ws.slug.clone(), b.id));
        }
    }
    match found.as_slice() {
        [(ws, _, brand)] => Ok((store.tenant(*ws), *brand)),
        [] => bail!(
            "no brand {:?}{}; create it with `chorus brand create {} --workspace WORKSPACE --name NAME`",
            at.brand,
            at.workspace.map(|w| format!(" in workspace {w:?}")).unwrap_or_default(),
            at.brand
        ),
        many => bail!(
            "brand {:?} exists in several workspaces ({}); say which with --workspace",
            at.brand,
            many.iter().map(|(_, s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub async fn create_workspace(store: &Store, slug: &str, name: &str, kind: WorkspaceKind) -> anyhow::Result<()> {
    let ws = store
        .workspaces()
        .create(NewWorkspace {
            slug: slug.into(),
            name: name.into(),
            kind,
        })
        .await?;
    println!("created workspace {} ({})", ws.slug, ws.name);
    Ok(())
}

pub async fn create_brand(
    store: &Store,
    slug: &str,
    workspace: &str,
    name: &str,
    timezone: &str,
    scale: Option<&str>,
    requires_approval: bool,
) -> anyhow::Result<()> {
    let ws = store.workspaces().by_slug(workspace).await.map_err(|_| {
        anyhow!("no workspace {workspace:?}; create it with `chorus workspace create {workspace} --name NAME`")
    })?;
    let tenant = store.tenant(ws.id);
    let brand = tenant
        .brands()
        .create(NewBrand {
            slug: slug.into(),
            name: name.into(),
            timezone: timezone.into(),
        })
        .await?;
    if let Some(scale) = scale {
        tenant
            .brands()
            .set_audience_scale(brand.id, AudienceScale::parse("--audience-scale", scale)?)
            .await?;
    }
    if requires_approval {
        tenant.brands().set_requires_approval(brand.id, true).await?;
    }
    println!(
        "created brand {} in workspace {}{}",
        brand.slug,
        ws.slug,
        if requires_approval {
            " (posts wait for approval)"
        } else {
            ""
        }
    );
    Ok(())
}

/// A progress bar on a terminal: bytes of the file, rows, rows per second and ETA.
struct Bar {
    bar: ProgressBar,
    started: Instant,
}

impl Progress for Bar {
    fn advance(&self, bytes: u64, rows: u64) {
        if bytes == u64::MAX {
            self.bar.finish_and_clear();
            return;
        }
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.bar.set_position(bytes.min(self.bar.length().unwrap_or(bytes)));
        self.bar
            .set_message(format!("{rows} rows, {:.0} rows/s", rows as f64 / secs));
    }
}

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub format: Option<Format>,
    pub records: Records,
    pub mapping: Option<&'a Path>,
    pub skip_invalid: bool,
    pub report: Option<&'a Path>,
    pub json: bool,
}

pub async fn import_file(store: &Store, at: &BrandRef<'_>, args: ImportArgs<'_>) -> anyhow::Result<()> {
    let (tenant, brand_id) = tenant_for(store, at).await?;
    let brand = tenant.brands().get(brand_id).await?;
    let mapping: Mapping = match args.mapping {
        None => Mapping::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading the mapping {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("mapping {}", p.display()))?
        }
    };
    let file = std::fs::File::open(args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let options = ImportOptions {
        format: args.format.unwrap_or_else(|| Format::guess(args.file)),
        records: args.records,
        mapping,
        skip_invalid: args.skip_invalid,
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {percent:>3}% {msg}  {binary_bytes_per_sec}  ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let progress = Bar {
        bar,
        started: Instant::now(),
    };
    let report = import(
        tenant,
        &brand,
        std::io::BufReader::with_capacity(1 << 20, file),
        &options,
        &progress,
    )
    .await
    .map_err(audience_err)?;
    if let Some(path) = args.report {
        write_report(path, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, args.report);
    }
    if report.invalid > 0 && !report.committed {
        bail!(
            "{} invalid row(s): nothing was imported; fix them or pass --skip-invalid",
            report.invalid
        );
    }
    Ok(())
}

fn print_report(r: &ImportReport, report: Option<&Path>) {
    let what = match r.records {
        Records::Contacts => "contacts",
        Records::Events => "events",
    };
    let rate = r.rows as f64 / r.seconds.max(0.001);
    if r.committed {
        let new = if r.records == Records::Contacts {
            format!(
                " ({} new, {} updated)",
                r.inserted,
                r.written.saturating_sub(r.inserted)
            )
        } else {
            String::new()
        };
        println!(
            "imported {} {what}{new} from {} rows in {:.1}s ({rate:.0} rows/s)",
            r.written, r.rows, r.seconds
        );
    }
    if r.invalid > 0 {
        eprintln!(
            "{} invalid row(s){}:",
            r.invalid,
            if r.committed { ", skipped" } else { "" }
        );
        for e in r.errors.iter().take(20) {
            eprintln!(
                "  line {}, column {}: {} (value {:?})",
                e.line, e.column, e.reason, e.value
            );
        }
        if r.invalid > 20 {
            eprintln!(
                "  … and {} more{}",
                r.invalid - 20,
                report
                    .map(|p| format!(" (all in {})", p.display()))
                    .unwrap_or_else(|| "; write them all with --report FILE".into())
            );
        }
    }
}

fn write_report(path: &Path, r: &ImportReport) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing the report {}", path.display()))?;
    w.write_record(["line", "column", "value", "reason"])?;
    for e in &r.errors {
        w.write_record([e.line.to_string(), e.column.clone(), e.value.clone(), e.reason.clone()])?;
    }
    w.flush()?;
    Ok(())
}

fn audience_err(e: AudienceError) -> anyhow::Error {
    anyhow!("{e}")
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn segment_file(path: &Path) -> anyhow::Result<SegmentDefinition> {
    serde_json::from_value(read_json(path)?)
        .with_context(|| format!("{} is not a segment definition (see docs/segments.md)", path.display()))
}

pub async fn create_segment(store: &Store, at: &BrandRef<'_>, file: &Path) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let seg = a.define(&segment_file(file)?).await.map_err(audience_err)?;
    let size = a.size_of(&seg).await.map_err(audience_err)?;
    println!(
        "created segment {:?}: {} of {} people",
        seg.name, size.size, size.audience
    );
    Ok(())
}

pub async fn update_segment(store: &Store, at: &BrandRef<'_>, name: &str, file: &Path) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let seg = a.redefine(name, &segment_file(file)?).await.map_err(audience_err)?;
    println!("updated segment {:?}", seg.name);
    Ok(())
}

/// A bar of `width` cells for `share` (0-1).
fn bar(share: f64, width: usize) -> String {
    let cells = (share.clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(cells), "·".repeat(width - cells))
}

pub async fn list_segments(store: &Store, at: &BrandRef<'_>, as_json: bool) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let ranked = priority::rank(&a).await.map_err(audience_err)?;
    let total = a.total().await.map_err(audience_err)?;
    let segs = a.segments().await.map_err(audience_err)?;
    let found = warnings::check(&a, &[], chrono::Utc::now())
        .await
        .map_err(audience_err)?;
    if as_json {
        let rows: Vec<_> = ranked
            .iter()
            .map(|p| {
                let seg = segs.iter().find(|s| s.name == p.segment);
                json!({
                    "name": p.segment,
                    "kind": seg.map(|s| s.kind),
                    "funnel_stage": seg.map(|s| s.funnel_stage),
                    "primary": seg.map(|s| s.is_primary),
                    "size": p.size,
                    "priority": p,
                    "warnings": found.iter().filter(|w| w.segments.contains(&p.segment)).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"audience": total, "segments": rows}))?
        );
        return Ok(());
    }
    println!(
        "brand {}: {} people in the audience, {} segment(s), ranked by priority\n",
        a.brand.slug,
        total,
        ranked.len()
    );
    println!(
        "{:>2}  {:<28} {:<15} {:<13} {:>9}  {:<20} {:>5}  warnings",
        "#", "segment", "kind", "stage", "size", "share of audience", "score"
    );
    for p in &ranked {
        let seg = segs.iter().find(|s| s.name == p.segment);
        let kind = seg.map(|s| format!("{:?}", s.kind)).unwrap_or_default();
        let stage = seg.map(|s| format!("{:?}", s.funnel_stage)).unwrap_or_default();
        let share = if total > 0 { p.size as f64 / total as f64 } else { 0.0 };
        let n = found.iter().filter(|w| w.segments.contains(&p.segment)).count();
        println!(
            "{:>2}  {:<28} {:<15} {:<13} {:>9}  {} {:>5.1}  {}",
            p.rank,
            format!(
                "{}{}",
                p.segment,
                if seg.is_some_and(|s| s.is_primary) { " *" } else { "" }
            ),
            kind,
            stage,
            p.size,
            bar(share, 20),
            p.score,
            if n > 0 { n.to_string() } else { String::new() }
        );
    }
    println!("\n* primary segment. Score 0-100 from potential, reach, fit and competition (docs/segments.md).");
    if !found.is_empty() {
        println!(
            "{} warning(s); see `chorus segment check --brand {}`",
            found.len(),
            a.brand.slug
        );
    }
    Ok(())
}

pub async fn show_segment(
    settings: &Settings,
    store: &Store,
    at: &BrandRef<'_>,
    name: &str,
    as_json: bool,
) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let seg = a.segment(name).await.map_err(audience_err)?;
    let sizing = a.size_of(&seg).await.map_err(audience_err)?;
    let audience = portable_audience(&seg).map_err(audience_err)?;
    let platform_size = audience.estimated_size.unwrap_or(sizing.size);
    let platforms = platforms(settings).await?;
    let plans: Vec<_> = platforms
        .iter()
        .map(|p| plan(&audience, p, Some(platform_size)))
        .collect();
    let snapshots = tenant.segments().snapshots(seg.id).await?;
    let sample = a.members(name, 10).await.map_err(audience_err)?;
    let out = json!({
        "name": seg.name,
        "kind": seg.kind,
        "funnel_stage": seg.funnel_stage,
        "primary": seg.is_primary,
        "bases": seg.bases,
        "description": seg.description,
        "rule": seg.rule,
        "tone": tone_profile(&seg).map_err(audience_err)?,
        "targeting": audience,
        "canvas": canvas(&seg).map_err(audience_err)?,
        "size": sizing.size,
        "audience": sizing.audience,
        "lookalikes": sizing.lookalikes,
        "targeting_plans": plans,
        "snapshots": snapshots.iter().map(|s| json!({"version": s.version, "size": s.size, "at": s.created_at})).collect::<Vec<_>>(),
        "sample_members": sample,
        "reviewed_at": seg.reviewed_at,
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let share = if sizing.audience > 0 {
        sizing.size as f64 / sizing.audience as f64
    } else {
        0.0
    };
    println!(
        "segment {:?} ({:?}, {:?}{})",
        seg.name,
        seg.kind,
        seg.funnel_stage,
        if seg.is_primary { ", primary" } else { "" }
    );
    println!(
        "size: {} of {} people  {} {:.1}%",
        sizing.size,
        sizing.audience,
        bar(share, 30),
        share * 100.0
    );
    println!(
        "rule: {}",
        seg.rule
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(none: everyone)".into())
    );
    if parsed_rule(&seg).map_err(audience_err)?.is_none() {
        println!("      a segment without a rule is everyone; see `chorus segment check`");
    }
    for l in &sizing.lookalikes {
        println!(
            "lookalike of {:?}: seed {} people, top {}% of {} others = {}; driven by:",
            l.seed, l.seed_size, l.percent, l.pool, l.take
        );
        for d in &l.drivers {
            println!(
                "  {:<14} {:<20} {:>5.1}% of seed vs {:>5.1}% of others (weight {:.2})",
                d.attribute,
                d.value,
                d.seed_share * 100.0,
                d.pool_share * 100.0,
                d.weight
            );
        }
    }
    println!("native targeting ({} people for platform minimums):", platform_size);
    for p in &plans {
        let status = if p.honoured.is_empty() {
            "not targeted".to_owned()
        } else if p.meets_minimum {
            format!("targets {}", p.honoured.join(", "))
        } else {
            format!("below the minimum of {}", p.min_audience.unwrap_or(0))
        };
        println!("  {:<10} {status}", p.platform);
        for n in &p.not_honoured {
            println!("             not honoured: {} ({})", n.facet, n.reason);
        }
    }
    if !snapshots.is_empty() {
        println!(
            "snapshots: {}",
            snapshots
                .iter()
                .map(|s| format!(
                    "v{} {} people {}",
                    s.version,
                    s.size,
                    s.created_at.format("%Y-%m-%d %H:%M")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    println!("sample: {}", sample.join(", "));
    Ok(())
}

/// The targeting every loaded plugin declares.
async fn platforms(settings: &Settings) -> anyhow::Result<Vec<PlatformTargeting>> {
    let reg = crate::plugin_cmd::registry(settings).await?;
    Ok(reg.list().map(|p| PlatformTargeting::from(&p.description)).collect())
}

pub async fn size_segment(
    store: &Store,
    at: &BrandRef<'_>,
    name: &str,
    snapshot: bool,
    as_json: bool,
) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let started = Instant::now();
    if snapshot {
        let s = a.snapshot(name).await.map_err(audience_err)?;
        if as_json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            println!(
                "{:?}: {} people, stored as snapshot v{} ({:.2}s)",
                s.segment,
                s.size,
                s.version,
                started.elapsed().as_secs_f64()
            );
        }
        return Ok(());
    }
    let s = a.size(name).await.map_err(audience_err)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "{:?}: {} of {} people ({:.2}s)",
            s.segment,
            s.size,
            s.audience,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

pub async fn overlap(store: &Store, at: &BrandRef<'_>, names: &[String], as_json: bool) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let o = a.overlap(names).await.map_err(audience_err)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&o)?);
        return Ok(());
    }
    println!("overlap: row A, column B: |A∩B| and % of A; shade darker = more shared\n");
    let short = |s: &str| s.chars().take(18).collect::<String>();
    print!("{:<20}", "");
    for n in &o.segments {
        print!("{:>22}", short(n));
    }
    println!();
    for (i, a_name) in o.segments.iter().enumerate() {
        print!("{:<20}", short(a_name));
        for j in 0..o.segments.len() {
            let share = o.share_of(i, j);
            let shade = [" ", "░", "▒", "▓", "█"][((share * 4.0).round() as usize).min(4)];
            print!("{:>14} {:>5.1}% {}", o.counts[i][j], share * 100.0, shade);
        }
        println!();
    }
    Ok(())
}

pub async fn review(store: &Store, at: &BrandRef<'_>, name: &str) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    a.review(name).await.map_err(audience_err)?;
    println!("segment {name:?} marked reviewed; next review due in 90 days");
    Ok(())
}

pub async fn check(settings: &Settings, store: &Store, at: &BrandRef<'_>, as_json: bool) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let found = warnings::check(&a, &platforms(settings).await?, chrono::Utc::now())
        .await
        .map_err(audience_err)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else if found.is_empty() {
        println!("brand {}: no warnings", a.brand.slug);
    } else {
        for w in &found {
            println!("warning[{}]: {}", w.code, w.message);
        }
    }
    Ok(())
}

pub async fn create_persona(store: &Store, at: &BrandRef<'_>, file: &Path) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let def = PersonaDefinition::from_json(read_json(file)?).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let p = a.add_persona(&def).await.map_err(audience_err)?;
    println!("created persona {:?} for segment {:?}", p.name, def.segment);
    Ok(())
}

pub async fn list_personas(store: &Store, at: &BrandRef<'_>, as_json: bool) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let a = Audience::new(tenant, brand).await.map_err(audience_err)?;
    let segs = a.segments().await.map_err(audience_err)?;
    let personas = a.personas().await.map_err(audience_err)?;
    let seg_name = |id: Option<uuid::Uuid>| {
        segs.iter()
            .find(|s| Some(s.id) == id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    if as_json {
        let rows: Vec<_> = personas
            .iter()
            .map(|p| json!({"name": p.name, "segment": seg_name(p.segment_id), "profile": p.profile}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for p in &personas {
        let msg = p.profile.get("message").and_then(|m| m.as_str()).unwrap_or_default();
        println!("{:<20} segment {:<24} \"{msg}\"", p.name, seg_name(p.segment_id));
    }
    let n = personas.len();
    if !(3..=5).contains(&n) {
        println!("{n} persona(s): work with 3-5");
    }
    Ok(())
}

pub async fn show_persona(store: &Store, at: &BrandRef<'_>, name: &str) -> anyhow::Result<()> {
    let (tenant, brand) = tenant_for(store, at).await?;
    let p = tenant.personas().by_name(brand, name).await?;
    let seg = match p.segment_id {
        Some(id) => Some(tenant.segments().get(id).await?.name),
        None => None,
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({"name": p.name, "segment": seg, "profile": p.profile}))?
    );
    Ok(())
}
