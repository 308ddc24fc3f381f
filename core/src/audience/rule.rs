//! The segment rule tree: parsed from JSON with an error that names the path to the bad
//! node and what is allowed there. Parsing checks everything that can be checked without
//! the database (operators against attribute types, value shapes, ranges), so compiling to
//! SQL only has to look up other segments.

use super::attributes::{AttrKind, Attribute};
use crate::Invalid;
use crate::domain::{Basis, EVENT_KINDS};
use chrono::NaiveDate;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A rule over a brand's contacts.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Every rule holds, and none of `exclude`.
    All {
        rules: Vec<Rule>,
        exclude: Vec<Rule>,
    },
    /// At least one rule holds, and none of `exclude`.
    Any {
        rules: Vec<Rule>,
        exclude: Vec<Rule>,
    },
    Not(Box<Rule>),
    Attribute(AttributeRule),
    Event(EventRule),
    Rfm(RfmRule),
    /// Member of another segment of the same brand (by name).
    Segment(String),
    Lookalike(LookalikeRule),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRule {
    pub attribute: Attribute,
    pub op: Op,
}

/// An operator with its operands, already checked against the attribute's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Scalar),
    Neq(Scalar),
    Gt(Scalar),
    Gte(Scalar),
    Lt(Scalar),
    Lte(Scalar),
    Between(Scalar, Scalar),
    In(Vec<Scalar>),
    NotIn(Vec<Scalar>),
    Contains(String),
    StartsWith(String),
    IsEmpty,
    IsNotEmpty,
    InLastDays(u32),
    Before(NaiveDate),
    After(NaiveDate),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
}

/// "At least 3 purchases in the last 90 days", "no purchase in 180 days",
/// "spent at least 500 SEK in the last year".
#[derive(Debug, Clone, PartialEq)]
pub struct EventRule {
    pub kind: &'static str,
    pub platform: Option<String>,
    pub within_days: Option<u32>,
    pub measure: EventMeasure,
    pub compare: Compare,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventMeasure {
    Count,
    /// Sum of purchase amounts in one currency, compared in minor units.
    Total {
        currency: String,
    },
}

/// A numeric comparison: `{"gte": 3}`, `{"between": [1, 5]}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compare {
    Eq(f64),
    Neq(f64),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Between(f64, f64),
}

impl Compare {
    pub fn holds(self, x: f64) -> bool {
        match self {
            Compare::Eq(v) => x == v,
            Compare::Neq(v) => x != v,
            Compare::Gt(v) => x > v,
            Compare::Gte(v) => x >= v,
            Compare::Lt(v) => x < v,
            Compare::Lte(v) => x <= v,
            Compare::Between(a, b) => x >= a && x <= b,
        }
    }

    pub fn scaled(self, by: f64) -> Compare {
        match self {
            Compare::Eq(v) => Compare::Eq(v * by),
            Compare::Neq(v) => Compare::Neq(v * by),
            Compare::Gt(v) => Compare::Gt(v * by),
            Compare::Gte(v) => Compare::Gte(v * by),
            Compare::Lt(v) => Compare::Lt(v * by),
            Compare::Lte(v) => Compare::Lte(v * by),
            Compare::Between(a, b) => Compare::Between(a * by, b * by),
        }
    }
}

/// RFM scores (1-5 each, quintiles over the brand's purchasers), by named cell or ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmRule {
    pub window_days: Option<u32>,
    pub recency: Option<Compare>,
    pub frequency: Option<Compare>,
    pub monetary: Option<Compare>,
    pub cell: Option<RfmCell>,
}

/// The usual named cells of the recency × frequency grid; together they cover all 25.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RfmCell {
    Champions,
    Loyal,
    PotentialLoyalists,
    NewCustomers,
    Promising,
    NeedsAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

