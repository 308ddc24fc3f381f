//! The media library: files a brand posts with (images, videos), read and checked by
//! Chorus itself, stored through [`storage::MediaStorage`], handed to plugins either as a
//! signed URL the platform fetches ([`signing::UrlSigner`]) or as bytes streamed into the
//! plugin's upload requests ([`StoredMedia`]).
//!
//! - [`probe`]: what a file is, from its bytes.
//! - [`fetch`]: files named by a URL, downloaded as they stream.
//! - [`storage`]: local files or an S3-compatible bucket.
//! - [`signing`]: `/media/{id}?exp=…&sig=…` URLs.
//! - [`rules`]: a post's media against a platform's `describe` rules, at compose time.
//! - [`synthetic`]: generated images and videos (tests, benchmarks, the demo).
//!
//! Thumbnails and video poster frames belong here too when they come (a `derived/` key
//! beside each asset's); nothing makes them yet.

pub mod fetch;
pub mod probe;
pub mod rules;
pub mod signing;
pub mod storage;
pub mod synthetic;

use crate::plugins::{MediaSource, MediaStream, types};
use crate::store::NewMediaAsset;
use crate::store::Tenant;
use crate::store::entity::media_asset;
use crate::{Invalid, StoreError};
use chrono::Utc;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

pub use probe::{ProbeError, Probed, probe_file};
pub use signing::{UrlRefused, UrlSigner};
pub use storage::{MediaStorage, S3Settings, StorageError};

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
}

impl From<Invalid> for MediaError {
    fn from(e: Invalid) -> Self {
        MediaError::Store(e.into())
    }
}

/// The media library of every workspace: storage, and the signer of public URLs when
/// Chorus has a public address.
#[derive(Clone, Debug)]
pub struct MediaLibrary {
    storage: MediaStorage,
    signer: Option<UrlSigner>,
}

impl MediaLibrary {
    pub fn new(storage: MediaStorage, signer: Option<UrlSigner>) -> Self {
        Self { storage, signer }
    }

    pub fn storage(&self) -> &MediaStorage {
        &self.storage
    }

    pub fn signer(&self) -> Option<&UrlSigner> {
        self.signer.as_ref()
    }

    /// Reads the file at `path`, stores it and registers it as an asset of `brand`.
    /// Nothing is registered unless the bytes are stored; a file Chorus cannot read is
    /// refused with what was wrong.
    pub async fn add_file(
        &self,
        tenant: &Tenant<'_>,
        brand: Uuid,
        path: &Path,
        alt_text: Option<String>,
    ) -> Result<media_asset::Model, MediaError> {
        tenant.brands().get(brand).await?;
        if let Some(alt) = &alt_text
            && alt.chars().count() > 1000
        {
            return Err(Invalid::new("media.alt_text", "is longer than 1,000 characters").into());
        }
        let owned = path.to_owned();
        let probed = tokio::task::spawn_blocking(move || probe_file(&owned))
            .await
            .map_err(|e| ProbeError::Damaged {
                path: path.display().to_string(),
                what: "a media file",
                reason: format!("the reader failed ({e})"),
            })??;
        let key = format!("{}/{}", tenant.workspace_id(), crate::domain::new_id());
        self.storage.put_file(&key, path).await?;
        let registered = tenant
            .media()
            .register(new_asset(brand, &probed, key.clone(), alt_text, path))
            .await;
        match registered {
            Ok(asset) => Ok(asset),
            Err(e) => {
                // Not registered: the stored copy would be an orphan.
                let _ = self.storage.delete(&key).await;
                Err(e.into())
            }
        }
    }

    /// Downloads `url` (see [`fetch`]; at most [`fetch::MAX_BYTES`]) and adds it like
    /// [`Self::add_file`]; the temporary copy is removed either way.
    pub async fn add_url(
        &self,
        tenant: &Tenant<'_>,
        brand: Uuid,
        url: &str,
        alt_text: Option<String>,
    ) -> Result<media_asset::Model, MediaError> {
        tenant.brands().get(brand).await?;
        let dir = tempfile::tempdir().map_err(fetch::FetchError::Io)?;
        let path = fetch::download(url, dir.path(), fetch::MAX_BYTES).await?;
        self.add_file(tenant, brand, &path, alt_text).await
    }

    /// Removes an asset no post uses, and its bytes.
    pub async fn remove(&self, tenant: &Tenant<'_>, id: Uuid) -> Result<media_asset::Model, MediaError> {
        let asset = tenant.media().remove(id).await?;
        self.storage.delete(&asset.storage_key).await?;
        Ok(asset)
    }

    /// The bytes of `assets`, for a plugin call that uploads them.
    pub fn source(&self, assets: &[media_asset::Model]) -> Arc<dyn MediaSource> {
        Arc::new(StoredMedia {
            storage: self.storage.clone(),
            assets: assets
                .iter()
                .map(|a| (a.id.to_string(), (a.storage_key.clone(), a.byte_size.max(0) as u64)))
                .collect(),
        })
    }

    /// `refs` with a signed URL on each, valid for `lifetime` (none without a public
    /// address).
    pub fn with_urls(&self, mut refs: Vec<types::MediaRef>, lifetime: std::time::Duration) -> Vec<types::MediaRef> {
        if let Some(s) = &self.signer {
            let expires = Utc::now() + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(2));
            for r in &mut refs {
                if let Ok(id) = r.id.parse::<Uuid>() {
                    r.url = Some(s.url(id, expires));
                }
            }
        }
        refs
    }
}

fn new_asset(brand: Uuid, p: &Probed, key: String, alt_text: Option<String>, path: &Path) -> NewMediaAsset {
    NewMediaAsset {
        brand_id: brand,
        kind: p.kind,
        mime_type: p.mime_type.clone(),
        byte_size: p.byte_size as i64,
        width: p.width.map(|w| w as i32),
        height: p.height.map(|h| h as i32),
        duration_ms: p.duration_ms.map(|d| d as i64),
        sha256: p.sha256.clone(),
        storage_key: key,
        alt_text,
        codec: p.codec.clone(),
        frame_rate: p.frame_rate,
        original_name: path
            .file_name()
            .map(|n| n.to_string_lossy().chars().take(255).collect()),
    }
}

/// The stored bytes of one call's media: only the assets of the post being published are
/// reachable, by the ids the plugin was given.
struct StoredMedia {
    storage: MediaStorage,
    /// Asset id → (storage key, size).
    assets: HashMap<String, (String, u64)>,
}

impl StoredMedia {
    fn get(&self, id: &str) -> Result<&(String, u64), String> {
        self.assets
            .get(id)
            .ok_or_else(|| format!("media asset {id:?} is not part of this post"))
    }
}

#[async_trait::async_trait]
impl MediaSource for StoredMedia {
    async fn size(&self, media_id: &str) -> Result<u64, String> {
        Ok(self.get(media_id)?.1)
    }

    async fn stream(&self, media_id: &str, range: std::ops::Range<u64>) -> Result<MediaStream, String> {
        let (key, _) = self.get(media_id)?;
        self.storage.stream(key, range).await.map_err(|e| e.to_string())
    }
}
