//! `PauseState`: the two numbers of a pause, read together without a lock.
//!
//! A pause stops a limiter's own clock. Its state is `until` (the instant the latest pause
//! ends) and `shift` (the total time every pause so far has stopped the clock), both in
//! nanoseconds of the caller's clock; the limiter's time is `max(now, until) - shift`.
//!
//! The pair must be read consistently (a new `until` with an old `shift` would put the
//! limiter's clock in the future, an old `until` with a new `shift` in the past), so it sits
//! behind a sequence number: a writer makes it odd while it writes, and a reader retries when
//! it saw an odd number or the number changed. Readers never write, so deciding stays
//! lock-free; pauses are rare. On parts without 64-bit atomics the pair sits in one
//! `critical-section` mutex instead, so an interrupt can never spin on a half-made pause.

#[cfg(any(
    target_has_atomic = "64",
    all(not(feature = "critical-section"), feature = "portable-atomic")
))]
use crate::shared::atomic::Word;

/// What one pause did: the new `until` and the time it added to `shift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extended {
    pub(crate) until: u64,
    pub(crate) added: u64,
}

/// `until` and `shift`, where `shift <= until` always holds.
#[cfg(any(
    target_has_atomic = "64",
    all(not(feature = "critical-section"), feature = "portable-atomic")
))]
#[derive(Debug, Default)]
pub(crate) struct PauseState {
    sequence: Word,
    until: Word,
    shift: Word,
}

#[cfg(any(
    target_has_atomic = "64",
    all(not(feature = "critical-section"), feature = "portable-atomic")
))]
impl PauseState {
    pub(crate) const fn new() -> PauseState {
        PauseState {
            sequence: Word::new(0),
            until: Word::new(0),
            shift: Word::new(0),
        }
    }

    /// `(until, shift)`, as one writer left them.
    #[inline]
    pub(crate) fn read(&self) -> (u64, u64) {
        loop {
            let before = self.sequence.load();
            if before & 1 == 0 {
                // The loads acquire, so the second read of the sequence cannot move before
                // them: if either saw a newer write, the sequence has moved on too.
                let pair = (self.until.load(), self.shift.load());
                if self.sequence.load() == before {
                    return pair;
                }
            }
            core::hint::spin_loop();
        }
    }

    /// Extends the pause to end at `end` if that is later than both `now` and the current
    /// end; returns what changed, or `None`.
    pub(crate) fn extend(&self, now: u64, end: u64) -> Option<Extended> {
        let sequence = loop {
            let sequence = self.sequence.load();
            if sequence & 1 == 0
                && self
                    .sequence
                    .compare_exchange(sequence, sequence.wrapping_add(1))
                    .is_ok()
            {
                break sequence;
            }
            core::hint::spin_loop();
        };
        let (until, shift) = (self.until.load(), self.shift.load());
        let extended = step(now, end, until);
        if let Some(Extended { until, added }) = extended {
            self.until.store(until);
            self.shift.store(shift + added);
        }
        self.sequence.store(sequence.wrapping_add(2));
        extended
    }
}

/// `until` and `shift` in one `critical-section` mutex, for parts without 64-bit atomics.
#[cfg(all(not(target_has_atomic = "64"), feature = "critical-section"))]
#[derive(Debug)]
pub(crate) struct PauseState(critical_section::Mutex<core::cell::Cell<(u64, u64)>>);

#[cfg(all(not(target_has_atomic = "64"), feature = "critical-section"))]
impl PauseState {
    pub(crate) const fn new() -> PauseState {
        PauseState(critical_section::Mutex::new(core::cell::Cell::new((0, 0))))
    }

    #[inline]
    pub(crate) fn read(&self) -> (u64, u64) {
        critical_section::with(|cs| self.0.borrow(cs).get())
    }

    pub(crate) fn extend(&self, now: u64, end: u64) -> Option<Extended> {
        critical_section::with(|cs| {
            let cell = self.0.borrow(cs);
            let (until, shift) = cell.get();
            let extended = step(now, end, until);
            if let Some(Extended { until, added }) = extended {
                cell.set((until, shift + added));
            }
            extended
        })
    }
}

#[cfg(all(not(target_has_atomic = "64"), feature = "critical-section"))]
impl Default for PauseState {
    fn default() -> PauseState {
        PauseState::new()
    }
}

/// The rule of combining: a pause ending at `end` stops the clock from `max(now, until)` to
/// `end`, if that is a positive time. `shift + added <= end` follows from `shift <= until`.
#[inline]
fn step(now: u64, end: u64, until: u64) -> Option<Extended> {
    let from = now.max(until);
    (end > from).then(|| Extended {
        until: end,
        added: end - from,
    })
}

/// The limiter's time at `now` under the pause `(until, shift)`.
#[inline]
pub(crate) fn limiter_time(now: u64, (until, shift): (u64, u64)) -> u64 {
    now.max(until) - shift
}