impl RfmCell {
    pub const ALL: [(RfmCell, &'static str); 11] = [
        (RfmCell::Champions, "champions"),
        (RfmCell::Loyal, "loyal"),
        (RfmCell::PotentialLoyalists, "potential_loyalists"),
        (RfmCell::NewCustomers, "new_customers"),
        (RfmCell::Promising, "promising"),
        (RfmCell::NeedsAttention, "needs_attention"),
        (RfmCell::AboutToSleep, "about_to_sleep"),
        (RfmCell::AtRisk, "at_risk"),
        (RfmCell::CantLoseThem, "cant_lose_them"),
        (RfmCell::Hibernating, "hibernating"),
        (RfmCell::Lost, "lost"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// The (recency, frequency) cells this name covers.
    pub fn covers(self, r: u8, f: u8) -> bool {
        match self {
            RfmCell::Champions => r >= 4 && f >= 4,
            RfmCell::Loyal => r == 3 && f >= 4,
            RfmCell::PotentialLoyalists => r >= 4 && f == 3,
            RfmCell::NewCustomers => r == 5 && f == 1,
            RfmCell::Promising => (r == 5 && f == 2) || (r == 4 && f <= 2),
            RfmCell::NeedsAttention => r == 3 && f == 3,
            RfmCell::AboutToSleep => r == 3 && f <= 2,
            RfmCell::AtRisk => r <= 2 && (3..=4).contains(&f),
            RfmCell::CantLoseThem => r <= 2 && f == 5,
            RfmCell::Hibernating => r == 2 && f <= 2,
            RfmCell::Lost => r == 1 && f <= 2,
        }
    }

    /// Which named cell a (recency, frequency) pair falls in.
    pub fn of(r: u8, f: u8) -> RfmCell {
        Self::ALL
            .iter()
            .map(|(c, _)| *c)
            .find(|c| c.covers(r, f))
            .unwrap_or(RfmCell::Lost)
    }
}

/// The top `percent` of non-members most like the seed segment's members.
#[derive(Debug, Clone, PartialEq)]
pub struct LookalikeRule {
    pub seed: String,
    pub percent: f64,
}

type Parsed<T> = Result<T, Invalid>;

fn err<T>(path: &str, msg: impl Into<String>) -> Parsed<T> {
    Err(Invalid::new(path, msg))
}

const NODE_KINDS: &str = "a node is one of {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}}, \
    {\"attribute\", \"op\", \"value\"}, {\"event\", ...}, {\"rfm\": {...}}, {\"segment\": \"name\"}, \
    {\"lookalike\": {\"seed\", \"percent\"}}";

impl Rule {
    /// Parses a rule; `path` names its root in error messages (e.g. `rule`).
    pub fn parse(value: &Value, path: &str) -> Parsed<Rule> {
        let Some(obj) = value.as_object() else {
            return err(path, format!("expected an object; {NODE_KINDS}"));
        };
        let has = |k: &str| obj.contains_key(k);
        if has("all") || has("any") {
            let key = if has("all") { "all" } else { "any" };
            only_keys(obj, path, &[key, "exclude"])?;
            let rules = parse_list(&obj[key], &format!("{path}.{key}"), true)?;
            let exclude = match obj.get("exclude") {
                Some(v) => parse_list(v, &format!("{path}.exclude"), false)?,
                None => Vec::new(),
            };
            return Ok(if key == "all" {
                Rule::All { rules, exclude }
            } else {
                Rule::Any { rules, exclude }
            });
        }
        if has("not") {
            only_keys(obj, path, &["not"])?;
            return Ok(Rule::Not(Box::new(Rule::parse(&obj["not"], &format!("{path}.not"))?)));
        }
        if has("attribute") {
            only_keys(obj, path, &["attribute", "op", "value"])?;
            return parse_attribute(obj, path).map(Rule::Attribute);
        }
        if has("event") {
            only_keys(
                obj,
                path,
                &["event", "platform", "within_days", "count", "total", "currency"],
            )?;
            return parse_event(obj, path).map(Rule::Event);
        }
        if has("rfm") {
            only_keys(obj, path, &["rfm"])?;
            return parse_rfm(&obj["rfm"], &format!("{path}.rfm")).map(Rule::Rfm);
        }
        if has("segment") {
            only_keys(obj, path, &["segment"])?;
            return match obj["segment"].as_str() {
                Some(s) if !s.trim().is_empty() => Ok(Rule::Segment(s.trim().to_owned())),
                _ => err(
                    &format!("{path}.segment"),
                    "expected the name of another segment of this brand",
                ),
            };
        }
        if has("lookalike") {
            only_keys(obj, path, &["lookalike"])?;
            return parse_lookalike(&obj["lookalike"], &format!("{path}.lookalike")).map(Rule::Lookalike);
        }
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        err(path, format!("unknown node with keys {keys:?}; {NODE_KINDS}"))
    }

    /// The segmentation bases this rule draws on.
    pub fn bases(&self) -> BTreeSet<Basis> {
        let mut out = BTreeSet::new();
        self.visit(&mut |r| match r {
            Rule::Attribute(a) => {
                if let Some(b) = a.attribute.basis() {
                    out.insert(b);
                }
            }
            Rule::Event(_) | Rule::Rfm(_) => {
                out.insert(Basis::Behavioural);
            }
            Rule::Lookalike(_) => {
                out.insert(Basis::Lookalike);
            }
            _ => {}
        });
        out
    }

    /// Names of the other segments this rule refers to (directly).
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.visit(&mut |r| match r {
            Rule::Segment(s) => out.push(s.clone()),
            Rule::Lookalike(l) => out.push(l.seed.clone()),
            _ => {}
        });
        out
    }

    fn visit(&self, f: &mut dyn FnMut(&Rule)) {
        f(self);
        match self {
            Rule::All { rules, exclude } | Rule::Any { rules, exclude } => {
                for r in rules.iter().chain(exclude) {
                    r.visit(f);
                }
            }
            Rule::Not(r) => r.visit(f),
            _ => {}
        }
    }
}

fn only_keys(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Parsed<()> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return err(
                &format!("{path}.{k}"),
                format!("unexpected key; this node allows {}", allowed.join(", ")),
            );
        }
    }
    Ok(())
}

