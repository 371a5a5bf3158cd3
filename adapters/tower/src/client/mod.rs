//! The client layer: acquire before each call, listen to the answer.
//!
//! [`PushbackLayer`] wraps any client [`Service`](tower::Service) of `http::Request`s (hyper-util's
//! legacy client, a tonic `Channel`, or a stack of layers over either). Before each call it
//! waits for the shared [`Pushback`] limiter (a rate, and a cap on calls in flight if you set
//! one); when the answer comes it reads what the server says about its limit
//! ([`Feedback`](pacer_core::Feedback)) and acts on it for every caller at once:
//!
//! - `429 Too Many Requests` or `503 Service Unavailable` with `Retry-After`, or the
//!   `RateLimit` fields saying nothing remains (`r=0`) with a reset `t`: the limiter
//!   **pauses**, so no call goes out before the server said, and every call already waiting
//!   moves later by the pause, in order;
//! - with adaptation on ([`PushbackBuilder::adapt`]), a 429 lowers the rate, a stated policy
//!   (`RateLimit-Policy`, `X-RateLimit-Limit` with a window) sets it to the server's rate less
//!   headroom, and successes raise it again, between a floor and a ceiling; an accepted
//!   answer whose window is full then pauses only for what the pace of the requests needs
//!   ([`Adaptive::pause`](pacer_core::Adaptive::pause): nothing at the stated pace), and the
//!   instants calls leave at are held to the stated policy ([`Pushback::acquire`]: the
//!   departure guard);
//! - a header that does not parse, is negative or asks for an absurd pause changes nothing.
//!
//! A gRPC refusal in a trailers-only answer (`200 OK` with `grpc-status` in the head, as
//! tonic sends a handler's error) is heard as its HTTP counterpart: `grpc-status: 8`
//! (`RESOURCE_EXHAUSTED`) as a `429`, `14` (`UNAVAILABLE`) as a `503`, so its `retry-after`
//! metadata pauses every caller. A status in trailers after response messages is not heard.
//!
//! The layer does not retry: a refused call's answer reaches the caller, who sends it again
//! (through the layer, so it waits out the pause).
//!
//! Every decision is a `tracing` event with the `tracing` feature (target
//! `pacer_tower::client`), and the controller's decisions also reach the callback you give it.
//!
//! It runs on any runtime: time comes from a pacer [`Timer`](pacer_core::Timer)
//! (`pacer_tokio::TokioTimer`, `pacer_smol::SmolTimer`, ...).

mod handle;
mod heard;
mod layer;
mod service;

pub use handle::{MAX_GUARDED, Pushback, PushbackBuilder, PushbackLimiter, PushbackPermit};
pub use heard::Heard;
pub use layer::PushbackLayer;
pub use service::{PushbackFuture, PushbackService};
