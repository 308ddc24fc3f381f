//! A workspace's webhook subscription. The signing secret is sealed to the row's id.
super::entity! {
    table = "webhooks";
    pub struct Model {
        pub workspace_id: Uuid,
        pub url: String,
        /// Event types it wants, e.g. `post.published`.
        #[sea_orm(column_type = "JsonBinary")]
        pub events: super::StringList,
        #[serde(skip)]
        pub secret: Vec<u8>,
        pub enabled: bool,
        pub created_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }
}
