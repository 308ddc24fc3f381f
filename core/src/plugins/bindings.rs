//! Host-side bindings, one module per released contract (`plugins/wit/since_v*`), as
//! Zed's extension host keeps them. Chorus works in the latest contract's types; a
//! component built against an older one is called through its module's conversions
//! ([`v0_1_0`]), so it keeps loading and working unchanged.

pub mod v0_1_0;

/// `chorus:plugin@0.2.0`, the latest contract: the types the rest of Chorus uses.
pub mod v0_2_0 {
    wasmtime::component::bindgen!({
        world: "platform",
        path: "../plugins/wit/since_v0.2.0",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });
}

pub use v0_2_0::chorus::plugin::host as host_api;
pub use v0_2_0::chorus::plugin::types;
pub use v0_2_0::{Platform, PlatformPre};

/// The contract versions this host loads, oldest first.
pub const SUPPORTED: &[&str] = &["0.1.0", "0.2.0"];
/// The version new plugins are built against (the SDK's).
pub const LATEST: &str = "0.2.0";
