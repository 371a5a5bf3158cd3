//! The schedulers: pure, clock-injected state machines that decide when cells may go.
//!
//! Each is given `now` by its caller and owns its state by `&mut`: [`Gcra`](crate::Gcra)
//! (a rate and a burst), [`SlidingWindow`](crate::SlidingWindow), [`DutyCycle`](crate::DutyCycle),
//! [`Limits`](crate::Limits) (several quotas at once) and, with `keyed`, one limit per key.
//! Nothing here reads a clock, sleeps or shares state between threads: that is `shared/` and
//! `future/`.

pub(crate) mod duty_cycle;
pub(crate) mod gcra;
#[cfg(feature = "keyed")]
pub(crate) mod keyed;
pub(crate) mod limits;
pub(crate) mod scheduler;
pub(crate) mod window;