fn parse_list(v: &Value, path: &str, non_empty: bool) -> Parsed<Vec<Rule>> {
    let Some(items) = v.as_array() else {
        return err(path, "expected a list of rules");
    };
    if non_empty && items.is_empty() {
        return err(path, "a group needs at least one rule");
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| Rule::parse(item, &format!("{path}[{i}]")))
        .collect()
}

fn parse_attribute(obj: &Map<String, Value>, path: &str) -> Parsed<AttributeRule> {
    let name = obj["attribute"].as_str().unwrap_or_default();
    let attribute = Attribute::parse(name).map_err(|m| Invalid::new(format!("{path}.attribute"), m))?;
    let Some(op) = obj.get("op").and_then(Value::as_str) else {
        return err(
            &format!("{path}.op"),
            format!(
                "missing; {} allows: {}",
                attribute.name(),
                attribute.kind().ops().join(", ")
            ),
        );
    };
    let allowed = attribute.kind().ops();
    if !allowed.contains(&op) {
        return err(
            &format!("{path}.op"),
            format!(
                "{op:?} does not apply to {} ({}); allowed: {}",
                attribute.name(),
                attribute.kind().describe(),
                allowed.join(", ")
            ),
        );
    }
    let vpath = format!("{path}.value");
    let value = obj.get("value");
    let kind = attribute.kind();
    let need = |v: Option<&Value>| -> Parsed<Value> {
        v.cloned()
            .ok_or_else(|| Invalid::new(&vpath, format!("missing; {op} needs a value")))
    };
    let op = match op {
        "is_empty" | "is_not_empty" => {
            if value.is_some() {
                return err(&vpath, format!("{op} takes no value"));
            }
            if op == "is_empty" { Op::IsEmpty } else { Op::IsNotEmpty }
        }
        "eq" => Op::Eq(scalar(&kind, &need(value)?, &vpath)?),
        "neq" => Op::Neq(scalar(&kind, &need(value)?, &vpath)?),
        "gt" => Op::Gt(scalar(&kind, &need(value)?, &vpath)?),
        "gte" => Op::Gte(scalar(&kind, &need(value)?, &vpath)?),
        "lt" => Op::Lt(scalar(&kind, &need(value)?, &vpath)?),
        "lte" => Op::Lte(scalar(&kind, &need(value)?, &vpath)?),
        "between" => {
            let v = need(value)?;
            match v.as_array().map(Vec::as_slice) {
                Some([a, b]) => {
                    let a = scalar(&kind, a, &format!("{vpath}[0]"))?;
                    let b = scalar(&kind, b, &format!("{vpath}[1]"))?;
                    if b.less_than(&a) {
                        return err(&vpath, "the lower bound comes first: [low, high]");
                    }
                    Op::Between(a, b)
                }
                _ => return err(&vpath, "expected [low, high]"),
            }
        }
        "in" | "not_in" => {
            let v = need(value)?;
            let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
                return err(&vpath, "expected a non-empty list of values");
            };
            let list = items
                .iter()
                .enumerate()
                .map(|(i, x)| scalar(&kind, x, &format!("{vpath}[{i}]")))
                .collect::<Parsed<Vec<_>>>()?;
            if op == "in" { Op::In(list) } else { Op::NotIn(list) }
        }
        "contains" | "starts_with" => {
            let v = need(value)?;
            let s = match scalar(&kind, &v, &vpath)? {
                Scalar::Text(s) if !s.is_empty() => s,
                _ => return err(&vpath, "expected non-empty text"),
            };
            if op == "contains" {
                Op::Contains(s)
            } else {
                Op::StartsWith(s)
            }
        }
        "in_last" => {
            let v = need(value)?;
            let days = v
                .get("days")
                .and_then(Value::as_u64)
                .filter(|d| (1..=36_500).contains(d));
            match days {
                Some(d) if v.as_object().is_some_and(|o| o.len() == 1) => Op::InLastDays(d as u32),
                _ => return err(&vpath, "expected {\"days\": N} with N from 1 to 36500"),
            }
        }
        "before" | "after" => {
            let d = match scalar(&kind, &need(value)?, &vpath)? {
                Scalar::Date(d) => d,
                _ => return err(&vpath, "expected a date YYYY-MM-DD"),
            };
            if op == "before" { Op::Before(d) } else { Op::After(d) }
        }
        _ => unreachable!("checked against the allowed list above"),
    };
    Ok(AttributeRule { attribute, op })
}

