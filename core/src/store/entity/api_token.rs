//! An integration's credential: acts for its user in one workspace (or brand) with a role.
super::entity! {
    table = "api_tokens";
    pub struct Model {
        pub workspace_id: Uuid,
        pub user_id: Uuid,
        pub brand_id: Option<Uuid>,
        pub name: String,
        pub role: Role,
        /// The token's first characters, shown in lists so people can tell tokens apart.
        pub prefix: String,
        #[serde(skip)]
        pub secret_hash: String,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
        pub expires_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    }
}
