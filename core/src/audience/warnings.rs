//! The advice Chorus gives about a brand's segments without being asked: too small, too
//! broad, too similar, too many primaries, too few or too many personas, overdue reviews,
//! and audiences below a platform's native-targeting minimum.

use super::AudienceError;
use super::segments::{Audience, Overlap, canvas, parsed_rule, portable_audience, tone_profile};
use super::targeting::{PlatformTargeting, plan};
use crate::domain::AudienceScale;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Two segments sharing at least this share of the smaller one are too similar.
pub const SIMILAR_OVERLAP: f64 = 0.7;
/// A segment holding at least this share of the whole audience is "everyone".
pub const BROAD_SHARE: f64 = 0.8;
/// Segments are due for review every quarter.
pub const REVIEW_DAYS: i64 = 90;
pub const MAX_PRIMARY: usize = 3;
pub const PERSONAS: std::ops::RangeInclusive<usize> = 3..=5;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Warning {
    /// Stable code for filtering: too_small, below_platform_minimum, too_broad, too_similar,
    /// same_message, too_many_primary, persona_count, review_due.
    pub code: &'static str,
    /// The segments it is about (none for brand-wide warnings).
    pub segments: Vec<String>,
    pub message: String,
}

fn warn(code: &'static str, segments: Vec<String>, message: String) -> Warning {
    Warning {
        code,
        segments,
        message,
    }
}

/// Everything worth a warning in the brand's segments, given the platforms in use.
pub async fn check(
    audience: &Audience<'_>,
    platforms: &[PlatformTargeting],
    now: DateTime<Utc>,
) -> Result<Vec<Warning>, AudienceError> {
    let segs = audience.segments().await?;
    let total = audience.total().await?;
    let scale = crate::domain::AudienceScale::parse("brand.audience_scale", &audience.brand.audience_scale)
        .unwrap_or(AudienceScale::Small);
    let min = scale.min_segment_size();
    let mut out = Vec::new();
    let overlap = if segs.len() <= super::segments::MAX_OVERLAP_SEGMENTS {
        Some(audience.overlap(&[]).await?)
    } else {
        None
    };
    for (i, seg) in segs.iter().enumerate() {
        let size = match &overlap {
            Some(o) => o.size(i),
            None => audience.size_of(seg).await?.size,
        };
        let name = seg.name.clone();
        if total > 0 && size < min {
            out.push(warn(
                "too_small",
                vec![name.clone()],
                format!(
                    "{name:?} has {size} people; for a {} brand a segment needs at least {min} to be worth a tailored message. Widen its rule or merge it",
                    scale.as_str()
                ),
            ));
        }
        if parsed_rule(seg)?.is_none() {
            out.push(warn(
                "too_broad",
                vec![name.clone()],
                format!("{name:?} has no rule: it is everyone, which no single message fits. Narrow it by need, place or behaviour"),
            ));
        } else if total >= 100 && size as f64 >= BROAD_SHARE * total as f64 {
            out.push(warn(
                "too_broad",
                vec![name.clone()],
                format!(
                    "{name:?} holds {size} of {total} people ({:.0}%): close to everyone. Narrow it so the message can be specific",
                    100.0 * size as f64 / total as f64
                ),
            ));
        }
        let aud = portable_audience(seg)?;
        let platform_size = aud.estimated_size.unwrap_or(size);
        for p in platforms {
            let pl = plan(&aud, p, Some(platform_size));
            if !pl.meets_minimum {
                out.push(warn(
                    "below_platform_minimum",
                    vec![name.clone()],
                    format!(
                        "{name:?} targets {} people; {} needs at least {} for native targeting, so posts to it cannot be targeted there",
                        platform_size,
                        p.name,
                        p.min_audience.unwrap_or(0)
                    ),
                ));
            }
        }
        let reviewed = seg.reviewed_at.unwrap_or(seg.created_at);
        if now - reviewed > Duration::days(REVIEW_DAYS) {
            out.push(warn(
                "review_due",
                vec![name.clone()],
                format!(
                    "{name:?} was last reviewed on {}; review segments quarterly (`chorus segment review`) and when launching a product or entering a market",
                    reviewed.format("%Y-%m-%d")
                ),
            ));
        }
    }
    if let Some(o) = &overlap {
        similar(&segs, o, &mut out)?;
    }
    let primaries: Vec<String> = segs.iter().filter(|s| s.is_primary).map(|s| s.name.clone()).collect();
    if primaries.len() > MAX_PRIMARY {
        out.push(warn(
            "too_many_primary",
            primaries.clone(),
            format!(
                "{} primary segments ({}); focus on 2-3 so each gets real attention",
                primaries.len(),
                primaries.join(", ")
            ),
        ));
    }
    let personas = audience.personas().await?.len();
    if !segs.is_empty() && !PERSONAS.contains(&personas) {
        out.push(warn(
            "persona_count",
            Vec::new(),
            format!(
                "brand {} has {personas} persona(s); work with 3-5, each a named representative of a segment",
                audience.brand.slug
            ),
        ));
    }
    Ok(out)
}

fn similar(
    segs: &[crate::store::entity::audience_segment::Model],
    o: &Overlap,
    out: &mut Vec<Warning>,
) -> Result<(), AudienceError> {
    for a in 0..segs.len() {
        for b in a + 1..segs.len() {
            let (sa, sb) = (o.size(a), o.size(b));
            let smaller = sa.min(sb);
            let names = vec![segs[a].name.clone(), segs[b].name.clone()];
            if smaller > 0 && o.counts[a][b] as f64 >= SIMILAR_OVERLAP * smaller as f64 {
                out.push(warn(
                    "too_similar",
                    names.clone(),
                    format!(
                        "{:?} and {:?} share {} people, {:.0}% of the smaller; merge them or make them distinct",
                        names[0],
                        names[1],
                        o.counts[a][b],
                        100.0 * o.counts[a][b] as f64 / smaller as f64
                    ),
                ));
            }
            let (ca, cb) = (canvas(&segs[a])?, canvas(&segs[b])?);
            let angle = |c: &crate::domain::SegmentCanvas| c.why.angle.as_deref().map(|s| s.trim().to_lowercase());
            if angle(&ca).is_some_and(|x| !x.is_empty())
                && angle(&ca) == angle(&cb)
                && tone_profile(&segs[a])? == tone_profile(&segs[b])?
            {
                out.push(warn(
                    "same_message",
                    names.clone(),
                    format!(
                        "{:?} and {:?} have the same angle and tone, so they would get the same message; give each its own angle or merge them",
                        names[0], names[1]
                    ),
                ));
            }
        }
    }
    Ok(())
}
