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
//! segment ([`tone`]), a whole `adapt` pipeline built from those ([`adapt`]), HTTP with
//! the platform's errors mapped to the contract's typed errors ([`http`], and Meta's Graph API
//! in [`meta`]), rich-text spans
//! in bytes and UTF-16 units ([`rich`]) and timestamps ([`time`]). docs/plugins/sdk.md
//! lists every helper by task.

#![warn(missing_docs)]

pub mod adapt;
pub mod http;
pub mod meta;
pub mod progress;
pub mod rich;
pub mod thread;
pub mod time;
pub mod tone;

/// Lengths, entities and vocabularies, shared with the host (the `chorus-text` crate).
pub use chorus_text::{tags, text, twitter_text, vocab};

impl From<types::LengthRule> for text::LengthRule {
    fn from(rule: types::LengthRule) -> Self {
        match rule {
            types::LengthRule::Characters => Self::Characters,
            types::LengthRule::Utf16 => Self::Utf16,
            types::LengthRule::Graphemes => Self::Graphemes,
            types::LengthRule::XWeighted => Self::XWeighted,
            types::LengthRule::Utf8Bytes => Self::Utf8Bytes,
        }
    }
}

/// Generated bindings for `chorus:plugin@0.2.0` (from `plugins/wit/since_v0.2.0`); the
/// contract's own comments are their documentation.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "platform",
        path: "../wit/since_v0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_platform",
        default_bindings_module: "chorus_plugin_sdk::bindings",
    });
}

use types::{Account, Adapted, CallContext, Description, Metrics, PluginError, Post, Published, Segment};

/// What a platform plugin implements. The SDK turns it into the component's exports
/// ([`export_plugin!`]); methods with a default need no code of their own.
pub trait Plugin {
    /// The platform's identity and rules, as data. Must not change between calls.
    fn describe() -> Description;
    /// One post for one segment on one account. Pure: the host refuses HTTP here.
    fn adapt(post: Post, segment: Option<Segment>, account: Account) -> Result<Adapted, PluginError>;
    /// The same post for several segments in one call; by default `adapt` for each.
    fn adapt_segments(
        post: Post,
        segments: Vec<Option<Segment>>,
        account: Account,
    ) -> Vec<Result<Adapted, PluginError>> {
        segments
            .into_iter()
            .map(|s| Self::adapt(post.clone(), s, account.clone()))
            .collect()
    }
    /// Publishes an adaptation; `marker` goes where `find_published` can see it.
    fn publish(adapted: Adapted, marker: String, context: CallContext) -> Result<Published, PluginError>;
    /// Whether the post published with `marker` exists (recovery after a crash).
    fn find_published(marker: String, adapted: Adapted, context: CallContext)
    -> Result<Option<Published>, PluginError>;
    /// The platform's figures for posts it published.
    fn fetch_metrics(remote_ids: Vec<String>, context: CallContext) -> Result<Vec<Metrics>, PluginError>;
}
pub use bindings::chorus::plugin::host;
pub use bindings::chorus::plugin::types;

/// The WIT contract version this SDK implements.
pub const API_VERSION: &str = "0.2.0";

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::Plugin;
    pub use crate::adapt::{AdaptRules, adapt_post, keep_images, media_rule, same_text, targeting_unsupported};
    pub use crate::http::{Request, Response, error_from_status};
    pub use crate::progress::Progress;
    pub use crate::rich::{Span, SpanKind, spans};
    pub use crate::types::*;
    pub use crate::{invalid, transient};
}

/// Exports `$ty` (which implements [`Plugin`]) as the component's `platform` world.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ident) => {
        /// The component's exports, delegating to the plugin's [`Plugin`] impl.
        struct __ChorusExports;

        impl $crate::bindings::Guest for __ChorusExports {
            fn describe() -> $crate::types::Description {
                <$ty as $crate::Plugin>::describe()
            }
            fn adapt(
                post: $crate::types::Post,
                segment: Option<$crate::types::Segment>,
                account: $crate::types::Account,
            ) -> Result<$crate::types::Adapted, $crate::types::PluginError> {
                <$ty as $crate::Plugin>::adapt(post, segment, account)
            }
            fn adapt_segments(
                post: $crate::types::Post,
                segments: Vec<Option<$crate::types::Segment>>,
                account: $crate::types::Account,
            ) -> Vec<Result<$crate::types::Adapted, $crate::types::PluginError>> {
                <$ty as $crate::Plugin>::adapt_segments(post, segments, account)
            }
            fn publish(
                adapted: $crate::types::Adapted,
                marker: String,
                context: $crate::types::CallContext,
            ) -> Result<$crate::types::Published, $crate::types::PluginError> {
                <$ty as $crate::Plugin>::publish(adapted, marker, context)
            }
            fn find_published(
                marker: String,
                adapted: $crate::types::Adapted,
                context: $crate::types::CallContext,
            ) -> Result<Option<$crate::types::Published>, $crate::types::PluginError> {
                <$ty as $crate::Plugin>::find_published(marker, adapted, context)
            }
            fn fetch_metrics(
                remote_ids: Vec<String>,
                context: $crate::types::CallContext,
            ) -> Result<Vec<$crate::types::Metrics>, $crate::types::PluginError> {
                <$ty as $crate::Plugin>::fetch_metrics(remote_ids, context)
            }
        }

        $crate::bindings::__export_platform!(__ChorusExports with_types_in $crate::bindings);
    };
}

impl types::Adapted {
    /// What one publish posts, in order: the thread's parts, or the text alone.
    pub fn parts_to_post(&self) -> Vec<String> {
        if self.parts.is_empty() {
            vec![self.text.clone()]
        } else {
            self.parts.clone()
        }
    }
}

impl types::Post {
    /// A post of `body` alone (locale `en`, no media), for a plugin's unit tests.
    pub fn from_text(body: &str) -> Self {
        Self {
            id: "test".into(),
            title: None,
            body: body.into(),
            link: None,
            hashtags: vec![],
            locale: "en".into(),
            media: vec![],
            options: vec![],
        }
    }
}

impl types::Warning {
    /// A warning: a stable `code` and what changed and why, for a person.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
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

/// The limits of the current call (`host.limits`). Outside WebAssembly (a plugin's unit
/// tests, where there is no host) the host's default limits.
pub fn call_limits() -> host::CallLimits {
    #[cfg(target_arch = "wasm32")]
    {
        host::limits()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        host::CallLimits {
            max_requests: 0,
            max_call_ms: 100,
            max_response_bytes: 8 << 20,
            max_output_items: 1000,
            publish_max_requests: 50,
        }
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
