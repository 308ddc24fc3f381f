//! A browser's signed-in session. The cookie holds the secret; the row only its SHA-256.
super::entity! {
    table = "sessions";
    pub struct Model {
        pub user_id: Uuid,
        pub secret_hash: String,
        /// The synchronizer token unsafe requests from this session must echo.
        pub csrf_token: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
    }
}
