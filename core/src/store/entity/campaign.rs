//! A named campaign posts can belong to; analytics group by it.
super::entity! {
    table = "campaigns";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub name: String,
        pub created_at: DateTimeUtc,
    }
}
