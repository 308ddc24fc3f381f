//! An OAuth 2 authorization in progress (connecting an account). The `state` sent to the
//! platform is kept only as its SHA-256; the PKCE verifier is sealed to the row's id.
super::entity! {
    table = "oauth_authorizations";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        /// Who started it (the account is connected on their behalf).
        pub user_id: Uuid,
        pub state_hash: String,
        pub platform: String,
        pub redirect_uri: String,
        pub verifier: Vec<u8>,
        pub handle: String,
        pub remote_id: String,
        pub display_name: Option<String>,
        pub timezone: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }
}