impl Scalar {
    fn less_than(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::Number(a), Scalar::Number(b)) => a < b,
            (Scalar::Date(a), Scalar::Date(b)) => a < b,
            (Scalar::Text(a), Scalar::Text(b)) => a < b,
            _ => false,
        }
    }
}

/// One operand, checked and canonicalised for the attribute's type.
fn scalar(kind: &AttrKind, v: &Value, path: &str) -> Parsed<Scalar> {
    match kind {
        AttrKind::Text | AttrKind::Tags(_) => match v.as_str() {
            Some(s) if matches!(kind, AttrKind::Tags(_)) => crate::domain::tag(path, s).map(Scalar::Text),
            Some(s) => Ok(Scalar::Text(s.to_owned())),
            None => err(path, "expected text"),
        },
        AttrKind::Vocabulary(vocab) => match v.as_str() {
            Some(s) => vocab.check(path, s).map(|c| Scalar::Text(c.to_owned())),
            None => err(path, format!("expected one of: {}", vocab.values.join(", "))),
        },
        AttrKind::Country => match v.as_str() {
            Some(s) => crate::domain::country_code(path, s).map(Scalar::Text),
            None => err(path, "expected an ISO 3166-1 alpha-2 country code such as \"SE\""),
        },
        AttrKind::Language => match v.as_str() {
            Some(s) => crate::domain::language_code(path, s).map(Scalar::Text),
            None => err(path, "expected an ISO 639-1 language code such as \"sv\""),
        },
        AttrKind::Age => match v.as_u64() {
            Some(n) if n <= 130 => Ok(Scalar::Number(n as f64)),
            _ => err(path, "expected an age in whole years from 0 to 130"),
        },
        AttrKind::Date => match v.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
            Some(d) => Ok(Scalar::Date(d)),
            None => err(path, "expected a date YYYY-MM-DD"),
        },
        AttrKind::Bool => match v.as_bool() {
            Some(b) => Ok(Scalar::Bool(b)),
            None => err(path, "expected true or false"),
        },
        AttrKind::Custom => match v {
            Value::String(s) => Ok(Scalar::Text(s.clone())),
            Value::Number(n) => n
                .as_f64()
                .map(Scalar::Number)
                .ok_or_else(|| Invalid::new(path, "number out of range")),
            Value::Bool(b) => Ok(Scalar::Bool(*b)),
            _ => err(path, "expected text, a number or true/false"),
        },
    }
}

fn parse_compare(v: &Value, path: &str, what: &str) -> Parsed<Compare> {
    let allowed = "one of {\"eq\"|\"neq\"|\"gt\"|\"gte\"|\"lt\"|\"lte\": N} or {\"between\": [LOW, HIGH]}";
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        return err(path, format!("expected {allowed} for the {what}"));
    };
    let (op, x) = obj.iter().next().expect("one entry");
    let num = |x: &Value, p: &str| -> Parsed<f64> {
        x.as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| Invalid::new(p, format!("expected a number zero or more for the {what}")))
    };
    let p = format!("{path}.{op}");
    Ok(match op.as_str() {
        "eq" => Compare::Eq(num(x, &p)?),
        "neq" => Compare::Neq(num(x, &p)?),
        "gt" => Compare::Gt(num(x, &p)?),
        "gte" => Compare::Gte(num(x, &p)?),
        "lt" => Compare::Lt(num(x, &p)?),
        "lte" => Compare::Lte(num(x, &p)?),
        "between" => match x.as_array().map(Vec::as_slice) {
            Some([a, b]) => {
                let (a, b) = (num(a, &format!("{p}[0]"))?, num(b, &format!("{p}[1]"))?);
                if b < a {
                    return err(&p, "the lower bound comes first: [low, high]");
                }
                Compare::Between(a, b)
            }
            _ => return err(&p, "expected [low, high]"),
        },
        _ => return err(&p, format!("unknown comparison; expected {allowed}")),
    })
}

