//! A post as composed, before it is adapted per platform and segment.
super::entity! {
    table = "posts";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub author_id: Option<Uuid>,
        pub campaign_id: Option<Uuid>,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub link: Option<String>,
        #[sea_orm(column_type = "JsonBinary")]
        pub hashtags: super::StringList,
        pub locale: String,
        pub title: Option<String>,
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub options: Option<crate::domain::PostOptions>,
        pub status: PostStatus,
        pub status_changed_at: DateTimeUtc,
        pub revision: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
