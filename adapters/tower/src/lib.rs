//! # pacer-tower
//!
//! pacer as [`tower`] middleware, runtime-agnostic on pacer's [`Timer`](pacer_core::Timer):
//! - [`server`]: a rate-limit layer a service drops in (keys, quotas by class, several limits
//!   in one decision, 429 with the IETF `RateLimit` fields, or a queue);
//! - [`client`]: a layer for clients that acquires before each call and listens to the
//!   server's answer (429, `Retry-After`, rate-limit headers).
#![forbid(unsafe_code)]

pub mod client;
pub mod server;
