//! An agency or a company: the unit of tenancy.
super::entity! {
    table = "workspaces";
    pub struct Model {
        pub slug: String,
        pub name: String,
        pub kind: WorkspaceKind,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
