//! One post x one account x one segment: what was (or will be) sent, when, and the outcome.
super::entity! {
    table = "deliveries";
    pub struct Model {
        pub workspace_id: Uuid,
        pub post_id: Uuid,
        pub social_account_id: Uuid,
        pub segment_id: Option<Uuid>,
        /// The segment's membership snapshot when the delivery was planned.
        pub segment_snapshot_id: Option<Uuid>,
        pub status: DeliveryStatus,
        #[sea_orm(column_type = "Text", nullable)]
        pub adapted_text: Option<String>,
        /// The plugin's full adaptation: thread parts, hashtags, media selection, warnings.
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub adaptation: Option<Json>,
        /// The native targeting sent to the platform.
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub targeting: Option<Json>,
        pub scheduled_at: Option<DateTimeUtc>,
        /// The IANA zone the instant was planned in.
        pub timezone: String,
        pub remote_id: Option<String>,
        pub remote_url: Option<String>,
        pub attempts: i32,
        #[sea_orm(column_type = "Text", nullable)]
        pub last_error: Option<String>,
        #[sea_orm(unique)]
        pub idempotency_key: String,
        pub published_at: Option<DateTimeUtc>,
        /// When the delivery may next be claimed: its instant, or a retry's backoff.
        pub run_at: Option<DateTimeUtc>,
        /// The current attempt's fence; a worker's writes name it.
        pub lease_token: Option<Uuid>,
        pub lease_expires_at: Option<DateTimeUtc>,
        pub claimed_by: Option<String>,
        /// A publish may have reached the platform: look it up before publishing again.
        pub lookup_first: bool,
        /// Why the last attempt did not publish (`FailureKind`).
        pub error_kind: Option<String>,
        /// Further remote ids of a published delivery (thread replies, first comment).
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub extra_ids: Option<Json>,
        /// Lineage: the post revision, and the plugin that adapted it.
        pub post_revision: i32,
        pub plugin_id: Option<String>,
        pub plugin_version: Option<String>,
        /// The fire instant of a recurring post's delivery; NULL for a one-off delivery and
        /// for a recurring post's templates (which are never claimed).
        pub occurrence: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
