//! Native targeting: which of a segment's portable attributes a platform can honour on an
//! organic post, which it cannot (reported, never silently dropped), and whether the
//! segment is big enough for the platform's minimum.
//!
//! The facets and minimum come from each plugin's `describe` (one source of truth); the
//! plugin itself turns the portable audience into the platform's JSON when it adapts.

use crate::domain::PortableAudience;
use crate::plugins::types::{Description, TargetingFacet};
use serde::Serialize;

/// What one platform can target, as its plugin describes it.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformTargeting {
    pub platform: String,
    pub name: String,
    pub facets: Vec<&'static str>,
    pub min_audience: Option<u32>,
}

impl From<&Description> for PlatformTargeting {
    fn from(d: &Description) -> Self {
        Self {
            platform: d.id.clone(),
            name: d.name.clone(),
            facets: d.targeting.iter().map(|f| facet_name(*f)).collect(),
            min_audience: d.min_targeting_audience,
        }
    }
}

pub fn facet_name(f: TargetingFacet) -> &'static str {
    match f {
        TargetingFacet::Country => "country",
        TargetingFacet::Region => "region",
        TargetingFacet::City => "city",
        TargetingFacet::Age => "age",
        TargetingFacet::Gender => "gender",
        TargetingFacet::Language => "language",
        TargetingFacet::Industry => "industry",
        TargetingFacet::Seniority => "seniority",
        TargetingFacet::JobFunction => "job_function",
        TargetingFacet::CompanySize => "company_size",
        TargetingFacet::Interest => "interest",
    }
}

/// The facets a portable audience asks for, in a fixed order.
pub fn requested_facets(a: &PortableAudience) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut want = |on: bool, f: &'static str| {
        if on {
            out.push(f);
        }
    };
    want(!a.countries.is_empty(), "country");
    want(!a.regions.is_empty(), "region");
    want(!a.cities.is_empty(), "city");
    want(a.age_min.is_some() || a.age_max.is_some(), "age");
    want(!a.genders.is_empty(), "gender");
    want(!a.languages.is_empty(), "language");
    want(!a.industries.is_empty(), "industry");
    want(!a.seniorities.is_empty(), "seniority");
    want(!a.job_functions.is_empty(), "job_function");
    want(!a.company_sizes.is_empty(), "company_size");
    want(!a.interests.is_empty(), "interest");
    out
}

/// A facet a platform will not apply, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotHonoured {
    pub facet: &'static str,
    pub reason: String,
}

/// What happens to a segment's targeting on one platform.
#[derive(Debug, Clone, Serialize)]
pub struct TargetingPlan {
    pub platform: String,
    pub honoured: Vec<&'static str>,
    pub not_honoured: Vec<NotHonoured>,
    pub min_audience: Option<u32>,
    /// The audience size compared with the minimum.
    pub audience: Option<u64>,
    /// False when native targeting would be refused for being too small.
    pub meets_minimum: bool,
}

impl TargetingPlan {
    /// Whether the post would go out natively targeted at all.
    pub fn targets(&self) -> bool {
        !self.honoured.is_empty() && self.meets_minimum
    }
}

/// Plans a segment's native targeting on one platform.
pub fn plan(a: &PortableAudience, p: &PlatformTargeting, audience: Option<u64>) -> TargetingPlan {
    let requested = requested_facets(a);
    let (honoured, refused): (Vec<_>, Vec<_>) = requested.into_iter().partition(|f| p.facets.contains(f));
    let not_honoured = refused
        .into_iter()
        .map(|facet| NotHonoured {
            facet,
            reason: if p.facets.is_empty() {
                format!(
                    "{} has no audience targeting on organic posts; everyone who follows the account can see it",
                    p.name
                )
            } else {
                format!(
                    "{} cannot target organic posts by {}; it can by {}",
                    p.name,
                    facet.replace('_', " "),
                    p.facets
                        .iter()
                        .map(|f| f.replace('_', " "))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        })
        .collect();
    let meets_minimum = match (p.min_audience, audience, honoured.is_empty()) {
        (_, _, true) => true,
        (Some(min), Some(n), false) => n >= u64::from(min),
        (Some(_), None, false) => false,
        (None, _, false) => true,
    };
    TargetingPlan {
        platform: p.platform.clone(),
        honoured,
        not_honoured,
        min_audience: p.min_audience,
        audience,
        meets_minimum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linkedin() -> PlatformTargeting {
        PlatformTargeting {
            platform: "linkedin".into(),
            name: "LinkedIn".into(),
            facets: vec![
                "country",
                "region",
                "language",
                "industry",
                "seniority",
                "job_function",
                "company_size",
            ],
            min_audience: Some(300),
        }
    }

    #[test]
    fn reports_each_facet_a_platform_cannot_honour() {
        let a = PortableAudience {
            countries: vec!["SE".into()],
            age_min: Some(25),
            seniorities: vec!["manager".into()],
            ..Default::default()
        };
        let p = plan(&a, &linkedin(), Some(5_000));
        assert_eq!(p.honoured, ["country", "seniority"]);
        assert_eq!(p.not_honoured.len(), 1);
        assert_eq!(p.not_honoured[0].facet, "age");
        assert!(
            p.not_honoured[0]
                .reason
                .contains("LinkedIn cannot target organic posts by age"),
            "{:?}",
            p.not_honoured
        );
        assert!(p.targets());

        let x = PlatformTargeting {
            platform: "x".into(),
            name: "X".into(),
            facets: vec![],
            min_audience: None,
        };
        let p = plan(&a, &x, Some(5_000));
        assert!(p.honoured.is_empty());
        assert_eq!(p.not_honoured.len(), 3);
        assert!(p.not_honoured[0].reason.contains("no audience targeting"));
    }

    #[test]
    fn a_segment_below_the_minimum_is_not_targeted() {
        let a = PortableAudience {
            industries: vec!["software".into()],
            ..Default::default()
        };
        let p = plan(&a, &linkedin(), Some(299));
        assert!(!p.meets_minimum);
        assert!(!p.targets());
        assert!(plan(&a, &linkedin(), Some(300)).meets_minimum);
    }
}
