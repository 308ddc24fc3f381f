//! The portable audience vocabulary: the values a segment's `audience` uses for company
//! size, seniority and job function. Host and plugins read the same lists, so a value the
//! core accepts is one every plugin can look up. The orders are LinkedIn's, whose ids
//! (`urn:li:seniority:N`, `urn:li:function:N`) are positions in these lists.

/// Company size bands, LinkedIn's `staffCountRanges` in order.
pub const COMPANY_SIZES: &[&str] = &[
    "1",
    "2-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
    "5001-10000",
    "10001+",
];

/// Seniority levels, `urn:li:seniority:1..10` in order.
pub const SENIORITIES: &[&str] = &[
    "unpaid", "training", "entry", "senior", "manager", "director", "vp", "cxo", "partner", "owner",
];

/// Job functions, `urn:li:function:1..26` in order.
pub const JOB_FUNCTIONS: &[&str] = &[
    "accounting",
    "administrative",
    "arts_and_design",
    "business_development",
    "community_and_social_services",
    "consulting",
    "education",
    "engineering",
    "entrepreneurship",
    "finance",
    "healthcare_services",
    "human_resources",
    "information_technology",
    "legal",
    "marketing",
    "media_and_communication",
    "military_and_protective_services",
    "operations",
    "product_management",
    "program_and_project_management",
    "purchasing",
    "quality_assurance",
    "real_estate",
    "research",
    "sales",
    "support",
];

/// The 1-based position of `value` in `list` (case-insensitive): LinkedIn's id for it.
pub fn position(list: &[&str], value: &str) -> Option<usize> {
    list.iter()
        .position(|v| v.eq_ignore_ascii_case(value.trim()))
        .map(|i| i + 1)
}
