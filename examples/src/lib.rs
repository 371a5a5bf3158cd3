//! Shared helpers of the example programs: the simulated API that the `api_client*` examples
//! call, with what it records ([`api`]), and the lines they print ([`report`]). Each example
//! keeps only its runtime's wiring.

pub mod api;
pub mod report;
mod rng;
