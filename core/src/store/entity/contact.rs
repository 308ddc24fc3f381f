//! A person in a brand's audience, imported from the brand's own systems.
//! Tags (values, lifestyle, interests) live in `contact_tags`, events in `contact_events`.
super::entity! {
    table = "contacts";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        /// The id in the brand's CRM or shop; imports upsert by it.
        pub external_id: String,
        /// prospect, customer, loyal or ambassador.
        pub relation: String,
        pub consent: bool,
        pub birth_date: Option<Date>,
        pub gender: Option<String>,
        pub income_band: Option<String>,
        pub education: Option<String>,
        pub family: Option<String>,
        pub country: Option<String>,
        pub region: Option<String>,
        pub city: Option<String>,
        pub language: Option<String>,
        pub industry: Option<String>,
        pub company_size: Option<String>,
        pub seniority: Option<String>,
        pub job_function: Option<String>,
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub custom: Option<Json>,
        pub signed_up_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
