//! pacer on smol (work in progress).
#![forbid(unsafe_code)]

pub use pacer_core::*;
