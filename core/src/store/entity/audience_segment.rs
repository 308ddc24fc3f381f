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
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
