//! The contact attributes a rule may use: their column, type and segmentation basis.

use crate::domain::{Basis, COMPANY_SIZES, GENDERS, JOB_FUNCTIONS, RELATIONS, SENIORITIES, TagFacet, Vocabulary};

/// What kind of value an attribute holds, which decides the operators it allows.
#[derive(Clone, Copy)]
pub enum AttrKind {
    Text,
    Vocabulary(&'static Vocabulary),
    Country,
    Language,
    /// Whole years, computed from `birth_date`.
    Age,
    Date,
    Bool,
    Tags(TagFacet),
    /// A custom attribute: text, number or boolean, decided by the value compared with.
    Custom,
}

impl std::fmt::Debug for AttrKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl AttrKind {
    pub fn ops(&self) -> &'static [&'static str] {
        match self {
            AttrKind::Text => &[
                "eq",
                "neq",
                "in",
                "not_in",
                "contains",
                "starts_with",
                "is_empty",
                "is_not_empty",
            ],
            AttrKind::Vocabulary(_) | AttrKind::Country | AttrKind::Language => {
                &["eq", "neq", "in", "not_in", "is_empty", "is_not_empty"]
            }
            AttrKind::Age => &[
                "eq",
                "neq",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
                "is_empty",
                "is_not_empty",
            ],
            AttrKind::Date => &["before", "after", "between", "in_last", "is_empty", "is_not_empty"],
            AttrKind::Bool => &["eq", "neq"],
            AttrKind::Tags(_) => &["contains", "in", "not_in", "is_empty", "is_not_empty"],
            AttrKind::Custom => &[
                "eq",
                "neq",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
                "in",
                "not_in",
                "contains",
                "starts_with",
                "is_empty",
                "is_not_empty",
            ],
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            AttrKind::Text => "text",
            AttrKind::Vocabulary(v) => v.name,
            AttrKind::Country => "country code",
            AttrKind::Language => "language code",
            AttrKind::Age => "age in years",
            AttrKind::Date => "date",
            AttrKind::Bool => "true/false",
            AttrKind::Tags(_) => "list of tags",
            AttrKind::Custom => "custom attribute",
        }
    }
}

/// One attribute: a built-in column, or `custom.KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    Builtin(&'static str),
    Custom(String),
}

struct Def {
    name: &'static str,
    kind: AttrKind,
    basis: Option<Basis>,
}

const fn def(name: &'static str, kind: AttrKind, basis: Option<Basis>) -> Def {
    Def { name, kind, basis }
}

/// Every built-in attribute. The name is also the column, except `age` (from `birth_date`)
/// and `customer` (any relation but prospect) and the tag lists (in `contact_tags`).
const BUILTIN: &[Def] = &[
    def("external_id", AttrKind::Text, None),
    def("relation", AttrKind::Vocabulary(&RELATIONS), Some(Basis::Relation)),
    def("customer", AttrKind::Bool, Some(Basis::Relation)),
    def("consent", AttrKind::Bool, None),
    def("age", AttrKind::Age, Some(Basis::Demographic)),
    def("birth_date", AttrKind::Date, Some(Basis::Demographic)),
    def("gender", AttrKind::Vocabulary(&GENDERS), Some(Basis::Demographic)),
    def("income_band", AttrKind::Text, Some(Basis::Demographic)),
    def("education", AttrKind::Text, Some(Basis::Demographic)),
    def("family", AttrKind::Text, Some(Basis::Demographic)),
    def("language", AttrKind::Language, Some(Basis::Demographic)),
    def("country", AttrKind::Country, Some(Basis::Geographic)),
    def("region", AttrKind::Text, Some(Basis::Geographic)),
    def("city", AttrKind::Text, Some(Basis::Geographic)),
    def("values", AttrKind::Tags(TagFacet::Values), Some(Basis::Psychographic)),
    def(
        "lifestyle",
        AttrKind::Tags(TagFacet::Lifestyle),
        Some(Basis::Psychographic),
    ),
    def("interests", AttrKind::Tags(TagFacet::Interests), Some(Basis::Interest)),
    def("industry", AttrKind::Text, Some(Basis::Firmographic)),
    def(
        "company_size",
        AttrKind::Vocabulary(&COMPANY_SIZES),
        Some(Basis::Firmographic),
    ),
    def(
        "seniority",
        AttrKind::Vocabulary(&SENIORITIES),
        Some(Basis::Firmographic),
    ),
    def(
        "job_function",
        AttrKind::Vocabulary(&JOB_FUNCTIONS),
        Some(Basis::Firmographic),
    ),
    def("signed_up_at", AttrKind::Date, Some(Basis::Behavioural)),
];

impl Attribute {
    pub fn parse(name: &str) -> Result<Attribute, String> {
        if let Some(key) = name.strip_prefix("custom.") {
            check_custom_key(key)?;
            return Ok(Attribute::Custom(key.to_owned()));
        }
        match BUILTIN.iter().find(|d| d.name == name) {
            Some(d) => Ok(Attribute::Builtin(d.name)),
            None => Err(format!(
                "{name:?} is not an attribute; use one of {} or custom.KEY for a custom attribute (e.g. custom.{name})",
                Self::names().join(", ")
            )),
        }
    }

    pub fn names() -> Vec<&'static str> {
        BUILTIN.iter().map(|d| d.name).collect()
    }

    fn def(&self) -> Option<&'static Def> {
        match self {
            Attribute::Builtin(n) => BUILTIN.iter().find(|d| d.name == *n),
            Attribute::Custom(_) => None,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Attribute::Builtin(n) => (*n).to_owned(),
            Attribute::Custom(k) => format!("custom.{k}"),
        }
    }

    pub fn kind(&self) -> AttrKind {
        self.def().map(|d| d.kind).unwrap_or(AttrKind::Custom)
    }

    pub fn basis(&self) -> Option<Basis> {
        self.def().and_then(|d| d.basis)
    }
}

/// Custom keys become JSON paths, so they keep to a safe alphabet.
pub fn check_custom_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "custom attribute key {key:?} must be 1-64 lowercase letters, digits and '_', not starting with a digit"
        ))
    }
}
