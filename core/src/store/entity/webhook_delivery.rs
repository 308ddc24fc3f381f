//! One event for one webhook: the outbox row, its retries, and its log line.
super::entity! {
    table = "webhook_deliveries";
    pub struct Model {
        pub workspace_id: Uuid,
        pub webhook_id: Uuid,
        pub event: String,
        /// The JSON body sent, byte for byte (the signature covers it).
        pub payload: String,
        /// `pending`, `sending`, `delivered` or `dead`.
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        /// While `sending`: another node may take it over after this.
        pub locked_until: Option<DateTimeUtc>,
        pub last_status: Option<i32>,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
    }
}
