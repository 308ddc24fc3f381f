//! A segment's membership at one moment (members in `segment_members`), versioned per
//! segment, so analytics can say who a delivery was aimed at.
super::entity! {
    table = "segment_snapshots";
    pub struct Model {
        pub workspace_id: Uuid,
        pub brand_id: Uuid,
        pub segment_id: Uuid,
        pub version: i32,
        pub size: i64,
        /// The rule as evaluated and, for lookalikes, the weights used.
        #[sea_orm(column_type = "JsonBinary")]
        pub definition: Json,
        pub created_at: DateTimeUtc,
    }
}
