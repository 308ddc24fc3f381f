//! The JSON a person writes to define a segment or a persona, and its validation. Every
//! error names the field (`rule.all[1].value`, `targeting.countries[0]`, `canvas.fit`).

use super::rule::Rule;
use crate::Invalid;
use crate::domain::{
    Basis, COMPANY_SIZES, FunnelStage, GENDERS, JOB_FUNCTIONS, PersonaProfile, PlatformId, PortableAudience,
    SENIORITIES, SegmentCanvas, SegmentKind, ToneProfile, country_code, language_code,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A segment as written in `chorus segment create --file SEGMENT.json` (see docs/segments.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDefinition {
    pub name: String,
    pub kind: SegmentKind,
    pub funnel_stage: FunnelStage,
    #[serde(default)]
    pub primary: bool,
    /// The bases it draws on; derived from the rule when left out.
    #[serde(default)]
    pub bases: Option<Vec<Basis>>,
    #[serde(default)]
    pub description: Option<String>,
    /// No rule: everyone in the brand's audience.
    #[serde(default)]
    pub rule: Option<serde_json::Value>,
    #[serde(default)]
    pub tone: ToneProfile,
    #[serde(default)]
    pub targeting: PortableAudience,
    #[serde(default)]
    pub canvas: SegmentCanvas,
}

/// A validated definition: the parsed rule and the bases to store.
pub struct Checked {
    pub rule: Option<Rule>,
    pub bases: Vec<Basis>,
    /// The targeting with codes in canonical case (`se` → `SE`, `Manager` → `manager`).
    pub targeting: PortableAudience,
}

impl SegmentDefinition {
    pub fn check(&self) -> Result<Checked, Invalid> {
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(Invalid::new("name", "a segment needs a name of 1-200 characters"));
        }
        let rule = self.rule.as_ref().map(|r| Rule::parse(r, "rule")).transpose()?;
        let used = rule.as_ref().map(Rule::bases).unwrap_or_default();
        let bases = match &self.bases {
            None => used.into_iter().collect(),
            Some(declared) => {
                let declared: BTreeSet<Basis> = declared.iter().copied().collect();
                if let Some(missing) = used.iter().find(|b| !declared.contains(b)) {
                    return Err(Invalid::new(
                        "bases",
                        format!(
                            "the rule uses the {} basis, which `bases` does not list; add it or leave `bases` out to derive it",
                            missing.as_str()
                        ),
                    ));
                }
                declared.into_iter().collect()
            }
        };
        check_tone(&self.tone)?;
        let targeting = check_targeting(&self.targeting)?;
        check_canvas(&self.canvas)?;
        Ok(Checked { rule, bases, targeting })
    }
}

fn check_tone(t: &ToneProfile) -> Result<(), Invalid> {
    if let Some(n) = t.max_hashtags {
        if n > 30 {
            return Err(Invalid::new(
                "tone.max_hashtags",
                "at most 30 hashtags (no platform shows more)",
            ));
        }
    }
    for (i, g) in t.glossary.iter().enumerate() {
        if g.term.trim().is_empty() {
            return Err(Invalid::new(
                format!("tone.glossary[{i}].term"),
                "a glossary term cannot be empty",
            ));
        }
    }
    if let Some(v) = &t.language_variant {
        let ok = v.len() == 5
            && v.as_bytes()[2] == b'-'
            && v[..2].bytes().all(|b| b.is_ascii_lowercase())
            && v[3..].bytes().all(|b| b.is_ascii_uppercase());
        if !ok {
            return Err(Invalid::new(
                "tone.language_variant",
                format!("{v:?} is not a language variant like en-GB or pt-BR"),
            ));
        }
    }
    if let Some(cta) = &t.call_to_action {
        if cta.chars().count() > 200 {
            return Err(Invalid::new("tone.call_to_action", "at most 200 characters"));
        }
    }
    Ok(())
}

fn check_targeting(a: &PortableAudience) -> Result<PortableAudience, Invalid> {
    let mut out = a.clone();
    let each = |field: &str, list: &[String], f: &dyn Fn(&str, &str) -> Result<String, Invalid>| {
        list.iter()
            .enumerate()
            .map(|(i, v)| f(&format!("targeting.{field}[{i}]"), v))
            .collect::<Result<Vec<_>, _>>()
    };
    out.countries = each("countries", &a.countries, &|f, v| country_code(f, v))?;
    out.languages = each("languages", &a.languages, &|f, v| language_code(f, v))?;
    out.genders = each("genders", &a.genders, &|f, v| GENDERS.check(f, v).map(str::to_owned))?;
    out.seniorities = each("seniorities", &a.seniorities, &|f, v| {
        SENIORITIES.check(f, v).map(str::to_owned)
    })?;
    out.job_functions = each("job_functions", &a.job_functions, &|f, v| {
        JOB_FUNCTIONS.check(f, v).map(str::to_owned)
    })?;
    out.company_sizes = each("company_sizes", &a.company_sizes, &|f, v| {
        COMPANY_SIZES.check(f, v).map(str::to_owned)
    })?;
    // Platforms target 13-65 (65 meaning 65 and older).
    for (field, age) in [("targeting.age_min", a.age_min), ("targeting.age_max", a.age_max)] {
        if let Some(age) = age {
            if !(13..=65).contains(&age) {
                return Err(Invalid::new(
                    field,
                    format!("{age} is outside 13-65, the ages platforms target"),
                ));
            }
        }
    }
    if let (Some(lo), Some(hi)) = (a.age_min, a.age_max) {
        if lo > hi {
            return Err(Invalid::new("targeting.age_max", format!("{hi} is below age_min {lo}")));
        }
    }
    Ok(out)
}

fn check_canvas(c: &SegmentCanvas) -> Result<(), Invalid> {
    for (platform, affinity) in &c.channels {
        PlatformId::parse(platform).map_err(|e| Invalid::new(format!("canvas.where.{platform}"), e.message))?;
        if !(0.0..=1.0).contains(affinity) {
            return Err(Invalid::new(
                format!("canvas.where.{platform}"),
                format!("{affinity} is not an affinity: use 0.0 (not there) to 1.0 (where they are)"),
            ));
        }
    }
    for (field, rating) in [("canvas.fit", c.fit), ("canvas.competition", c.competition)] {
        if let Some(r) = rating {
            if !(1..=5).contains(&r) {
                return Err(Invalid::new(
                    field,
                    format!("{r} is not a rating: use 1 (low) to 5 (high)"),
                ));
            }
        }
    }
    if let Some(v) = c.value_per_member {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Invalid::new("canvas.value_per_member", "use an amount zero or more"));
        }
    }
    Ok(())
}

