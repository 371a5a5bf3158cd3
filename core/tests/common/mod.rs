//! Support shared by the integration tests of pacer-core: an independent conformance checker
//! ([`check`]) and a driver of random operation sequences ([`drive`]).
//!
//! Each test file uses part of it, hence the `dead_code` allowance; `pub` here means "for the
//! test files", hence `unreachable_pub`.
#![allow(dead_code, unreachable_pub)]

pub mod check;
pub mod drive;
pub mod keyed;
pub mod rng;
