//! The traffic: `calls` calls of 20 to 200 ms each, at most `in_flight` at once, each retried
//! until the server admits it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// The work of each call, 20 to 200 ms, the same list for every contender (splitmix64 from a
/// fixed seed).
pub(crate) fn durations(calls: usize) -> Arc<[Duration]> {
    let mut state: u64 = 0x5e_ed0f_9ace;
    (0..calls)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            Duration::from_millis(20 + z % 181)
        })
        .collect()
}

/// What one contender's run saw from the client's side.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Answers 429 (or 503) the client received.
    pub(crate) refused: AtomicU64,
    /// Calls sent while the client's own limiter was paused.
    pub(crate) started_while_paused: AtomicU64,
    /// Failures other than a refusal (connection errors, unexpected statuses).
    pub(crate) failed: AtomicU64,
}

/// A [`Tally`]'s counts, read at the end of a run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) refused: u64,
    pub(crate) started_while_paused: u64,
    pub(crate) failed: u64,
}

impl Tally {
    /// The counts so far.
    pub(crate) fn counts(&self) -> Counts {
        Counts {
            refused: self.refused.load(Ordering::Relaxed),
            started_while_paused: self.started_while_paused.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Runs `attempt(work)` for every call's work, `in_flight` workers at once, each repeating a
/// call until `attempt` says it was admitted (`true`).
pub(crate) async fn drive<F, A>(work: Arc<[Duration]>, in_flight: usize, attempt: A)
where
    A: Fn(Duration) -> F + Clone + Send + 'static,
    F: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (next, work, attempt) = (next.clone(), work.clone(), attempt.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&work) = work.get(i) else { break };
                    while !attempt(work).await {}
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a worker panicked");
    }
}
