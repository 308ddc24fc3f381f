//! The plugin host: runs platform plugins (WebAssembly components implementing
//! `chorus:plugin`, 0.1.0 or 0.2.0) in a sandbox the host controls.
//!
//! - [`bindings`]: the contract versions, and the conversions for older components;
//!
//! - [`manifest`]: `plugin.toml`, what a plugin is and asks for;
//! - [`policy`]: which URLs a plugin may reach ([`Grant`]);
//! - [`limits`]: memory, time, request and size limits per call;
//! - [`cpu`]: guest CPU metered per call, preempted every tick, long runners on a lane;
//! - [`engine`]: compile once, instantiate per call, classify failures;
//! - [`http`], [`host`], [`kv`]: the host imports a plugin may use;
//! - [`registry`]: the loaded plugins, bundled and installed.

pub mod bindings;
pub mod conformance;
pub mod convert;
pub mod cpu;
pub mod engine;
pub mod error;
pub mod host;
pub mod http;
pub mod kv;
pub mod limits;
pub mod manifest;
pub mod policy;
pub mod registry;

pub use bindings::types;
pub use engine::{EngineSettings, Invocation, LoadError, Plugin, PluginEngine};
pub use error::{CallError, CallErrorKind};
pub use http::{Exchange, HttpTrace, MediaSource, MediaStream, MemoryMedia, media_request_body};
pub use kv::{DbKv, KvBackend, MemoryKv};
pub use limits::Limits;
pub use manifest::{Manifest, ManifestError};
pub use policy::Grant;
pub use registry::{BundledPlugin, InstallError, PluginRegistry, PluginSettings};
