//! An uploaded image, video or document; the bytes live in media storage under `storage_key`.
super::entity! {
    table = "media_assets";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub kind: MediaKind,
        pub mime_type: String,
        pub byte_size: i64,
        pub width: Option<i32>,
        pub height: Option<i32>,
        pub duration_ms: Option<i64>,
        pub sha256: String,
        pub storage_key: String,
        pub alt_text: Option<String>,
        pub created_at: DateTimeUtc,
        pub codec: Option<String>,
        pub frame_rate: Option<f64>,
        pub original_name: Option<String>,
    }
}
