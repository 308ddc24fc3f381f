//! A brand (an agency's client, or one of a company's brands).
super::entity! {
    table = "brands";
    pub struct Model {
        pub workspace_id: Uuid,
        pub slug: String,
        pub name: String,
        /// The IANA zone the brand plans in.
        pub timezone: String,
        /// small / medium / large: sets how small a segment may be ([`AudienceScale`]).
        pub audience_scale: String,
        /// Bumped by every write to the brand's contacts or events (derived data checks it).
        pub audience_version: i64,
        /// Posts are held until approved (an agency's client signs off first).
        pub requires_approval: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
