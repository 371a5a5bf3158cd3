//! A limiter that records every decision of the one it wraps, each marked with the waiter
//! (tag) whose poll or drop caused it.

use std::cell::Cell;
use std::time::Duration;

use pacer_core::{Error, RateLimiter, Reservation, Snapshot};
use std::sync::Mutex;

use super::lock;

thread_local! {
    /// The waiter whose future is being polled or dropped on this thread.
    static TAG: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs `f` as waiter `tag`: the limiter calls it makes are marked with `tag`.
pub(crate) fn with_tag<R>(tag: usize, f: impl FnOnce() -> R) -> R {
    TAG.set(Some(tag));
    let result = f();
    TAG.set(None);
    result
}

/// What happened to a limiter, in order, each with the waiter that caused it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// Cells recorded at `at`.
    Reserved {
        tag: Option<usize>,
        now: u64,
        at: u64,
        cells: u32,
    },
    /// A reservation refused (nothing recorded).
    Refused {
        tag: Option<usize>,
        now: u64,
        error: Error,
    },
    /// A reservation handed back.
    Cancelled {
        tag: Option<usize>,
        now: u64,
        at: u64,
        cells: u32,
        returned: bool,
    },
}

/// A limiter that records every decision of the one it wraps.
#[derive(Debug)]
pub(crate) struct Recording<L> {
    inner: L,
    events: Mutex<Vec<Event>>,
}

impl<L> Recording<L> {
    pub(crate) fn new(inner: L) -> Self {
        Recording {
            inner,
            events: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }

    /// The reservation of waiter `tag`: (instant, cells).
    pub(crate) fn reservation_of(&self, tag: usize) -> Option<(u64, u32)> {
        self.events().into_iter().find_map(|e| match e {
            Event::Reserved {
                tag: Some(t),
                at,
                cells,
                ..
            } if t == tag => Some((at, cells)),
            _ => None,
        })
    }

    /// The cancellation of waiter `tag`, if any: (now, whether its cells were returned).
    pub(crate) fn cancellation_of(&self, tag: usize) -> Option<(u64, bool)> {
        self.events().into_iter().find_map(|e| match e {
            Event::Cancelled {
                tag: Some(t),
                now,
                returned,
                ..
            } if t == tag => Some((now, returned)),
            _ => None,
        })
    }

    /// Tags in reservation order.
    pub(crate) fn reservation_order(&self) -> Vec<usize> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Reserved { tag, cells, .. } if cells > 0 => tag,
                _ => None,
            })
            .collect()
    }

    /// Every cell that stays admitted (reserved, and not handed back), as its instant, in
    /// reservation order.
    pub(crate) fn admitted_cells(&self) -> Vec<u64> {
        let events = self.events();
        let mut kept: Vec<(u64, u32)> = Vec::new();
        for event in &events {
            match *event {
                Event::Reserved { at, cells, .. } => kept.push((at, cells)),
                Event::Cancelled {
                    at,
                    cells,
                    returned: true,
                    ..
                } => {
                    // A returned reservation is the newest one with its instant.
                    let position = kept
                        .iter()
                        .rposition(|&k| k == (at, cells))
                        .expect("a returned reservation was recorded");
                    kept.remove(position);
                }
                _ => {}
            }
        }
        kept.into_iter()
            .flat_map(|(at, cells)| std::iter::repeat_n(at, cells as usize))
            .collect()
    }
}

impl<L: RateLimiter> RateLimiter for Recording<L> {
    type Token = L::Token;

    fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: Duration,
    ) -> Result<Reservation<L::Token>, Error> {
        let tag = TAG.get();
        // The lock spans the decision, so the log is in decision order.
        let mut events = lock(&self.events);
        let result = self.inner.reserve_within(now, cells, max_wait);
        events.push(match &result {
            Ok(r) => Event::Reserved {
                tag,
                now,
                at: r.at(),
                cells: r.cells(),
            },
            Err(error) => Event::Refused {
                tag,
                now,
                error: *error,
            },
        });
        result
    }

    fn earliest(&self, now: u64, cells: u32) -> Result<u64, Error> {
        self.inner.earliest(now, cells)
    }

    fn cancel(&self, reservation: Reservation<L::Token>, now: u64) -> bool {
        let (at, cells) = (reservation.at(), reservation.cells());
        let mut events = lock(&self.events);
        let returned = self.inner.cancel(reservation, now);
        events.push(Event::Cancelled {
            tag: TAG.get(),
            now,
            at,
            cells,
            returned,
        });
        returned
    }

    fn snapshot(&self, now: u64) -> Snapshot {
        self.inner.snapshot(now)
    }
}
