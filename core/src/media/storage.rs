//! Where media bytes live: the local filesystem under the data directory (one machine), or
//! an S3-compatible bucket (several workers on different machines see the same files),
//! through the `object_store` crate either way.
//!
//! Files go in and come out as streams of fixed-size chunks, so a 500 MB video never sits
//! in memory whole: uploads are multipart puts of [`PART_BYTES`], reads are ranged gets
//! handed on chunk by chunk.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// The size of one part of a multipart upload (S3's minimum is 5 MiB).
pub const PART_BYTES: usize = 8 << 20;

/// An S3-compatible bucket (AWS, MinIO, Garage, Ceph, ...).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    pub bucket: String,
    /// `https://s3.eu-north-1.amazonaws.com`, or a self-hosted server's address.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most self-hosted servers use.
    #[serde(default)]
    pub path_style: bool,
    /// Plain HTTP to the endpoint: for a server on loopback or a private network only.
    #[serde(default)]
    pub allow_http: bool,
}

/// A storage failure, with the key it concerned.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("media storage: {key}: {source}")]
    Store { key: String, source: object_store::Error },
    #[error("media storage: cannot read {path}: {source}")]
    ReadFile { path: String, source: std::io::Error },
    #[error("media storage: {0}")]
    Settings(String),
}

/// The media bytes of every workspace, under keys the media library chooses.
#[derive(Clone)]
pub struct MediaStorage {
    store: Arc<dyn ObjectStore>,
    /// Where it is, for messages (`file:///…`, `s3://bucket`).
    pub location: String,
}

impl std::fmt::Debug for MediaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MediaStorage({})", self.location)
    }
}

impl MediaStorage {
    /// Files under `dir` (created if missing).
    pub fn local(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Settings(format!("{}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StorageError::Settings(format!("{}: {e}", dir.display())))?
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
            location: format!("file://{}", dir.display()),
        })
    }

    /// An S3-compatible bucket.
    pub fn s3(s: &S3Settings) -> Result<Self, StorageError> {
        if s.bucket.trim().is_empty() {
            return Err(StorageError::Settings(
                "media.s3.bucket is empty; name the bucket media is kept in".into(),
            ));
        }
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(s.region.clone().unwrap_or_else(|| "us-east-1".into()))
            .with_virtual_hosted_style_request(!s.path_style)
            .with_allow_http(s.allow_http);
        if let Some(e) = &s.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(k) = &s.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        let store = b
            .build()
            .map_err(|e| StorageError::Settings(format!("media.s3: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            location: format!("s3://{}", s.bucket),
        })
    }

    /// Copies the file at `path` to `key`, one part at a time.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), StorageError> {
        let read_err = |source| StorageError::ReadFile {
            path: path.display().to_string(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(read_err)?;
        let upload = self
            .store
            .put_multipart(&StorePath::from(key))
            .await
            .map_err(|e| self.err(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; PART_BYTES];
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                let n = file.read(&mut buf[filled..]).await.map_err(read_err)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            // At most two parts in flight: memory stays a few parts, whatever the file.
            writer.wait_for_capacity(2).await.map_err(|e| self.err(key, e))?;
            writer.write(&buf[..filled]);
            if filled < buf.len() {
                break;
            }
        }
        writer.finish().await.map_err(|e| self.err(key, e))?;
        Ok(())
    }

    /// Stores `bytes` at `key` (small files: generated demo media, tests).
    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&StorePath::from(key), bytes.into())
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(())
    }

    /// The bytes `range` of `key` as a stream of chunks.
    pub async fn stream(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, StorageError> {
        if range.is_empty() {
            return Ok(futures::stream::empty().boxed());
        }
        let got = self
            .store
            .get_opts(
                &StorePath::from(key),
                GetOptions {
                    range: Some(GetRange::Bounded(range)),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(got.into_stream().map(|r| r.map_err(std::io::Error::other)).boxed())
    }

    /// The whole of `key` in memory (small reads: a test, a probe of a stored file).
    pub async fn read_all(&self, key: &str) -> Result<Bytes, StorageError> {
        let got = self
            .store
            .get(&StorePath::from(key))
            .await
            .map_err(|e| self.err(key, e))?;
        got.bytes().await.map_err(|e| self.err(key, e))
    }

    /// The size of `key`, or an error when it is not there.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        Ok(self
            .store
            .head(&StorePath::from(key))
            .await
            .map_err(|e| self.err(key, e))?
            .size)
    }

    /// Removes `key`; removing a missing key is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, e)),
        }
    }

    fn err(&self, key: &str, source: object_store::Error) -> StorageError {
        StorageError::Store {
            key: format!("{}/{key}", self.location),
            source,
        }
    }
}
