//! pacer on async-std (work in progress).
#![forbid(unsafe_code)]

pub use pacer_core::*;
