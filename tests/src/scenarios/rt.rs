//! The executor driver: what a scenario needs from an executor.

use std::future::Future;

/// What a scenario needs from an executor. Each adapter's tests implement it for their
/// executor (spawn, cancel, run until nothing is runnable).
pub trait Rt {
    /// A spawned task; [`Rt::cancel`] drops its future.
    type Handle;

    /// Spawns `future` as a task of the executor.
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) -> Self::Handle;

    /// Lets a task run to completion without its handle.
    fn detach(&self, handle: Self::Handle);

    /// Cancels a task: once this returns, its future has been dropped.
    fn cancel(&self, handle: Self::Handle);

    /// Returns once every task is idle (finished, or waiting for a wake-up that only the test
    /// can cause by moving the clock).
    fn settle(&self);

    /// Spawns and detaches.
    fn go<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        let handle = self.spawn(future);
        self.detach(handle);
    }
}
