//! The Chorus core: the domain, storage and services, everything that is not HTTP.
//!
//! - [`domain`]: plain types and the invariants that hold whatever stores or shows them
//!   (post lifecycle, roles, time zones, platform ids, cron expressions).
//! - [`store`]: the repository layer over sea-orm; the only place that builds queries,
//!   and the one place tenant isolation is enforced.
//! - [`audience`]: contacts, segment rules compiled to SQL, sizing, overlap, lookalikes,
//!   warnings, priority and native-targeting plans.
//! - [`media`]: the media library: files read and checked, stored locally or on S3,
//!   served to platforms by signed URL or streamed into uploads.
//! - [`secrets`]: sealing of platform credentials at rest.
//! - [`delivery`]: the background loop that later turns scheduled deliveries into posts.

pub mod audience;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod media;
pub mod oauth;
pub mod plugins;
pub mod secrets;
pub mod store;
pub mod webhooks;

pub use error::{Invalid, StoreError};
