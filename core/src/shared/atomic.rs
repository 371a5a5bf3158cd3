//! `Word`: the one 64-bit word of shared state behind [`AtomicLimiter`](crate::AtomicLimiter)
//! and [`ManualClock`](crate::ManualClock), and where it comes from.
//!
//! 1. Where the target has 64-bit atomics: `core`'s `AtomicU64`.
//! 2. Otherwise, with the `critical-section` feature: a `u64` in a `critical-section` mutex.
//!    Each operation is one short critical section (interrupts off for a few instructions on
//!    a single-core Cortex-M), and nothing else: no table, no RAM beyond the 8 bytes.
//! 3. Otherwise, with `portable-atomic` alone: `portable-atomic`'s `AtomicU64`. On a target
//!    with 32-bit compare-and-swap but no 64-bit one (thumbv7em) that is its fallback, a global
//!    table of spin locks of about 2 KiB of RAM shared by every such atomic in the program;
//!    enable `critical-section` too to avoid it.
//!
//! The orderings are the ones the two users need: loads acquire, stores release, and
//! read-modify-writes do both.

// A part with no compare-and-swap at all (thumbv6m): portable-atomic has no `AtomicU64` for it
// unless told how to make one, so say what to enable rather than fail on a missing import.
#[cfg(all(
    feature = "portable-atomic",
    not(feature = "critical-section"),
    not(target_has_atomic = "64"),
    not(target_has_atomic = "ptr"),
    not(portable_atomic_unsafe_assume_single_core)
))]
compile_error!(
    "pacer-core: this target has no compare-and-swap, so the `portable-atomic` feature needs \
     the `critical-section` feature too (or portable-atomic's \
     `--cfg portable_atomic_unsafe_assume_single_core` on a single-core part)"
);

#[cfg(target_has_atomic = "64")]
use core::sync::atomic::{AtomicU64, Ordering};

#[cfg(all(
    not(target_has_atomic = "64"),
    not(feature = "critical-section"),
    feature = "portable-atomic"
))]
use portable_atomic::{AtomicU64, Ordering};

/// A 64-bit word shared between threads (or tasks and interrupts).
#[cfg(any(
    target_has_atomic = "64",
    all(not(feature = "critical-section"), feature = "portable-atomic")
))]
#[derive(Default)]
pub(crate) struct Word(AtomicU64);

#[cfg(any(
    target_has_atomic = "64",
    all(not(feature = "critical-section"), feature = "portable-atomic")
))]
impl Word {
    pub(crate) const fn new(value: u64) -> Word {
        Word(AtomicU64::new(value))
    }

    #[inline]
    pub(crate) fn load(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn store(&self, value: u64) {
        self.0.store(value, Ordering::Release);
    }

    #[inline]
    pub(crate) fn fetch_add(&self, value: u64) -> u64 {
        self.0.fetch_add(value, Ordering::AcqRel)
    }

    /// Replaces `current` by `new`; `Err` carries the value found instead.
    #[inline]
    pub(crate) fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        self.0
            .compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }
}

/// A 64-bit word shared through a `critical-section` mutex.
#[cfg(all(not(target_has_atomic = "64"), feature = "critical-section"))]
pub(crate) struct Word(critical_section::Mutex<core::cell::Cell<u64>>);

#[cfg(all(not(target_has_atomic = "64"), feature = "critical-section"))]
impl Word {
    pub(crate) const fn new(value: u64) -> Word {
        Word(critical_section::Mutex::new(core::cell::Cell::new(value)))
    }

    #[inline]
    pub(crate) fn load(&self) -> u64 {
        critical_section::with(|cs| self.0.borrow(cs).get())
    }

    #[inline]
    pub(crate) fn store(&self, value: u64) {
        critical_section::with(|cs| self.0.borrow(cs).set(value));
    }

    #[inline]
    pub(crate) fn fetch_add(&self, value: u64) -> u64 {
        critical_section::with(|cs| {
            let cell = self.0.borrow(cs);
            let previous = cell.get();
            cell.set(previous.wrapping_add(value));
            previous
        })
    }

    /// Replaces `current` by `new`; `Err` carries the value found instead.
    #[inline]
    pub(crate) fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        critical_section::with(|cs| {
            let cell = self.0.borrow(cs);
            let found = cell.get();
            if found == current {
                cell.set(new);
                Ok(found)
            } else {
                Err(found)
            }
        })
    }
}

#[cfg(all(not(target_has_atomic = "64"), feature = "critical-section"))]
impl Default for Word {
    fn default() -> Word {
        Word::new(0)
    }
}

impl core::fmt::Debug for Word {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.load(), f)
    }
}
