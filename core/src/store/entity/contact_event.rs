//! Something a contact did: a purchase (with money), a sign-up, engagement on a platform.
super::entity! {
    table = "contact_events";
    pub struct Model {
        pub brand_id: Uuid,
        pub contact_id: Uuid,
        pub kind: String,
        pub platform: Option<String>,
        /// In the currency's minor unit (cents); purchases only.
        pub amount_minor: Option<i64>,
        pub currency: Option<String>,
        pub occurred_at: DateTimeUtc,
        /// The event's id in the source system, so re-imports do not double-count.
        pub external_event_id: Option<String>,
        pub created_at: DateTimeUtc,
    }
}
