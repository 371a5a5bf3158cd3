//! pacer on embassy (work in progress).
#![no_std]
#![forbid(unsafe_code)]

pub use pacer_core::*;
