//! A recurring post: its cron schedule on a zone's wall clock, materialised ahead.
super::entity! {
    table = "recurrences";
    pub struct Model {
        pub workspace_id: Uuid,
        pub post_id: Uuid,
        /// Five POSIX cron fields (`crate::domain::CronSchedule`).
        pub cron: String,
        pub timezone: String,
        /// Occurrences up to this instant have their deliveries.
        pub materialized_until: DateTimeUtc,
        pub ends_at: Option<DateTimeUtc>,
        pub enabled: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
