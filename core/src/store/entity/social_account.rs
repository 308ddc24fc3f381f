//! A brand's account on one platform.
super::entity! {
    table = "social_accounts";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub platform: String,
        pub handle: String,
        /// The platform's own id for the account (page id, organization URN, user id).
        pub remote_id: String,
        pub display_name: Option<String>,
        pub timezone: String,
        /// The account's own server on a federated platform (`https://fosstodon.org`);
        /// `None`: the platform's API base.
        pub api_base: Option<String>,
        pub status: AccountStatus,
        /// Sealed by `crate::secrets`; open it through the repository, never directly.
        #[serde(skip)]
        pub credentials: Option<Vec<u8>>,
        pub credentials_expire_at: Option<DateTimeUtc>,
        #[sea_orm(column_type = "JsonBinary")]
        pub scopes: super::StringList,
        /// The worker refreshing the token now, and until when its lock holds.
        pub refresh_holder: Option<String>,
        pub refresh_until: Option<DateTimeUtc>,
        /// The platform asked this account to slow down (429) until then.
        pub paused_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