fn parse_event(obj: &Map<String, Value>, path: &str) -> Parsed<EventRule> {
    let kind_s = obj["event"].as_str().unwrap_or_default();
    let kind = EVENT_KINDS.check(&format!("{path}.event"), kind_s)?;
    let platform = match obj.get("platform") {
        None => None,
        Some(v) => match v.as_str() {
            Some(p) => Some(
                crate::domain::PlatformId::parse(p)
                    .map_err(|e| Invalid::new(format!("{path}.platform"), e.message))?
                    .as_str()
                    .to_owned(),
            ),
            None => {
                return err(
                    &format!("{path}.platform"),
                    "expected a platform id such as \"instagram\"",
                );
            }
        },
    };
    let within_days = match obj.get("within_days") {
        None => None,
        Some(v) => match v.as_u64().filter(|d| (1..=36_500).contains(d)) {
            Some(d) => Some(d as u32),
            None => return err(&format!("{path}.within_days"), "expected whole days from 1 to 36500"),
        },
    };
    let (measure, compare) = match (obj.get("count"), obj.get("total")) {
        (Some(_), Some(_)) => return err(path, "use either \"count\" or \"total\", not both"),
        (Some(c), None) => {
            if obj.contains_key("currency") {
                return err(&format!("{path}.currency"), "a currency applies to \"total\" only");
            }
            (
                EventMeasure::Count,
                parse_compare(c, &format!("{path}.count"), "number of events")?,
            )
        }
        (None, Some(t)) => {
            if kind != "purchase" {
                return err(
                    &format!("{path}.total"),
                    "only purchases carry amounts; use \"count\" for other events",
                );
            }
            let currency = match obj.get("currency").and_then(Value::as_str) {
                Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => c.to_ascii_uppercase(),
                _ => {
                    return err(
                        &format!("{path}.currency"),
                        "a total needs its ISO 4217 currency (e.g. \"SEK\"); amounts are not converted between currencies",
                    );
                }
            };
            (
                EventMeasure::Total { currency },
                parse_compare(t, &format!("{path}.total"), "amount")?,
            )
        }
        (None, None) => (EventMeasure::Count, Compare::Gte(1.0)),
    };
    Ok(EventRule {
        kind,
        platform,
        within_days,
        measure,
        compare,
    })
}

fn parse_rfm(v: &Value, path: &str) -> Parsed<RfmRule> {
    let Some(obj) = v.as_object() else {
        return err(
            path,
            "expected {\"cell\": NAME} or score ranges {\"recency\"|\"frequency\"|\"monetary\": {...}}",
        );
    };
    only_keys(obj, path, &["cell", "recency", "frequency", "monetary", "window_days"])?;
    let score = |k: &str| -> Parsed<Option<Compare>> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => {
                let p = format!("{path}.{k}");
                let c = parse_compare(v, &p, &format!("{k} score (1-5)"))?;
                // A score is 1-5: a bound outside that range is a typo, not a wish.
                let (lo, hi) = match c {
                    Compare::Between(a, b) => (a, b),
                    Compare::Eq(a)
                    | Compare::Neq(a)
                    | Compare::Gt(a)
                    | Compare::Gte(a)
                    | Compare::Lt(a)
                    | Compare::Lte(a) => (a, a),
                };
                if !(1.0..=5.0).contains(&lo) || !(1.0..=5.0).contains(&hi) {
                    return err(&p, "RFM scores run from 1 to 5");
                }
                Ok(Some(c))
            }
        }
    };
    let cell = match obj.get("cell") {
        None => None,
        Some(c) => {
            let name = c.as_str().unwrap_or_default();
            match RfmCell::ALL.iter().find(|(_, n)| *n == name) {
                Some((cell, _)) => Some(*cell),
                None => {
                    let names: Vec<&str> = RfmCell::ALL.iter().map(|(_, n)| *n).collect();
                    return err(
                        &format!("{path}.cell"),
                        format!("{name:?} is not a named RFM cell; allowed: {}", names.join(", ")),
                    );
                }
            }
        }
    };
    let window_days = match obj.get("window_days") {
        None => None,
        Some(v) => match v.as_u64().filter(|d| (1..=36_500).contains(d)) {
            Some(d) => Some(d as u32),
            None => return err(&format!("{path}.window_days"), "expected whole days from 1 to 36500"),
        },
    };
    let rule = RfmRule {
        window_days,
        recency: score("recency")?,
        frequency: score("frequency")?,
        monetary: score("monetary")?,
        cell,
    };
    if rule.cell.is_none() && rule.recency.is_none() && rule.frequency.is_none() && rule.monetary.is_none() {
        return err(
            path,
            "name a \"cell\" or give at least one of recency, frequency, monetary",
        );
    }
    Ok(rule)
}

