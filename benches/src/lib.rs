//! Shared helpers of the benchmark programs: a counting global allocator, process CPU time, a
//! poll-counting future wrapper, the analysis of a pass schedule against the ideal one, and
//! the most passes in any window of a given length (what a server counting arrivals sees);
//! and the keyed decision measure the `keyed` and `http` programs share.

pub mod cli;
pub mod keyed_decisions;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A global allocator that counts allocations (and reallocations) and forwards to [`System`].
///
/// A program installs it with
/// `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc::new();` and reads
/// [`CountingAlloc::allocations`] before and after the code it measures.
#[derive(Debug)]
pub struct CountingAlloc {
    allocations: AtomicU64,
    bytes: AtomicU64,
}

impl CountingAlloc {
    /// A counter at zero.
    pub const fn new() -> CountingAlloc {
        CountingAlloc {
            allocations: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Allocations (`alloc`, `alloc_zeroed` and `realloc` calls) so far, in every thread.
    pub fn allocations(&self) -> u64 {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Bytes requested by those allocations so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn count(&self, size: usize) {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size as u64, Ordering::Relaxed);
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        CountingAlloc::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the only
// addition is a relaxed atomic counter, which neither allocates nor touches the memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// User plus system CPU time of the whole process (every thread) so far, from
/// `getrusage(RUSAGE_SELF)`.
pub fn cpu_time() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// User plus system CPU time of the calling thread so far, from `getrusage(RUSAGE_THREAD)`:
/// time the thread ran, not time it waited for a core while other processes had it.
pub fn thread_cpu_time() -> Duration {
    rusage(libc::RUSAGE_THREAD)
}

/// User plus system CPU time of `who` (`RUSAGE_SELF` or `RUSAGE_THREAD`).
fn rusage(who: libc::c_int) -> Duration {
    #[allow(unsafe_code)]
    // SAFETY: `getrusage` only writes the `rusage` we hand it; all-zero is a valid `rusage`.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs `body`, adding one to `polls` each time the resulting future is polled.
///
/// The body is pinned inside the returned future (no allocation), so the count is exactly the
/// number of times the executor polled the task.
pub async fn counted<F: Future>(polls: &AtomicU64, body: F) -> F::Output {
    let mut body = pin!(body);
    std::future::poll_fn(|cx| {
        polls.fetch_add(1, Ordering::Relaxed);
        body.as_mut().poll(cx)
    })
    .await
}

/// How a schedule of passes compares with the ideal burst-1 schedule at `rate` per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Passes analysed.
    pub passes: usize,
    /// Time from the first pass to the last.
    pub span: Duration,
    /// `(passes - 1) / span`, per second (0 with fewer than two passes).
    pub achieved: f64,
    /// The rate of the least-squares line through `(i, p_i)`, per second: insensitive to a
    /// constant delay of every pass but the first (0 with fewer than two passes).
    pub fitted: f64,
    /// Passes `i` (in time order) earlier than `first + i / rate - tolerance`.
    pub early: usize,
    /// The largest `p_i - (first + i / rate)`, zero if no pass was late.
    pub worst_late: Duration,
    /// The median of `p_i - (first + i / rate)` (zero if that is negative).
    pub median_late: Duration,
}

/// Analyses pass instants (nanoseconds from any common origin, in any order) against the
/// ideal schedule `first + i / rate`, with `tolerance` for the early checks.
pub fn analyse(passes: &mut [u64], rate: u64, tolerance: Duration) -> Schedule {
    analyse_from(passes, rate, tolerance, None)
}

/// [`analyse`] against the ideal schedule `origin + i / rate` (with `origin` on the same
/// scale as the passes), or `first + i / rate` when `origin` is `None`.
pub fn analyse_from(
    passes: &mut [u64],
    rate: u64,
    tolerance: Duration,
    origin: Option<u64>,
) -> Schedule {
    analyse_burst(passes, rate, 1, tolerance, origin)
}

/// [`analyse_from`] for a quota with `burst` cells back to back: pass `i` is due at
/// `first + (i + 1 - burst) / rate` (at `first` for the first `burst` passes), and the early
/// and lateness columns are measured against that.
pub fn analyse_burst(
    passes: &mut [u64],
    rate: u64,
    burst: u32,
    tolerance: Duration,
    origin: Option<u64>,
) -> Schedule {
    passes.sort_unstable();
    let tol = tolerance.as_nanos() as i128;
    let free = burst.saturating_sub(1) as usize;
    let ideal = |i: usize| {
        (i.saturating_sub(free) as u128 * 1_000_000_000).div_ceil(u128::from(rate)) as i128
    };
    let first = origin.or(passes.first().copied()).unwrap_or(0) as i128;
    let mut offsets = Vec::with_capacity(passes.len());
    let mut early = 0;
    let mut worst_late = 0i128;
    for (i, &p) in passes.iter().enumerate() {
        let p = p as i128;
        let offset = p - first - ideal(i);
        if offset < -tol {
            early += 1;
        }
        worst_late = worst_late.max(offset);
        offsets.push(offset);
    }
    let median = if offsets.is_empty() {
        0
    } else {
        let mid = offsets.len() / 2;
        *offsets.select_nth_unstable(mid).1
    };
    let span = match (passes.first(), passes.last()) {
        (Some(&a), Some(&b)) => Duration::from_nanos(b - a),
        _ => Duration::ZERO,
    };
    let achieved = if passes.len() > 1 && !span.is_zero() {
        (passes.len() - 1) as f64 / span.as_secs_f64()
    } else {
        0.0
    };
    Schedule {
        passes: passes.len(),
        span,
        achieved,
        fitted: fitted_rate(passes),
        early,
        worst_late: Duration::from_nanos(worst_late.max(0) as u64),
        median_late: Duration::from_nanos(median.max(0) as u64),
    }
}

/// The most instants of `sorted` (nanoseconds, ascending) that lie in any one half-open window
/// `[t, t + cells / rate)`, with the window's length in seconds: the window in which a quota of
/// `rate` per second at burst 1 allows at most `cells` cells. `cells = rate` is a window of one
/// second; `cells = 10` a window of ten intervals.
///
/// The length is compared exactly (`(p_j - p_i) · rate < cells · 10^9`, in `u128`), so a
/// window whose length is not a whole number of nanoseconds is not rounded either way. The
/// busiest window can always be taken to start at an instant of the list, which is where the
/// two-pointer scan starts each one.
pub fn most_in_window(sorted: &[u64], cells: u64, rate: u64) -> usize {
    debug_assert!(sorted.is_sorted(), "most_in_window wants sorted instants");
    let length = u128::from(cells) * 1_000_000_000;
    let rate = u128::from(rate);
    let mut most = 0;
    let mut end = 0;
    for (start, &first) in sorted.iter().enumerate() {
        end = end.max(start);
        while end < sorted.len() && u128::from(sorted[end] - first) * rate < length {
            end += 1;
        }
        most = most.max(end - start);
    }
    most
}

/// The rate (per second) of the least-squares line through `(i, passes[i])`, nanoseconds.
fn fitted_rate(passes: &[u64]) -> f64 {
    let n = passes.len();
    if n < 2 {
        return 0.0;
    }
    let mean_i = (n - 1) as f64 / 2.0;
    let first = passes[0];
    let mean_p = passes.iter().map(|&p| (p - first) as f64).sum::<f64>() / n as f64;
    let (mut cov, mut var) = (0.0, 0.0);
    for (i, &p) in passes.iter().enumerate() {
        let di = i as f64 - mean_i;
        cov += di * ((p - first) as f64 - mean_p);
        var += di * di;
    }
    if cov <= 0.0 {
        return 0.0;
    }
    1e9 * var / cov
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Poll;

    #[test]
    fn exact_schedule_is_neither_early_nor_late() {
        let mut p: Vec<u64> = (0..1000).map(|i| 5 + i * 1_000_000).collect();
        let s = analyse(&mut p, 1000, Duration::from_micros(1));
        assert_eq!(s.early, 0);
        assert_eq!(s.worst_late, Duration::ZERO);
        assert!((s.achieved - 1000.0).abs() < 1e-6);
        assert!((s.fitted - 1000.0).abs() < 1e-6);
        // Every pass but the first 1 ms late: the span is longer, the fitted line is not.
        p[1..].iter_mut().for_each(|x| *x += 1_000_000);
        let s = analyse(&mut p, 1000, Duration::from_micros(1));
        assert!(s.achieved < 999.5);
        assert!((s.fitted - 1000.0).abs() < 0.01, "{}", s.fitted);
    }

    #[test]
    fn a_burst_is_early() {
        // Two passes at once at 1,000/s: the second is 1 ms early.
        let mut p = vec![0, 0, 2_000_000];
        let s = analyse(&mut p, 1000, Duration::from_micros(1));
        assert_eq!(s.early, 1);
        // Late passes are not early, and the worst lateness is measured from the first pass.
        let mut p = vec![1_500_000, 0, 2_000_000];
        let s = analyse(&mut p, 1000, Duration::from_micros(1));
        assert_eq!(s.early, 0);
        assert_eq!(s.worst_late, Duration::from_micros(500));
        assert_eq!(s.median_late, Duration::ZERO);
        // Against a fixed origin.
        let mut p = vec![3_000_000, 4_000_000, 5_500_000];
        let s = analyse_from(&mut p, 1000, Duration::from_micros(1), Some(2_000_000));
        assert_eq!(s.early, 0);
        assert_eq!(s.median_late, Duration::from_millis(1));
        assert_eq!(s.worst_late, Duration::from_micros(1500));
    }

    #[test]
    fn a_burst_allowed_by_the_quota_is_not_early() {
        // Burst 3 at 1,000/s: three at once, then 1 ms apart.
        let mut p = vec![0, 0, 0, 1_000_000, 2_000_000];
        let s = analyse_burst(&mut p, 1000, 3, Duration::from_micros(1), None);
        assert_eq!(s.early, 0);
        assert_eq!(s.worst_late, Duration::ZERO);
        // A fourth at once is one too many.
        let mut p = vec![0, 0, 0, 0, 2_000_000];
        let s = analyse_burst(&mut p, 1000, 3, Duration::from_micros(1), None);
        assert_eq!(s.early, 1);
    }

    #[test]
    fn most_in_window_counts_the_busiest_half_open_window() {
        // 1,000/s: a window of one second is [t, t + 1 s), ten intervals [t, t + 10 ms).
        let even: Vec<u64> = (0..3_000).map(|i| i * 1_000_000).collect();
        assert_eq!(most_in_window(&even, 1_000, 1_000), 1_000);
        assert_eq!(most_in_window(&even, 10, 1_000), 10);
        // One pass 1 ns early of its slot: two passes now lie 1 ms - 1 ns apart, and the
        // window that starts at the earlier one takes in one more.
        let mut bunched = even.clone();
        bunched[1_000] -= 1;
        assert_eq!(most_in_window(&bunched, 1_000, 1_000), 1_001);
        assert_eq!(most_in_window(&bunched, 10, 1_000), 11);
        // Late passes that keep their spacing change nothing.
        let late: Vec<u64> = even.iter().map(|p| p + 700_000).collect();
        assert_eq!(most_in_window(&late, 1_000, 1_000), 1_000);
        // Three per second: a window of ten intervals is 3⅓ s long, not rounded to whole ns.
        let third = [0, 3_333_333_333, 3_333_333_334];
        assert_eq!(most_in_window(&third, 10, 3), 2);
        assert_eq!(most_in_window(&[], 10, 3), 0);
        assert_eq!(most_in_window(&[5, 5, 5], 1, 1_000_000_000), 3);
    }

    #[test]
    fn counted_counts_polls() {
        let polls = AtomicU64::new(0);
        let mut yielded = false;
        let yield_once = std::future::poll_fn(move |cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        });
        let out = futures::executor::block_on(counted(&polls, async {
            yield_once.await;
            7
        }));
        assert_eq!(out, 7);
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn cpu_time_moves() {
        let before = cpu_time();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(cpu_time() > before);
    }
}

/// The examples of the library crates' READMEs, compiled and run as doctests of this crate,
/// which depends on those crates (pacer-async-std and pacer-embassy are not among its
/// dependencies; their READMEs repeat examples their own crate docs test).
#[cfg(doctest)]
mod readme_examples {
    #[doc = include_str!("../../core/README.md")]
    struct Core;
    #[doc = include_str!("../../adapters/tokio/README.md")]
    struct Tokio;
    #[doc = include_str!("../../adapters/smol/README.md")]
    struct Smol;
    #[doc = include_str!("../../adapters/futures-timer/README.md")]
    struct FuturesTimer;
    #[doc = include_str!("../../adapters/redis/README.md")]
    struct Redis;
}
