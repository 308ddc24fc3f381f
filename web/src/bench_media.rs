//! `chorus bench media`: the memory a large video costs the process, added to the library and
//! then uploaded to a platform in chunks the way the plugin host sends a plugin's
//! `media-slice` bodies, against the old way (the whole asset read for a chunk) in the same
//! run. Everything talks to 127.0.0.1 only.
//!
//! Resident memory is sampled every 2 ms from `/proc/self/status`; figures are the peak
//! above the level before each phase.

use chorus_core::media::{MediaLibrary, MediaStorage};
use chorus_core::plugins::media_request_body;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct MediaArgs {
    pub size_mb: u64,
    pub chunk_mb: u64,
}

/// Resident set size of this process, in bytes (Linux).
pub(crate) fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Samples RSS until dropped; `peak_above(base)` is the highest reading minus `base`.
pub(crate) struct Sampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    pub(crate) fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(rss()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Self { peak, stop }
    }

    pub(crate) fn peak(&self) -> u64 {
        self.peak.fetch_max(rss(), Ordering::Relaxed).max(rss())
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A new SQLite store in `dir` with one workspace and brand, for a benchmark's media.
pub(crate) async fn scratch_brand(
    dir: &std::path::Path,
) -> anyhow::Result<(
    chorus_core::store::Store,
    uuid::Uuid,
    chorus_core::store::entity::brand::Model,
)> {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = chorus_core::store::Store::open(&url, chorus_core::secrets::SecretKey::generate()).await?;
    let ws = store
        .workspaces()
        .create(chorus_core::store::NewWorkspace {
            slug: "bench".into(),
            name: "Bench".into(),
            kind: chorus_core::domain::WorkspaceKind::Company,
        })
        .await?;
    let brand = store
        .tenant(ws.id)
        .brands()
        .create(chorus_core::store::NewBrand {
            slug: "bench".into(),
            name: "Bench".into(),
            timezone: "UTC".into(),
        })
        .await?;
    Ok((store, ws.id, brand))
}

pub(crate) fn mb(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// A loopback sink that reads request bodies and counts their bytes (a platform's upload
/// endpoint, minus the platform).
async fn sink() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    use axum::routing::post;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/upload",
        post(move |body: axum::body::Body| {
            let counter = counter.clone();
            async move {
                use futures::StreamExt;
                let mut s = body.into_data_stream();
                while let Some(Ok(chunk)) = s.next().await {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/upload", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, received))
}

pub async fn run(args: MediaArgs) -> anyhow::Result<()> {
    let size = args.size_mb.max(1) * 1024 * 1024;
    let chunk = args.chunk_mb.max(1) * 1024 * 1024;
    let dir = tempfile::tempdir()?;
    println!(
        "chorus bench media: a {} MB video, uploaded in {} MB chunks, local storage in {}",
        args.size_mb,
        args.chunk_mb,
        dir.path().display()
    );

    // A video of about `size` bytes: 60 s at 30 fps with samples to match.
    let path = dir.path().join("big.mp4");
    let sample = (size / 1800) as usize;
    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let p = path.clone();
    tokio::task::spawn_blocking(move || chorus_core::media::synthetic::write_mp4(file, 1080, 1920, 60, 30, sample))
        .await?
        .map_err(|e| anyhow::anyhow!("writing the test video: {e}"))?;
    let real_size = std::fs::metadata(&p)?.len();

    let (store, ws, brand) = scratch_brand(dir.path()).await?;
    let tenant = store.tenant(ws);
    let library = MediaLibrary::new(MediaStorage::local(&dir.path().join("store"))?, None);

    // 1. Add it to the library: probe, SHA-256, multipart copy into storage.
    let base = rss();
    let sampler = Sampler::start();
    let t = Instant::now();
    let asset = library.add_file(&tenant, brand.id, &path, None).await?;
    let add_time = t.elapsed();
    let add_peak = sampler.peak().saturating_sub(base);
    drop(sampler);
    println!(
        "  add to library        {:>8.1} MB in {:>6.2} s  ({:>6.0} MB/s)   peak extra RSS {:>7.1} MB",
        mb(real_size),
        add_time.as_secs_f64(),
        mb(real_size) / add_time.as_secs_f64(),
        mb(add_peak)
    );

    // 2. Upload it in chunks the way the host streams a plugin's media slices.
    let (url, received) = sink().await?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let source = library.source(std::slice::from_ref(&asset));
    let id = asset.id.to_string();
    let base = rss();
    let sampler = Sampler::start();
    let t = Instant::now();
    let mut offset = 0;
    let chunks = real_size.div_ceil(chunk);
    let bar = indicatif::ProgressBar::new(chunks).with_message("streamed upload");
    while offset < real_size {
        let (len, body) = media_request_body(source.as_ref(), &id, offset, Some(chunk))
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let resp = http
            .post(&url)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(resp.status().is_success(), "the sink answered {}", resp.status());
        offset += len;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let stream_time = t.elapsed();
    let stream_peak = sampler.peak().saturating_sub(base);
    drop(sampler);
    anyhow::ensure!(
        received.load(Ordering::Relaxed) == real_size,
        "the sink received {} bytes of {real_size}",
        received.load(Ordering::Relaxed)
    );
    println!(
        "  streamed upload       {chunks:>8} chunks in {:>6.2} s  ({:>6.0} MB/s)   peak extra RSS {:>7.1} MB   target: < 100 MB",
        stream_time.as_secs_f64(),
        mb(real_size) / stream_time.as_secs_f64(),
        mb(stream_peak)
    );

    // 3. The old way, for one chunk: the whole asset in memory, then the chunk cut from it.
    let base = rss();
    let sampler = Sampler::start();
    let t = Instant::now();
    let whole = library.storage().read_all(&asset.storage_key).await?;
    let first = whole.slice(0..(chunk.min(real_size) as usize));
    let resp = http.post(&url).body(first).send().await?;
    anyhow::ensure!(resp.status().is_success(), "the sink answered {}", resp.status());
    let old_time = t.elapsed();
    let old_peak = sampler.peak().saturating_sub(base);
    drop(whole);
    drop(sampler);
    println!(
        "  whole asset per chunk {:>8} chunk  in {:>6.2} s                 peak extra RSS {:>7.1} MB   (the old MediaSource::read)",
        1,
        old_time.as_secs_f64(),
        mb(old_peak)
    );
    println!(
        "  ratio                 streamed upload peak / whole-asset peak = {:.3}",
        stream_peak as f64 / old_peak.max(1) as f64
    );
    Ok(())
}
