//! Tasks racing for one limiter's cells, each recording the instant it reserved and the instant
//! it completed.

use std::sync::atomic::{AtomicUsize, Ordering};

use pacer_core::{Pacer, RateLimiter, Timer};

/// One racer's record: the order it first polled, the instant it reserved, the instant it
/// completed by the timer's clock, and the order it completed in.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// The order it first polled.
    pub ticket: usize,
    /// The instant it reserved.
    pub reserved: u64,
    /// The instant it completed, by the timer's clock.
    pub completed: u64,
    /// The order it completed in.
    pub finish_order: usize,
}

/// A race: hands out tickets in first-poll order and counts completions.
#[derive(Debug, Default)]
pub struct Race {
    tickets: AtomicUsize,
    finished: AtomicUsize,
}

impl Race {
    /// Takes one cell of `pacer` as the next racer, and returns its record.
    ///
    /// Nothing runs between taking the ticket, reading the instant the cell will get, and the
    /// acquisition's first poll, so on a single-threaded executor `reserved` is the instant it
    /// reserves.
    pub async fn take_one<L: RateLimiter, T: Timer>(&self, pacer: &Pacer<L, T>) -> Record {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let now = pacer.timer().now();
        let reserved = pacer.limiter().earliest(now, 1).unwrap();
        pacer.acquire().await.unwrap();
        let completed = pacer.timer().now();
        let finish_order = self.finished.fetch_add(1, Ordering::SeqCst);
        Record {
            ticket,
            reserved,
            completed,
            finish_order,
        }
    }
}
