//! A named lease one node holds for a while (e.g. `recurrences`): the leader for that job.
super::entity! {
    table = "leader_leases";
    pub struct Model {
        #[sea_orm(unique)]
        pub name: String,
        pub holder: String,
        pub expires_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
