//! Listening to the server: reading its rate-limit feedback from a response
//! ([`Feedback`](crate::Feedback)), and adapting a limiter's quota to it
//! ([`Adaptive`](crate::Adaptive)).
//!
//! The parsing takes plain header values and needs no HTTP framework; every bad value is a
//! [`FeedbackError`](crate::FeedbackError), never a panic.

mod adaptive;
mod decision;
mod error;
mod http_date;
mod legacy;
mod number;
mod policy;
mod ratelimit;
mod response;
mod retry_after;
mod structured;

pub use adaptive::Adaptive;
pub use decision::{Decision, Reason};
pub use error::FeedbackError;
pub use policy::Policy;
pub use response::Feedback;
