//! A user's role in a workspace (brand_id NULL) or in one brand.
super::entity! {
    table = "memberships";
    pub struct Model {
        pub workspace_id: Uuid,
        pub user_id: Uuid,
        pub brand_id: Option<Uuid>,
        pub role: Role,
        pub created_at: DateTimeUtc,
    }
}
