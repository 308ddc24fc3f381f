//! A persona: a named, fictive representative of a segment.
super::entity! {
    table = "personas";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub segment_id: Option<Uuid>,
        pub name: String,
        #[sea_orm(column_type = "JsonBinary")]
        pub profile: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
