//! pacer on futures-timer (work in progress).
#![forbid(unsafe_code)]

pub use pacer_core::*;
