//! The guest SDK for Chorus platform plugins.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2`. It implements [`Plugin`] for a
//! type and exports it with one macro:
//!
//! ```text
//! use chorus_plugin_sdk::prelude::*;
//!
//! struct Mastodon;
//!
//! impl Plugin for Mastodon {
//!     fn describe() -> Description { /* the platform's rules as data */ }
//!     fn adapt(post: Post, segment: Option<Segment>, account: Account) -> Result<Adapted, PluginError> { /* ... */ }
//!     // publish, find_published, fetch_metrics
//! }
//!
//! chorus_plugin_sdk::export_plugin!(Mastodon);
//! ```
//!
//! Beside the bindings, the SDK holds the logic every platform shares, so no plugin copies
//! another's: length counting by each platform's rule ([`text`]), hashtag and mention
//! handling ([`tags`]), thread splitting ([`thread`]), tone transforms driven by the
//! segment ([`tone`]), a whole `adapt` pipeline built from those ([`adapt`]), and HTTP with
//! the platform's errors mapped to the contract's typed errors ([`http`]).

pub mod adapt;
pub mod http;
pub mod tags;
pub mod text;
pub mod thread;
pub mod tone;

/// Generated bindings for `chorus:plugin@0.1.0` (from `plugins/wit/since_v0.1.0`).
pub mod bindings {
    wit_bindgen::generate!({
        world: "platform",
        path: "../wit/since_v0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_platform",
        default_bindings_module: "chorus_plugin_sdk::bindings",
    });
}

pub use bindings::Guest as Plugin;
pub use bindings::chorus::plugin::host;
pub use bindings::chorus::plugin::types;

/// The WIT contract version this SDK implements.
pub const API_VERSION: &str = "0.1.0";

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::Plugin;
    pub use crate::adapt::{AdaptRules, adapt_post};
    pub use crate::http::{Request, Response, error_from_status};
    pub use crate::types::*;
    pub use crate::{invalid, transient};
}

/// Exports `$ty` (which implements [`Plugin`]) as the component's `platform` world.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ident) => {
        $crate::bindings::__export_platform!($ty with_types_in $crate::bindings);
    };
}

impl types::Audience {
    /// No audience restriction: everyone the platform would show the post to.
    pub fn everyone() -> Self {
        Self {
            mode: types::TargetingMode::Prefer,
            countries: vec![],
            regions: vec![],
            cities: vec![],
            age_min: None,
            age_max: None,
            genders: vec![],
            languages: vec![],
            industries: vec![],
            seniorities: vec![],
            job_functions: vec![],
            company_sizes: vec![],
            interests: vec![],
            estimated_size: None,
        }
    }

    /// Whether the segment names no portable attribute to target.
    pub fn is_everyone(&self) -> bool {
        self.countries.is_empty()
            && self.regions.is_empty()
            && self.cities.is_empty()
            && self.age_min.is_none()
            && self.age_max.is_none()
            && self.genders.is_empty()
            && self.languages.is_empty()
            && self.industries.is_empty()
            && self.seniorities.is_empty()
            && self.job_functions.is_empty()
            && self.company_sizes.is_empty()
            && self.interests.is_empty()
    }
}

/// A permanent input error naming the field and what is allowed.
pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> types::PluginError {
    types::PluginError::InvalidInput(types::InvalidInput {
        field: field.into(),
        message: message.into(),
    })
}

/// A retryable error.
pub fn transient(message: impl Into<String>) -> types::PluginError {
    types::PluginError::Transient(message.into())
}
