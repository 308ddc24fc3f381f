//! The platform plugins compiled into the `chorus` binary, built from this workspace by
//! the build script (see `build.rs`).

pub use chorus_core::plugins::BundledPlugin;

/// Every bundled plugin: manifest text, component, and the component's sha256 as computed
/// by the build (the manifest in the source tree cannot know it).
pub const BUNDLED: &[BundledPlugin] = include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
