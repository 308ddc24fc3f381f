//! What a file is, read from its own bytes: never from its name or what a client says.
//!
//! Images are recognised by their headers (`imagesize`: JPEG, PNG, GIF, WebP); videos by
//! their ISO base media boxes (`mp4`: MP4 and QuickTime files with an H.264, H.265 or VP9
//! track). The MP4 reader seeks past the media data, so probing a large video reads its
//! boxes, not its frames; the SHA-256 pass streams the file in fixed-size blocks.

use crate::domain::MediaKind;
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// Everything Chorus knows about a media file, all of it read from the file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Probed {
    pub kind: MediaKind,
    pub mime_type: String,
    pub byte_size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// The video track's codec (`h264`, `h265`, `vp9`).
    pub codec: Option<String>,
    /// Frames per second of the video track (samples over its duration).
    pub frame_rate: Option<f64>,
    /// Lower-case hexadecimal.
    pub sha256: String,
}

impl Probed {
    /// Width over height, where both are known and the height is not zero.
    pub fn aspect_ratio(&self) -> Option<f64> {
        match (self.width, self.height) {
            (Some(w), Some(h)) if h > 0 => Some(f64::from(w) / f64::from(h)),
            _ => None,
        }
    }
}

/// Why a file cannot be a media asset.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is empty")]
    Empty { path: String },
    #[error(
        "{path} is not a media type Chorus can read (its first bytes are {head}); use a JPEG, PNG, GIF or WebP image, or an MP4/MOV video"
    )]
    Unknown { path: String, head: String },
    #[error("{path} looks like {what} but cannot be read as one: {reason}")]
    Damaged {
        path: String,
        what: &'static str,
        reason: String,
    },
}

/// Reads `path` and says what it is. Blocking: call it from `spawn_blocking`.
pub fn probe_file(path: &Path) -> Result<Probed, ProbeError> {
    let shown = path.display().to_string();
    let read_err = |source| ProbeError::Read {
        path: shown.clone(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let byte_size = file.metadata().map_err(read_err)?.len();
    if byte_size == 0 {
        return Err(ProbeError::Empty { path: shown });
    }
    let mut head = vec![0u8; 64.min(byte_size as usize)];
    file.read_exact(&mut head).map_err(read_err)?;
    file.rewind().map_err(read_err)?;
    let sha256 = sha256_of(&mut file).map_err(read_err)?;
    file.rewind().map_err(read_err)?;

    let image = match imagesize::image_type(&head) {
        Ok(imagesize::ImageType::Jpeg) => Some(("image/jpeg", MediaKind::Image)),
        Ok(imagesize::ImageType::Png) => Some(("image/png", MediaKind::Image)),
        Ok(imagesize::ImageType::Gif) => Some(("image/gif", MediaKind::Gif)),
        Ok(imagesize::ImageType::Webp) => Some(("image/webp", MediaKind::Image)),
        _ => None,
    };
    if let Some((mime, kind)) = image {
        let size = imagesize::reader_size(BufReader::new(&mut file)).map_err(|e| ProbeError::Damaged {
            path: shown.clone(),
            what: "an image",
            reason: e.to_string(),
        })?;
        return Ok(Probed {
            kind,
            mime_type: mime.into(),
            byte_size,
            width: Some(size.width as u32),
            height: Some(size.height as u32),
            duration_ms: None,
            codec: None,
            frame_rate: None,
            sha256,
        });
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return probe_video(&shown, file, byte_size, &head, sha256);
    }
    Err(ProbeError::Unknown {
        path: shown,
        head: head
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    })
}

fn probe_video(
    shown: &str,
    file: std::fs::File,
    byte_size: u64,
    head: &[u8],
    sha256: String,
) -> Result<Probed, ProbeError> {
    let damaged = |reason: String| ProbeError::Damaged {
        path: shown.to_owned(),
        what: "an MP4/MOV video",
        reason,
    };
    let mime = if &head[8..12] == b"qt  " {
        "video/quicktime"
    } else {
        "video/mp4"
    };
    let mp4 = mp4::Mp4Reader::read_header(BufReader::new(file), byte_size).map_err(|e| damaged(e.to_string()))?;
    let mut tracks: Vec<&mp4::Mp4Track> = mp4.tracks().values().collect();
    tracks.sort_by_key(|t| t.track_id());
    let video = tracks
        .into_iter()
        .find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
        .ok_or_else(|| damaged("it has no video track".into()))?;
    let codec = match video.media_type() {
        Ok(mp4::MediaType::H264) => "h264",
        Ok(mp4::MediaType::H265) => "h265",
        Ok(mp4::MediaType::VP9) => "vp9",
        _ => return Err(damaged("its video track's codec is not H.264, H.265 or VP9".into())),
    };
    let track_ms = video.duration().as_millis() as u64;
    let duration_ms = (mp4.duration().as_millis() as u64).max(track_ms);
    let frame_rate = (track_ms > 0).then(|| {
        let fps = f64::from(video.sample_count()) * 1000.0 / track_ms as f64;
        (fps * 100.0).round() / 100.0
    });
    Ok(Probed {
        kind: MediaKind::Video,
        mime_type: mime.into(),
        byte_size,
        width: Some(u32::from(video.width())),
        height: Some(u32::from(video.height())),
        duration_ms: Some(duration_ms),
        codec: Some(codec.into()),
        frame_rate,
        sha256,
    })
}

fn sha256_of(r: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
