use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// A customer group (people who already buy: retain them) or a target group (people the
/// brand wants to win). Reports keep the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    CustomerGroup,
    TargetGroup,
}

/// Where in the funnel a segment is addressed: broad for awareness, narrow for conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FunnelStage {
    Awareness,
    Consideration,
    Conversion,
    Retention,
}