/// A persona as written in `chorus persona create --file PERSONA.json`: `name`, `segment`
/// and the [`PersonaProfile`] fields side by side.
#[derive(Debug, Clone, Serialize)]
pub struct PersonaDefinition {
    pub name: String,
    /// The segment (by name) this persona represents.
    pub segment: String,
    #[serde(flatten)]
    pub profile: PersonaProfile,
}

impl PersonaDefinition {
    /// Reads a persona file's JSON; unknown fields are errors, not silently dropped.
    pub fn from_json(value: serde_json::Value) -> Result<Self, Invalid> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(Invalid::new("persona", "expected a JSON object"));
        };
        let mut text = |key: &str| match map.remove(key) {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(_) => Err(Invalid::new(key, "expected text")),
            None => Err(Invalid::new(key, "missing")),
        };
        let name = text("name")?;
        let segment = text("segment")?;
        let profile: PersonaProfile = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Invalid::new("persona", e.to_string()))?;
        let def = Self { name, segment, profile };
        def.check()?;
        Ok(def)
    }

    pub fn check(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return Err(Invalid::new("name", "a persona needs a name, e.g. \"Ambitious Anna\""));
        }
        let p = &self.profile;
        for (field, list) in [("goals", &p.goals), ("pain_points", &p.pain_points)] {
            if list.iter().all(|s| s.trim().is_empty()) {
                return Err(Invalid::new(
                    field,
                    "list at least one: a persona without them cannot guide a message",
                ));
            }
        }
        if p.message.trim().is_empty() {
            return Err(Invalid::new("message", "write the message that fits this persona"));
        }
        for (i, c) in p.preferred_channels.iter().enumerate() {
            PlatformId::parse(c).map_err(|e| Invalid::new(format!("preferred_channels[{i}]"), e.message))?;
        }
        if let Some(age) = p.demographics.age {
            if !(13..=110).contains(&age) {
                return Err(Invalid::new("demographics.age", "use an age from 13 to 110"));
            }
        }
        Ok(())
    }
}
