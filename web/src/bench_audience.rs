//! `chorus bench audience`: figures for audiences on the embedded SQLite, printed for
//! people to compare. Run it on a release build: `cargo run --release -- bench audience`.
//!
//! It generates a synthetic audience (deterministic: the same contacts every run), imports
//! it through the real importer, then sizes a 5-rule segment and computes the overlap
//! matrix of 5 segments.

use anyhow::Context;
use chorus_core::audience::import::{Format, ImportOptions, ImportReport, Mapping, Records, import};
use chorus_core::audience::{Audience, SegmentDefinition};
use chorus_core::domain::WorkspaceKind;
use chorus_core::secrets::SecretKey;
use chorus_core::store::{NewBrand, NewWorkspace, Store};
use chrono::{Duration, Utc};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// A small deterministic generator (xorshift64*): same audience on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const COUNTRIES: &[&str] = &["SE", "SE", "SE", "NO", "DK", "FI", "DE", "GB", "US", "NL"];
const CITIES: &[&str] = &[
    "Stockholm",
    "Göteborg",
    "Malmö",
    "Oslo",
    "Aarhus",
    "Helsinki",
    "Berlin",
    "London",
];
const GENDERS: &[&str] = &["female", "male", "female", "male", "non_binary", ""];
const RELATIONS: &[&str] = &["prospect", "prospect", "customer", "customer", "loyal", "ambassador"];
const INTERESTS: &[&str] = &[
    "fitness", "yoga", "running", "golf", "travel", "fashion", "cooking", "gaming", "tech", "music",
];
const VALUES: &[&str] = &["sustainability", "health", "family", "status", "adventure"];
const INDUSTRIES: &[&str] = &["software", "retail", "finance", "health care", "education", ""];
const SENIORITIES: &[&str] = &["entry", "senior", "manager", "director", "vp", "cxo", ""];
const SIZES: &[&str] = &["2-10", "11-50", "51-200", "201-500", "1001-5000", ""];

fn write_contacts(path: &Path, n: u64) -> anyhow::Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        w,
        "external_id,relation,consent,birth_date,gender,country,city,language,interests,values,industry,seniority,company_size,custom.score"
    )?;
    let today = Utc::now().date_naive();
    for i in 0..n {
        let born = today - Duration::days(365 * 18 + rng.below(365 * 50) as i64);
        let interests = format!("{};{}", rng.pick(INTERESTS), rng.pick(INTERESTS));
        writeln!(
            w,
            "c{i},{},{},{born},{},{},{},{},{interests},{},{},{},{},{}",
            rng.pick(RELATIONS),
            rng.below(2) == 1,
            rng.pick(GENDERS),
            rng.pick(COUNTRIES),
            rng.pick(CITIES),
            rng.pick(&["sv", "en", "no", "da", "fi", "de"]),
            rng.pick(VALUES),
            rng.pick(INDUSTRIES),
            rng.pick(SENIORITIES),
            rng.pick(SIZES),
            rng.below(100)
        )?;
    }
    w.flush()?;
    Ok(())
}

/// Purchases for about 40 % of contacts (1-5 each, within the last two years).
fn write_events(path: &Path, n: u64) -> anyhow::Result<u64> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "external_id,event,occurred_at,amount,currency")?;
    let now = Utc::now();
    let mut count = 0;
    for i in 0..n {
        if rng.below(10) >= 4 {
            continue;
        }
        for _ in 0..1 + rng.below(5) {
            let at = now - Duration::minutes(rng.below(2 * 365 * 24 * 60) as i64 + 1);
            writeln!(
                w,
                "c{i},purchase,{},{}.{:02},SEK",
                at.to_rfc3339(),
                50 + rng.below(2000),
                rng.below(100)
            )?;
            count += 1;
        }
    }
    w.flush()?;
    Ok(count)
}

