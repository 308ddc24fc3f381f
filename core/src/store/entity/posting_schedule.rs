//! Recurring posting slots for a brand or one of its accounts.
super::entity! {
    table = "posting_schedules";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub social_account_id: Option<Uuid>,
        pub name: String,
        pub cron: String,
        pub timezone: String,
        pub enabled: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
