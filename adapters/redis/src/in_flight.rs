//! `InFlight`: a reserve request that is not abandoned with its reservation.
//!
//! A reserve call can be given up while Redis still has it: the caller drops the future, or
//! the engine's timeout runs out on a server that stalled. Redis still runs the script when
//! the request reaches it, so dropping the request would leave its reservation in the queue
//! with no one to use or cancel it. Instead the request is handed to a background task,
//! which waits for the answer and cancels what it reserved (by the usual rules: only a
//! reservation not yet due, with none made after it, gives its cells back).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use redis::{RedisError, Value};

use crate::engine::Engine;
use crate::runtime;

/// How long a background task listens for the answer to a request given up on. A server
/// that stays silent longer only keeps that reservation's slot unused.
pub(crate) const ABANDONED_WAIT: Duration = Duration::from_secs(10);

/// The request's future, boxed so that it can move to a background task once given up on.
type Request = Pin<Box<dyn Future<Output = Result<Value, RedisError>> + Send>>;

/// A reserve request for `cells`; dropped before its answer, it hands the request to a
/// background task that cancels the reservation Redis makes.
pub(crate) struct InFlight {
    engine: Engine,
    cells: u32,
    /// `None` once answered.
    request: Option<Request>,
}

impl InFlight {
    pub(crate) fn new(engine: Engine, cells: u32, request: Request) -> InFlight {
        InFlight {
            engine,
            cells,
            request: Some(request),
        }
    }
}

impl Future for InFlight {
    type Output = Result<Value, RedisError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(request) = self.request.as_mut() else {
            // Polled again after its answer: a logic error of the caller, not of Redis.
            return Poll::Ready(Err(RedisError::from(std::io::Error::other(
                "reserve request polled after its answer",
            ))));
        };
        let answer = std::task::ready!(request.as_mut().poll(cx));
        self.request = None;
        Poll::Ready(answer)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(request) = self.request.take() else {
            return;
        };
        let engine = self.engine.clone();
        let cells = self.cells;
        runtime::spawn_detached(async move {
            let Some(Ok(value)) = runtime::timeout(ABANDONED_WAIT, request).await else {
                return;
            };
            if let Ok(reservation) = engine.reservation_from(value, cells) {
                let _ = engine.cancel(&reservation).await;
            }
        });
    }
}
