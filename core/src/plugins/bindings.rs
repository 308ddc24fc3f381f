//! Host-side bindings for `chorus:plugin@0.1.0`, generated from the frozen WIT.

wasmtime::component::bindgen!({
    world: "platform",
    path: "../plugins/wit/since_v0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
});

pub use chorus::plugin::host as host_api;
pub use chorus::plugin::types;
