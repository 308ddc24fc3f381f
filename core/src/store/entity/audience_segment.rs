//! An audience segment: who a delivery is aimed at, and the tone it is written in.
super::entity! {
    table = "audience_segments";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub name: String,
        pub kind: SegmentKind,
        pub funnel_stage: FunnelStage,
        pub description: Option<String>,
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub rule: Option<Json>,
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub tone: Option<Json>,
        /// The segmentation bases it draws on (`["behavioural", "geographic"]`).
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub bases: Option<Json>,
        /// One of the brand's 2-3 primary segments.
        pub is_primary: bool,
        /// Who / where / why and the priority ratings ([`SegmentCanvas`]).
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub canvas: Option<Json>,
        /// The portable audience platforms may target natively ([`PortableAudience`]).
        #[sea_orm(column_type = "JsonBinary", nullable)]
        pub targeting: Option<Json>,
        /// When a person last confirmed the segment still holds (reviews are due quarterly).
        pub reviewed_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