fn segment(name: &str, rule: serde_json::Value) -> anyhow::Result<SegmentDefinition> {
    Ok(serde_json::from_value(
        json!({"name": name, "kind": "target_group", "funnel_stage": "consideration", "rule": rule}),
    )?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run(contacts: u64, keep: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let dir = keep
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("chorus-bench-{}", uuid::Uuid::now_v7().simple())));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    anyhow::ensure!(
        !dir.join("bench.db").exists(),
        "{} already holds a bench.db: pick an empty directory for --keep",
        dir.display()
    );
    let result = bench(&dir, contacts).await;
    match keep {
        Some(_) => {
            let _ = std::fs::remove_file(dir.join("contacts.csv"));
            let _ = std::fs::remove_file(dir.join("events.csv"));
            println!("kept the database: {}", dir.join("bench.db").display());
        }
        None => {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    result
}

async fn bench(dir: &Path, contacts: u64) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("chorus bench audience: {contacts} synthetic contacts, embedded SQLite, {cores} cores");
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::open(&url, SecretKey::generate())
        .await
        .context("opening the bench database")?;
    let ws = store
        .workspaces()
        .create(NewWorkspace {
            slug: "bench".into(),
            name: "Bench".into(),
            kind: WorkspaceKind::Company,
        })
        .await?;
    let tenant = store.tenant(ws.id);
    let brand = tenant
        .brands()
        .create(NewBrand {
            slug: "bench".into(),
            name: "Bench".into(),
            timezone: "UTC".into(),
        })
        .await?;

    let t = Instant::now();
    let contacts_csv = dir.join("contacts.csv");
    write_contacts(&contacts_csv, contacts)?;
    let events_csv = dir.join("events.csv");
    let events = write_events(&events_csv, contacts)?;
    println!(
        "generated the files:                 {:>8.2} s ({events} purchase events)",
        t.elapsed().as_secs_f64()
    );

    let run_import = |path: std::path::PathBuf, records| {
        let tenant = tenant;
        let brand = brand.clone();
        async move {
            let options = ImportOptions {
                format: Format::Csv,
                records,
                mapping: Mapping::default(),
                skip_invalid: false,
            };
            let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
            let r: ImportReport = import(tenant, &brand, file, &options, &()).await?;
            anyhow::ensure!(
                r.committed && r.invalid == 0,
                "bench import failed: {:?}",
                r.errors.first()
            );
            Ok::<_, anyhow::Error>(r)
        }
    };
    let r = run_import(contacts_csv, Records::Contacts).await?;
    println!(
        "import contacts (~3 tags each):      {:>8.2} s  {:>9.0} rows/s   target for 1,000,000: <= 60 s",
        r.seconds,
        r.rows as f64 / r.seconds
    );
    let r = run_import(events_csv, Records::Events).await?;
    println!(
        "import purchase events + RFM scores: {:>8.2} s  {:>9.0} rows/s",
        r.seconds,
        r.rows as f64 / r.seconds
    );

    let a = Audience::new(tenant, brand.id).await?;
    let five_rules = json!({"all": [
        {"attribute": "country", "op": "in", "value": ["SE", "NO", "DK"]},
        {"attribute": "age", "op": "between", "value": [25, 44]},
        {"attribute": "interests", "op": "contains", "value": "fitness"},
        {"event": "purchase", "within_days": 365, "count": {"gte": 2}},
        {"attribute": "relation", "op": "neq", "value": "prospect"}
    ]});
    a.define(&segment("Nordic active buyers", five_rules)?).await?;
    a.define(&segment(
        "Swedes",
        json!({"attribute": "country", "op": "eq", "value": "SE"}),
    )?)
    .await?;
    a.define(&segment(
        "Yoga",
        json!({"attribute": "interests", "op": "contains", "value": "yoga"}),
    )?)
    .await?;
    a.define(&segment(
        "Managers",
        json!({"attribute": "seniority", "op": "in", "value": ["manager", "director", "vp", "cxo"]}),
    )?)
    .await?;
    a.define(&segment("Champions", json!({"rfm": {"cell": "champions"}}))?)
        .await?;

    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        size = a.size("Nordic active buyers").await?.size;
        times.push(t.elapsed().as_secs_f64());
    }
    println!(
        "size a 5-rule segment:               {:>8.3} s  (median of 5; {size} members)   target: <= 1 s",
        median(times)
    );
    let mut times = Vec::new();
    let names: Vec<String> = ["Nordic active buyers", "Swedes", "Yoga", "Managers", "Champions"]
        .map(String::from)
        .to_vec();
    let mut overlap = None;
    for _ in 0..3 {
        let t = Instant::now();
        overlap = Some(a.overlap(&names).await?);
        times.push(t.elapsed().as_secs_f64());
    }
    println!(
        "overlap matrix of 5 segments:        {:>8.3} s  (median of 3)   target: <= 3 s",
        median(times)
    );
    if let Some(o) = overlap {
        println!(
            "  sizes: {}",
            o.segments
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{n} {}", o.size(i)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let t = Instant::now();
    let snap = a.snapshot("Nordic active buyers").await?;
    println!(
        "snapshot the 5-rule segment:         {:>8.3} s  ({} members stored)",
        t.elapsed().as_secs_f64(),
        snap.size
    );
    let db_size = std::fs::metadata(dir.join("bench.db")).map(|m| m.len()).unwrap_or(0);
    println!(
        "database file:                       {:>8.1} MiB",
        db_size as f64 / (1 << 20) as f64
    );
    store.close().await?;
    Ok(())
}
