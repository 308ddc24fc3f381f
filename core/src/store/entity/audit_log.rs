//! Append-only record of who did what to which object.
super::entity! {
    table = "audit_log";
    pub struct Model {
        pub workspace_id: Uuid,
        pub actor_user_id: Option<Uuid>,
        pub action: String,
        pub subject_kind: String,
        pub subject_id: Option<Uuid>,
        #[sea_orm(column_type = "JsonBinary")]
        pub detail: Json,
        pub at: DateTimeUtc,
    }
}