fn parse_lookalike(v: &Value, path: &str) -> Parsed<LookalikeRule> {
    let Some(obj) = v.as_object() else {
        return err(path, "expected {\"seed\": SEGMENT NAME, \"percent\": 1-20}");
    };
    only_keys(obj, path, &["seed", "percent"])?;
    let seed = match obj.get("seed").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => {
            return err(
                &format!("{path}.seed"),
                "expected the name of the seed segment (e.g. your best customers)",
            );
        }
    };
    let percent = match obj.get("percent").and_then(Value::as_f64) {
        Some(p) if (1.0..=20.0).contains(&p) => p,
        _ => {
            return err(
                &format!("{path}.percent"),
                "expected a share from 1 to 20 (percent of non-members to take)",
            );
        }
    };
    Ok(LookalikeRule { seed, percent })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_path_to_a_bad_operator() {
        let rule = json!({"all": [
            {"attribute": "country", "op": "in", "value": ["SE"]},
            {"any": [{"attribute": "age", "op": "contains", "value": "3"}]}
        ]});
        let e = Rule::parse(&rule, "rule").unwrap_err();
        assert_eq!(e.field, "rule.all[1].any[0].op");
        assert!(e.message.contains("allowed: eq, neq, gt, gte, lt, lte, between"), "{e}");
    }

    #[test]
    fn names_the_path_to_a_bad_value_and_unknown_attribute() {
        let e = Rule::parse(
            &json!({"attribute": "country", "op": "in", "value": ["SE", "Sweden"]}),
            "rule",
        )
        .unwrap_err();
        assert_eq!(e.field, "rule.value[1]");
        let e = Rule::parse(&json!({"attribute": "shoe_size", "op": "eq", "value": 42}), "rule").unwrap_err();
        assert_eq!(e.field, "rule.attribute");
        assert!(e.message.contains("custom.shoe_size"), "{e}");
        let e = Rule::parse(&json!({"event": "purchase", "total": {"gte": 10}}), "rule").unwrap_err();
        assert_eq!(e.field, "rule.currency");
        let e = Rule::parse(&json!({"rfm": {"recency": {"gte": 6}}}), "rule").unwrap_err();
        assert_eq!(e.field, "rule.rfm.recency");
        let e = Rule::parse(&json!({"lookalike": {"seed": "best", "percent": 50}}), "rule").unwrap_err();
        assert_eq!(e.field, "rule.lookalike.percent");
        let e = Rule::parse(&json!({"all": [], "exclude": []}), "rule").unwrap_err();
        assert_eq!(e.field, "rule.all");
    }

    #[test]
    fn bases_and_references_come_from_the_tree() {
        let r = Rule::parse(
            &json!({"all": [
                {"attribute": "country", "op": "eq", "value": "se"},
                {"event": "purchase", "within_days": 90, "count": {"gte": 3}},
                {"attribute": "interests", "op": "contains", "value": "Fitness"}
            ], "exclude": [{"segment": "Churned"}]}),
            "rule",
        )
        .unwrap();
        let bases: Vec<_> = r.bases().into_iter().map(Basis::as_str).collect();
        assert_eq!(bases, ["geographic", "behavioural", "interest"]);
        assert_eq!(r.references(), ["Churned"]);
    }

    #[test]
    fn rfm_cells_partition_the_grid() {
        for r in 1..=5 {
            for f in 1..=5 {
                let n = RfmCell::ALL.iter().filter(|(c, _)| c.covers(r, f)).count();
                assert_eq!(n, 1, "cell r={r} f={f} is covered {n} times");
            }
        }
        assert_eq!(RfmCell::of(5, 5), RfmCell::Champions);
        assert_eq!(RfmCell::of(1, 5), RfmCell::CantLoseThem);
    }
}
