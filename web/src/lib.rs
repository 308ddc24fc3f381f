//! The Chorus hub: the `chorus` command line, the HTTP server and the background worker,
//! wired to the core. Handlers stay thin; the work happens in `chorus_core`.

pub mod api;
pub mod audience_cmd;
pub mod bench;
pub mod bench_api;
pub mod bench_audience;
pub mod bench_dispatch;
pub mod bench_media;
pub mod bench_publish;
pub mod cli;
pub mod config;
pub mod demo;
pub mod logging;
pub mod media_cmd;
pub mod metrics;
pub mod plugin_cmd;
pub mod post_cmd;
pub mod queue_cmd;
pub mod scaffold;
pub mod server;
pub mod user_cmd;
