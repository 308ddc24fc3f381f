//! Media files for tests, made on the spot (see [`chorus_core::media::synthetic`]).

pub use chorus_core::media::synthetic::{jpeg, mp4, png};
