//! An agency or a company: the unit of tenancy.
super::entity! {
    table = "workspaces";
    pub struct Model {
        pub slug: String,
        pub name: String,
        pub kind: WorkspaceKind,
        /// Seeded by `chorus serve --demo`: the only workspace its sandbox routes act on.
        pub sandbox: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
