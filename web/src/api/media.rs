//! A brand's media library: upload images and videos (multipart), list them. Chorus reads
//! every file it is given (type, dimensions, duration, codec) before it keeps it, so the
//! composer can check each platform's media rules before anything is scheduled.

use super::ApiState;
use super::auth::Caller;
use super::extract::ApiPath;
use super::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use chorus_core::domain::Role;
use chorus_core::media::MediaError;
use chorus_core::store::entity::media_asset;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use uuid::Uuid;

/// The largest upload (a long video); larger files are refused while they stream in.
pub const MAX_UPLOAD: usize = 1024 * 1024 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaOut {
    pub id: Uuid,
    /// `image` or `video`.
    pub kind: String,
    pub mime_type: String,
    pub byte_size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    pub codec: Option<String>,
    pub sha256: String,
    pub alt_text: Option<String>,
    pub original_name: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<media_asset::Model> for MediaOut {
    fn from(a: media_asset::Model) -> Self {
        Self {
            id: a.id,
            kind: serde_json::to_value(a.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            mime_type: a.mime_type,
            byte_size: a.byte_size,
            width: a.width,
            height: a.height,
            duration_ms: a.duration_ms,
            codec: a.codec,
            sha256: a.sha256,
            alt_text: a.alt_text,
            original_name: a.original_name,
            created_at: a.created_at,
        }
    }
}

impl From<MediaError> for Problem {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Store(s) => s.into(),
            MediaError::Probe(p) => Problem::invalid("file", p.to_string()),
            MediaError::Fetch(f) => Problem::invalid("url", f.to_string()),
            MediaError::Storage(s) => {
                tracing::error!(error = %s, "media storage failed");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage-unavailable",
                    "Media storage failed",
                )
                .detail("the file could not be stored; nothing was added, try again")
            }
        }
    }
}

/// The brand's media, newest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}/brands/{brand}/media", tag = "media",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    responses((status = 200, body = Vec<MediaOut>), (status = 404, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<Vec<MediaOut>>> {
    let access = caller.access(&api, ws).await?;
    access.require_in(brand, "read media", Role::can_read)?;
    let rows = access.tenant(&api.store).media().list(brand).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image or video (JPEG, PNG, GIF, WebP, MP4, MOV), at most 1 GiB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// What it shows, for people using screen readers (at most 1,000 characters).
    pub alt_text: Option<String>,
}

/// Uploads an image or video into the brand's library (`multipart/form-data` with a `file`
/// part and an optional `alt_text` part). Chorus reads it before keeping it: a file that is
/// not a readable image or video is refused with what was wrong, and nothing is kept.
/// Editors, admins and owners.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/brands/{brand}/media", tag = "media",
    params(("workspace" = Uuid, Path, description = "Workspace id"), ("brand" = Uuid, Path, description = "Brand id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = MediaOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("session" = []), ("token" = [])))]
pub async fn upload(
    State(api): State<ApiState>,
    caller: Caller,
    ApiPath((ws, brand)): ApiPath<(Uuid, Uuid)>,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<MediaOut>)> {
    let access = caller.access(&api, ws).await?;
    access.require_in(brand, "upload media", Role::can_compose)?;
    let Some(library) = &api.media else {
        return Err(
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "no-media-library", "No media library")
                .detail("this server has no media library configured"),
        );
    };
    let mut form = form.map_err(|e| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send multipart/form-data",
        )
        .detail(format!(
            "{}: send the file as the `file` part of a multipart/form-data body",
            e.body_text()
        ))
    })?;
    let dir = tempfile::tempdir().map_err(|e| {
        tracing::error!(error = %e, "no temporary directory for an upload");
        Problem::internal()
    })?;
    let mut file = None;
    let mut alt_text = None;
    let bad = |e: axum::extract::multipart::MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "File too large")
            .detail(format!("uploads are at most {} MiB", MAX_UPLOAD / (1024 * 1024))),
        _ => {
            Problem::new(StatusCode::BAD_REQUEST, "bad-multipart", "The upload could not be read").detail(e.body_text())
        }
    };
    while let Some(mut part) = form.next_field().await.map_err(bad)? {
        match part.name() {
            Some("file") => {
                // Kept under its own name (without any path), which the library records.
                let name = part
                    .file_name()
                    .and_then(|n| std::path::Path::new(n).file_name())
                    .and_then(|n| n.to_str())
                    .filter(|n| !n.is_empty() && !n.starts_with('.'))
                    .unwrap_or("upload")
                    .to_owned();
                let path = dir.path().join(name);
                let mut out = tokio::fs::File::create(&path).await.map_err(|e| {
                    tracing::error!(error = %e, "cannot write an upload");
                    Problem::internal()
                })?;
                let mut written = 0usize;
                while let Some(chunk) = part.chunk().await.map_err(bad)? {
                    written += chunk.len();
                    if written > MAX_UPLOAD {
                        return Err(
                            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", "File too large")
                                .detail(format!("uploads are at most {} MiB", MAX_UPLOAD / (1024 * 1024))),
                        );
                    }
                    out.write_all(&chunk).await.map_err(|e| {
                        tracing::error!(error = %e, "cannot write an upload");
                        Problem::internal()
                    })?;
                }
                out.flush().await.map_err(|_| Problem::internal())?;
                file = Some(path);
            }
            Some("alt_text") => {
                alt_text = Some(part.text().await.map_err(bad)?).filter(|t| !t.trim().is_empty());
            }
            other => {
                return Err(Problem::invalid(
                    other.unwrap_or("(unnamed part)"),
                    "an upload has a `file` part and, optionally, an `alt_text` part",
                ));
            }
        }
    }
    let Some(path) = file else {
        return Err(Problem::invalid("file", "the upload has no `file` part"));
    };
    let asset = library
        .add_file(&access.tenant(&api.store), brand, &path, alt_text)
        .await?;
    Ok((StatusCode::CREATED, Json(asset.into())))
}
