//! Platforms that pull media by URL (Instagram containers, TikTok `PULL_FROM_URL`,
//! Pinterest `image_url`) really fetch it: so do their fakes, which is how an expired or
//! altered signed URL fails a post in the tests as it would on the platform.

use std::time::Duration;

/// The client a fake fetches media with.
pub(crate) fn client() -> std::io::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(std::io::Error::other)
}

/// The bytes at `url`, or why the platform could not fetch them.
pub(crate) async fn fetch(client: &reqwest::Client, url: &str) -> Result<bytes::Bytes, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("the media could not be fetched from {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!(
            "the media could not be fetched: {url} answered {}",
            resp.status()
        ));
    }
    resp.bytes()
        .await
        .map_err(|e| format!("the media could not be fetched from {url}: {e}"))
}

/// What the bytes are, by their first bytes: `jpeg`, `png`, `webp`, `gif`, `mp4` (any ISO
/// media file: MP4, MOV), or `None`.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if bytes.starts_with(b"GIF8") {
        Some("gif")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        Some("mp4")
    } else {
        None
    }
}
