//! pacer on tokio (work in progress).
#![forbid(unsafe_code)]

pub use pacer_core::*;
