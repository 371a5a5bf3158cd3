//! `PushbackLayer`: the tower layer that puts a [`Pushback`] in front of a client service.

use std::sync::Arc;

use tower::Layer;

use super::{Pushback, PushbackService};

/// A [`Layer`] that makes every call through its service wait for a shared [`Pushback`] and
/// hands every answer back to it. Clones share the same limiter.
///
/// ```
/// use std::sync::Arc;
/// use pacer_core::{ManualTimer, Quota};
/// use pacer_tower::client::{Pushback, PushbackLayer};
///
/// let pushback = Pushback::builder(Quota::per_second(100)?)
///     .concurrency(50)
///     .build_with_timer(ManualTimer::new())?;
/// let layer = PushbackLayer::new(Arc::new(pushback));
/// // tower::ServiceBuilder::new().layer(layer).service(client)
/// # let _ = layer;
/// # Ok::<(), pacer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct PushbackLayer<T> {
    pushback: Arc<Pushback<T>>,
}

impl<T> PushbackLayer<T> {
    /// A layer on `pushback`, which it shares with every service it makes.
    pub fn new(pushback: Arc<Pushback<T>>) -> Self {
        PushbackLayer { pushback }
    }

    /// The shared limiter.
    pub fn pushback(&self) -> &Arc<Pushback<T>> {
        &self.pushback
    }
}

impl<T> Clone for PushbackLayer<T> {
    fn clone(&self) -> Self {
        PushbackLayer {
            pushback: Arc::clone(&self.pushback),
        }
    }
}

impl<S, T> Layer<S> for PushbackLayer<T> {
    type Service = PushbackService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        PushbackService::new(inner, Arc::clone(&self.pushback))
    }
}
