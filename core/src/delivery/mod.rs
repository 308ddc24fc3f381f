//! The delivery engine: posts become deliveries ([`plan`]), deliveries wait in the queue
//! (states in `crate::domain::DeliveryStatus`, queries in `crate::store::queue`), and
//! engines publish them through the plugins.
//!
//! - [`engine`]: the claim loop, the heartbeat and the drain on shutdown;
//! - [`attempt`]: one attempt, from a claim to an outcome under its lease;
//! - [`rescuer`]: frees the leases of attempts that died;
//! - [`leader`]: one node at a time materialises recurring posts ([`recurrence`]) and
//!   settles finished posts ([`settler`]);
//! - [`backoff`]: when a failed attempt is tried again;
//! - [`budget`]: each account's recent posts, for the platforms' publish budgets;
//! - [`writer`]: group commit of the attempts' fenced writes;
//! - [`stats`]: what happened, for `chorus queue`, `/metrics` and the benchmark.

mod attempt;
pub mod backoff;
pub mod budget;
pub mod engine;
pub mod leader;
pub mod plan;
pub mod recurrence;
pub mod rescuer;
pub mod settler;
pub mod stats;
pub mod sweeper;
pub mod writer;

pub use backoff::Backoff;
pub use engine::{Engine, EngineSettings};
pub use stats::Stats;
