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

/// The segment canvas: who has the need, where to reach them, why they would choose us,
/// and the ratings the priority score uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentCanvas {
    /// Who: the need these people have.
    pub who: Option<String>,
    /// Where: affinity from 0.0 (not there) to 1.0 (where they live) per platform id.
    #[serde(rename = "where")]
    pub channels: std::collections::BTreeMap<String, f64>,
    /// Why: the angle and value proposition that would make them choose the brand.
    pub why: SegmentWhy,
    /// 1-5: how well the brand's strengths fit this segment (rated by the user).
    pub fit: Option<u8>,
    /// 1-5: how crowded the segment is with competitors (rated by the user).
    pub competition: Option<u8>,
    /// Estimated value of one member (brand currency) when purchase data does not say.
    pub value_per_member: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentWhy {
    pub angle: Option<String>,
    pub value_proposition: Option<String>,
}

/// A persona: a fictive, named, detailed representative of one segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonaProfile {
    pub demographics: PersonaDemographics,
    pub goals: Vec<String>,
    pub pain_points: Vec<String>,
    pub values: Vec<String>,
    pub media_habits: Vec<String>,
    /// Platform ids, most preferred first.
    pub preferred_channels: Vec<String>,
    /// The message that fits this person.
    pub message: String,
    pub quote: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonaDemographics {
    pub age: Option<u8>,
    pub gender: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub income_band: Option<String>,
    pub education: Option<String>,
    pub family: Option<String>,
}
