//! The pacer under test: a recording limiter on a manual timer.

use std::sync::Arc;

use pacer_core::{AtomicLimiter, ManualTimer, Pacer, Quota};

use super::recording::Recording;

pub(crate) type Limiter = Recording<AtomicLimiter>;
pub(crate) type TestPacer = Pacer<Limiter, ManualTimer>;

pub(crate) fn pacer(quota: Quota) -> (Arc<TestPacer>, ManualTimer) {
    let timer = ManualTimer::new();
    let pacer = Pacer::from_parts(Recording::new(AtomicLimiter::new(quota)), timer.clone());
    (Arc::new(pacer), timer)
}
