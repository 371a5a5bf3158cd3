//! Support for pacer's HTTP examples and benchmarks.
//!
//! [`strict_server`] is a local API server that counts strictly and changes its limit without
//! notice: the server the `api_client_pushback` example and the `pushback` benchmark run
//! against.
#![forbid(unsafe_code)]

pub mod strict_server;
