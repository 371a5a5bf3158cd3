//! A scenario's waiters: each acquires its cells through a traced future, then records the
//! clock reading it finished at and its result.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pacer_core::{Clock, Error};

use super::fixture::TestPacer;
use super::traced::Traced;
use super::{Rt, lock};

/// One finished waiter: its tag, the clock reading when it finished, and its result.
pub(crate) type Record = (usize, u64, Result<(), Error>);

/// Waiters tagged `0..n`: their poll counters, and what each saw when it finished.
#[derive(Debug)]
pub(crate) struct Waiters {
    counters: Vec<Arc<AtomicUsize>>,
    finished: Arc<Mutex<Vec<Record>>>,
}

impl Waiters {
    /// Room for `n` waiters, tagged `0..n`.
    pub(crate) fn new(n: usize) -> Self {
        Waiters {
            counters: (0..n).map(|_| Arc::new(AtomicUsize::new(0))).collect(),
            finished: Arc::default(),
        }
    }

    /// Spawns waiter `tag`: acquires `cells` (traced), then records its clock reading.
    pub(crate) fn spawn<R: Rt>(
        &self,
        rt: &R,
        pacer: &Arc<TestPacer>,
        tag: usize,
        cells: u32,
    ) -> R::Handle {
        let (pacer, polls) = (pacer.clone(), self.counters[tag].clone());
        let finished = self.finished.clone();
        rt.spawn(async move {
            let result = Traced::new(tag, polls, pacer.acquire_n(cells)).await;
            lock(&finished).push((tag, pacer.timer().now(), result));
        })
    }

    /// Spawns waiter `tag` and lets it run to completion without its handle.
    pub(crate) fn go<R: Rt>(&self, rt: &R, pacer: &Arc<TestPacer>, tag: usize, cells: u32) {
        rt.detach(self.spawn(rt, pacer, tag, cells));
    }

    /// The polls counted so far, by waiter.
    pub(crate) fn polls(&self) -> Vec<usize> {
        self.counters
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
    }

    /// (tag, clock reading, result) in completion order.
    pub(crate) fn list(&self) -> Vec<Record> {
        lock(&self.finished).clone()
    }

    /// How many have finished.
    pub(crate) fn len(&self) -> usize {
        lock(&self.finished).len()
    }

    /// The clock reading at which waiter `tag` finished.
    pub(crate) fn reading_of(&self, tag: usize) -> Option<u64> {
        self.list()
            .into_iter()
            .find_map(|(t, now, _)| (t == tag).then_some(now))
    }
}
