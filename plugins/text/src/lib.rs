//! What the Chorus host and its plugins must agree on, in one place.
//!
//! The host (`chorus-core`) checks lengths and audience values; the plugins, through the
//! guest SDK, adapt text by the same rules. Both depend on this crate and on nothing of each
//! other: it has no WebAssembly bindings and no host code.
//!
//! - [`text`]: lengths by each platform's rule ([`text::LengthRule`]) and truncation that
//!   never cuts a grapheme or an entity;
//! - [`twitter_text`]: X's count, a port of twitter-text 3.1.0;
//! - [`tags`]: URLs, mentions, hashtags and cashtags in a text;
//! - [`vocab`]: the portable audience vocabularies (company sizes, seniorities, job
//!   functions).

pub mod tags;
pub mod text;
pub mod twitter_text;
pub mod vocab;
