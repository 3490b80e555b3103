//! A run folder (`OUT/run=<as-of>/`): what `run` writes and what every later reader
//! (report, sweep, explain, evaluate, the next night's clusters) reads.
//!
//! [`manifest`] is its typed `manifest.json`.

pub mod manifest;

pub use manifest::{Manifest, StageFigures};
