//! The platform plugins compiled into the `chorus` binary.

/// One bundled plugin: its manifest text, its component, and the component's sha256 as
/// computed by the build (the manifest in the source tree cannot know it).
#[derive(Debug, Clone, Copy)]
pub struct Bundled {
    pub manifest: &'static str,
    pub component: &'static [u8],
    pub sha256: &'static str,
}

/// Every bundled plugin.
pub const BUNDLED: &[Bundled] = include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
