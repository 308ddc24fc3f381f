//! Adding media from a URL: the file is downloaded to a temporary file as it streams (never
//! whole in memory), capped in size and time, then read and stored like any file.
//!
//! The caller decides who may name a URL. The command line trusts its operator; an API that
//! takes URLs from people must refuse private and loopback addresses first (server-side
//! request forgery), as the plugin host does for plugins.

use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The largest file fetched: the most any platform takes (TikTok's 4 GB).
pub const MAX_BYTES: u64 = 4 * 1024 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Why a URL gave no file.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url:?} is not an http(s) URL")]
    NotHttp { url: String },
    #[error("fetching {url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is larger than {max} bytes, the most any platform takes")]
    TooLarge { url: String, max: u64 },
    #[error("writing the download: {0}")]
    Io(#[from] std::io::Error),
}

/// Downloads `url` into `dir`, under the last segment of its path (the name people see;
/// the type is read from the bytes later). Returns the file's path.
pub async fn download(url: &str, dir: &Path, max: u64) -> Result<PathBuf, FetchError> {
    let parsed = url::Url::parse(url).map_err(|_| FetchError::NotHttp { url: url.into() })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(FetchError::NotHttp { url: url.into() });
    }
    let failed = |e: reqwest::Error| FetchError::Failed {
        url: url.into(),
        reason: crate::plugins::http::error_chain(&e),
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(failed)?;
    let resp = client.get(parsed.clone()).send().await.map_err(failed)?;
    if !resp.status().is_success() {
        return Err(FetchError::Status {
            url: url.into(),
            status: resp.status().as_u16(),
        });
    }
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(FetchError::TooLarge { url: url.into(), max });
    }
    let name = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.chars()
                .filter(|c| c.is_alphanumeric() || "._-".contains(*c))
                .collect::<String>()
        })
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .unwrap_or_else(|| "download".into());
    let path = dir.join(name);
    let mut file = tokio::fs::File::create(&path).await?;
    let mut stream = resp.bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(failed)?;
        got += chunk.len() as u64;
        if got > max {
            return Err(FetchError::TooLarge { url: url.into(), max });
        }
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok(path)
}
