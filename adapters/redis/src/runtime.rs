//! What pacer-redis needs from an executor besides its timer: a bound on how long a call to
//! Redis may take, and a detached task for a cancel that a dropped acquisition leaves behind.
//!
//! Inside a tokio runtime both are tokio's. Elsewhere, with the `smol` feature, they are
//! smol's (its global executor and async-io's timer): the same choice redis-rs makes for
//! the connection itself.

use std::future::Future;
use std::time::Duration;

/// `future`'s output, or `None` if it did not finish within `limit`.
pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return tokio::time::timeout(limit, future).await.ok();
    }
    #[cfg(feature = "smol")]
    {
        use smol::future::FutureExt;
        let finished = async { Some(future.await) };
        let expired = async {
            smol::Timer::after(limit).await;
            None
        };
        finished.or(expired).await
    }
    #[cfg(not(feature = "smol"))]
    {
        // Without tokio or smol there is no Redis connection to wait for: redis-rs fails
        // the call at once.
        Some(future.await)
    }
}

/// Runs `task` in the background, on the runtime this is called from. Without one the
/// task is dropped unrun, which only leaves a reservation unused (never admits more).
pub(crate) fn spawn_detached(task: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(task)),
        #[cfg(feature = "smol")]
        Err(_) => smol::spawn(task).detach(),
        #[cfg(not(feature = "smol"))]
        Err(_) => drop(task),
    }
}
